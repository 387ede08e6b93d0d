//! The console's inbox: conversations waiting for a person first, then those
//! people hold, then the bot's; a thread as the customer sees it, with the
//! customer's cart and orders beside it and, on WhatsApp, whether the 24-hour
//! window is open; take, reply and release as the signed-in person (the
//! handoff functions the API's handlers call, `api/chat.rs`), with the shop's
//! quick replies one click away; private notes beside the thread (sealed like
//! messages, `store/notes.rs`, never sent nor given to the plugin); pausing the
//! bot for one customer (the conversation waits for a person, so the bot does
//! not answer, until it is handed back). The thread's page asks [`since`]
//! for newer messages every 750 ms, so a message shows within a second, and
//! with them who answers now ([`Handoff`]: the holder's name, whether the bot
//! answers or is paused, WhatsApp's window, and a fingerprint of it), so the
//! page's status line and its take, reply, release and pause forms follow
//! another person taking, releasing or pausing the conversation; the list asks
//! [`rows`] every 2 seconds, so a customer who starts waiting shows at the
//! top. Both read the database, so what any node stored shows ([`SCRIPT`],
//! served from the host, builds what it shows with `textContent`).

use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::super::chat;
use super::clock::Clock;
use super::words::{Lang, Word};
use super::{ConsoleError, Page, Signed, duration, escape, layout};
use crate::App;
use crate::api::error::ApiError;
use crate::chat::handoff::{self, HandlingChange};
use crate::domain::staff::Action;
use crate::money;
use crate::staff;
use crate::store::conversations::{self, Conversation, Direction, Handling, Message};
use crate::store::{carts, notes, orders};
use crate::transport::outbox::SERVICE_WINDOW_MS;

/// Conversations listed per kind of handling.
const LISTED: u32 = 100;
/// Messages of a thread shown (the latest).
const SHOWN: i64 = 100;
/// Notes of a conversation shown (the latest).
const NOTES_SHOWN: u32 = 50;
/// Messages one poll of [`since`] returns at most.
const POLLED: u32 = 100;

/// The inbox's script: on a thread, polls [`since`], appends what is new and
/// follows who answers (the status line, which forms show); on the list,
/// polls [`rows`] and rebuilds them (built with `textContent`, never as
/// HTML). Served from the host; the console's policy allows script from the
/// host only, none inline.
pub const SCRIPT: &str = include_str!("inbox.js");

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    /// The name of one of the shop's quick replies, sent instead of `text`.
    #[serde(default)]
    quick_reply: String,
}

#[derive(Debug, Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// One conversation of the inbox's list, as text (the page escapes it, the
/// script sets it as text).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    id: String,
    /// The customer's pseudonym, shortened.
    customer: String,
    channel: String,
    handling: Handling,
    /// Who answers: how long it waits, who holds it, or the bot.
    state: String,
    /// When the last message came, by the shop's clock.
    last: String,
}

/// The list's rows: those waiting for a person first (the one waiting
/// longest first), then those people hold, then the bot's.
async fn rows_of(app: &App, signed: &Signed) -> Result<Vec<Row>, ConsoleError> {
    let clock = signed.clock();
    let lang = signed.lang();
    let business_id = &signed.business.id;
    let now = crate::ids::now_ms();
    let mut rows = Vec::new();
    for handling in [Handling::PendingAgent, Handling::Agent, Handling::Bot] {
        let mut listed = conversations::list(&app.db, business_id, Some(handling), LISTED).await?;
        if handling == Handling::PendingAgent {
            // The one waiting longest first.
            listed.reverse();
        }
        for conversation in listed {
            let state = match handling {
                Handling::PendingAgent => {
                    text(Word::WaitingFor, lang, &[duration(now - conversation.last_message_at).as_str()])
                }
                Handling::Agent => {
                    let who = match &conversation.agent {
                        Some(holder) => staff::display_name(&app.db, business_id, holder).await?,
                        None => String::new(),
                    };
                    text(Word::WithAgent, lang, &[who.as_str()])
                }
                Handling::Bot => Word::TheBot.in_(lang).to_string(),
            };
            rows.push(Row {
                customer: short(&conversation.customer_id).to_string(),
                channel: conversation.channel.clone(),
                handling,
                state,
                last: clock.time(conversation.last_message_at),
                id: conversation.id,
            });
        }
    }
    Ok(rows)
}

/// A fingerprint of what the list shows: its script rebuilds the rows only when it changes.
fn rows_version(rows: &[Row]) -> String {
    let cells: Vec<&str> = rows
        .iter()
        .flat_map(|row| {
            [
                row.id.as_str(),
                row.handling.as_str(),
                row.state.as_str(),
                row.last.as_str(),
                row.channel.as_str(),
                row.customer.as_str(),
            ]
        })
        .collect();
    fingerprint(&cells)
}

pub async fn list(State(app): State<App>, signed: Signed) -> Result<Html<String>, ConsoleError> {
    signed.require(Action::ViewInbox)?;
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let listed = rows_of(&app, &signed).await?;
    let rows: String = listed
        .iter()
        .map(|row| {
            format!(
                "<tr class=\"{}\"><td><a href=\"/console/inbox/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(row.handling.as_str()),
                escape(&row.id),
                escape(&row.customer),
                escape(&row.channel),
                escape(&row.state),
                escape(&row.last),
            )
        })
        .collect();
    // Both are on the page, one hidden: the script shows the table once a conversation starts.
    let (note_hidden, table_hidden) = if listed.is_empty() { ("", " hidden") } else { (" hidden", "") };
    let body = format!(
        "<h1>{}</h1><p id=no-conversations class=note{note_hidden}>{}</p>\
         <table id=conversations data-poll=\"/console/inbox/rows\" data-version=\"{}\"{table_hidden}>\
         <thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{rows}</tbody></table>\
         <script src=\"/console/assets/inbox.js\"></script>",
        w(Word::Inbox),
        w(Word::NoConversations),
        escape(&rows_version(&listed)),
        w(Word::Customer),
        w(Word::Channel),
        w(Word::WhoAnswers),
        w(Word::LastMessage),
    );
    Ok(layout(&signed, Page::Inbox, &body))
}

/// The list's rows as JSON for the page's script: each row's `id`,
/// `customer`, `channel`, `handling`, `state` and `last` (text, which the
/// script sets as text), in the page's order, and the list's `version`.
pub async fn rows(State(app): State<App>, signed: Signed) -> Result<Response, ConsoleError> {
    signed.require(Action::ViewInbox)?;
    let listed = rows_of(&app, &signed).await?;
    let rows: Vec<serde_json::Value> = listed
        .iter()
        .map(|row| {
            serde_json::json!({
                "id": row.id,
                "customer": row.customer,
                "channel": row.channel,
                "handling": row.handling.as_str(),
                "state": row.state,
                "last": row.last,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({"version": rows_version(&listed), "rows": rows})).into_response())
}

/// A pseudonym, shortened for a list.
fn short(customer_id: &str) -> &str {
    customer_id.get(..12).unwrap_or(customer_id)
}

pub async fn thread(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Html<String>, ConsoleError> {
    signed.require(Action::ViewInbox)?;
    let business = &signed.business;
    let conversation = chat::conversation(&app, &business.id, &id).await?;
    let after = (conversation.message_count - SHOWN).max(0);
    let messages = conversations::messages(&app.db, &business.id, &id, after, SHOWN as u32).await?;
    chat::audit_read(&app, &business.id, &signed.session.member.id, "conversation.read", &id).await?;
    let clock = signed.clock();
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let thread: String = messages.iter().map(|message| message_html(message, &clock)).collect();
    let last_seq = messages.last().map_or(after, |m| m.seq);
    let now = crate::ids::now_ms();

    let handoff = Handoff::read(&app, &signed, &conversation, now).await?;
    let status = format!("<p id=handling>{}</p>", escape(&handoff.status));
    let window = handoff.window_html();
    let answers = signed.session.may(Action::Answer);
    let controls = if answers { actions(&signed, &conversation, handoff.answering) } else { String::new() };
    let notes_html = notes_html(&app, &signed, &conversation, answers).await?;

    let cart = carts::lines(&app.db, &business.id, &id).await?;
    let cart_html = if cart.is_empty() {
        format!("<p class=note>{}</p>", w(Word::CartEmpty))
    } else {
        let lines: String = cart
            .iter()
            .map(|line| {
                format!(
                    "<tr><td>{}</td><td class=num>{}</td><td class=num>{}</td></tr>",
                    escape(&line.name),
                    line.quantity,
                    escape(&money::format_localized(
                        line.price_minor * line.quantity,
                        &line.currency,
                        &business.locale
                    ))
                )
            })
            .collect();
        format!("<table id=cart>{lines}</table>")
    };
    let orders_html = if signed.session.may(Action::ViewOrders) {
        let orders = orders::of_customer(&app.db, &business.id, &conversation.customer_id, 10).await?;
        if orders.is_empty() {
            format!("<p class=note>{}</p>", w(Word::NoOrdersYet))
        } else {
            let rows: String = orders
                .iter()
                .map(|order| {
                    format!(
                        "<tr><td>#{}</td><td>{} · {} · {}</td><td class=num>{}</td></tr>",
                        order.number,
                        escape(order.status.as_str()),
                        escape(order.payment_status.as_str()),
                        escape(order.fulfillment_status.as_str()),
                        escape(&money::format_localized(order.total_minor, &order.currency, &business.locale))
                    )
                })
                .collect();
            format!("<table id=orders>{rows}</table>")
        }
    } else {
        String::new()
    };

    let body = format!(
        "<h1>{}</h1><p class=note>{} · {}</p>{status}{window}\
         <div class=thread><section><div id=thread data-poll=\"/console/inbox/{}/since/\" data-seq={last_seq} data-version=\"{}\">{thread}</div>\
         {controls}</section>\
         <aside><h2>{}</h2>{cart_html}<h2>{}</h2>{orders_html}{notes_html}</aside></div>\
         <script src=\"/console/assets/inbox.js\"></script>",
        Word::ConversationWith.fill(lang, &[&escape(short(&conversation.customer_id))]),
        escape(&conversation.channel),
        Word::MessagesCount.fill(lang, &[&conversation.message_count.to_string()]),
        escape(&conversation.id),
        escape(&handoff.version()),
        w(Word::Cart),
        w(Word::Orders),
    );
    Ok(layout(&signed, Page::Inbox, &body))
}

/// One message as the customer saw it (its text, or what kind of message it was).
fn message_html(message: &Message, clock: &Clock) -> String {
    let (side, text, meta) = message_parts(message, clock);
    format!("<div class=\"msg {side}\"><div>{}</div><div class=meta>{}</div></div>", escape(&text), escape(&meta))
}

/// A message's side (`inbound` or `outbound`), its text, and the line under
/// it (who wrote it, when): what the page shows and [`since`] returns.
fn message_parts(message: &Message, clock: &Clock) -> (&'static str, String, String) {
    let side = if message.direction == Direction::Inbound { "inbound" } else { "outbound" };
    let text = message
        .body
        .get("text")
        .and_then(|t| t.as_str())
        .or_else(|| message.body.get("title").and_then(|t| t.as_str()))
        .map(str::to_string)
        .unwrap_or_else(|| {
            let kind = message.body.get("type").and_then(|t| t.as_str()).unwrap_or("message");
            format!("[{kind}]")
        });
    let signed_by = message.body.get("agent").and_then(|a| a.as_str()).map(|a| format!(" · {a}")).unwrap_or_default();
    let meta = format!("{}{signed_by} · {}", message.author.as_str(), clock.time(message.created_at));
    (side, text, meta)
}

/// Who answers a conversation, as the person looking sees it: what the
/// thread's forms are shown by (their `data-when`), and [`since`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answering {
    /// The person looking holds it.
    You,
    /// Someone else holds it (or a person nobody named).
    Another,
    /// It waits for a person: one was asked for, or the bot is paused for this customer.
    Waiting,
    /// The bot answers.
    Bot,
}

impl Answering {
    fn of(conversation: &Conversation, member_id: &str) -> Answering {
        match conversation.handling {
            Handling::Agent if conversation.agent.as_deref() == Some(member_id) => Answering::You,
            Handling::Agent => Answering::Another,
            Handling::PendingAgent => Answering::Waiting,
            Handling::Bot => Answering::Bot,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Answering::You => "you",
            Answering::Another => "another",
            Answering::Waiting => "waiting",
            Answering::Bot => "bot",
        }
    }
}

/// A conversation's handoff as its thread shows it, as text (the page
/// escapes it, the script sets it as text).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Handoff {
    handling: Handling,
    answering: Answering,
    /// The name of the staff member holding it.
    holder: Option<String>,
    /// The status line: who answers.
    status: String,
    /// On WhatsApp: whether a person's reply can be sent (free-form messages
    /// only within 24 hours of the customer's last message), and the line saying so.
    window: Option<(bool, String)>,
}

impl Handoff {
    async fn read(app: &App, signed: &Signed, conversation: &Conversation, now: i64) -> Result<Handoff, ConsoleError> {
        let business_id = &signed.business.id;
        let lang = signed.lang();
        let holder = match &conversation.agent {
            Some(holder) => Some(staff::display_name(&app.db, business_id, holder).await?),
            None => None,
        };
        let status = match (conversation.handling, &holder) {
            (Handling::PendingAgent, _) => format!("{}.", Word::WaitingForAPerson.in_(lang)),
            (Handling::Agent, Some(name)) => text(Word::PersonAnswers, lang, &[name.as_str()]),
            (Handling::Agent, None) => Word::APersonAnswers.in_(lang).to_string(),
            (Handling::Bot, _) => Word::BotAnswers.in_(lang).to_string(),
        };
        let window = if conversation.channel == "whatsapp" {
            let last_inbound = conversations::last_inbound_at(&app.db, business_id, &conversation.id).await?;
            Some(match last_inbound {
                Some(at) if now - at <= SERVICE_WINDOW_MS => {
                    (true, text(Word::WindowOpen, lang, &[duration(at + SERVICE_WINDOW_MS - now).as_str()]))
                }
                _ => (false, Word::WindowClosed.in_(lang).to_string()),
            })
        } else {
            None
        };
        Ok(Handoff {
            handling: conversation.handling,
            answering: Answering::of(conversation, &signed.session.member.id),
            holder,
            status,
            window,
        })
    }

    /// A fingerprint of what the thread shows of it: the page's script
    /// changes the page only when it changes.
    fn version(&self) -> String {
        let window = self.window.as_ref().map(|(open, line)| format!("{open}:{line}")).unwrap_or_default();
        fingerprint(&[self.answering.as_str(), self.status.as_str(), window.as_str()])
    }

    /// The window's line, when on WhatsApp.
    fn window_html(&self) -> String {
        match &self.window {
            Some((open, line)) => {
                format!("<p id=window class={}>{}</p>", if *open { "ok" } else { "error" }, escape(line))
            }
            None => String::new(),
        }
    }

    /// What [`since`] says of it.
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "handling": self.handling.as_str(),
            "answering": self.answering.as_str(),
            "holder": self.holder,
            "bot_answers": self.handling == Handling::Bot,
            "bot_paused": self.handling == Handling::PendingAgent,
            "status": self.status,
            "window": self.window.as_ref().map(|(open, line)| serde_json::json!({"open": open, "text": line})),
            "version": self.version(),
        })
    }
}

/// `word` in `lang` as text, each `{}` replaced in turn by one of `arguments`
/// (the text [`Word::fill`] makes before escaping).
fn text(word: Word, lang: Lang, arguments: &[&str]) -> String {
    let mut parts = word.in_(lang).split("{}");
    let mut out = parts.next().unwrap_or_default().to_string();
    let mut arguments = arguments.iter();
    for part in parts {
        if let Some(argument) = arguments.next() {
            out.push_str(argument);
        }
        out.push_str(part);
    }
    out
}

/// A short, stable fingerprint of `parts` (64-bit FNV-1a, in hex): the same
/// on every node.
fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0x1f]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// The thread's forms for who answers now (`answering`). Every form is on
/// the page, those not for now hidden, each saying when it is shown
/// (`data-when`): the page's script shows and hides them as [`since`] says,
/// so they keep their CSRF tokens.
fn actions(signed: &Signed, conversation: &Conversation, answering: Answering) -> String {
    use Answering::{Another, Bot, Waiting, You};
    let id = escape(&conversation.id);
    let csrf = signed.csrf_field();
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    format!(
        "<div id=controls>\
         <form {} method=post action=\"/console/inbox/{id}/take\">{csrf}<button>{}</button></form>\
         <form {} class=stack method=post action=\"/console/inbox/{id}/reply\">{csrf}\
         <label>{} <textarea name=text rows=3 required maxlength=4096></textarea></label><button>{}</button></form>\
         {}\
         <form {} method=post action=\"/console/inbox/{id}/release\">{csrf}\
         <button><span {}>{}</span><span {}>{}</span></button></form>\
         <form {} method=post action=\"/console/inbox/{id}/pause\">{csrf}<button>{}</button></form>\
         <p {} class=note>{}</p></div>",
        shown_when(&[Waiting, Bot], answering),
        w(Word::TakeOver),
        shown_when(&[You], answering),
        w(Word::Reply),
        w(Word::Send),
        quick_replies(signed, &id, &shown_when(&[You], answering)),
        // Held: handed back; paused (or asked for a person): the bot resumes.
        shown_when(&[You, Waiting], answering),
        shown_when(&[You], answering),
        w(Word::HandBack),
        shown_when(&[Waiting], answering),
        w(Word::ResumeBot),
        shown_when(&[Bot], answering),
        w(Word::PauseBot),
        shown_when(&[Another], answering),
        w(Word::HeldByAnother),
    )
}

/// The `data-when` of what is shown while one of `shown` answers, `hidden`
/// unless `answering` is one of them.
fn shown_when(shown: &[Answering], answering: Answering) -> String {
    let names: Vec<&str> = shown.iter().map(|a| a.as_str()).collect();
    let hidden = if shown.contains(&answering) { "" } else { " hidden" };
    format!("data-when=\"{}\"{hidden}", names.join(" "))
}

/// The shop's quick replies, each a one-click form sending it (by name, as
/// the API's `quick_reply`). `id` is the conversation's id, escaped; `when`
/// the block's `data-when` (and `hidden`).
fn quick_replies(signed: &Signed, id: &str, when: &str) -> String {
    let Some(automations) = &signed.business.automations else { return String::new() };
    if automations.quick_replies.is_empty() {
        return String::new();
    }
    let csrf = signed.csrf_field();
    let forms: String = automations
        .quick_replies
        .iter()
        .map(|(name, text)| {
            format!(
                "<form method=post action=\"/console/inbox/{id}/reply\">{csrf}\
                 <input type=hidden name=quick_reply value=\"{}\"><button title=\"{}\">{}</button></form>",
                escape(name),
                escape(text),
                escape(name)
            )
        })
        .collect();
    format!(
        "<div id=quick-replies class=quick {when}><span class=note>{}</span>{forms}</div>",
        escape(Word::QuickReplies.in_(signed.lang()))
    )
}

/// The conversation's private notes, and the form adding one when the
/// person may answer.
async fn notes_html(
    app: &App,
    signed: &Signed,
    conversation: &Conversation,
    answers: bool,
) -> Result<String, ConsoleError> {
    let business_id = &signed.business.id;
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let mut items = String::new();
    for note in notes::of_conversation(&app.db, business_id, &conversation.id, NOTES_SHOWN).await? {
        let author = staff::display_name(&app.db, business_id, &note.author_id).await?;
        items.push_str(&format!(
            "<li><div>{}</div><div class=meta>{} · {}</div></li>",
            escape(&note.text),
            escape(&author),
            escape(&signed.clock().time(note.created_at))
        ));
    }
    let list = if items.is_empty() {
        format!("<p class=note>{}</p>", w(Word::NoNotes))
    } else {
        format!("<ul id=notes>{items}</ul>")
    };
    let form = if answers {
        format!(
            "<form class=stack method=post action=\"/console/inbox/{}/notes\">{}\
             <label>{} <textarea name=text rows=2 required maxlength={}></textarea></label><button>{}</button></form>",
            escape(&conversation.id),
            signed.csrf_field(),
            w(Word::Note),
            notes::MAX_NOTE_BYTES,
            w(Word::AddNote),
        )
    } else {
        String::new()
    };
    Ok(format!("<h2>{}</h2><p class=note>{}</p>{list}{form}", w(Word::PrivateNotes), w(Word::NotesArePrivate)))
}

fn back_to(id: &str) -> Response {
    Redirect::to(&format!("/console/inbox/{id}")).into_response()
}

pub async fn take(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    signed.may_post(&form.csrf, Action::Answer)?;
    chat::conversation(&app, &signed.business.id, &id).await?;
    chat::take(&app, &signed.business, &id, &signed.session.member).await?;
    Ok(back_to(&id))
}

pub async fn reply(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Result<Response, ConsoleError> {
    signed.may_post(&form.csrf, Action::Answer)?;
    let held = chat::conversation(&app, &signed.business.id, &id).await?;
    if held.agent.as_deref() != Some(signed.session.member.id.as_str()) {
        return Err(ConsoleError(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "not_held",
            "take the conversation before replying",
        )));
    }
    if form.text.contains('\0') || form.quick_reply.contains('\0') {
        return Err(ConsoleError(ApiError::invalid_text()));
    }
    let (text, quick_reply) =
        if form.quick_reply.is_empty() { (Some(form.text), None) } else { (None, Some(form.quick_reply)) };
    let agent = Some(signed.session.member.name.clone());
    chat::reply(&app, &signed.business, &held, text, quick_reply, agent).await?;
    Ok(back_to(&id))
}

pub async fn release(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    signed.may_post(&form.csrf, Action::Answer)?;
    chat::conversation(&app, &signed.business.id, &id).await?;
    chat::release(&app, &signed.business, &id, Some(&signed.session.member)).await?;
    Ok(back_to(&id))
}

/// Pauses the bot for this customer: the conversation waits for a person
/// (`pending_agent`), so the bot does not answer it until someone takes it
/// and hands it back, or resumes it (the release form).
pub async fn pause(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    signed.may_post(&form.csrf, Action::Answer)?;
    chat::conversation(&app, &signed.business.id, &id).await?;
    handoff::change_handling(&app.db, &signed.business.id, &id, HandlingChange::RequestAgent)
        .await
        .map_err(ApiError::from)?;
    Ok(back_to(&id))
}

/// Adds a private note to the conversation, sealed under its customer's key.
pub async fn add_note(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<NoteForm>,
) -> Result<Response, ConsoleError> {
    signed.may_post(&form.csrf, Action::Answer)?;
    let conversation = chat::conversation(&app, &signed.business.id, &id).await?;
    if form.text.contains('\0') {
        return Err(ConsoleError(ApiError::invalid_text()));
    }
    let text = form.text.trim();
    if text.is_empty() || text.len() > notes::MAX_NOTE_BYTES {
        return Err(ConsoleError(ApiError::invalid(format!("a note must be 1 to {} bytes", notes::MAX_NOTE_BYTES))));
    }
    notes::add(&app.db, &signed.business.id, &conversation, &signed.session.member.id, text).await?;
    Ok(back_to(&id))
}

/// The thread's messages after `seq`, as JSON for the page's script: each
/// message's `seq`, `side`, `text` and `meta` (the script sets them as text),
/// and the conversation's handoff now ([`Handoff::json`]: who answers, the
/// holder's name, whether the bot answers or is paused, WhatsApp's window,
/// the status line and their `version`). A poll that finds messages is
/// recorded as a read in the audit trail, as opening the thread is.
pub async fn since(
    State(app): State<App>,
    signed: Signed,
    Path((id, seq)): Path<(String, i64)>,
) -> Result<Response, ConsoleError> {
    signed.require(Action::ViewInbox)?;
    let business_id = &signed.business.id;
    let clock = signed.clock();
    let conversation = chat::conversation(&app, business_id, &id).await?;
    let messages = conversations::messages(&app.db, business_id, &id, seq.max(0), POLLED).await?;
    if !messages.is_empty() {
        chat::audit_read(&app, business_id, &signed.session.member.id, "conversation.read", &id).await?;
    }
    let messages: Vec<serde_json::Value> = messages
        .iter()
        .map(|message| {
            let (side, text, meta) = message_parts(message, &clock);
            serde_json::json!({"seq": message.seq, "side": side, "text": text, "meta": meta})
        })
        .collect();
    let mut answer = Handoff::read(&app, &signed, &conversation, crate::ids::now_ms()).await?.json();
    if let Some(fields) = answer.as_object_mut() {
        fields.insert("messages".to_string(), serde_json::Value::Array(messages));
    }
    Ok(Json(answer).into_response())
}

/// The inbox's script ([`SCRIPT`]).
pub async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_as_text_takes_its_arguments_as_they_are() {
        assert_eq!(text(Word::PersonAnswers, Lang::En, &["Bea & <Co>"]), "Bea & <Co> answers.");
        // Escaped, it is what the page's `fill` makes.
        let it = Word::PersonAnswers.fill(Lang::It, &[escape("Bea & Co")]);
        assert_eq!(escape(&text(Word::PersonAnswers, Lang::It, &["Bea & Co"])), it);
        assert_eq!(text(Word::BotAnswers, Lang::En, &[]), "The bot answers.");
    }

    #[test]
    fn a_fingerprint_changes_with_what_it_covers() {
        let held = fingerprint(&["another", "Bea answers."]);
        assert_eq!(held, fingerprint(&["another", "Bea answers."]));
        assert_ne!(held, fingerprint(&["bot", "The bot answers."]));
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
        assert_eq!(held.len(), 16);
    }

    #[test]
    fn a_form_shows_only_while_one_of_its_states_answers() {
        use Answering::{Another, Bot, Waiting, You};
        assert_eq!(shown_when(&[Waiting, Bot], Bot), "data-when=\"waiting bot\"");
        assert_eq!(shown_when(&[You], Another), "data-when=\"you\" hidden");
    }
}
