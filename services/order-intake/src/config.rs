//! order-intake's configuration, from the environment (see `.env.example`).

use std::time::Duration;

use anyhow::Context;
use gadai_kit::config;
pub use gadai_privacy::Pii;
use gadai_runtime::{CoreSettings, ServiceSettings};
use secrecy::SecretString;

use crate::domain::{
    Catalog, EmailPolicy, OrderRules,
    quote::{DEFAULT_LOAN_RATES, LoanRates},
};

pub const DEFAULT_CATEGORIES: &[&str] = &[
    "televisi",
    "handphone",
    "kamera",
    "laptop",
    "emas",
    "elektronik",
];

#[derive(Debug, Clone)]
pub struct Settings {
    /// Database, NATS and HTTP server.
    pub core: CoreSettings,
    /// The bridge's API key (`APPS_KEY`), sent by n8n in `X-API-Key`.
    pub apps_key: SecretString,
    pub rules: OrderRules,
    pub max_body_bytes: usize,
    pub fallback_window: Duration,
    /// Loan percentages by province for `/api/quote` (`LOAN_RATES`).
    pub loan_rates: LoanRates,
    /// The customers' keys: order-intake owns the key store (`PII_MASTER_KEYS`,
    /// `PII_SUBJECT_KEY`).
    pub pii: Pii,
}

impl ServiceSettings for Settings {
    fn core(&self) -> &CoreSettings {
        &self.core
    }

    fn from_env() -> anyhow::Result<Self> {
        let apps_key = config::optional("APPS_KEY")
            .context("APPS_KEY must be set: it is the API key n8n sends in X-API-Key")?;
        config::check_secret("APPS_KEY", &apps_key, 32)?;
        Ok(Settings {
            core: CoreSettings::from_env("intake", config::parse("ORDER_INTAKE_PORT", 2027)?)?,
            apps_key: apps_key.into(),
            rules: OrderRules {
                catalog: Catalog::new(config::list("ITEM_CATEGORIES", DEFAULT_CATEGORIES)),
                email: EmailPolicy {
                    allowed_domains: config::list("EMAIL_DOMAIN_ALLOWLIST", &[]),
                },
            },
            max_body_bytes: config::parse("MAX_BODY_BYTES", 256 * 1024)?,
            fallback_window: config::duration(
                "IDEMPOTENCY_FALLBACK_WINDOW",
                Duration::from_secs(600),
            )?,
            loan_rates: LoanRates::parse(&config::string("LOAN_RATES", DEFAULT_LOAN_RATES))
                .map_err(|e| anyhow::anyhow!("LOAN_RATES: {e}"))?,
            pii: Pii::from_env()?,
        })
    }
}
