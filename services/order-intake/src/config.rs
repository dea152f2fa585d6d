//! order-intake's configuration, from the environment (see `.env.example`).

use std::time::Duration;

use anyhow::Context;
use gadai_bus::BusSettings;
use gadai_kit::config;
use gadai_runtime::{Core, ServiceSettings};
use gadai_store::DbSettings;

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
    pub db: DbSettings,
    pub bus: BusSettings,
    pub host: String,
    pub port: u16,
    /// The bridge's API key (`APPS_KEY`), sent by n8n in `X-API-Key`.
    pub apps_key: String,
    pub rules: OrderRules,
    pub max_body_bytes: usize,
    pub fallback_window: Duration,
    pub request_timeout: Duration,
    /// Loan percentages by province for `/api/quote` (`LOAN_RATES`).
    pub loan_rates: LoanRates,
}

impl ServiceSettings for Settings {
    fn core(&self) -> Core<'_> {
        Core::new(
            &self.db,
            &self.bus,
            &self.host,
            self.port,
            self.request_timeout,
        )
    }

    fn from_env() -> anyhow::Result<Self> {
        let apps_key = config::optional("APPS_KEY")
            .context("APPS_KEY must be set: it is the API key n8n sends in X-API-Key")?;
        config::check_secret("APPS_KEY", &apps_key, 32)?;
        Ok(Settings {
            db: DbSettings::from_env("intake")?,
            bus: BusSettings::from_env()?,
            host: config::string("HTTP_HOST", "127.0.0.1"),
            port: config::parse("ORDER_INTAKE_PORT", 2027)?,
            apps_key,
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
            request_timeout: config::duration("REQUEST_TIMEOUT", Duration::from_secs(15))?,
            loan_rates: LoanRates::parse(&config::string("LOAN_RATES", DEFAULT_LOAN_RATES))
                .map_err(|e| anyhow::anyhow!("LOAN_RATES: {e}"))?,
        })
    }
}
