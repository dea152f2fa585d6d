//! dashboard-api's configuration, from the environment (see `.env.example`).

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
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
    /// The API key n8n sends in `X-API-Key` to `/dashboard/verify` (`APPS_KEY`).
    pub apps_key: String,
    /// How long after a mail a new code may be sent (`RESEND_COOLDOWN`).
    pub resend_cooldown: Duration,
    /// The most codes mailed for one order (`MAX_VERIFICATION_SENDS`).
    pub max_sends: i32,
    /// `/dashboard/verify` requests per client per minute (`VERIFY_RATE_LIMIT`).
    pub verify_rate_limit: u32,
    /// How long to wait for the mailer's answer to a code check.
    pub check_timeout: Duration,
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
            apps_key: config::optional("APPS_KEY")
                .context("APPS_KEY must be set: n8n sends it in X-API-Key to /dashboard/verify")?,
            resend_cooldown: config::duration("RESEND_COOLDOWN", Duration::from_secs(60))?,
            max_sends: config::parse("MAX_VERIFICATION_SENDS", 3)?,
            verify_rate_limit: config::parse("VERIFY_RATE_LIMIT", 30)?,
            check_timeout: config::duration("CHECK_TIMEOUT", Duration::from_secs(5))?,
        })
    }
}
