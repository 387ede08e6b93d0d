//! The circuit breaker's back-off: after a repeated trip, no version of the
//! business may answer for a cool-off that doubles with each trip of the run
//! (1 minute after the second, then 2, 4... up to an hour). The first trip of
//! a run costs nothing: a business restarts its plugin at once. A run of trips
//! ends after a day without one
//! ([`crate::store::businesses::TRIP_WINDOW_MS`]).
//!
//! The cool-off belongs to the business, not to a version: it holds for every
//! version, a new upload included. The host cannot tell a fix from the same
//! plugin with a byte changed (any change gives a new hash), so a new hash
//! cannot be what lets a plugin back in; the cool-offs start short so a real
//! fix waits minutes, and every refusal says until when.

use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

use crate::store::businesses::{PluginTrips, TRIP_WINDOW_MS, serialize_time};

/// Trips of a run after which a restart is still allowed at once.
pub const FREE_TRIPS: i64 = 1;
/// The cool-off after the first trip past [`FREE_TRIPS`]; each further trip doubles it.
pub const FIRST_COOL_OFF: Duration = Duration::from_secs(60);
/// The longest cool-off.
pub const MAX_COOL_OFF: Duration = Duration::from_secs(60 * 60);

/// A cool-off in force: no version of the business may be activated until it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct CoolingOff {
    /// Times the circuit breaker stopped the business's plugin in the current
    /// run (a run ends after a day without a trip).
    pub trips: i64,
    /// When the last of them was.
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub tripped_at: i64,
    /// When a version may be activated again.
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "serialize_time")]
    pub until: i64,
}

impl CoolingOff {
    /// Whole seconds from `now` until it ends (at least 1), for `Retry-After`.
    pub fn seconds_left(&self, now: i64) -> u64 {
        let millis = self.until.saturating_sub(now).max(1);
        u64::try_from(millis).unwrap_or(u64::MAX).div_ceil(1000)
    }
}

impl std::fmt::Display for CoolingOff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cool_off = cool_off(self.trips).as_secs();
        write!(
            f,
            "the circuit breaker has stopped this business's plugin {} times within a day (last at {}), so no version \
             may answer until {} (a cool-off of {} minute{} that doubles with each further trip, up to an hour)",
            self.trips,
            crate::ids::rfc3339(self.tripped_at),
            crate::ids::rfc3339(self.until),
            cool_off / 60,
            if cool_off / 60 == 1 { "" } else { "s" },
        )
    }
}

/// How long activations are refused after the `trips`-th trip of a run.
pub fn cool_off(trips: i64) -> Duration {
    if trips <= FREE_TRIPS {
        return Duration::ZERO;
    }
    // 2^16 minutes is well past the cap: larger exponents change nothing.
    let doublings = u32::try_from(trips - FREE_TRIPS - 1).unwrap_or(u32::MAX).min(16);
    FIRST_COOL_OFF.saturating_mul(1 << doublings).min(MAX_COOL_OFF)
}

/// The cool-off in force at `now` for a business with these trips, if any.
pub fn cooling_off(trips: PluginTrips, now: i64) -> Option<CoolingOff> {
    let tripped_at = trips.last_at?;
    if now.saturating_sub(tripped_at) >= TRIP_WINDOW_MS {
        // The run is over: the next trip starts a new one.
        return None;
    }
    let length = i64::try_from(cool_off(trips.count).as_millis()).unwrap_or(i64::MAX);
    let until = tripped_at.saturating_add(length);
    (until > now).then_some(CoolingOff { trips: trips.count, tripped_at, until })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn the_cool_off_doubles_with_each_trip_up_to_an_hour() {
        let expected = [
            (0, Duration::ZERO),
            (1, Duration::ZERO),
            (2, MINUTE),
            (3, 2 * MINUTE),
            (4, 4 * MINUTE),
            (7, 32 * MINUTE),
            (8, MAX_COOL_OFF),
            (1_000, MAX_COOL_OFF),
            (i64::MAX, MAX_COOL_OFF),
        ];
        for (trips, wanted) in expected {
            assert_eq!(cool_off(trips), wanted, "after {trips} trips");
        }
    }

    #[test]
    fn a_cool_off_holds_from_the_last_trip_until_it_ends() {
        let at = 1_000_000_000;
        let trips = |count| PluginTrips { count, last_at: Some(at) };
        assert_eq!(cooling_off(PluginTrips::default(), at), None, "never tripped");
        assert_eq!(cooling_off(trips(1), at), None, "the first trip is free");
        let cooling = cooling_off(trips(3), at + 1_000).expect("2 minutes after the third trip");
        assert_eq!(cooling, CoolingOff { trips: 3, tripped_at: at, until: at + 120_000 });
        assert_eq!(cooling.seconds_left(at + 1_000), 119);
        assert_eq!(cooling.seconds_left(at + 119_999), 1);
        assert_eq!(cooling_off(trips(3), at + 119_999).map(|c| c.until), Some(at + 120_000));
        assert_eq!(cooling_off(trips(3), at + 120_000), None, "over when it ends");
        assert_eq!(cooling_off(trips(50), at + TRIP_WINDOW_MS), None, "a day without a trip ends the run");
        let message = cooling.to_string();
        assert!(message.contains("stopped this business's plugin 3 times within a day"), "{message}");
        assert!(message.contains("a cool-off of 2 minutes"), "{message}");
    }
}
