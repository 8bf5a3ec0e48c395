//! Wall-clock formatting without a date crate: epoch milliseconds, the function URL `time` field,
//! and SigV4's `x-amz-date`.
//!
//! Deadlines and recorder timestamps use `tokio::time::Instant` (so tests can pause the clock);
//! only values that go on the wire as dates use the system clock, here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub(crate) fn epoch_millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01; Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// The function URL event's `requestContext.time`: `15/Jul/2025:10:36:52 +0000`.
pub(crate) fn request_time(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!("{d:02}/{}/{y}:{:02}:{:02}:{:02} +0000", MONTHS[m as usize - 1], rem / 3600, rem / 60 % 60, rem % 60)
}

/// Parses SigV4's basic ISO 8601 form, `20250715T103651Z`.
pub(crate) fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = text.get(r)?;
        s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok()).flatten()
    };
    let (y, mo, d, h, mi, s) = (num(0..4)?, num(4..6)?, num(6..8)?, num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y as i64, mo, d);
    let secs = days * 86_400 + (h * 3600 + mi * 60 + s) as i64;
    u64::try_from(secs).ok().map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_fixture() {
        // tests/fixtures/function-url-request-v2.json: timeEpoch 1752575812081.
        let at = UNIX_EPOCH + Duration::from_millis(1_752_575_812_081);
        assert_eq!(request_time(at), "15/Jul/2025:10:36:52 +0000");
        assert_eq!(epoch_millis(at), 1_752_575_812_081);
    }

    #[test]
    fn amz_date_round_trips() {
        let at = parse_amz_date("20250715T103652Z").unwrap();
        assert_eq!(request_time(at), "15/Jul/2025:10:36:52 +0000");
        assert_eq!(parse_amz_date("20240229T000000Z").map(request_time).unwrap(), "29/Feb/2024:00:00:00 +0000");
        assert!(parse_amz_date("2025-07-15T10:36:52Z").is_none());
        assert!(parse_amz_date("20251315T103652Z").is_none());
    }

    #[test]
    fn each_field_of_an_amz_date_is_held_to_its_range() {
        for ok in ["20250101T000000Z", "20251231T235959Z", "20250131T000000Z"] {
            assert!(parse_amz_date(ok).is_some(), "{ok}");
        }
        // A leap second is a valid time: it reads as the next minute's first second.
        assert_eq!(parse_amz_date("20250630T235960Z"), parse_amz_date("20250701T000000Z"));
        let refused =
            ["20250001T000000Z", "20251301T000000Z", "20250100T000000Z", "20250132T000000Z", "20250101T240000Z"];
        for bad in refused.into_iter().chain(["20250101T006000Z", "20250101T000061Z", "20250101T000099Z"]) {
            assert!(parse_amz_date(bad).is_none(), "{bad}");
        }
        // The shape is checked before any field: short, long, or without its `T` and `Z`.
        for bad in ["", "2025", "20250101T00000Z", "20250101T0000000Z", "20250101X000000Z", "20250101T000000X"] {
            assert!(parse_amz_date(bad).is_none(), "{bad}");
        }
    }

    /// Both conversions against a plain day-by-day calendar (Gregorian leap years), over every
    /// day from 1900 to 2500: century years, the 400-year rule and the end of an era included.
    #[test]
    fn every_day_from_1900_to_2500_converts_both_ways() {
        let leap = |y: i64| y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        let length = |y: i64, m: u32| match m {
            2 if leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let (mut y, mut m, mut d) = (1900_i64, 1_u32, 1_u32);
        let first = days_from_civil(1900, 1, 1);
        assert_eq!(first, -25_567, "1900-01-01 is 25,567 days before the epoch");
        for days in first..=days_from_civil(2500, 12, 31) {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
            d += 1;
            if d > length(y, m) {
                (m, d) = (m + 1, 1);
                if m > 12 {
                    (y, m) = (y + 1, 1);
                }
            }
        }
        assert_eq!((y, m, d), (2501, 1, 1));
    }
}
