//! verification-mailer's configuration, from the environment (see `.env.example`).

use std::{path::PathBuf, time::Duration};

use anyhow::{Context, bail};

use gadai_kit::config;
pub use gadai_privacy::KeyAccess;
use gadai_runtime::{CoreSettings, ServiceSettings};
use secrecy::{SecretBox, SecretString};

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    None,
    StartTls,
    Tls,
}

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum MailSettings {
    Smtp {
        host: String,
        port: u16,
        tls: TlsMode,
        user: Option<String>,
        password: Option<SecretString>,
        timeout: Duration,
    },
    /// No SMTP configured: each mail is written as an .eml file (the development default).
    Files { dir: PathBuf },
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Database, NATS and HTTP server.
    pub core: CoreSettings,
    pub mail: MailSettings,
    /// The From address.
    pub mail_from: String,
    /// Key of the codes' HMAC.
    pub code_key: SecretBox<[u8]>,
    /// How long a code works (the seed: 24 h).
    pub code_ttl: Duration,
    /// Failed checks against a named order after which its code stops working.
    pub max_failed_attempts: i32,
    /// Deliveries of a request after which a transient SMTP failure counts as final.
    pub send_attempts: i64,
    /// How long a request may go without an ack or a progress ack before JetStream hands it
    /// to another replica (a send in flight sends progress acks).
    pub send_ack_wait: Duration,
    /// The shared budgets of code checks.
    pub check: CheckSettings,
    /// The keys that open the requests' sealed names and addresses (`PII_MASTER_KEYS`,
    /// `PII_KEYS_TIMEOUT`). No subject key: a request names its recipient's subject.
    pub pii: KeyAccess,
}

/// Limits of `rpc.verification.check`, counted in the mailer's schema, so they hold across all
/// replicas together (see the README, "Verification rules", for the arithmetic).
#[derive(Debug, Clone)]
pub struct CheckSettings {
    /// Failed checks per window: wrong, locked or unknown answers to checks that named an
    /// order, and failed code-only checks. When spent, every check is throttled.
    pub failure_budget: u32,
    /// Checks without an order (the code-only opt-in) per window, whatever their outcome.
    pub code_only_budget: u32,
    /// The budgets' window, aligned to multiples of its length since the Unix epoch (1 h: UTC
    /// clock hours). Shorter only in tests.
    pub window: Duration,
}

impl Default for CheckSettings {
    /// The documented defaults (`.env.example`).
    fn default() -> Self {
        CheckSettings {
            failure_budget: 30,
            code_only_budget: 10,
            window: Duration::from_secs(3600),
        }
    }
}

impl CheckSettings {
    pub fn from_env() -> anyhow::Result<Self> {
        let default = CheckSettings::default();
        let window = config::duration("VERIFY_BUDGET_WINDOW", default.window)?;
        if window < Duration::from_secs(1) {
            bail!("VERIFY_BUDGET_WINDOW must be at least 1s");
        }
        Ok(CheckSettings {
            failure_budget: config::parse("VERIFY_FAILURE_BUDGET", default.failure_budget)?,
            code_only_budget: config::parse("VERIFY_CODE_ONLY_BUDGET", default.code_only_budget)?,
            window,
        })
    }
}

const DEV_KEY: &str = "dev-only-code-key-change-me";

impl ServiceSettings for Settings {
    fn core(&self) -> &CoreSettings {
        &self.core
    }

    fn from_env() -> anyhow::Result<Self> {
        let user = config::first_of(&["SMTP_USER", "EMAIL_USER"]);
        let password = config::first_of(&["SMTP_PASSWORD", "EMAIL_PASSWORD"]);
        let tls = match config::string("SMTP_TLS", "starttls")
            .to_lowercase()
            .as_str()
        {
            "none" | "plain" => TlsMode::None,
            "starttls" => TlsMode::StartTls,
            "tls" | "ssl" | "smtps" => TlsMode::Tls,
            other => bail!("SMTP_TLS={other:?} is not one of none, starttls, tls"),
        };
        // The seed configured only EMAIL_USER/EMAIL_PASSWORD for Gmail: keep that working.
        let host = config::optional("SMTP_HOST")
            .or_else(|| user.as_ref().map(|_| "smtp.gmail.com".to_owned()));
        let mail = match host {
            Some(host) => MailSettings::Smtp {
                host,
                port: config::parse(
                    "SMTP_PORT",
                    match tls {
                        TlsMode::None => 25,
                        TlsMode::StartTls => 587,
                        TlsMode::Tls => 465,
                    },
                )?,
                tls,
                user: user.clone(),
                password: password.map(SecretString::from),
                timeout: config::duration("SMTP_TIMEOUT", Duration::from_secs(20))?,
            },
            None => MailSettings::Files {
                dir: PathBuf::from(config::string("MAIL_DIR", "var/mail")),
            },
        };
        let code_key = match config::optional("CODE_HMAC_KEY") {
            Some(k) if k.len() >= 32 => {
                config::check_secret("CODE_HMAC_KEY", &k, 32)?;
                k.into_bytes()
            }
            Some(_) => bail!("CODE_HMAC_KEY must be at least 32 characters"),
            None if matches!(mail, MailSettings::Files { .. }) && config::development() => {
                tracing::warn!(
                    "CODE_HMAC_KEY not set: using the development key (mail goes to files)"
                );
                DEV_KEY.as_bytes().to_vec()
            }
            None => bail!(
                "CODE_HMAC_KEY must be set (APP_ENV=development uses a development key while \
                 mail goes to files)"
            ),
        };
        Ok(Settings {
            core: CoreSettings::from_env(
                "mailer",
                config::parse("VERIFICATION_MAILER_PORT", 2028)?,
            )?,
            mail,
            mail_from: config::optional("MAIL_FROM").or(user).unwrap_or_else(|| {
                "Pegadaian Gadai Elektronik <no-reply@gadai.localhost>".to_owned()
            }),
            code_key: code_key.into(),
            code_ttl: config::duration("VERIFICATION_TTL", Duration::from_secs(24 * 3600))?,
            max_failed_attempts: config::parse("VERIFICATION_MAX_FAILED_ATTEMPTS", 5)?,
            send_attempts: config::parse("SMTP_SEND_ATTEMPTS", 5)?,
            send_ack_wait: config::duration("MAIL_ACK_WAIT", Duration::from_secs(10))
                .context("MAIL_ACK_WAIT")?,
            check: CheckSettings::from_env()?,
            pii: KeyAccess::from_env()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let mail = MailSettings::Smtp {
            host: "smtp.example.co.id".into(),
            port: 587,
            tls: TlsMode::StartTls,
            user: Some("gadai".into()),
            password: Some(SecretString::from("app-password-1234")),
            timeout: Duration::from_secs(5),
        };
        let printed = format!("{mail:?}");
        assert!(printed.contains("smtp.example.co.id"), "{printed}");
        assert!(!printed.contains("app-password-1234"), "{printed}");
        let key: SecretBox<[u8]> = b"code-hmac-key-0123456789abcdef-xyz".to_vec().into();
        assert!(!format!("{key:?}").contains("code-hmac"));
    }
}
