//! Sealed fields: a personal field's value, encrypted under its customer's key, as one short
//! text that fits the JSON string the plaintext had.
//!
//! `pii:v1:<generation>:<base64url, no padding, of nonce (12) | ciphertext | tag (16)>`
//!
//! - `v1`: AES-256-GCM with a random 96-bit nonce; associated data = the customer's subject id,
//!   the field's name and the key's generation, so a value sealed for one field or one customer
//!   does not open as another's.
//! - `<generation>`: which of the customer's keys sealed it (1, or n + 1 after n erasures), so
//!   a reader tells an erased field from a damaged one without trying keys.
//!
//! A name of 20 characters becomes about 80 characters, an e-mail of 25 about 87.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{
    DataKey, SubjectId,
    crypto::{self, NONCE_LEN, TAG_LEN},
};

/// What every sealed text starts with.
pub const PREFIX: &str = "pii:v1:";

/// The names personal fields are sealed under: the events' own field names. A field's name is
/// part of what its seal is bound to, so these must never change for fields already sealed.
pub mod fields {
    /// `order.created`, `customer.handoff_opened`, a code's recipient: the customer's name.
    pub const NAME: &str = "nama_customer";
    /// `order.created`, `customer.handoff_opened`, a code's recipient: the customer's e-mail
    /// address.
    pub const EMAIL: &str = "email";
    /// `order.created`, `customer.handoff_opened`: the chat conversation's id.
    pub const CONVERSATION: &str = "id_percakapan";
    /// `order.created`: the item in the customer's words.
    pub const ITEM: &str = "nama_barang";
    /// `customer.handoff_opened`: the agent's summary of the conversation (free text about the
    /// customer).
    pub const SUMMARY: &str = "ringkasan";
}

/// Why a sealed field did not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("not a sealed field (it does not start with \"pii:v1:\")")]
    NotSealed,
    #[error(
        "a sealed field that is cut or garbled (no generation, bad base64, or shorter than a \
         nonce and a tag)"
    )]
    Malformed,
    #[error(
        "sealed under generation {sealed} of the customer's key, which was erased (the key now is \
         generation {current}): the field is gone for good"
    )]
    ErasedGeneration { sealed: u32, current: u32 },
    #[error(
        "sealed under generation {sealed} of the customer's key, newer than the key given \
         (generation {key}): fetch the customer's key again"
    )]
    StaleKey { sealed: u32, key: u32 },
    #[error(
        "the sealed field does not open: the key, the customer (subject) or the field name is not \
         the one it was sealed with, or the text was altered"
    )]
    Unreadable,
}

fn field_aad(subject: &SubjectId, field: &str, generation: u32) -> Vec<u8> {
    crypto::associated_data(&[
        b"gadai-pii-field-v1",
        subject.as_str().as_bytes(),
        field.as_bytes(),
        &generation.to_be_bytes(),
    ])
}

/// `plaintext` sealed under `key` for `subject`'s field `field`. Two seals of the same value
/// differ (a fresh random nonce each time), so equal values cannot be spotted in the stream.
pub fn seal(key: &DataKey, subject: &SubjectId, field: &str, plaintext: &str) -> String {
    let aad = field_aad(subject, field, key.generation());
    let sealed = crypto::encrypt(key.bytes(), &aad, plaintext.as_bytes());
    let mut out = String::with_capacity(PREFIX.len() + 11 + sealed.len().div_ceil(3) * 4);
    out.push_str(PREFIX);
    out.push_str(&key.generation().to_string());
    out.push(':');
    URL_SAFE_NO_PAD.encode_string(&sealed, &mut out);
    out
}

/// The generation and the raw `nonce | ciphertext | tag` of a sealed text.
fn parse(text: &str) -> Result<(u32, Vec<u8>), OpenError> {
    let rest = text.strip_prefix(PREFIX).ok_or(OpenError::NotSealed)?;
    let (generation, encoded) = rest.split_once(':').ok_or(OpenError::Malformed)?;
    let plain_digits = !generation.is_empty()
        && generation.len() <= 10
        && generation.bytes().all(|b| b.is_ascii_digit())
        && !generation.starts_with('0');
    let generation: u32 = match plain_digits.then(|| generation.parse().ok()).flatten() {
        Some(g) => g,
        None => return Err(OpenError::Malformed),
    };
    let sealed = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| OpenError::Malformed)?;
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(OpenError::Malformed);
    }
    Ok((generation, sealed))
}

/// The plaintext of `sealed`, sealed for `subject`'s field `field` under `key`.
pub fn open(
    key: &DataKey,
    subject: &SubjectId,
    field: &str,
    sealed: &str,
) -> Result<String, OpenError> {
    let (generation, bytes) = parse(sealed)?;
    if generation < key.generation() {
        return Err(OpenError::ErasedGeneration {
            sealed: generation,
            current: key.generation(),
        });
    }
    if generation > key.generation() {
        return Err(OpenError::StaleKey {
            sealed: generation,
            key: key.generation(),
        });
    }
    let aad = field_aad(subject, field, generation);
    let plain = crypto::decrypt(key.bytes(), &aad, &bytes).ok_or(OpenError::Unreadable)?;
    // Only `seal` makes these, from a `&str`: anything else did not authenticate above.
    String::from_utf8(plain.to_vec()).map_err(|_| OpenError::Malformed)
}

/// Whether `text` is a well-formed sealed field (not whether it opens). Values written before
/// sealing began are plaintext and answer false; a plaintext that merely starts with the
/// prefix but is not well-formed answers false too.
pub fn is_sealed(text: &str) -> bool {
    parse(text).is_ok()
}

/// The generation of the customer's key a sealed text needs, `None` when it is not a
/// well-formed sealed field.
pub fn sealed_generation(text: &str) -> Option<u32> {
    parse(text).ok().map(|(generation, _)| generation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::subject;

    const NAME: &str = "Siti Nurhaliza";
    const EMAIL: &str = "siti.nurhaliza@example.co.id";

    #[test]
    fn round_trip() {
        let key = DataKey::generate(1);
        let siti = subject(EMAIL);
        for (field, value) in [
            (fields::NAME, NAME),
            (fields::EMAIL, EMAIL),
            (fields::CONVERSATION, "wa-6281234567890"),
            (
                fields::SUMMARY,
                "Pelanggan bertanya soal cicilan emas — 10 gram, ±Rp 12 jt",
            ),
            (fields::NAME, ""),
        ] {
            let sealed = seal(&key, &siti, field, value);
            assert!(sealed.starts_with("pii:v1:1:"), "{sealed}");
            assert!(is_sealed(&sealed));
            assert_eq!(sealed_generation(&sealed), Some(1));
            assert!(!sealed.contains(value) || value.is_empty(), "{sealed}");
            assert_eq!(open(&key, &siti, field, &sealed).as_deref(), Ok(value));
        }
        // Compact and JSON-safe: base64url has no characters JSON escapes.
        let sealed = seal(&key, &siti, fields::EMAIL, EMAIL);
        assert_eq!(
            sealed.len(),
            "pii:v1:1:".len() + ((NONCE_LEN + EMAIL.len() + TAG_LEN) * 4).div_ceil(3)
        );
        assert!(
            sealed
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_:".contains(&b))
        );
    }

    #[test]
    fn two_seals_of_the_same_text_differ() {
        let key = DataKey::generate(1);
        let siti = subject(EMAIL);
        let a = seal(&key, &siti, fields::EMAIL, EMAIL);
        let b = seal(&key, &siti, fields::EMAIL, EMAIL);
        assert_ne!(a, b);
        assert_eq!(
            open(&key, &siti, fields::EMAIL, &a),
            open(&key, &siti, fields::EMAIL, &b)
        );
    }

    #[test]
    fn tampered_text_does_not_open() {
        let key = DataKey::generate(1);
        let siti = subject(EMAIL);
        let sealed = seal(&key, &siti, fields::NAME, NAME);
        let (head, encoded) = sealed.rsplit_once(':').unwrap();
        let raw = URL_SAFE_NO_PAD.decode(encoded).unwrap();
        // A flipped bit in the nonce, the ciphertext and the tag.
        for index in [0, NONCE_LEN + 2, raw.len() - 1] {
            let mut altered = raw.clone();
            altered[index] ^= 0x01;
            let text = format!("{head}:{}", URL_SAFE_NO_PAD.encode(&altered));
            assert!(is_sealed(&text), "still well-formed");
            let err = open(&key, &siti, fields::NAME, &text).unwrap_err();
            assert_eq!(err, OpenError::Unreadable, "byte {index}");
            assert!(err.to_string().contains("altered"), "{err}");
        }
        // Cut short, or a byte more.
        let cut = format!("{head}:{}", URL_SAFE_NO_PAD.encode(&raw[..raw.len() - 1]));
        assert_eq!(
            open(&key, &siti, fields::NAME, &cut),
            Err(OpenError::Unreadable)
        );
        let longer = format!(
            "{head}:{}",
            URL_SAFE_NO_PAD.encode([&raw[..], &[0]].concat())
        );
        assert_eq!(
            open(&key, &siti, fields::NAME, &longer),
            Err(OpenError::Unreadable)
        );
    }

    #[test]
    fn wrong_field_subject_or_key_does_not_open() {
        let key = DataKey::generate(1);
        let siti = subject(EMAIL);
        let name = seal(&key, &siti, fields::NAME, NAME);
        // A name swapped into the e-mail field.
        assert_eq!(
            open(&key, &siti, fields::EMAIL, &name),
            Err(OpenError::Unreadable)
        );
        // Another customer's order.
        let budi = subject("budi@example.co.id");
        assert_eq!(
            open(&key, &budi, fields::NAME, &name),
            Err(OpenError::Unreadable)
        );
        // Another key of the same generation.
        let other = DataKey::generate(1);
        assert_eq!(
            open(&other, &siti, fields::NAME, &name),
            Err(OpenError::Unreadable)
        );
    }

    #[test]
    fn generations_tell_erased_from_stale() {
        let siti = subject(EMAIL);
        let first = DataKey::generate(1);
        let second = DataKey::generate(2);
        let old = seal(&first, &siti, fields::NAME, NAME);
        let new = seal(&second, &siti, fields::NAME, NAME);
        let erased = open(&second, &siti, fields::NAME, &old).unwrap_err();
        assert_eq!(
            erased,
            OpenError::ErasedGeneration {
                sealed: 1,
                current: 2
            }
        );
        assert!(erased.to_string().contains("erased"), "{erased}");
        assert_eq!(
            open(&first, &siti, fields::NAME, &new),
            Err(OpenError::StaleKey { sealed: 2, key: 1 })
        );
        // A generation rewritten in the text is caught by the associated data.
        let relabelled = old.replacen("pii:v1:1:", "pii:v1:2:", 1);
        assert_eq!(
            open(&second, &siti, fields::NAME, &relabelled),
            Err(OpenError::Unreadable)
        );
    }

    #[test]
    fn plaintext_and_garbage_are_not_sealed() {
        let key = DataKey::generate(1);
        let siti = subject(EMAIL);
        for text in [
            NAME,
            EMAIL,
            "",
            "pii:v2:1:AAAA",
            "PII:v1:1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(!is_sealed(text), "{text}");
            assert_eq!(
                open(&key, &siti, fields::NAME, text),
                Err(OpenError::NotSealed),
                "{text}"
            );
        }
        let body = URL_SAFE_NO_PAD.encode([0u8; NONCE_LEN + TAG_LEN]);
        for text in [
            "pii:v1:".to_owned(),
            "pii:v1:1".to_owned(),
            format!("pii:v1::{body}"),
            format!("pii:v1:0:{body}"),
            format!("pii:v1:01:{body}"),
            format!("pii:v1:+1:{body}"),
            format!("pii:v1:99999999999:{body}"),
            format!("pii:v1:1:{body}="),
            format!("pii:v1:1:{body}!"),
            format!(
                "pii:v1:1:{}",
                URL_SAFE_NO_PAD.encode([0u8; NONCE_LEN + TAG_LEN - 1])
            ),
        ] {
            assert!(!is_sealed(&text), "{text}");
            assert_eq!(sealed_generation(&text), None);
            assert_eq!(
                open(&key, &siti, fields::NAME, &text),
                Err(OpenError::Malformed),
                "{text}"
            );
        }
    }
}
