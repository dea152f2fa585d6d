//! The code checks' shared budgets, as pure arithmetic over one window's counts.
//!
//! Windows are aligned to multiples of their length since the Unix epoch, so with the default
//! hour they are UTC clock hours and a day holds exactly 24 of them: at most 24 x the failure
//! budget failed checks a day, whatever the number of replicas or clients.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// One budget window: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    /// The window of `length` (at least a millisecond) that holds `at`.
    pub fn containing(at: DateTime<Utc>, length: Duration) -> Window {
        let length = (length.as_millis() as i64).max(1);
        let start = at.timestamp_millis().div_euclid(length) * length;
        let time = |ms| DateTime::from_timestamp_millis(ms).unwrap_or(at);
        Window {
            start: time(start),
            end: time(start + length),
        }
    }

    /// Whole seconds from `now` until the window ends, rounded up, at least 1: a client that
    /// waits that long is in the next window.
    pub fn seconds_left(&self, now: DateTime<Utc>) -> u64 {
        let ms = (self.end - now).num_milliseconds().max(0) as u64;
        ms.div_ceil(1000).max(1)
    }
}

/// What a window has counted so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spent {
    pub failures: u32,
    pub code_only: u32,
}

/// The limits per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub failures: u32,
    pub code_only: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A budget is spent: answer without looking at the code.
    Throttle,
    /// Go ahead, with one failure reserved (given back if the check matches) and, for a
    /// code-only check, one code-only check counted: the window's counts after that.
    Reserve(Spent),
}

impl Budget {
    /// Whether a check may run, given what the window has spent. A check reserves a failure
    /// before it runs, so checks running at the same time can never exceed the budget
    /// together.
    pub fn decide(&self, spent: Spent, code_only: bool) -> Decision {
        if spent.failures >= self.failures || (code_only && spent.code_only >= self.code_only) {
            return Decision::Throttle;
        }
        Decision::Reserve(Spent {
            failures: spent.failures + 1,
            code_only: spent.code_only + u32::from(code_only),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn hour_windows_are_utc_clock_hours() {
        let w = Window::containing(at("2026-11-24T14:05:09.250Z"), Duration::from_secs(3600));
        assert_eq!(w.start, at("2026-11-24T14:00:00Z"));
        assert_eq!(w.end, at("2026-11-24T15:00:00Z"));
        assert_eq!(w.seconds_left(at("2026-11-24T14:05:09.250Z")), 3291);
        assert_eq!(w.seconds_left(at("2026-11-24T14:59:59.999Z")), 1);
        // The boundary belongs to the next window.
        let next = Window::containing(at("2026-11-24T15:00:00Z"), Duration::from_secs(3600));
        assert_eq!(next.start, w.end);
    }

    #[test]
    fn a_day_holds_exactly_24_hour_windows() {
        let day = at("2026-11-24T00:00:00Z");
        let mut starts = std::collections::BTreeSet::new();
        for minute in 0..(24 * 60) {
            let t = day + chrono::Duration::minutes(minute);
            starts.insert(Window::containing(t, Duration::from_secs(3600)).start);
        }
        assert_eq!(starts.len(), 24);
    }

    #[test]
    fn short_windows_align_to_their_length() {
        let w = Window::containing(at("2026-11-24T14:05:09Z"), Duration::from_secs(20));
        assert_eq!(w.start, at("2026-11-24T14:05:00Z"));
        assert_eq!(w.end, at("2026-11-24T14:05:20Z"));
    }

    #[test]
    fn checks_reserve_until_the_budget_is_spent() {
        let budget = Budget {
            failures: 2,
            code_only: 1,
        };
        let mut spent = Spent::default();
        for _ in 0..2 {
            match budget.decide(spent, false) {
                Decision::Reserve(after) => spent = after,
                Decision::Throttle => panic!("within budget"),
            }
        }
        assert_eq!(spent.failures, 2);
        assert_eq!(budget.decide(spent, false), Decision::Throttle);
    }

    #[test]
    fn code_only_checks_have_their_own_budget_and_count_failures_too() {
        let budget = Budget {
            failures: 5,
            code_only: 1,
        };
        let Decision::Reserve(after) = budget.decide(Spent::default(), true) else {
            panic!("the first code-only check runs");
        };
        assert_eq!(
            after,
            Spent {
                failures: 1,
                code_only: 1
            }
        );
        assert_eq!(budget.decide(after, true), Decision::Throttle);
        assert!(matches!(budget.decide(after, false), Decision::Reserve(_)));
    }

    #[test]
    fn a_zero_budget_throttles_everything() {
        let budget = Budget {
            failures: 0,
            code_only: 0,
        };
        assert_eq!(budget.decide(Spent::default(), false), Decision::Throttle);
    }
}
