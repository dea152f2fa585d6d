//! dashboard-api's configuration, from the environment (see `.env.example`).

use std::{path::PathBuf, time::Duration};

use anyhow::Context;

use gadai_http::client::TrustedProxies;
use gadai_kit::config;
pub use gadai_privacy::Pii;
use gadai_runtime::{CoreSettings, ServiceSettings};
use secrecy::SecretString;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Database, NATS and HTTP server.
    pub core: CoreSettings,
    /// The built web dashboard (`web_dashboard/dist`), served at `/` when present.
    pub web_dist: PathBuf,
    /// The API key n8n sends in `X-API-Key` to `/dashboard/verify` (`APPS_KEY`).
    pub apps_key: SecretString,
    /// How long after a mail a new code may be sent (`RESEND_COOLDOWN`).
    pub resend_cooldown: Duration,
    /// The most codes mailed for one order (`MAX_VERIFICATION_SENDS`).
    pub max_sends: i32,
    /// `/dashboard/verify` requests per client address per minute, across all replicas
    /// (`VERIFY_RATE_LIMIT`).
    pub verify_rate_limit: u32,
    /// Failed customer lookups (status, resend: no order with that reference and e-mail) per
    /// hour for the whole system, across replicas (`CUSTOMER_LOOKUP_BUDGET`); once spent, every
    /// lookup waits for the next hour.
    pub customer_lookup_budget: u32,
    /// Hand-offs the agent may open per hour for the whole system, across replicas
    /// (`HANDOFF_RATE_LIMIT`).
    pub handoff_rate_limit: u32,
    /// Accept the seed's code-only body of `/dashboard/verify` (`VERIFY_ALLOW_CODE_ONLY`; off:
    /// a check must name its order).
    pub allow_code_only: bool,
    /// Proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`).
    pub trusted_proxies: TrustedProxies,
    /// How long to wait for the mailer's answer to a code check.
    pub check_timeout: Duration,
    /// How long a login lasts (`SESSION_TTL`).
    pub session_ttl: Duration,
    /// When the session cookie is marked `Secure` (`COOKIE_SECURE`).
    pub cookie_secure: CookieSecure,
    /// Login attempts per client address and username per 15 minutes, across all replicas
    /// (`LOGIN_RATE_LIMIT`).
    pub login_rate_limit: u32,
    /// Login attempts per client address per 15 minutes, whatever the usernames
    /// (`LOGIN_CLIENT_RATE_LIMIT`).
    pub login_client_rate_limit: u32,
    /// How long a login waits for one of the replica's two password-hashing slots before it is
    /// answered 503 (`PASSWORD_HASH_WAIT`).
    pub hash_wait: Duration,
    /// Live feeds one operator may hold open on one replica (`LIVE_FEEDS_PER_OPERATOR`).
    pub feeds_per_operator: usize,
    /// Full batches (a backlog) the projection applies at once in this replica
    /// (`PROJECTION_PARALLEL`), each in its own transaction, as replicas do: Postgres works on
    /// one while the other commits. Live batches go one at a time (fewer, larger batches: less
    /// work per event, and an order is visible sooner).
    pub projection_parallel: usize,
    /// The backlog from which the projection catches up in bulk, the list's indexes set aside
    /// and built once at the end (`PROJECTION_BULK_FROM`, default [`BULK_FROM`]; 0:
    /// never).
    pub projection_bulk_from: u64,
    /// The first admin, created at start when there is no operator yet
    /// (`ADMIN_USERNAME`, `ADMIN_PASSWORD`).
    pub bootstrap_admin: Option<(String, SecretString)>,
    /// The keys of customers' personal data (`PII_MASTER_KEYS`, `PII_SUBJECT_KEY`,
    /// `PII_KEYS_TIMEOUT`).
    pub pii: Pii,
    /// How long after a customer's last order or hand-off closed their personal data is erased
    /// (`RETENTION_PERIOD`, default 365 days); `None` when `off` (or 0).
    pub retention_period: Option<Duration>,
    /// How often customers past retention are looked for (`RETENTION_SWEEP_INTERVAL`, 1 h).
    pub retention_interval: Duration,
}

/// The documented default of `RETENTION_PERIOD`: 365 days.
pub const DEFAULT_RETENTION_PERIOD: Duration = Duration::from_secs(365 * 86_400);

/// The backlog from which the dashboard projection catches up in bulk by default (and only
/// into a table that at least doubles; see `gadai_runtime::bulk`): a few seconds of work, where
/// building the list's B-trees again takes a second or two. On 2026-12-03 (alternately, one
/// machine) 300,000 events caught up at 12,548 and 11,408 events/s in bulk against 11,302 and
/// 9,373 with the indexes; 1,000,000 at 10,149 and 11,136 against 8,791 and 9,892.
pub const BULK_FROM: u64 = 100_000;

/// `Secure` on the session cookie: always, never, or when the request came over HTTPS
/// (directly or as told by a proxy's `X-Forwarded-Proto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieSecure {
    Always,
    Never,
    Auto,
}

impl CookieSecure {
    pub fn resolve(self, headers: &http::HeaderMap) -> bool {
        match self {
            CookieSecure::Always => true,
            CookieSecure::Never => false,
            CookieSecure::Auto => headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.eq_ignore_ascii_case("https")),
        }
    }
}

impl ServiceSettings for Settings {
    fn core(&self) -> &CoreSettings {
        &self.core
    }

    fn from_env() -> anyhow::Result<Self> {
        Ok(Settings {
            core: CoreSettings::from_env("dashboard", config::parse("DASHBOARD_API_PORT", 2026)?)?,
            web_dist: PathBuf::from(config::string("WEB_DIST_DIR", "web_dashboard/dist")),
            apps_key: apps_key()?,
            resend_cooldown: config::duration("RESEND_COOLDOWN", Duration::from_secs(60))?,
            max_sends: config::parse("MAX_VERIFICATION_SENDS", 3)?,
            verify_rate_limit: config::parse("VERIFY_RATE_LIMIT", 30)?,
            customer_lookup_budget: config::parse("CUSTOMER_LOOKUP_BUDGET", 100)?,
            handoff_rate_limit: config::parse("HANDOFF_RATE_LIMIT", 60)?,
            allow_code_only: config::parse("VERIFY_ALLOW_CODE_ONLY", false)?,
            trusted_proxies: TrustedProxies::from_env()?,
            check_timeout: config::duration("CHECK_TIMEOUT", Duration::from_secs(5))?,
            session_ttl: config::duration("SESSION_TTL", Duration::from_secs(12 * 3600))?,
            cookie_secure: match config::string("COOKIE_SECURE", "auto").as_str() {
                "true" | "always" => CookieSecure::Always,
                "false" | "never" => CookieSecure::Never,
                "auto" => CookieSecure::Auto,
                other => anyhow::bail!("COOKIE_SECURE={other:?} is not auto, true or false"),
            },
            login_rate_limit: config::parse("LOGIN_RATE_LIMIT", 10)?,
            login_client_rate_limit: config::parse("LOGIN_CLIENT_RATE_LIMIT", 50)?,
            hash_wait: config::duration("PASSWORD_HASH_WAIT", Duration::from_secs(3))?,
            feeds_per_operator: config::parse("LIVE_FEEDS_PER_OPERATOR", 5)?,
            projection_parallel: config::parse("PROJECTION_PARALLEL", 2)?,
            projection_bulk_from: config::parse("PROJECTION_BULK_FROM", BULK_FROM)?,
            bootstrap_admin: bootstrap_admin()?,
            pii: Pii::from_env()?,
            retention_period: retention_period(config::optional("RETENTION_PERIOD").as_deref())?,
            retention_interval: retention_interval()?,
        })
    }
}

/// `RETENTION_PERIOD`: a duration (`365d`, `8760h`), or `off` (or 0) to keep data until it is
/// erased on request; unset, the default.
pub fn retention_period(value: Option<&str>) -> anyhow::Result<Option<Duration>> {
    let Some(value) = value.map(str::trim) else {
        return Ok(Some(DEFAULT_RETENTION_PERIOD));
    };
    if value.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let period = config::parse_duration(value)
        .with_context(|| format!("RETENTION_PERIOD={value:?} is not a duration (365d) or off"))?;
    Ok((!period.is_zero()).then_some(period))
}

fn retention_interval() -> anyhow::Result<Duration> {
    let interval = config::duration("RETENTION_SWEEP_INTERVAL", Duration::from_secs(3600))?;
    anyhow::ensure!(
        !interval.is_zero(),
        "RETENTION_SWEEP_INTERVAL must be longer than 0"
    );
    Ok(interval)
}

/// The API key n8n sends: required, and not a placeholder outside development.
fn apps_key() -> anyhow::Result<SecretString> {
    let key = config::optional("APPS_KEY")
        .context("APPS_KEY must be set: n8n sends it in X-API-Key to /dashboard/verify")?;
    config::check_secret("APPS_KEY", &key, 32)?;
    Ok(key.into())
}

fn bootstrap_admin() -> anyhow::Result<Option<(String, SecretString)>> {
    let admin = config::optional("ADMIN_USERNAME").zip(config::optional("ADMIN_PASSWORD"));
    if let Some((_, password)) = &admin {
        config::check_secret("ADMIN_PASSWORD", password, 12)?;
    }
    Ok(admin.map(|(user, password)| (user, password.into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_a_period_in_days_by_default_and_can_be_turned_off() {
        assert_eq!(
            retention_period(None).unwrap(),
            Some(Duration::from_secs(365 * 86_400))
        );
        assert_eq!(
            retention_period(Some("30d")).unwrap(),
            Some(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(
            retention_period(Some(" 48h ")).unwrap(),
            Some(Duration::from_secs(48 * 3600))
        );
        for off in ["off", "OFF", "0", "0d"] {
            assert_eq!(retention_period(Some(off)).unwrap(), None, "{off}");
        }
        for bad in ["setahun", "1y", "-5d", "365 days"] {
            assert!(retention_period(Some(bad)).is_err(), "{bad}");
        }
    }
}
