//! When a code expires, in Jakarta time (WIB, UTC+7), as the customer reads it.

use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};

/// Jakarta time's offset from UTC (WIB, UTC+7, no daylight saving), in seconds: the one
/// definition every Gadai text and export uses.
pub const WIB_SECONDS: i32 = 7 * 3600;

/// `at` in Jakarta time.
pub fn wib(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.with_timezone(&FixedOffset::east_opt(WIB_SECONDS).expect("UTC+7 is a valid offset"))
}

/// `24 November 2026 pukul 21.05 WIB`: Indonesian month names, the hour and minute with a dot.
pub fn format_wib(at: DateTime<Utc>) -> String {
    const MONTHS: [&str; 12] = [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ];
    let t = wib(at);
    format!(
        "{} {} {} pukul {:02}.{:02} WIB",
        t.day(),
        MONTHS[t.month0() as usize],
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// `24 November 2026 at 21:05 WIB (UTC+7)`: the same moment for the English part.
pub fn format_wib_en(at: DateTime<Utc>) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let t = wib(at);
    format!(
        "{} {} {} at {:02}:{:02} WIB (UTC+7)",
        t.day(),
        MONTHS[t.month0() as usize],
        t.year(),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn jakarta_time_in_both_languages() {
        let t = at("2026-11-24T14:05:00Z");
        assert_eq!(format_wib(t), "24 November 2026 pukul 21.05 WIB");
        assert_eq!(format_wib_en(t), "24 November 2026 at 21:05 WIB (UTC+7)");
    }

    #[test]
    fn late_utc_evenings_are_the_next_day_in_jakarta() {
        let t = at("2026-12-31T18:30:00Z");
        assert_eq!(format_wib(t), "1 Januari 2027 pukul 01.30 WIB");
        assert_eq!(format_wib_en(t), "1 January 2027 at 01:30 WIB (UTC+7)");
    }
}
