//! expiry-sweeper's configuration, from the environment (see `.env.example`).

use std::time::Duration;

use gadai_bus::BusSettings;
use gadai_kit::config;
use gadai_runtime::{Core, ServiceSettings};
use gadai_store::DbSettings;

#[derive(Debug, Clone)]
pub struct Settings {
    pub db: DbSettings,
    pub bus: BusSettings,
    pub host: String,
    pub port: u16,
    pub request_timeout: Duration,
    /// How often due verifications are looked for (`SWEEP_INTERVAL`, default 60 s).
    pub sweep_interval: Duration,
    /// The most expiries published per sweep.
    pub sweep_batch: i64,
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
        Ok(Settings {
            db: DbSettings::from_env("sweeper")?,
            bus: BusSettings::from_env()?,
            host: config::string("HTTP_HOST", "127.0.0.1"),
            port: config::parse("EXPIRY_SWEEPER_PORT", 2029)?,
            request_timeout: config::duration("REQUEST_TIMEOUT", Duration::from_secs(15))?,
            sweep_interval: config::duration("SWEEP_INTERVAL", Duration::from_secs(60))?,
            sweep_batch: config::parse("SWEEP_BATCH", 1000)?,
        })
    }
}
