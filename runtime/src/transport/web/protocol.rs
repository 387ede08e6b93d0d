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

impl ClientFrame {
    /// Reads a text frame the page sent; the error says what is malformed.
    pub fn decode(text: &str) -> Result<ClientFrame, serde_json::Error> {
        serde_json::from_str(text)
    }
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

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::proptests::{json_value, mutate, text};

    const TYPES: [&str; 7] = ["hello", "send", "active", "set_lock", "lock", "unlock", "sign_out"];

    /// Frames as the page (`page/chat.js`) sends them.
    fn fixtures() -> Vec<Value> {
        vec![
            json!({"type": "hello", "token": "wct_x", "after": 12, "locale": "es-ES"}),
            json!({"type": "hello", "token": null}),
            json!({"type": "send", "id": "m1", "message": {"kind": "text", "text": "hi"}}),
            json!({"type": "send", "id": "m2", "message": {"kind": "choice", "id": "browse", "title": "Browse"}}),
            json!({"type": "send", "id": "m3", "message": {"kind": "product_tap", "product_id": "pear"}}),
            json!({"type": "send", "id": "m4", "message": {"kind": "browse", "query": "pear", "section": null}}),
            json!({"type": "active"}),
            json!({"type": "set_lock", "password": "open sesame", "auto_lock_minutes": 15}),
            json!({"type": "lock"}),
            json!({"type": "unlock", "password": "open sesame"}),
            json!({"type": "sign_out"}),
        ]
    }

    fn web_message() -> impl Strategy<Value = WebMessage> {
        prop_oneof![
            text().prop_map(|text| WebMessage::Text { text }),
            (text(), text()).prop_map(|(id, title)| WebMessage::Choice { id, title }),
            text().prop_map(|product_id| WebMessage::ProductTap { product_id }),
            (prop::option::of(text()), prop::option::of(text()))
                .prop_map(|(query, section)| WebMessage::Browse { query, section }),
        ]
    }

    fn decodes_only_known_frames(frame: &str) -> Result<(), TestCaseError> {
        if ClientFrame::decode(frame).is_ok() {
            let value: Value = serde_json::from_str(frame).expect("a frame is JSON");
            let kind = value.get("type").and_then(Value::as_str).unwrap_or_default();
            prop_assert!(TYPES.contains(&kind), "{}", frame);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(crate::proptests::config())]

        #[test]
        fn any_text_frame_decodes_or_is_refused_without_panicking(frame in any::<String>()) {
            decodes_only_known_frames(&frame)?;
        }

        #[test]
        fn any_json_decodes_only_as_a_known_frame(value in json_value()) {
            decodes_only_known_frames(&value.to_string())?;
        }

        #[test]
        fn near_misses_of_the_pages_frames_never_panic(
            which in any::<usize>(),
            choice in any::<usize>(),
            replacement in json_value(),
        ) {
            let frames = fixtures();
            let frame = mutate(&frames[which % frames.len()], choice, replacement);
            decodes_only_known_frames(&frame.to_string())?;
        }

        #[test]
        fn a_stored_web_event_reads_back_as_it_was(handle in text(), locale in prop::option::of(text()), message in web_message()) {
            let event = StoredEvent { handle, locale, message };
            let stored = serde_json::to_string(&event).expect("serializes");
            let read: StoredEvent = serde_json::from_str(&stored).expect("reads back");
            prop_assert_eq!(&read.handle, &event.handle);
            prop_assert_eq!(&read.locale, &event.locale);
            prop_assert_eq!(&read.message, &event.message);
            prop_assert_eq!(read.message.into_inbound(), event.message.into_inbound());
        }
    }

    #[test]
    fn every_frame_the_page_sends_decodes() {
        for frame in fixtures() {
            assert!(ClientFrame::decode(&frame.to_string()).is_ok(), "{frame}");
        }
    }
}
