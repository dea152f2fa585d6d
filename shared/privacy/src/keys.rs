//! The keys: master keys and the subject key from configuration, one data key per customer, and
//! the wrapping of a data key under a master key.

use std::fmt;

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::crypto::{self, KEY_LEN};

/// Why a key from configuration was refused. The messages name the variable and the key's id,
/// never a key or a part of one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyConfigError {
    #[error("{var} must be set")]
    Missing { var: &'static str },
    #[error("PII_MASTER_KEYS holds no key (expected \"id:<base64 of 32 bytes>\", comma-separated)")]
    Empty,
    #[error(
        "entry {position} of PII_MASTER_KEYS is not \"id:<base64 of 32 bytes>\" with an id of \
         1-32 letters, digits, '.', '_' or '-'"
    )]
    Malformed { position: usize },
    #[error(
        "master key {id:?} in PII_MASTER_KEYS is not standard base64 (make one with \
         `openssl rand -base64 32`)"
    )]
    NotBase64 { id: String },
    #[error("master key {id:?} in PII_MASTER_KEYS is {len} bytes long; it must be 32")]
    WrongLength { id: String, len: usize },
    #[error("master key id {id:?} appears twice in PII_MASTER_KEYS")]
    Duplicate { id: String },
    #[error("PII_SUBJECT_KEY is {len} bytes long; at least 32 are required")]
    SubjectKeyTooShort { len: usize },
    #[error("{0}")]
    Weak(String),
}

struct MasterKey {
    id: String,
    key: SecretBox<[u8; KEY_LEN]>,
}

/// The master keys that wrap the customers' data keys (`PII_MASTER_KEYS`).
///
/// The first key is the current one: it wraps every new key and every key [`KeyStore::rewrap_all`]
/// touches. The others only unwrap the keys they wrapped, until a rotation has moved them all.
///
/// [`KeyStore::rewrap_all`]: crate::KeyStore::rewrap_all
pub struct MasterKeys {
    keys: Vec<MasterKey>,
}

impl MasterKeys {
    pub const VAR: &'static str = "PII_MASTER_KEYS";

    /// The keys in `PII_MASTER_KEYS`.
    pub fn from_env() -> Result<Self, KeyConfigError> {
        let text = Zeroizing::new(
            gadai_kit::config::optional("PII_MASTER_KEYS")
                .ok_or(KeyConfigError::Missing { var: Self::VAR })?,
        );
        Self::parse(&text)
    }

    /// Keys written as `id:<standard base64 of 32 bytes>`, comma-separated, current first; spaces
    /// around entries are ignored. Refuses an empty list, a malformed entry, an id twice, a value
    /// that is not base64 or not 32 bytes.
    pub fn parse(text: &str) -> Result<Self, KeyConfigError> {
        if text.trim().is_empty() {
            return Err(KeyConfigError::Empty);
        }
        let mut keys: Vec<MasterKey> = Vec::new();
        for (index, entry) in text.split(',').enumerate() {
            let position = index + 1;
            let entry = entry.trim();
            let Some((id, encoded)) = entry.split_once(':') else {
                return Err(KeyConfigError::Malformed { position });
            };
            let id = id.trim();
            if !valid_id(id) {
                return Err(KeyConfigError::Malformed { position });
            }
            let decoded = Zeroizing::new(
                STANDARD
                    .decode(encoded.trim())
                    .map_err(|_| KeyConfigError::NotBase64 { id: id.to_owned() })?,
            );
            if decoded.len() != KEY_LEN {
                return Err(KeyConfigError::WrongLength {
                    id: id.to_owned(),
                    len: decoded.len(),
                });
            }
            if keys.iter().any(|k| k.id == id) {
                return Err(KeyConfigError::Duplicate { id: id.to_owned() });
            }
            let key = SecretBox::<[u8; KEY_LEN]>::init_with_mut(|k| k.copy_from_slice(&decoded));
            keys.push(MasterKey {
                id: id.to_owned(),
                key,
            });
        }
        Ok(MasterKeys { keys })
    }

    /// The id of the key that wraps new keys.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Every id, current first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    fn current(&self) -> &MasterKey {
        &self.keys[0]
    }

    fn get(&self, id: &str) -> Option<&MasterKey> {
        self.keys.iter().find(|k| k.id == id)
    }
}

impl fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKeys")
            .field("ids", &self.ids().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// An id goes into the database and into error messages: short and plain.
fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The key of the keyed hash that turns an e-mail into a [`SubjectId`] (`PII_SUBJECT_KEY`).
pub struct SubjectKey {
    key: SecretBox<[u8]>,
}

impl SubjectKey {
    pub const VAR: &'static str = "PII_SUBJECT_KEY";

    /// The key in `PII_SUBJECT_KEY` (its bytes as written, like `CODE_HMAC_KEY`: e.g.
    /// `openssl rand -hex 32`). Outside development a placeholder is refused too.
    pub fn from_env() -> Result<Self, KeyConfigError> {
        let text = Zeroizing::new(
            gadai_kit::config::optional("PII_SUBJECT_KEY")
                .ok_or(KeyConfigError::Missing { var: Self::VAR })?,
        );
        gadai_kit::config::check_secret(Self::VAR, &text, 32)
            .map_err(|e| KeyConfigError::Weak(e.to_string()))?;
        Self::new(text.as_bytes())
    }

    /// A subject key of at least 32 bytes.
    pub fn new(key: &[u8]) -> Result<Self, KeyConfigError> {
        if key.len() < 32 {
            return Err(KeyConfigError::SubjectKeyTooShort { len: key.len() });
        }
        Ok(SubjectKey {
            key: key.to_vec().into(),
        })
    }

    /// The customer an e-mail address belongs to: hex HMAC-SHA256 of the address trimmed and
    /// lower-cased, so `" Siti@Example.co.id"` and `"siti@example.co.id"` are one customer.
    pub fn subject_of(&self, email: &str) -> SubjectId {
        let normalised = Zeroizing::new(email.trim().to_lowercase());
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.expose_secret())
            .expect("HMAC takes keys of any length");
        mac.update(normalised.as_bytes());
        SubjectId(hex::encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubjectKey(..)")
    }
}

/// A customer, as the key store and the sealed fields know them: 64 lower-case hex digits.
///
/// It names nobody without `PII_SUBJECT_KEY`, so it may appear in logs and events (it is what
/// they should carry instead of the e-mail). Whoever holds the subject key and an e-mail can
/// still tell whether that address is this subject, also after an erasure.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectId(String);

/// A text that is not a subject id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a subject id is 64 lower-case hex digits")]
pub struct InvalidSubjectId;

impl SubjectId {
    /// A subject id read back from an event or a row.
    pub fn parse(text: &str) -> Result<Self, InvalidSubjectId> {
        let ok = text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if ok {
            Ok(SubjectId(text.to_owned()))
        } else {
            Err(InvalidSubjectId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One customer's key (256 random bits), of one generation: the first key a customer gets is
/// generation 1, the key after an erasure generation 2, and so on. Wiped from memory when
/// dropped; `Debug` shows the generation only.
pub struct DataKey {
    generation: u32,
    key: SecretBox<[u8; KEY_LEN]>,
}

impl DataKey {
    /// A fresh random key of `generation` (at least 1).
    pub fn generate(generation: u32) -> Self {
        assert!(generation >= 1, "key generations start at 1");
        DataKey {
            generation,
            key: SecretBox::init_with_mut(|k: &mut [u8; KEY_LEN]| crypto::fill_random(k)),
        }
    }

    pub fn generation(&self) -> u32 {
        self.generation
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        self.key.expose_secret()
    }
}

/// A copy of the key (for handing one customer's key to several requests of one batch); the copy
/// is wiped when dropped too.
impl Clone for DataKey {
    fn clone(&self) -> Self {
        DataKey {
            generation: self.generation,
            key: SecretBox::init_with_mut(|k: &mut [u8; KEY_LEN]| {
                k.copy_from_slice(self.key.expose_secret())
            }),
        }
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// A data key encrypted under a master key: what the key store holds.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The id of the master key that wrapped it.
    pub master_id: String,
    pub generation: u32,
    /// `nonce | ciphertext | tag` (60 bytes).
    pub bytes: Vec<u8>,
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedKey")
            .field("master_id", &self.master_id)
            .field("generation", &self.generation)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Why a wrapped key could not be unwrapped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UnwrapError {
    #[error(
        "the key is wrapped under master key {master_id:?}, which PII_MASTER_KEYS does not hold \
         (was it dropped before a rotation finished?)"
    )]
    UnknownMaster { master_id: String },
    #[error(
        "the key does not unwrap under master key {master_id:?}: that id holds another key than \
         the one that wrapped it, the wrapped key belongs to another customer or generation, or \
         its bytes were altered"
    )]
    Failed { master_id: String },
}

fn wrap_aad(subject: &SubjectId, generation: u32, master_id: &str) -> Vec<u8> {
    crypto::associated_data(&[
        b"gadai-pii-data-key-v1",
        subject.as_str().as_bytes(),
        &generation.to_be_bytes(),
        master_id.as_bytes(),
    ])
}

/// `key` encrypted under the current master key, bound to `subject` (a wrapped key moved to
/// another customer's row does not unwrap).
pub fn wrap(masters: &MasterKeys, subject: &SubjectId, key: &DataKey) -> WrappedKey {
    let master = masters.current();
    let aad = wrap_aad(subject, key.generation, &master.id);
    WrappedKey {
        master_id: master.id.clone(),
        generation: key.generation,
        bytes: crypto::encrypt(master.key.expose_secret(), &aad, key.bytes()),
    }
}

/// The data key in `wrapped`, which must have been wrapped for `subject`.
pub fn unwrap(
    masters: &MasterKeys,
    subject: &SubjectId,
    wrapped: &WrappedKey,
) -> Result<DataKey, UnwrapError> {
    let master = masters
        .get(&wrapped.master_id)
        .ok_or_else(|| UnwrapError::UnknownMaster {
            master_id: wrapped.master_id.clone(),
        })?;
    let failed = || UnwrapError::Failed {
        master_id: wrapped.master_id.clone(),
    };
    let aad = wrap_aad(subject, wrapped.generation, &master.id);
    let plain = crypto::decrypt(master.key.expose_secret(), &aad, &wrapped.bytes)
        .filter(|p| p.len() == KEY_LEN)
        .ok_or_else(failed)?;
    if wrapped.generation == 0 {
        return Err(failed());
    }
    Ok(DataKey {
        generation: wrapped.generation,
        key: SecretBox::init_with_mut(|k: &mut [u8; KEY_LEN]| k.copy_from_slice(&plain)),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const K1: [u8; 32] = [0x11; 32];
    pub(crate) const K2: [u8; 32] = [0x22; 32];

    pub(crate) fn masters(entries: &[(&str, [u8; 32])]) -> MasterKeys {
        let text = entries
            .iter()
            .map(|(id, key)| format!("{id}:{}", STANDARD.encode(key)))
            .collect::<Vec<_>>()
            .join(",");
        MasterKeys::parse(&text).unwrap()
    }

    pub(crate) fn subject(email: &str) -> SubjectId {
        SubjectKey::new(b"subject-key-for-tests-0123456789abcdef")
            .unwrap()
            .subject_of(email)
    }

    /// Every way a 32-byte key could show up in printed text.
    fn renderings(key: &[u8]) -> Vec<String> {
        vec![
            STANDARD.encode(key),
            hex::encode(key),
            format!("{key:?}"),
            format!("{:?}", &key[..8]),
            key.iter().map(|b| b.to_string()).collect::<Vec<_>>()[..6].join(", "),
        ]
    }

    #[test]
    fn master_keys_parse_current_first() {
        let keys = masters(&[("k2", K2), ("k1", K1)]);
        assert_eq!(keys.current_id(), "k2");
        assert_eq!(keys.ids().collect::<Vec<_>>(), ["k2", "k1"]);
        let spaced = format!(
            " k2 : {} ,\tk1:{} ",
            STANDARD.encode(K2),
            STANDARD.encode(K1)
        );
        assert_eq!(MasterKeys::parse(&spaced).unwrap().current_id(), "k2");
    }

    #[test]
    fn master_keys_refuse_bad_configuration() {
        let good = STANDARD.encode(K1);
        let cases = [
            ("", KeyConfigError::Empty),
            (" ", KeyConfigError::Empty),
            (",", KeyConfigError::Malformed { position: 1 }),
            (
                &format!("k1:{good},"),
                KeyConfigError::Malformed { position: 2 },
            ),
            (&good.clone(), KeyConfigError::Malformed { position: 1 }),
            (
                &format!(":{good}"),
                KeyConfigError::Malformed { position: 1 },
            ),
            (
                &format!("k 1:{good}"),
                KeyConfigError::Malformed { position: 1 },
            ),
            (
                "k1:not base64!",
                KeyConfigError::NotBase64 { id: "k1".into() },
            ),
            (
                &format!("k1:{}", STANDARD.encode([1u8; 16])),
                KeyConfigError::WrongLength {
                    id: "k1".into(),
                    len: 16,
                },
            ),
            (
                &format!("k1:{}", STANDARD.encode([1u8; 33])),
                KeyConfigError::WrongLength {
                    id: "k1".into(),
                    len: 33,
                },
            ),
            (
                &format!("k1:{good},k1:{}", STANDARD.encode(K2)),
                KeyConfigError::Duplicate { id: "k1".into() },
            ),
        ];
        for (text, expected) in cases {
            let err = MasterKeys::parse(text).unwrap_err();
            assert_eq!(err, expected, "{text:?}");
            // The message never repeats the configured value.
            assert!(!err.to_string().contains(&good), "{err}");
        }
    }

    #[test]
    fn debug_output_shows_ids_never_key_material() {
        let keys = masters(&[("k2", K2), ("k1", [0xA7; 32])]);
        let printed = format!("{keys:?} {keys:#?}");
        assert!(
            printed.contains("k2") && printed.contains("k1"),
            "{printed}"
        );
        for secret in [&K2[..], &[0xA7; 32][..]] {
            for rendering in renderings(secret) {
                assert!(!printed.contains(&rendering), "{printed} shows {rendering}");
            }
        }
        let subject_key = SubjectKey::new(b"a-subject-key-nobody-may-print-0123456789").unwrap();
        let printed = format!("{subject_key:?}");
        assert!(!printed.contains("nobody-may-print"), "{printed}");

        let key = DataKey::generate(3);
        let printed = format!("{key:?} {key:#?}");
        assert!(printed.contains("generation: 3"), "{printed}");
        for rendering in renderings(key.bytes()) {
            assert!(!printed.contains(&rendering), "{printed} shows {rendering}");
        }
        let wrapped = wrap(&keys, &subject("a@b.co"), &key);
        let printed = format!("{wrapped:?}");
        assert!(
            !printed.contains(&format!("{:?}", &wrapped.bytes[..4])),
            "{printed}"
        );
    }

    #[test]
    fn subject_ids_normalise_the_email_and_depend_on_the_key() {
        let key = SubjectKey::new(b"subject-key-for-tests-0123456789abcdef").unwrap();
        let id = key.subject_of("siti@example.co.id");
        assert_eq!(id, key.subject_of("  Siti@Example.CO.ID\n"));
        assert_ne!(id, key.subject_of("sita@example.co.id"));
        assert_eq!(id.as_str().len(), 64);
        assert_eq!(SubjectId::parse(id.as_str()), Ok(id.clone()));
        let other = SubjectKey::new(b"another-subject-key-0123456789abcdef").unwrap();
        assert_ne!(id, other.subject_of("siti@example.co.id"));
        // HMAC-SHA256 (RFC 4231 style check against an independent computation).
        let mut mac =
            Hmac::<Sha256>::new_from_slice(b"subject-key-for-tests-0123456789abcdef").unwrap();
        mac.update(b"siti@example.co.id");
        assert_eq!(id.as_str(), hex::encode(mac.finalize().into_bytes()));
    }

    #[test]
    fn subject_keys_and_ids_are_checked() {
        assert_eq!(
            SubjectKey::new(&[1u8; 31]).unwrap_err(),
            KeyConfigError::SubjectKeyTooShort { len: 31 }
        );
        assert!(SubjectKey::new(&[1u8; 32]).is_ok());
        assert!(SubjectId::parse(&"A".repeat(64)).is_err());
        assert!(SubjectId::parse(&"a".repeat(63)).is_err());
        assert!(SubjectId::parse("siti@example.co.id").is_err());
    }

    #[test]
    fn wrapping_round_trips_and_is_bound_to_the_subject() {
        let keys = masters(&[("k1", K1)]);
        let siti = subject("siti@example.co.id");
        let budi = subject("budi@example.co.id");
        let key = DataKey::generate(1);
        let wrapped = wrap(&keys, &siti, &key);
        assert_eq!(wrapped.master_id, "k1");
        assert_eq!(wrapped.bytes.len(), 12 + 32 + 16);
        let back = unwrap(&keys, &siti, &wrapped).unwrap();
        assert_eq!(back.bytes(), key.bytes());
        assert_eq!(back.generation(), 1);
        assert_ne!(wrap(&keys, &siti, &key).bytes, wrapped.bytes, "fresh nonce");

        let failed = UnwrapError::Failed {
            master_id: "k1".into(),
        };
        // Moved to another customer's row.
        assert_eq!(unwrap(&keys, &budi, &wrapped).unwrap_err(), failed);
        // Presented as another generation.
        let relabelled = WrappedKey {
            generation: 2,
            ..wrapped.clone()
        };
        assert_eq!(unwrap(&keys, &siti, &relabelled).unwrap_err(), failed);
        // Altered.
        let mut altered = wrapped.clone();
        altered.bytes[20] ^= 1;
        assert_eq!(unwrap(&keys, &siti, &altered).unwrap_err(), failed);
        // Another key under the same id.
        let impostor = masters(&[("k1", K2)]);
        assert_eq!(unwrap(&impostor, &siti, &wrapped).unwrap_err(), failed);
        // The id is gone.
        let rotated = masters(&[("k2", K2)]);
        assert_eq!(
            unwrap(&rotated, &siti, &wrapped).unwrap_err(),
            UnwrapError::UnknownMaster {
                master_id: "k1".into()
            }
        );
        // An older key still unwraps what it wrapped.
        let both = masters(&[("k2", K2), ("k1", K1)]);
        assert_eq!(unwrap(&both, &siti, &wrapped).unwrap().bytes(), key.bytes());
        assert_eq!(wrap(&both, &siti, &key).master_id, "k2");
    }

    #[test]
    fn data_keys_are_random() {
        assert_ne!(DataKey::generate(1).bytes(), DataKey::generate(1).bytes());
    }
}
