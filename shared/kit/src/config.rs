//! Reading configuration from the environment (12-factor), with defaults and clear errors.

use std::{str::FromStr, time::Duration};

use anyhow::{Context, bail};

/// The variable's value, or `default` when it is unset or empty.
pub fn string(name: &str, default: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => default.to_owned(),
    }
}

/// The variable's value when set and not empty.
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The first of several names that is set, for variables with a legacy alias.
pub fn first_of(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| optional(n))
}

/// A parsed value with a default; a set but unparsable value is an error, not a silent default.
pub fn parse<T>(name: &str, default: T) -> anyhow::Result<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match optional(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("{name}={v:?} is not valid: {e}")),
    }
}

/// A duration such as `500ms`, `60s`, `10m`, `24h`, `365d` or a bare number of seconds.
pub fn duration(name: &str, default: Duration) -> anyhow::Result<Duration> {
    match optional(name) {
        None => Ok(default),
        Some(v) => parse_duration(&v).with_context(|| format!("{name}={v:?} is not a duration")),
    }
}

pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().context("expected a whole number")?;
    Ok(match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        // Retention periods are counted in days (RETENTION_PERIOD=365d).
        "d" => Duration::from_secs(n.checked_mul(86_400).context("too many days")?),
        other => bail!("unknown unit {other:?} (use ms, s, m, h or d)"),
    })
}

/// A comma-separated list, trimmed, empty entries dropped.
pub fn list(name: &str, default: &[&str]) -> Vec<String> {
    match optional(name) {
        None => default.iter().map(|s| (*s).to_owned()).collect(),
        Some(v) => v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    }
}

/// Whether this is a development run (`APP_ENV=development`, as `make run` sets it): only then
/// are placeholder and short secrets accepted. Anything else is production.
pub fn development() -> bool {
    // Written with its path so the .env.example check (e2e/tests/config_docs.rs) sees it.
    crate::config::string("APP_ENV", "production").eq_ignore_ascii_case("development")
}

/// Values shipped in example files and development defaults; none of them is a secret.
const PLACEHOLDERS: &[&str] = &[
    "change-me",
    "changeme",
    "replace-with",
    "replace-me",
    "placeholder",
    "example",
    "dev-apps-key",
    "gadai-admin-dev",
];

/// Refuses a secret that is a known placeholder, too short, or one character repeated, unless
/// this is a development run ([`development`]). The message names the variable, never the value.
pub fn check_secret(name: &str, value: &str, min_chars: usize) -> anyhow::Result<()> {
    if development() {
        return Ok(());
    }
    let lower = value.to_lowercase();
    if let Some(p) = PLACEHOLDERS.iter().find(|p| lower.contains(*p)) {
        bail!(
            "{name} still holds a placeholder (it contains {p:?}): set a real secret, e.g. \
             `openssl rand -hex 32` (APP_ENV=development accepts placeholders)"
        );
    }
    let chars = value.chars().count();
    if chars < min_chars {
        bail!(
            "{name} is {chars} characters long; at least {min_chars} are required \
             (APP_ENV=development accepts shorter ones)"
        );
    }
    let mut distinct = value.chars().collect::<Vec<_>>();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 4 {
        bail!("{name} uses fewer than 4 distinct characters: it is not a secret");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("24h").unwrap(), Duration::from_secs(86_400));
        assert_eq!(
            parse_duration("365d").unwrap(),
            Duration::from_secs(365 * 86_400)
        );
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 days").is_err());
    }

    #[test]
    fn placeholders_and_short_secrets_are_refused() {
        // APP_ENV is not set in unit tests: production rules.
        assert!(check_secret("APPS_KEY", "change-me-apps-key-0123456789abcdef", 32).is_err());
        assert!(check_secret("APPS_KEY", "replace-with-openssl-rand-hex-32", 32).is_err());
        assert!(check_secret("APPS_KEY", "dev-apps-key", 32).is_err());
        assert!(check_secret("APPS_KEY", "0123456789abcdef", 32).is_err());
        assert!(check_secret("APPS_KEY", &"a".repeat(40), 32).is_err());
        let err = check_secret("CODE_HMAC_KEY", "tiny-k3y", 32).unwrap_err();
        assert!(err.to_string().contains("CODE_HMAC_KEY"));
        assert!(
            !err.to_string().contains("tiny-k3y"),
            "the value is never echoed"
        );
        assert!(check_secret("APPS_KEY", "9f86d081884c7d659a2feaa0c55ad015", 32).is_ok());
    }
}
