//! When a schedule fires. Pure date arithmetic in UTC; no I/O, no clock.
//!
//! Types as the CAR guide names them: `ONE_TIME` (at the start date and time), `HOURLY`
//! (every `hourlyInterval` hours from the start), `DAILY`, `WEEKLY` (on `daysOfWeek`, 1 =
//! Sunday … 7 = Saturday as in Quartz, or day names), `MONTHLY` (on day `recurrenceDate` of
//! every `recurrenceMonth`-th month from the start month). Firings lie between the start
//! (date + time) and the end of the end date.

use serde::{Deserialize, Serialize};
use time::{Date, Month, PrimitiveDateTime, Time};

use crate::dates;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Recurrence {
    pub(crate) schedule_type: String,
    pub(crate) start_date: String,
    pub(crate) end_date: String,
    pub(crate) start_time: String,
    #[serde(default)]
    pub(crate) hourly_interval: Option<i64>,
    /// 1 = Sunday … 7 = Saturday.
    #[serde(default)]
    pub(crate) days_of_week: Vec<u8>,
    #[serde(default)]
    pub(crate) recurrence_date: Option<i64>,
    #[serde(default)]
    pub(crate) recurrence_month: Option<i64>,
}

/// What is wrong with a recurrence, worded for the client.
pub(crate) type Invalid = String;

pub(crate) const TYPES: &[&str] = &["ONE_TIME", "HOURLY", "DAILY", "WEEKLY", "MONTHLY"];

fn date(field: &str, v: &str) -> Result<Date, Invalid> {
    dates::parse_date(v)
        .ok_or_else(|| format!("{field} must be a date like 2022-05-11 (got {v:?})"))
}

fn clock_time(v: &str) -> Result<Time, Invalid> {
    dates::parse_time(v).ok_or_else(|| {
        format!(
            "startTime must be a time like 07:25:00 (got {:?})",
            v.trim()
        )
    })
}

/// A day name or number (1 = Sunday) as 1..=7.
pub(crate) fn day_number(v: &str) -> Option<u8> {
    let v = v.trim();
    if let Ok(n) = v.parse::<u8>() {
        return (1..=7).contains(&n).then_some(n);
    }
    let names = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let upper = v.to_ascii_uppercase();
    names
        .iter()
        .position(|n| upper.starts_with(n))
        .map(|i| i as u8 + 1)
}

impl Recurrence {
    /// Check the fields the type needs; `Ok` means [`Self::next_fire`] can be asked.
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        let start = date("startDate", &self.start_date)?;
        let end = date("endDate", &self.end_date)?;
        clock_time(&self.start_time)?;
        if end < start {
            return Err("endDate must not be before startDate".to_owned());
        }
        match self.schedule_type.as_str() {
            "ONE_TIME" | "DAILY" => {}
            "HOURLY" => match self.hourly_interval {
                Some(h) if (1..=23).contains(&h) => {}
                _ => {
                    return Err(
                        "hourlyInterval (1 to 23) is required for an HOURLY schedule".into(),
                    );
                }
            },
            "WEEKLY" => {
                if self.days_of_week.is_empty() {
                    return Err("daysOfWeek is required for a WEEKLY schedule".into());
                }
            }
            "MONTHLY" => {
                match self.recurrence_date {
                    Some(d) if (1..=31).contains(&d) => {}
                    _ => {
                        return Err(
                            "recurrenceDate (1 to 31) is required for a MONTHLY schedule".into(),
                        );
                    }
                }
                match self.recurrence_month {
                    Some(m) if (1..=12).contains(&m) => {}
                    _ => {
                        return Err(
                            "recurrenceMonth (1 to 12) is required for a MONTHLY schedule".into(),
                        );
                    }
                }
            }
            other => {
                return Err(format!(
                    "scheduleType must be one of {} (got {other:?})",
                    TYPES.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The first firing at or after `from_ms`, if any remains.
    pub(crate) fn next_fire(&self, from_ms: i64) -> Option<i64> {
        let start_date = date("", &self.start_date).ok()?;
        let end_date = date("", &self.end_date).ok()?;
        let at = clock_time(&self.start_time).ok()?;
        let start = dates::utc_ms(PrimitiveDateTime::new(start_date, at));
        let end = dates::utc_ms(PrimitiveDateTime::new(end_date.next_day()?, Time::MIDNIGHT));
        let within = |t: i64| (t >= from_ms && t >= start && t < end).then_some(t);
        let stepped = |step: i64| {
            let t = if from_ms <= start {
                start
            } else {
                start + (from_ms - start + step - 1) / step * step
            };
            within(t)
        };
        match self.schedule_type.as_str() {
            "ONE_TIME" => within(start),
            "HOURLY" => stepped(self.hourly_interval? * 3_600_000),
            "DAILY" => stepped(86_400_000),
            "WEEKLY" => {
                let from_date = dates::checked_ms(from_ms)?.date();
                let mut day = start_date.max(from_date);
                for _ in 0..8 {
                    if day > end_date {
                        return None;
                    }
                    let t = dates::utc_ms(PrimitiveDateTime::new(day, at));
                    if self
                        .days_of_week
                        .contains(&day.weekday().number_from_sunday())
                        && within(t).is_some()
                    {
                        return Some(t);
                    }
                    day = day.next_day()?;
                }
                None
            }
            "MONTHLY" => {
                let every = self.recurrence_month? as i32;
                let dom = u8::try_from(self.recurrence_date?).ok()?;
                let first = start_date.year() * 12 + start_date.month() as i32 - 1;
                for k in 0..2400 {
                    let index = first + k * every;
                    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) as u8 + 1);
                    let month = Month::try_from(month).ok()?;
                    let Ok(day) = Date::from_calendar_date(year, month, dom) else {
                        continue;
                    };
                    if day > end_date {
                        return None;
                    }
                    if let Some(t) = within(dates::utc_ms(PrimitiveDateTime::new(day, at))) {
                        return Some(t);
                    }
                }
                None
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kind: &str, start: &str, end: &str, at: &str) -> Recurrence {
        Recurrence {
            schedule_type: kind.into(),
            start_date: start.into(),
            end_date: end.into(),
            start_time: at.into(),
            hourly_interval: None,
            days_of_week: vec![],
            recurrence_date: None,
            recurrence_month: None,
        }
    }

    fn at(s: &str) -> i64 {
        crate::dates::parse_ms(s).unwrap()
    }

    #[test]
    fn one_time_fires_once_or_never() {
        let r = rec("ONE_TIME", "2022-05-11", "2022-05-11", "07:25:00");
        assert_eq!(
            r.next_fire(at("2022-05-10T00:00:00Z")),
            Some(at("2022-05-11T07:25:00Z"))
        );
        assert_eq!(
            r.next_fire(at("2022-05-11T07:25:00Z")),
            Some(at("2022-05-11T07:25:00Z"))
        );
        assert_eq!(r.next_fire(at("2022-05-11T07:25:01Z")), None);
    }

    #[test]
    fn hourly_and_daily_step_until_the_end_date() {
        let mut r = rec("HOURLY", "2022-05-11", "2022-05-16", "10:49:00");
        r.hourly_interval = Some(6);
        assert_eq!(
            r.next_fire(at("2022-05-11T10:50:00Z")),
            Some(at("2022-05-11T16:49:00Z"))
        );
        assert_eq!(r.next_fire(at("2022-05-16T22:49:01Z")), None);
        let r = rec("DAILY", "2022-05-11", "2022-05-15", "09:42:00");
        assert_eq!(
            r.next_fire(at("2022-05-12T09:42:00Z")),
            Some(at("2022-05-12T09:42:00Z"))
        );
        assert_eq!(r.next_fire(at("2022-05-15T09:42:01Z")), None);
    }

    #[test]
    fn weekly_on_the_given_days() {
        let mut r = rec("WEEKLY", "2022-05-11", "2022-05-16", "10:49:00");
        r.days_of_week = vec![1, 2]; // Sunday, Monday
        // 2022-05-11 is a Wednesday: next is Sunday the 15th.
        assert_eq!(
            r.next_fire(at("2022-05-11T00:00:00Z")),
            Some(at("2022-05-15T10:49:00Z"))
        );
        assert_eq!(
            r.next_fire(at("2022-05-15T10:49:01Z")),
            Some(at("2022-05-16T10:49:00Z"))
        );
        assert_eq!(r.next_fire(at("2022-05-16T10:49:01Z")), None);
        assert_eq!(day_number("monday"), Some(2));
        assert_eq!(day_number("7"), Some(7));
        assert_eq!(day_number("8"), None);
    }

    #[test]
    fn monthly_on_a_day_every_n_months() {
        let mut r = rec("MONTHLY", "2022-05-12", "2022-12-31", "09:20:00");
        r.recurrence_date = Some(7);
        r.recurrence_month = Some(1);
        assert_eq!(
            r.next_fire(at("2022-05-12T00:00:00Z")),
            Some(at("2022-06-07T09:20:00Z"))
        );
        r.recurrence_month = Some(3);
        assert_eq!(
            r.next_fire(at("2022-05-12T00:00:00Z")),
            Some(at("2022-08-07T09:20:00Z"))
        );
        r.recurrence_date = Some(31);
        r.recurrence_month = Some(1);
        // Months without a 31st are skipped.
        assert_eq!(
            r.next_fire(at("2022-06-01T00:00:00Z")),
            Some(at("2022-07-31T09:20:00Z"))
        );
    }

    #[test]
    fn validation_names_the_field() {
        let mut r = rec("HOURLY", "2022-05-11", "2022-05-16", "10:49:00");
        assert!(r.validate().unwrap_err().contains("hourlyInterval"));
        r.schedule_type = "YEARLY".into();
        assert!(r.validate().unwrap_err().contains("scheduleType"));
        let r = rec("DAILY", "2022-05-11", "2022-05-01", "10:49:00");
        assert!(r.validate().unwrap_err().contains("endDate"));
        let r = rec("DAILY", "11/05/2022", "2022-05-01", "10:49:00");
        assert!(r.validate().unwrap_err().contains("startDate"));
    }
}
