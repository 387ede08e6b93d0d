//! The shop's clock: times shown in the shop's time zone (the one its opening
//! hours are kept in, `automations::Away::time_zone`; UTC for a shop that set
//! none) in its locale's order of day and month, and where the shop's day
//! begins, for the home page's "today". Money is `money::format_localized`
//! with the same locale.

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use super::words::Lang;
use crate::store::businesses::Business;

/// How a shop tells the time.
#[derive(Debug, Clone)]
pub struct Clock {
    tz: TimeZone,
    lang: Lang,
}

impl Clock {
    /// The clock of `business`: its time zone and its locale's language.
    pub fn of(business: &Business) -> Clock {
        let tz = business
            .automations
            .as_ref()
            .and_then(|automations| automations.away.as_ref())
            .and_then(|away| TimeZone::get(&away.time_zone).ok())
            .unwrap_or(TimeZone::UTC);
        Clock { tz, lang: Lang::of(&business.locale) }
    }

    /// A clock in `tz` speaking `lang` (for tests).
    #[cfg(test)]
    fn new(tz: TimeZone, lang: Lang) -> Clock {
        Clock { tz, lang }
    }

    fn zoned(&self, ms: i64) -> Option<Zoned> {
        Timestamp::from_millisecond(ms).ok().map(|at| at.to_zoned(self.tz.clone()))
    }

    /// `ms` as the shop's people read it: `2026-12-01 15:04 CET` in English,
    /// `01/12/2026 15:04 CET` in the other languages (day first).
    pub fn time(&self, ms: i64) -> String {
        let format = match self.lang {
            Lang::En => "%Y-%m-%d %H:%M %Z",
            Lang::It | Lang::Es | Lang::Id | Lang::Hi => "%d/%m/%Y %H:%M %Z",
        };
        self.zoned(ms)
            .and_then(|zoned| jiff::fmt::strtime::format(format, &zoned).ok())
            .unwrap_or_else(|| crate::ids::rfc3339(ms))
    }

    /// When the shop's day that holds `now_ms` began (its midnight, or the
    /// first instant of the day where a transition skips midnight).
    pub fn start_of_day(&self, now_ms: i64) -> i64 {
        self.zoned(now_ms)
            .and_then(|zoned| zoned.start_of_day().ok())
            .map_or_else(|| now_ms - now_ms.rem_euclid(DAY_MS), |start| start.timestamp().as_millisecond())
    }
}

const DAY_MS: i64 = 24 * 60 * 60_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> i64 {
        rfc3339.parse::<Timestamp>().map(|t| t.as_millisecond()).unwrap_or_default()
    }

    #[test]
    fn times_are_the_shop_s_own() {
        let rome = TimeZone::get("Europe/Rome").expect("a zone");
        let italian = Clock::new(rome.clone(), Lang::It);
        assert_eq!(italian.time(at("2026-12-01T23:30:00Z")), "02/12/2026 00:30 CET");
        assert_eq!(Clock::new(TimeZone::UTC, Lang::En).time(at("2026-12-01T23:30:00Z")), "2026-12-01 23:30 UTC");
        // Half past midnight in Rome is already the next day there.
        assert_eq!(italian.start_of_day(at("2026-12-01T23:30:00Z")), at("2026-12-01T23:00:00Z"));
        let jakarta = Clock::new(TimeZone::get("Asia/Jakarta").expect("a zone"), Lang::Id);
        assert_eq!(jakarta.start_of_day(at("2026-12-01T16:59:00Z")), at("2026-11-30T17:00:00Z"));
        assert_eq!(jakarta.start_of_day(at("2026-12-01T17:00:00Z")), at("2026-12-01T17:00:00Z"));
    }
}
