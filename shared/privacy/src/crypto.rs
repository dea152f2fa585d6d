//! AES-256-GCM with random 96-bit nonces, in the one layout both sealed fields and wrapped keys
//! use: `nonce (12) | ciphertext | tag (16)`.
//!
//! Random nonces under one key are safe while the key seals fewer than 2^32 messages (NIST
//! SP 800-38D, 8.3): a data key seals a handful of fields per order of one customer, and a master
//! key wraps one key per customer and generation, both far below that.

use aes_gcm::{
    AeadInPlace, Aes256Gcm, Key, KeyInit,
    aead::{consts::U12, generic_array::GenericArray},
};
use rand::{TryRngCore, rngs::OsRng};
use zeroize::Zeroizing;

pub(crate) const NONCE_LEN: usize = 12;
pub(crate) const TAG_LEN: usize = 16;
pub(crate) const KEY_LEN: usize = 32;

/// Fills `out` from the operating system's CSPRNG.
pub(crate) fn fill_random(out: &mut [u8]) {
    OsRng
        .try_fill_bytes(out)
        .expect("the operating system's random source is available");
}

/// Associated data from labelled parts, each preceded by its length, so no two different lists
/// of parts give the same bytes (`("ab", "c")` and `("a", "bc")` differ).
pub(crate) fn associated_data(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for part in parts {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// `nonce | ciphertext | tag` of `plaintext` under `key`, with a fresh random nonce.
pub(crate) fn encrypt(key: &[u8; KEY_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.resize(NONCE_LEN, 0);
    fill_random(&mut out);
    out.extend_from_slice(plaintext);
    let (nonce, body) = out.split_at_mut(NONCE_LEN);
    let tag = cipher
        .encrypt_in_place_detached(GenericArray::<u8, U12>::from_slice(nonce), aad, body)
        .expect("AES-GCM encrypts anything shorter than 64 GiB");
    out.extend_from_slice(&tag);
    out
}

/// The plaintext of `sealed` (`nonce | ciphertext | tag`), or `None` when it is too short or
/// does not authenticate under `key` and `aad`. The plaintext is wiped when dropped.
pub(crate) fn decrypt(
    key: &[u8; KEY_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    let mut plaintext = Zeroizing::new(body.to_vec());
    cipher
        .decrypt_in_place_detached(
            GenericArray::<u8, U12>::from_slice(nonce),
            aad,
            &mut plaintext,
            GenericArray::from_slice(tag),
        )
        .ok()?;
    Some(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_framed() {
        assert_ne!(
            associated_data(&[b"ab", b"c"]),
            associated_data(&[b"a", b"bc"])
        );
        assert_eq!(associated_data(&[b""]), vec![0, 0, 0, 0]);
    }

    #[test]
    fn round_trip_and_layout() {
        let key = [7u8; KEY_LEN];
        let sealed = encrypt(&key, b"aad", b"hello");
        assert_eq!(sealed.len(), NONCE_LEN + 5 + TAG_LEN);
        assert_eq!(
            decrypt(&key, b"aad", &sealed).as_deref().map(Vec::as_slice),
            Some(&b"hello"[..])
        );
        assert!(decrypt(&key, b"other", &sealed).is_none());
        assert!(decrypt(&[8u8; KEY_LEN], b"aad", &sealed).is_none());
        assert!(decrypt(&key, b"aad", &sealed[..NONCE_LEN + TAG_LEN - 1]).is_none());
    }
}
