//! The keys every service that seals or opens personal fields reads from its environment.

use std::time::Duration;

use crate::{KeyConfigError, MasterKeys, SubjectKey};

/// The master keys of a development run (`make run`, `APP_ENV=development`): a placeholder,
/// refused anywhere else.
pub const DEV_MASTER_KEYS: &str = "dev:cGxhY2Vob2xkZXItbWFzdGVyLWtleS0zMi1ieXRlcyE=";
/// The subject key of a development run; a placeholder too.
pub const DEV_SUBJECT_KEY: &str = "placeholder-subject-key-for-development-only";

/// `PII_MASTER_KEYS`, `PII_SUBJECT_KEY` and `PII_KEYS_TIMEOUT`.
#[derive(Debug)]
pub struct PiiSettings {
    pub masters: MasterKeys,
    pub subjects: SubjectKey,
    /// How long a reader waits for `rpc.keys.get`.
    pub keys_timeout: Duration,
}

impl PiiSettings {
    /// The keys from the environment. A development run without them uses the development
    /// placeholders (with a warning); any other run must set both, and may not set those.
    pub fn from_env() -> anyhow::Result<Self> {
        let development = gadai_kit::config::development();
        let masters = match MasterKeys::from_env() {
            Err(KeyConfigError::Missing { .. }) if development => {
                tracing::warn!("PII_MASTER_KEYS not set: using the development master key");
                MasterKeys::parse(DEV_MASTER_KEYS)?
            }
            Ok(_)
                if !development
                    && gadai_kit::config::optional(MasterKeys::VAR)
                        .is_some_and(|v| v.contains(DEV_MASTER_KEYS)) =>
            {
                anyhow::bail!(
                    "PII_MASTER_KEYS holds the development master key: set a real one, e.g. \
                     `k1:$(openssl rand -base64 32)` (APP_ENV=development accepts it)"
                )
            }
            other => other?,
        };
        let subjects = match SubjectKey::from_env() {
            Err(KeyConfigError::Missing { .. }) if development => {
                tracing::warn!("PII_SUBJECT_KEY not set: using the development subject key");
                SubjectKey::new(DEV_SUBJECT_KEY.as_bytes())?
            }
            other => other?,
        };
        Ok(PiiSettings {
            masters,
            subjects,
            keys_timeout: gadai_kit::config::duration("PII_KEYS_TIMEOUT", Duration::from_secs(5))?,
        })
    }
}
