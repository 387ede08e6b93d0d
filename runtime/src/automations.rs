//! What a business sets up without writing a plugin: a greeting for a
//! customer's first message, an away message outside its opening hours (in its
//! own time zone), quick replies its agents send by name, and the words with
//! which a customer asks for a person.
//!
//! A leaf (it imports nothing from the crate), so `store/` keeps a business's
//! settings without importing `chat/`, which applies them (`chat::handoff`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The longest automated message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 1024;
pub const MAX_QUICK_REPLIES: usize = 50;
/// A customer is told "we're away" at most once in this long.
pub const AWAY_REPEAT_MS: i64 = 12 * 60 * 60 * 1000;
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Automations {
    /// Sent before anything else on a customer's first message.
    pub greeting: Option<String>,
    /// Sent outside opening hours (at most once every 12 hours per conversation).
    pub away: Option<Away>,
    /// Named texts agents send with `{"quick_reply": "<name>"}`.
    #[serde(default)]
    pub quick_replies: BTreeMap<String, String>,
    /// A customer message that is one of these (ignoring case and spaces) asks
    /// for a person: the conversation waits for an agent and the bot is not called.
    #[serde(default)]
    pub handoff_keywords: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Away {
    pub message: String,
    /// IANA time zone of the opening hours, e.g. `Europe/Madrid`.
    pub time_zone: String,
    /// Opening hours by day (`mon` … `sun`): `[["09:00", "13:30"], ["16:00", "20:00"]]`.
    /// A day left out is closed.
    pub hours: BTreeMap<String, Vec<[String; 2]>>,
}

/// Minutes since midnight of `HH:MM` (`24:00` allowed as a closing time).
fn minutes(time: &str) -> Option<u32> {
    let (h, m) = time.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60 && h.to_string().len() <= 2 && m.to_string().len() <= 2)
        .then_some(h * 60 + m)
}

fn check_message(what: &str, text: &str) -> Result<(), String> {
    let length = text.trim().chars().count();
    if length == 0 || length > MAX_MESSAGE_CHARS || text.contains('\0') {
        return Err(format!("{what} must be 1 to {MAX_MESSAGE_CHARS} characters"));
    }
    Ok(())
}

impl Automations {
    /// Checks every setting, naming the first bad one.
    pub fn check(&self) -> Result<(), String> {
        if let Some(greeting) = &self.greeting {
            check_message("greeting", greeting)?;
        }
        if let Some(away) = &self.away {
            check_message("away.message", &away.message)?;
            jiff::tz::TimeZone::get(&away.time_zone).map_err(|_| {
                format!("away.time_zone `{}` is not an IANA time zone (e.g. Europe/Madrid)", away.time_zone)
            })?;
            for (day, ranges) in &away.hours {
                if !DAYS.contains(&day.as_str()) {
                    return Err(format!("away.hours has `{day}`; days are mon, tue, wed, thu, fri, sat, sun"));
                }
                for [open, close] in ranges {
                    match (minutes(open), minutes(close)) {
                        (Some(o), Some(c)) if o < c => {}
                        _ => {
                            return Err(format!(
                                "away.hours.{day}: `{open}`–`{close}` is not an HH:MM range that ends after it starts"
                            ));
                        }
                    }
                }
            }
        }
        if self.quick_replies.len() > MAX_QUICK_REPLIES {
            return Err(format!("at most {MAX_QUICK_REPLIES} quick replies"));
        }
        for (name, text) in &self.quick_replies {
            let name_ok = (1..=32).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            if !name_ok {
                return Err(format!("quick reply name `{name}` must be 1 to 32 of a-z, 0-9, `_` or `-`"));
            }
            check_message(&format!("quick reply `{name}`"), text)?;
        }
        if self.handoff_keywords.len() > 20 || self.handoff_keywords.iter().any(|k| k.trim().is_empty() || k.len() > 64)
        {
            return Err("handoff_keywords holds at most 20 words or phrases of 1 to 64 bytes".into());
        }
        Ok(())
    }

    /// Whether `text` is one of the words that ask for a person.
    pub fn asks_for_a_person(&self, text: &str) -> bool {
        let said = normalize(text);
        self.handoff_keywords.iter().any(|k| normalize(k) == said)
    }
}

fn normalize(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_matches(|c: char| c.is_ascii_punctuation())
        .to_lowercase()
}

impl Away {
    /// Whether the business is open at `now_ms` in its time zone.
    pub fn is_open(&self, now_ms: i64) -> bool {
        let Ok(zoned) = jiff::Timestamp::from_millisecond(now_ms).and_then(|t| t.in_tz(&self.time_zone)) else {
            // Checked when saved; a zone that vanished from the system counts as open.
            return true;
        };
        let day = DAYS[usize::from(zoned.weekday().to_monday_zero_offset().unsigned_abs())];
        let now = u32::from(zoned.hour().unsigned_abs()) * 60 + u32::from(zoned.minute().unsigned_abs());
        self.hours
            .get(day)
            .into_iter()
            .flatten()
            .any(|[open, close]| matches!((minutes(open), minutes(close)), (Some(o), Some(c)) if o <= now && now < c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn madrid_weekdays() -> Away {
        let day = vec![["09:00".to_string(), "14:00".to_string()], ["16:00".to_string(), "20:00".to_string()]];
        Away {
            message: "We're closed".into(),
            time_zone: "Europe/Madrid".into(),
            hours: ["mon", "tue", "wed", "thu", "fri"].iter().map(|d| (d.to_string(), day.clone())).collect(),
        }
    }

    fn at(rfc3339: &str) -> i64 {
        rfc3339.parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).unwrap_or_default()
    }

    #[test]
    fn opening_hours_follow_the_business_time_zone_and_summer_time() {
        let away = madrid_weekdays();
        // Tuesday 2026-11-24: Madrid is UTC+1 in winter.
        assert!(away.is_open(at("2026-11-24T08:30:00Z")), "09:30 in Madrid");
        assert!(!away.is_open(at("2026-11-24T07:30:00Z")), "08:30 in Madrid");
        assert!(!away.is_open(at("2026-11-24T13:30:00Z")), "14:30, the lunch break");
        assert!(away.is_open(at("2026-11-24T18:59:00Z")), "19:59");
        // In July Madrid is UTC+2: 07:30Z is 09:30 there.
        assert!(away.is_open(at("2026-07-14T07:30:00Z")));
        // Saturday is closed.
        assert!(!away.is_open(at("2026-11-28T10:00:00Z")));
        assert_eq!(away.clone().hours.len(), 5);
    }

    #[test]
    fn bad_settings_are_named() {
        let mut away = madrid_weekdays();
        away.time_zone = "Mars/Olympus".into();
        let settings = Automations { away: Some(away), ..Automations::default() };
        assert!(settings.check().expect_err("a bad zone").contains("Mars/Olympus"));
        let mut away = madrid_weekdays();
        away.hours.insert("mon".into(), vec![["18:00".into(), "09:00".into()]]);
        assert!(
            Automations { away: Some(away), ..Automations::default() }
                .check()
                .expect_err("a bad range")
                .contains("mon")
        );
        let quick =
            Automations { quick_replies: [("Thanks!".to_string(), "x".to_string())].into(), ..Automations::default() };
        assert!(quick.check().is_err());
        let words =
            Automations { handoff_keywords: vec!["agent".into(), "talk to a person".into()], ..Automations::default() };
        assert!(words.asks_for_a_person("  Talk to a   PERSON! "));
        assert!(!words.asks_for_a_person("agents are great"));
    }
}
