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

/// A duration such as `500ms`, `60s`, `10m`, `24h` or a bare number of seconds.
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
        other => bail!("unknown unit {other:?} (use ms, s, m or h)"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("24h").unwrap(), Duration::from_secs(86_400));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 days").is_err());
    }
}
