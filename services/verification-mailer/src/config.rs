//! verification-mailer's configuration, from the environment (see `.env.example`).

use std::time::Duration;

use gadai_bus::BusSettings;
use gadai_kit::config;
use gadai_store::DbSettings;

#[derive(Debug, Clone)]
pub struct Settings {
    pub db: DbSettings,
    pub bus: BusSettings,
    pub host: String,
    pub port: u16,
    pub request_timeout: Duration,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Settings {
            db: DbSettings::from_env("mailer")?,
            bus: BusSettings::from_env()?,
            host: config::string("HTTP_HOST", "127.0.0.1"),
            port: config::parse("VERIFICATION_MAILER_PORT", 2028)?,
            request_timeout: config::duration("REQUEST_TIMEOUT", Duration::from_secs(15))?,
        })
    }
}
