//! Billing periods: calendar months in the operator's time zone
//! (`billing.time_zone`), as half-open ranges `[start, end)` of milliseconds
//! since the epoch. A fact belongs to the period its `occurred_at` falls in;
//! a month that starts or ends in a daylight-saving change is as long as the
//! zone says.

use jiff::ToSpan;
use jiff::tz::TimeZone;

/// One calendar month in the operator's time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// `2026-11`.
    pub label: String,
    pub start: i64,
    pub end: i64,
}

/// The operator's calendar.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: TimeZone,
}

impl Calendar {
    /// The calendar of the IANA zone `name`; an error names the zone.
    pub fn new(name: &str) -> Result<Calendar, String> {
        TimeZone::get(name)
            .map(|tz| Calendar { tz })
            .map_err(|_| format!("`{name}` is not a time zone this host knows (expected e.g. Europe/Rome or UTC)"))
    }

    /// The period `at_ms` falls in.
    pub fn containing(&self, at_ms: i64) -> Result<Period, String> {
        let at = jiff::Timestamp::from_millisecond(at_ms).map_err(|e| e.to_string())?.to_zoned(self.tz.clone());
        self.month_of(at.date().first_of_month())
    }

    /// The period `label` (`2026-11`) names.
    pub fn named(&self, label: &str) -> Result<Period, String> {
        let bad = || format!("`{label}` is not a period (expected YYYY-MM)");
        let (year, month) = label.split_once('-').ok_or_else(bad)?;
        let (year, month): (i16, i8) = (year.parse().map_err(|_| bad())?, month.parse().map_err(|_| bad())?);
        let first = jiff::civil::Date::new(year, month, 1).map_err(|_| bad())?;
        self.month_of(first)
    }

    /// The period after `period`.
    pub fn next(&self, period: &Period) -> Result<Period, String> {
        self.containing(period.end)
    }

    /// The first millisecond of each day of `period`, in order.
    pub fn days(&self, period: &Period) -> Result<Vec<i64>, String> {
        let start =
            jiff::Timestamp::from_millisecond(period.start).map_err(|e| e.to_string())?.to_zoned(self.tz.clone());
        let mut day = start.date();
        let mut starts = Vec::with_capacity(31);
        loop {
            let at = day.to_zoned(self.tz.clone()).map_err(|e| e.to_string())?.timestamp().as_millisecond();
            if at >= period.end {
                return Ok(starts);
            }
            starts.push(at);
            day = day.checked_add(1.day()).map_err(|e| e.to_string())?;
        }
    }

    /// Midnight at the start of `date` (`2026-11-15`), or an RFC 3339 time, as ms.
    pub fn parse_time(&self, text: &str) -> Result<i64, String> {
        if let Ok(time) = text.parse::<jiff::Timestamp>() {
            return Ok(time.as_millisecond());
        }
        let date: jiff::civil::Date = text
            .parse()
            .map_err(|_| format!("`{text}` is not a date or time (expected 2026-11-15 or 2026-11-15T09:00:00Z)"))?;
        Ok(date.to_zoned(self.tz.clone()).map_err(|e| e.to_string())?.timestamp().as_millisecond())
    }

    fn month_of(&self, first: jiff::civil::Date) -> Result<Period, String> {
        let start = first.to_zoned(self.tz.clone()).map_err(|e| e.to_string())?;
        let next = first.checked_add(1.month()).map_err(|e| e.to_string())?;
        let end = next.to_zoned(self.tz.clone()).map_err(|e| e.to_string())?;
        Ok(Period {
            label: format!("{:04}-{:02}", first.year(), first.month()),
            start: start.timestamp().as_millisecond(),
            end: end.timestamp().as_millisecond(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_in_the_operators_zone() {
        let rome = Calendar::new("Europe/Rome").expect("zone");
        let november = rome.named("2026-11").expect("period");
        // 2026-11-01T00:00+01:00 and 2026-12-01T00:00+01:00.
        assert_eq!(november.start, 1_793_487_600_000);
        assert_eq!(november.end, 1_796_079_600_000);
        assert_eq!(rome.containing(november.end - 1).expect("period"), november);
        assert_eq!(rome.next(&november).expect("period").label, "2026-12");
        assert_eq!(rome.days(&november).expect("days").len(), 30);
        // October has the switch back to winter time: 31 days, 745 hours.
        let october = rome.named("2026-10").expect("period");
        assert_eq!(october.end - october.start, 745 * 3_600_000);
        assert!(Calendar::new("Mars/Olympus").is_err());
        assert!(rome.named("2026-13").is_err());
    }
}
