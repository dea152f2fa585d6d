//! expiry-sweeper's configuration, from the environment (see `.env.example`).

use std::time::Duration;

use gadai_kit::config;
use gadai_runtime::{CoreSettings, ServiceSettings};

#[derive(Debug, Clone)]
pub struct Settings {
    /// Database, NATS and HTTP server.
    pub core: CoreSettings,
    /// How often due verifications are looked for (`SWEEP_INTERVAL`, default 60 s).
    pub sweep_interval: Duration,
    /// The most expiries published per sweep.
    pub sweep_batch: i64,
}

impl ServiceSettings for Settings {
    fn core(&self) -> &CoreSettings {
        &self.core
    }

    fn from_env() -> anyhow::Result<Self> {
        Ok(Settings {
            core: CoreSettings::from_env("sweeper", config::parse("EXPIRY_SWEEPER_PORT", 2029)?)?,
            sweep_interval: config::duration("SWEEP_INTERVAL", Duration::from_secs(60))?,
            sweep_batch: config::parse("SWEEP_BATCH", 1000)?,
        })
    }
}
