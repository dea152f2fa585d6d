//! expiry-sweeper's configuration, from the environment (see `.env.example`).

use std::time::Duration;

use anyhow::{Context, bail};
use gadai_kit::config;
use gadai_runtime::{CoreSettings, ServiceSettings};

/// The documented default of `RETENTION_PERIOD`: 365 days.
pub const DEFAULT_RETENTION_PERIOD: Duration = Duration::from_secs(365 * 86_400);

#[derive(Debug, Clone)]
pub struct Settings {
    /// Database, NATS and HTTP server.
    pub core: CoreSettings,
    /// How often due verifications are looked for (`SWEEP_INTERVAL`, default 60 s).
    pub sweep_interval: Duration,
    /// The most expiries published per sweep.
    pub sweep_batch: i64,
    /// How long after a customer's last order or hand-off closed their personal data is erased
    /// (`RETENTION_PERIOD`, default 365 days); `None` when `off` (or 0).
    pub retention_period: Option<Duration>,
    /// How often customers past retention are looked for (`RETENTION_SWEEP_INTERVAL`, 1 h).
    pub retention_interval: Duration,
}

impl ServiceSettings for Settings {
    fn core(&self) -> &CoreSettings {
        &self.core
    }

    fn from_env() -> anyhow::Result<Self> {
        let retention_interval =
            config::duration("RETENTION_SWEEP_INTERVAL", Duration::from_secs(3600))?;
        if retention_interval.is_zero() {
            bail!("RETENTION_SWEEP_INTERVAL must be longer than 0");
        }
        Ok(Settings {
            core: CoreSettings::from_env("sweeper", config::parse("EXPIRY_SWEEPER_PORT", 2029)?)?,
            sweep_interval: config::duration("SWEEP_INTERVAL", Duration::from_secs(60))?,
            sweep_batch: config::parse("SWEEP_BATCH", 1000)?,
            retention_period: retention_period(config::optional("RETENTION_PERIOD").as_deref())?,
            retention_interval,
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
