//! The web chat's wire protocol: JSON text frames over one WebSocket.
//!
//! The browser opens with `hello` (its token, if it has one, and the last
//! message number it has seen); the host answers `session` (a new token) when
//! it had none or it no longer opens anything, then `ready`, then every message
//! after the cursor. Each customer message carries an id the browser chose:
//! the host answers `accepted` once it is stored, and a message sent again
//! after a reconnect with the same id is recognised and not answered twice.

use serde::{Deserialize, Serialize};

use crate::chat::Inbound;
use crate::store::conversations::Message;

/// What the browser sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// First frame of a connection.
    Hello {
        token: Option<String>,
        /// The highest message number the browser has; 0 for none.
        #[serde(default)]
        after: i64,
        locale: Option<String>,
    },
    /// A customer message; `id` is the browser's, unique in its session.
    Send {
        id: String,
        message: WebMessage,
    },
    /// The customer is using the page (typing, tapping): postpones auto-lock.
    Active,
    /// Sets the lock (a password and an idle time) or, with no password, removes it.
    SetLock {
        password: Option<String>,
        auto_lock_minutes: Option<i64>,
    },
    /// Locks now.
    Lock,
    Unlock {
        password: String,
    },
    /// Forgets this session: the way out of a forgotten password.
    SignOut,
}

/// A customer message as the page sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WebMessage {
    Text {
        text: String,
    },
    /// A reply button or list row was tapped.
    Choice {
        id: String,
        title: String,
    },
    ProductTap {
        product_id: String,
    },
    Browse {
        query: Option<String>,
        section: Option<String>,
    },
}

impl WebMessage {
    pub fn into_inbound(self) -> Inbound {
        match self {
            WebMessage::Text { text } => Inbound::Text(text),
            WebMessage::Choice { id, title } => Inbound::Choice { id, title },
            WebMessage::ProductTap { product_id } => Inbound::ProductTap(product_id),
            WebMessage::Browse { query, section } => Inbound::Browse { query, section },
        }
    }
}

/// What the host sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    /// A new session (and conversation): keep the token, forget any messages shown.
    Session {
        token: String,
    },
    /// The session is open; when `locked`, nothing of the conversation follows until `unlocked`.
    Ready {
        shop_name: &'a str,
        locked: bool,
        lock: LockState,
    },
    Message {
        message: &'a Message,
    },
    /// The message with this id is stored and will be answered.
    Accepted {
        id: &'a str,
    },
    /// Locked (by the customer, another tab, or idle time): hide the conversation.
    Locked,
    /// Unlocked: the whole conversation follows.
    Unlocked {
        lock: LockState,
    },
    LockSet {
        lock: LockState,
    },
    /// The session is over; start a new one.
    SignedOut,
    Error {
        code: &'a str,
        message: String,
        /// The message (by the browser's id) this is about, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_seconds: Option<i64>,
    },
}

/// The customer's lock settings, as the page shows them.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LockState {
    pub has_password: bool,
    pub auto_lock_minutes: Option<i64>,
}

/// What an inbound web event stores until it is processed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredEvent {
    pub handle: String,
    pub locale: Option<String>,
    pub message: WebMessage,
}
