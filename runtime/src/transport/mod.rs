//! Chat transports: how customers' messages arrive from outside the HTTP API
//! and how replies get back to them.
//!
//! - [`whatsapp`]: the WhatsApp Cloud API, wire compatible (webhook handshake,
//!   signed deliveries, every inbound kind, outbound sends within its limits).
//! - [`inbox`]: inbound events are persisted before the webhook is answered,
//!   then turned into conversation turns by a worker; a retried delivery is
//!   recognised by its message id and answered once.
//! - [`outbox`]: replies to push transports are queued in the database (each
//!   such transport registers a [`ReplyQueue`](crate::chat::ReplyQueue) with
//!   the chat service, which knows no transport) and sent by a worker: at
//!   least once, in conversation order, rate limited per channel, retried with
//!   backoff, then dead-lettered for the business.
//! - [`web`]: Bottega's own web chat: a page and a WebSocket per browser
//!   session; replies are read from history after the browser's cursor, so a
//!   reconnect resumes without losing any, and the customer may lock the chat
//!   with a password.
//!
//! Plugins never see a transport: they get an inbound message and return
//! replies; the host translates both ways.

pub mod inbox;
pub mod outbox;
pub mod web;
pub mod whatsapp;

/// The longest wait between two attempts of a transport's queued work.
const MAX_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(600);
