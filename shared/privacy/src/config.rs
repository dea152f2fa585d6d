//! The keys every service that seals or opens personal fields reads from its environment.

use std::{fmt, sync::Arc, time::Duration};

use secrecy::{ExposeSecret, SecretString};

use crate::{KeyClient, KeyConfigError, MasterKeys, SubjectKey};

/// The master keys of a development run (`make run`, `APP_ENV=development`): a placeholder,
/// refused anywhere else.
pub const DEV_MASTER_KEYS: &str = "dev:cGxhY2Vob2xkZXItbWFzdGVyLWtleS0zMi1ieXRlcyE=";
/// The subject key of a development run; a placeholder too.
pub const DEV_SUBJECT_KEY: &str = "placeholder-subject-key-for-development-only";

const DEFAULT_KEYS_TIMEOUT: Duration = Duration::from_secs(5);

/// `PII_MASTER_KEYS` and `PII_KEYS_TIMEOUT`: what a service reads that only opens customers'
/// keys fetched over `rpc.keys.get` and never turns an e-mail into a subject id (the mailer: a
/// code request names its subject). [`Pii`] is this and the subject key.
///
/// The master keys are kept as their checked configuration text and parsed again by whoever
/// needs them ([`KeyAccess::masters`], [`KeyAccess::key_client`]): [`MasterKeys`] cannot be
/// copied (one owner per copy of the key material), settings are. `Debug` shows the master
/// keys' ids only.
#[derive(Clone)]
pub struct KeyAccess {
    master_keys: SecretString,
    /// How long a reader waits for `rpc.keys.get`.
    pub keys_timeout: Duration,
}

impl KeyAccess {
    /// The master keys and timeout from the environment. A development run without master keys
    /// uses the development placeholder (with a warning); any other run must set them, and may
    /// not set that one.
    pub fn from_env() -> anyhow::Result<Self> {
        let development = gadai_kit::config::development();
        let configured = gadai_kit::config::optional("PII_MASTER_KEYS");
        let master_keys = match configured {
            None if development => {
                tracing::warn!("PII_MASTER_KEYS not set: using the development master key");
                DEV_MASTER_KEYS.to_owned()
            }
            None => {
                return Err(KeyConfigError::Missing {
                    var: MasterKeys::VAR,
                }
                .into());
            }
            Some(text) if !development && text.contains(DEV_MASTER_KEYS) => anyhow::bail!(
                "PII_MASTER_KEYS holds the development master key: set a real one, e.g. \
                 `k1:$(openssl rand -base64 32)` (APP_ENV=development accepts it)"
            ),
            Some(text) => text,
        };
        MasterKeys::parse(&master_keys)?;
        Ok(KeyAccess {
            master_keys: master_keys.into(),
            keys_timeout: gadai_kit::config::duration("PII_KEYS_TIMEOUT", DEFAULT_KEYS_TIMEOUT)?,
        })
    }

    /// Master keys given as text, in `PII_MASTER_KEYS`' format (settings built in process:
    /// tests, benchmarks), with the default timeout.
    pub fn new(master_keys: &str) -> anyhow::Result<Self> {
        MasterKeys::parse(master_keys)?;
        Ok(KeyAccess {
            master_keys: master_keys.to_owned().into(),
            keys_timeout: DEFAULT_KEYS_TIMEOUT,
        })
    }

    /// The master keys, for a key store.
    pub fn masters(&self) -> anyhow::Result<MasterKeys> {
        Ok(MasterKeys::parse(self.master_keys.expose_secret())?)
    }

    /// A reader of the customers' keys (`rpc.keys.get` on `subject`, the environment's prefixed
    /// subject, answered by order-intake).
    pub fn key_client(
        &self,
        client: &async_nats::Client,
        subject: String,
    ) -> anyhow::Result<KeyClient> {
        Ok(KeyClient::new(
            client.clone(),
            subject,
            self.masters()?,
            self.keys_timeout,
        ))
    }
}

impl fmt::Debug for KeyAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids = self
            .masters()
            .map(|m| m.ids().map(str::to_owned).collect::<Vec<_>>());
        f.debug_struct("KeyAccess")
            .field("master_ids", &ids.ok())
            .field("keys_timeout", &self.keys_timeout)
            .finish_non_exhaustive()
    }
}

/// `PII_MASTER_KEYS`, `PII_SUBJECT_KEY` and `PII_KEYS_TIMEOUT`, as the settings of a service
/// that also names customers by e-mail (order-intake, dashboard-api) hold them.
#[derive(Clone)]
pub struct Pii {
    /// The master keys and the key store's timeout.
    pub access: KeyAccess,
    /// Turns an e-mail into the customer's subject id.
    pub subjects: Arc<SubjectKey>,
}

impl Pii {
    /// The keys from the environment. A development run without them uses the development
    /// placeholders (with a warning); any other run must set both, and may not set those.
    pub fn from_env() -> anyhow::Result<Self> {
        let access = KeyAccess::from_env()?;
        let subjects = match SubjectKey::from_env() {
            Err(KeyConfigError::Missing { .. }) if gadai_kit::config::development() => {
                tracing::warn!("PII_SUBJECT_KEY not set: using the development subject key");
                SubjectKey::new(DEV_SUBJECT_KEY.as_bytes())?
            }
            other => other?,
        };
        Ok(Pii {
            access,
            subjects: Arc::new(subjects),
        })
    }

    /// Keys given as text, in `PII_MASTER_KEYS`' and `PII_SUBJECT_KEY`'s formats (settings built
    /// in process: tests, benchmarks), with the default timeout.
    pub fn new(master_keys: &str, subject_key: &str) -> anyhow::Result<Self> {
        Ok(Pii {
            access: KeyAccess::new(master_keys)?,
            subjects: Arc::new(SubjectKey::new(subject_key.as_bytes())?),
        })
    }

    /// The master keys, for a key store.
    pub fn masters(&self) -> anyhow::Result<MasterKeys> {
        self.access.masters()
    }

    /// A reader of the customers' keys ([`KeyAccess::key_client`]).
    pub fn key_client(
        &self,
        client: &async_nats::Client,
        subject: String,
    ) -> anyhow::Result<KeyClient> {
        self.access.key_client(client, subject)
    }
}

impl fmt::Debug for Pii {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pii")
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTERS: &str = "k2:c3lzdGVtLXRlc3QtbWFzdGVyLWtleS0zMi1ieXRlcyE=";

    #[test]
    fn the_keys_parse_again_for_each_reader_and_never_print() {
        let pii = Pii::new(MASTERS, "a-subject-key-of-at-least-32-bytes-long").unwrap();
        assert_eq!(pii.masters().unwrap().current_id(), "k2");
        let printed = format!("{pii:?}");
        assert!(printed.contains("k2"), "{printed}");
        assert!(!printed.contains("c3lzdGVt"), "{printed}");
        assert!(!printed.contains("subject-key"), "{printed}");
        assert!(Pii::new("k2:short", "a-subject-key-of-at-least-32-bytes-long").is_err());
        assert!(Pii::new(MASTERS, "short").is_err());
    }

    #[test]
    fn key_access_needs_no_subject_key_and_never_prints_the_masters() {
        let access = KeyAccess::new(MASTERS).unwrap();
        assert_eq!(access.masters().unwrap().current_id(), "k2");
        assert_eq!(access.keys_timeout, DEFAULT_KEYS_TIMEOUT);
        let printed = format!("{access:?}");
        assert!(printed.contains("k2"), "{printed}");
        assert!(!printed.contains("c3lzdGVt"), "{printed}");
        assert!(KeyAccess::new("k2:short").is_err());
    }
}
