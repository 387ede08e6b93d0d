//! The console's home page: today's orders and sales (the shop's day, in its
//! time zone), the conversations
//! waiting for a person and the longest wait, and the bot's health (the
//! active version, the breaker, failures in the last hour).

use axum::extract::State;
use axum::response::Html;

use super::words::Word;
use super::{ConsoleError, Page, Signed, duration, escape, layout};
use crate::App;
use crate::domain::staff::Action;
use crate::money;
use crate::store::{conversations, orders, plugin_events, plugins};

const HOUR_MS: i64 = 60 * 60_000;

pub async fn page(State(app): State<App>, signed: Signed) -> Result<Html<String>, ConsoleError> {
    signed.require(Action::ViewHome)?;
    let business = &signed.business;
    let now = crate::ids::now_ms();
    // Today is the shop's day, in its own time zone.
    let midnight = signed.clock().start_of_day(now);
    let sales = orders::sales_since(&app.db, &business.id, midnight).await?;
    let waiting = conversations::waiting(&app.db, &business.id).await?;
    let failures = plugin_events::failures(&app.db, &business.id, 500).await?;
    let recent_failures = failures.iter().filter(|f| f.created_at >= now - HOUR_MS).count();

    let orders_today: i64 = sales.iter().map(|s| s.orders).sum();
    let sold = if sales.is_empty() {
        money::format_localized(0, &business.currency, &business.locale)
    } else {
        sales
            .iter()
            .map(|s| money::format_localized(s.paid_minor, &s.currency, &business.locale))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    let lang = signed.lang();
    let longest =
        waiting.oldest.map_or_else(|| Word::NobodyWaits.in_(lang).to_string(), |oldest| duration(now - oldest));
    let bot = match &business.active_plugin_version_id {
        Some(id) => match plugins::get(&app.db, &business.id, id).await? {
            Some(version) => format!("v{}", version.version),
            None => Word::NoBot.in_(lang).to_string(),
        },
        None => Word::NoBot.in_(lang).to_string(),
    };
    let breaker = match &business.plugin_disabled_reason {
        Some(reason) => format!("<p class=error>{}</p>", Word::BotSwitchedOff.fill(lang, &[escape(reason)])),
        None => String::new(),
    };
    let word = |id: Word| escape(id.in_(lang));
    let body = format!(
        "<h1>{}</h1><div class=cards>\
         <div class=card id=orders-today>{}<b>{orders_today}</b></div>\
         <div class=card id=sales-today>{}<b>{}</b></div>\
         <div class=card id=waiting>{}<b>{}</b>{}: {}</div>\
         <div class=card id=bot>{}<b>{}</b>{recent_failures} {}</div>\
         </div>{breaker}",
        word(Word::Today),
        word(Word::OrdersToday),
        word(Word::SalesToday),
        escape(&sold),
        word(Word::WaitingForAPerson),
        waiting.waiting,
        word(Word::LongestWait),
        escape(&longest),
        word(Word::Bot),
        escape(&bot),
        word(Word::FailuresLastHour),
    );
    Ok(layout(&signed, Page::Home, &body))
}
