//! Dates: epoch seconds and milliseconds to UTC date-times and ISO 8601 text, and back.
//!
//! The store keeps times as epoch numbers (CM in seconds, CAR in milliseconds); each wire
//! format writes them in its own ISO 8601 shape, and seed files and request bodies give
//! them as RFC 3339 text. Every conversion lives here, so the shapes cannot drift apart.
//! Formatting a time outside the representable range (years 0–9999 for most shapes) gives
//! an empty string rather than failing.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

/// Epoch milliseconds as a UTC date-time (clamped to the epoch when out of range).
pub fn from_ms(ms: i64) -> OffsetDateTime {
    checked_ms(ms).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Epoch seconds as a UTC date-time (clamped to the epoch when out of range).
pub fn from_s(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Epoch milliseconds as a UTC date-time; `None` when out of range.
pub fn checked_ms(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// A date and time of day taken as UTC, in epoch milliseconds (saturating).
pub fn utc_ms(dt: PrimitiveDateTime) -> i64 {
    let nanos = dt.assume_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
}

/// Any RFC 3339 date-time (`2022-05-06T14:32:25.520Z`) in epoch milliseconds.
pub fn parse_ms(v: &str) -> Option<i64> {
    OffsetDateTime::parse(v, &Rfc3339)
        .ok()
        .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
}

/// Any RFC 3339 date-time (`2018-06-04T10:57:43Z`) in epoch seconds (rounded down).
pub fn parse_s(v: &str) -> Option<i64> {
    parse_ms(v).map(|ms| ms.div_euclid(1000))
}

/// A calendar date, `2022-05-11` (surrounding blanks ignored).
pub fn parse_date(v: &str) -> Option<Date> {
    Date::parse(v.trim(), format_description!("[year]-[month]-[day]")).ok()
}

/// A time of day, `07:25:00` or `07:25` (surrounding blanks ignored).
pub fn parse_time(v: &str) -> Option<Time> {
    let v = v.trim();
    Time::parse(v, format_description!("[hour]:[minute]:[second]"))
        .or_else(|_| Time::parse(v, format_description!("[hour]:[minute]")))
        .ok()
}

/// Epoch seconds as `2018-06-04T10:57:43Z` (CM).
pub fn iso_s(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map(|t| iso(t, false, "Z"))
        .unwrap_or_default()
}

/// Epoch milliseconds as `2022-05-06T14:32:25.520Z` (CAR seed files).
pub fn iso_ms(ms: i64) -> String {
    checked_ms(ms)
        .map(|t| iso(t, true, "Z"))
        .unwrap_or_default()
}

/// Epoch milliseconds as `2022-05-11T06:42:13.692+00:00` (CAR asset jobs' end date).
pub fn iso_ms_offset(ms: i64) -> String {
    checked_ms(ms)
        .map(|t| iso(t, true, "+00:00"))
        .unwrap_or_default()
}

/// `t` as `2022-05-11T06:42:13`, then `.692` with `millis`, then `suffix`. Written by hand:
/// dates are on every record's path, and the general formatter takes several times as
/// long. A year outside 0–9999 goes through the formatter.
fn iso(t: OffsetDateTime, millis: bool, suffix: &str) -> String {
    let (date, time) = (t.date(), t.time());
    let mut out = String::with_capacity(30);
    let two = |out: &mut String, n: u8| {
        out.push((b'0' + n / 10) as char);
        out.push((b'0' + n % 10) as char);
    };
    let year = date.year();
    if (0..=9999).contains(&year) {
        two(&mut out, (year / 100) as u8);
        two(&mut out, (year % 100) as u8);
        out.push('-');
        two(&mut out, u8::from(date.month()));
        out.push('-');
        two(&mut out, date.day());
        out.push('T');
        two(&mut out, time.hour());
        out.push(':');
        two(&mut out, time.minute());
        out.push(':');
        two(&mut out, time.second());
    } else {
        let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        out = t.format(&fmt).unwrap_or_default();
    }
    if millis {
        let ms = time.millisecond();
        out.push('.');
        out.push((b'0' + (ms / 100) as u8) as char);
        two(&mut out, (ms % 100) as u8);
    }
    out.push_str(suffix);
    out
}

/// A date-time as RFC 3339 (`2026-11-25T18:30:00.123Z`; as many fraction digits as it
/// needs).
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// A duration in milliseconds to the microsecond (`12.345`): `elapsedMs`, the journal's
/// `latencyMs` and the request log's latency, without binary-float noise
/// (`12.345000000000001`).
pub fn millis(d: std::time::Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_652_251_333_692; // 2022-05-11T06:42:13.692Z

    #[test]
    fn each_shape_writes_its_bytes() {
        assert_eq!(iso_s(1_528_109_863), "2018-06-04T10:57:43Z");
        assert_eq!(iso_ms(MS), "2022-05-11T06:42:13.692Z");
        assert_eq!(iso_ms(MS - 692), "2022-05-11T06:42:13.000Z");
        assert_eq!(iso_ms_offset(MS), "2022-05-11T06:42:13.692+00:00");
        assert_eq!(rfc3339(from_ms(MS)), "2022-05-11T06:42:13.692Z");
        assert_eq!(rfc3339(from_ms(MS - 692)), "2022-05-11T06:42:13Z");
    }

    #[test]
    fn the_hand_written_shapes_match_the_formatter() {
        let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        let fmt_ms = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        let fmt_offset = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+00:00"
        );
        for s in [
            -62_167_219_200, // 0000-01-01
            -1,
            0,
            1,
            59,
            951_782_400,
            1_528_109_863,
            253_402_300_799,
        ] {
            assert_eq!(iso_s(s), from_s(s).format(&fmt).unwrap(), "{s}");
            for ms in [s * 1000, s * 1000 + 7, s * 1000 + 40, s * 1000 + 999] {
                let t = checked_ms(ms).unwrap();
                assert_eq!(iso_ms(ms), t.format(&fmt_ms).unwrap(), "{ms}");
                assert_eq!(iso_ms_offset(ms), t.format(&fmt_offset).unwrap(), "{ms}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_time_is_written_as_the_formatter_writes_it(ms in -62_167_219_200_000i64..253_402_300_800_000) {
            let fmt_ms = format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            );
            let t = checked_ms(ms).unwrap();
            proptest::prop_assert_eq!(iso_ms(ms), t.format(&fmt_ms).unwrap());
        }
    }

    #[test]
    fn out_of_range_times_write_nothing() {
        assert_eq!(iso_s(i64::MAX), "");
        assert_eq!(iso_ms(i64::MAX), "");
        assert_eq!(iso_ms_offset(i64::MIN), "");
        assert_eq!(from_ms(i64::MAX), OffsetDateTime::UNIX_EPOCH);
    }

    #[test]
    fn text_parses_back() {
        assert_eq!(parse_ms("2022-05-11T06:42:13.692Z"), Some(MS));
        assert_eq!(parse_ms("2022-05-11T08:42:13.692+02:00"), Some(MS));
        assert_eq!(parse_s("2018-06-04T10:57:43Z"), Some(1_528_109_863));
        assert_eq!(parse_s("1969-12-31T23:59:59.500Z"), Some(-1));
        assert_eq!(parse_ms("2022-05-11"), None);
        assert_eq!(parse_ms(&iso_ms(MS)), Some(MS));
        assert_eq!(parse_s(&iso_s(1_528_109_863)), Some(1_528_109_863));
    }

    #[test]
    fn dates_and_times_of_day() {
        let d = parse_date(" 2022-05-11 ").unwrap();
        let t = parse_time("06:42").unwrap();
        assert_eq!(parse_time("06:42:00"), Some(t));
        assert_eq!(parse_date("11/05/2022"), None);
        assert_eq!(utc_ms(PrimitiveDateTime::new(d, t)), MS - 13_692);
    }
}
