//! Bottega's own web chat: a page the runtime serves at `/chat/{business_id}`
//! and one WebSocket per open page.
//!
//! - [`protocol`]: the JSON frames both ways.
//! - [`session`]: a browser's session (secret token, own conversation) and the
//!   customer's password lock on it.
//! - [`connection`]: one WebSocket, from `hello` to close.
//! - `page/`: the HTML, script and style, embedded in the binary.
//!
//! Delivery is history itself: every reply is stored with its number in the
//! conversation, and an open page is sent whatever comes after its cursor,
//! when the feed says there is something new and on a timer. A page that
//! reconnects says the last number it has and gets the rest; a message it
//! sends again with the same id is recognised and answered once.
//!
//! The token travels in the first frame, never in a cookie or the URL, so
//! another site's page cannot open a customer's chat through their browser.

pub mod connection;
pub mod protocol;
pub mod session;

pub use protocol::StoredEvent;

/// The conversation channel of web chat customers.
pub const CHANNEL: &str = "web";

/// The chat page's files, embedded in the binary.
pub mod page {
    pub const HTML: &str = include_str!("page/chat.html");
    pub const SCRIPT: &str = include_str!("page/chat.js");
    pub const STYLE: &str = include_str!("page/chat.css");
}
