//! dashboard-api's configuration, from the environment (see `.env.example`).

use std::{path::PathBuf, time::Duration};

use gadai_bus::BusSettings;
use gadai_kit::config;
use gadai_store::DbSettings;

#[derive(Debug, Clone)]
pub struct Settings {
    pub db: DbSettings,
    pub bus: BusSettings,
    pub host: String,
    pub port: u16,
    /// The built web dashboard (`web_dashboard/dist`), served at `/` when present.
    pub web_dist: PathBuf,
    pub request_timeout: Duration,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Settings {
            db: DbSettings::from_env("dashboard")?,
            bus: BusSettings::from_env()?,
            host: config::string("HTTP_HOST", "127.0.0.1"),
            port: config::parse("DASHBOARD_API_PORT", 2026)?,
            web_dist: PathBuf::from(config::string("WEB_DIST_DIR", "web_dashboard/dist")),
            request_timeout: config::duration("REQUEST_TIMEOUT", Duration::from_secs(15))?,
        })
    }
}
