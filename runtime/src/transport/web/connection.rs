//! One web chat WebSocket, from `hello` to close.
//!
//! The connection keeps a cursor (the last message number the page has) and
//! sends history after it whenever the feed announces the conversation, on a
//! timer (announcements from other nodes can be missed), and after unlocking.
//! Customer messages are recorded as claimed inbound events (so a repeat is
//! recognised and a crash loses nothing) and handled in order by this
//! connection's own task, which finishes them even if the page goes away
//! (and, when the node stops, finishes the one under way and leaves the rest
//! to other nodes).
//! While the session is locked nothing of the conversation is sent.

use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, WebSocket};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::CHANNEL;
use super::protocol::{ClientFrame, LockState, ServerFrame, StoredEvent, WebMessage};
use super::session::{self, LockError};
use crate::App;
use crate::chat::{InboundRequest, is_language_tag};
use crate::store::businesses::Business;
use crate::store::inbound_events::{self, ClaimedEvent};
use crate::store::web_sessions::{self, UnlockCheck, WebSession};
use crate::store::{StoreError, conversations};
use crate::transport::inbox::Inbox;

/// How long a page has to say `hello`.
const HELLO_WITHIN: Duration = Duration::from_secs(10);
/// Messages read from history per query while catching up.
const PAGE: u32 = 200;
/// Customer messages a connection may send per [`SEND_WINDOW`].
const SENDS_PER_WINDOW: u32 = 20;
const SEND_WINDOW: Duration = Duration::from_secs(10);
/// Activity is written down at most this often.
const TOUCH_EVERY_MS: i64 = 5_000;
/// How often the host pings a quiet page; one silent for three pings is closed.
const PING_EVERY: Duration = Duration::from_secs(30);
/// Customer messages waiting for this connection's task.
const QUEUE: usize = 32;
/// Longest browser-chosen message id.
const MAX_CLIENT_ID: usize = 64;

/// Why a connection ends early.
enum Close {
    /// The page went away or broke the protocol.
    Gone,
    Store(StoreError),
}

impl From<StoreError> for Close {
    fn from(e: StoreError) -> Self {
        Close::Store(e)
    }
}

impl From<axum::Error> for Close {
    fn from(_: axum::Error) -> Self {
        Close::Gone
    }
}

type Flow<T = ()> = Result<T, Close>;

/// Serves one page of `business`'s web chat until either side closes.
pub async fn serve(mut socket: WebSocket, app: App, business: Business) {
    let outcome = async {
        let Some((session, after)) = hello(&mut socket, &app, &business).await? else { return Ok(()) };
        let mut connection = Connection::new(app, business, session, socket);
        connection.start(after).await?;
        connection.run().await
    }
    .await;
    if let Err(Close::Store(e)) = outcome {
        tracing::error!("web chat connection ended by a database error: {e}");
    }
}

/// Waits for `hello` and finds (or opens) the session it names. `None` when
/// the page never said it (the socket is closed).
async fn hello(socket: &mut WebSocket, app: &App, business: &Business) -> Flow<Option<(WebSession, i64)>> {
    let frame = match tokio::time::timeout(HELLO_WITHIN, socket.recv()).await {
        Ok(Some(Ok(WsMessage::Text(text)))) => ClientFrame::decode(&text).ok(),
        _ => return Ok(None),
    };
    let Some(ClientFrame::Hello { token, after, locale }) = frame else {
        send(socket, &error("bad_frame", "the first frame must be `hello`".into(), None)).await?;
        return Ok(None);
    };
    if let Some(token) = token.filter(|t| t.len() <= 128) {
        let hash = crate::ids::hash_secret(&token);
        if let Some(session) = web_sessions::find(&app.db, &business.id, &hash).await? {
            return Ok(Some((session, after.max(0))));
        }
    }
    let locale = locale.filter(|l| is_language_tag(l)).unwrap_or_else(|| business.locale.clone());
    let (session, token) = session::open(&app.db, business, &locale).await?;
    send(socket, &ServerFrame::Session { token }).await?;
    Ok(Some((session, 0)))
}

struct Connection {
    app: App,
    business: Business,
    session: WebSession,
    socket: WebSocket,
    /// The last message number the page has.
    cursor: i64,
    /// What this page was last told: locked or not.
    locked: bool,
    /// When activity was last written down.
    touched_at: i64,
    /// Customer messages, handled in order by this connection's task.
    queue: mpsc::Sender<ClaimedEvent>,
    sends: (Instant, u32),
}

impl Connection {
    fn new(app: App, business: Business, session: WebSession, socket: WebSocket) -> Connection {
        let (queue, pending) = mpsc::channel::<ClaimedEvent>(QUEUE);
        let inbox = app.inbox.clone();
        // Ends when the connection drops its sender and the queue is drained,
        // or when the node stops: the turn under way is finished, and the
        // messages still queued are given back with the node's other leases.
        app.supervisor.spawn("web chat turns", move |stop| process_in_order(inbox, pending, stop));
        let touched_at = session.last_active_at;
        Connection {
            app,
            business,
            session,
            socket,
            cursor: 0,
            locked: false,
            touched_at,
            queue,
            sends: (Instant::now(), 0),
        }
    }

    fn lock_state(&self) -> LockState {
        LockState {
            has_password: self.session.password_hash.is_some(),
            auto_lock_minutes: self.session.auto_lock_minutes,
        }
    }

    async fn start(&mut self, after: i64) -> Flow {
        let now = crate::ids::now_ms();
        self.locked = self.session.locked || web_sessions::lock_if_idle(&self.app.db, &self.session.id, now).await?;
        let ready = ServerFrame::Ready { shop_name: &self.business.name, locked: self.locked, lock: self.lock_state() };
        send(&mut self.socket, &ready).await?;
        if !self.locked {
            self.cursor = after;
            self.catch_up().await?;
        }
        Ok(())
    }

    async fn run(&mut self) -> Flow {
        let mut feed = self.app.chat.feed().subscribe();
        let mut poll = tokio::time::interval(self.app.config.transport.web_poll_every);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ping = tokio::time::interval(PING_EVERY);
        let mut last_heard = Instant::now();
        loop {
            let idle_deadline = if self.locked { None } else { session::idle_deadline(&self.session) };
            let lock_at = idle_deadline.map(instant_at);
            tokio::select! {
                frame = self.socket.recv() => match frame {
                    Some(Ok(WsMessage::Text(text))) => {
                        last_heard = Instant::now();
                        self.on_frame(&text).await?;
                    }
                    Some(Ok(WsMessage::Binary(_))) => {
                        send(&mut self.socket, &error("bad_frame", "frames are JSON text".into(), None)).await?;
                    }
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => last_heard = Instant::now(),
                    Some(Ok(WsMessage::Close(_)) | Err(_)) | None => return Ok(()),
                },
                note = feed.recv() => match note {
                    // New messages, or the session changed: either way the
                    // session is reread before anything is sent (another
                    // node's lock or sign-out may be heard after its messages).
                    Ok(id) if *id == *self.session.conversation_id => self.refresh().await?,
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => self.refresh().await?,
                    Err(RecvError::Closed) => return Ok(()),
                },
                _ = poll.tick() => self.refresh().await?,
                _ = ping.tick() => {
                    // A page that answers nothing (its network is gone) is let go.
                    if last_heard.elapsed() > PING_EVERY * 3 {
                        return Ok(());
                    }
                    self.socket.send(WsMessage::Ping(Default::default())).await?;
                }
                () = sleep_until(lock_at), if lock_at.is_some() => self.refresh().await?,
            }
        }
    }

    async fn on_frame(&mut self, text: &str) -> Flow {
        // No text the page sends may hold a NUL (PostgreSQL cannot store one):
        // the frame is refused whole, as the API refuses such a body.
        if text.contains("\\u0000") && serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| has_nul(&v)) {
            return send(&mut self.socket, &error("invalid_text", "text may not contain NUL characters".into(), None))
                .await;
        }
        let frame = match ClientFrame::decode(text) {
            Ok(frame) => frame,
            Err(e) => return send(&mut self.socket, &error("bad_frame", format!("not a frame: {e}"), None)).await,
        };
        match frame {
            ClientFrame::Hello { .. } => {
                send(&mut self.socket, &error("bad_frame", "`hello` comes once, first".into(), None)).await
            }
            ClientFrame::Send { id, message } => self.on_send(&id, message).await,
            ClientFrame::Active => self.touch().await,
            ClientFrame::SetLock { password, auto_lock_minutes } => self.on_set_lock(password, auto_lock_minutes).await,
            ClientFrame::Lock => self.on_lock().await,
            ClientFrame::Unlock { password } => self.on_unlock(password).await,
            ClientFrame::SignOut => {
                web_sessions::sign_out(&self.app.db, &self.session.id, crate::ids::now_ms()).await?;
                self.tell_other_tabs().await;
                send(&mut self.socket, &ServerFrame::SignedOut).await?;
                Err(Close::Gone)
            }
        }
    }

    async fn on_send(&mut self, id: &str, message: WebMessage) -> Flow {
        let refuse = |code: &'static str, message: String| error(code, message, Some(id));
        if self.locked {
            return send(&mut self.socket, &refuse("locked", "the chat is locked; unlock it first".into())).await;
        }
        if id.is_empty() || id.len() > MAX_CLIENT_ID {
            let why = format!("a message id has 1 to {MAX_CLIENT_ID} bytes");
            return send(&mut self.socket, &refuse("bad_frame", why)).await;
        }
        // Another tab (or node) may have locked or ended the session.
        self.reload().await?;
        if self.session.locked {
            self.refresh().await?;
            return send(&mut self.socket, &refuse("locked", "the chat is locked; unlock it first".into())).await;
        }
        if !self.may_send() {
            let why = format!("at most {SENDS_PER_WINDOW} messages per {} seconds", SEND_WINDOW.as_secs());
            return send(&mut self.socket, &refuse("slow_down", why)).await;
        }
        let stored = StoredEvent { handle: session::handle(&self.session), locale: None, message };
        let request = InboundRequest {
            channel: CHANNEL.into(),
            handle: stored.handle.clone(),
            locale: None,
            message: stored.message.clone().into_inbound(),
        };
        if let Err(e) = crate::chat::validate_inbound(&request) {
            return send(&mut self.socket, &refuse("invalid_message", e.to_string())).await;
        }
        let payload = serde_json::to_string(&stored).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let external_id = format!("{}:{id}", self.session.id);
        let new = inbound_events::NewEvent {
            business_id: &self.business.id,
            channel: CHANNEL,
            sender: &stored.handle,
            external_id: &external_id,
            payload: &payload,
        };
        let claimed = self.app.inbox.accept(new).await?;
        send(&mut self.socket, &ServerFrame::Accepted { id }).await?;
        self.touch().await?;
        // A full queue (or a gone task) leaves the message to the inbound
        // worker, which takes it when its lease ends: late, never lost.
        if let Some(event) = claimed
            && self.queue.try_send(event).is_err()
        {
            tracing::warn!(session = %self.session.id, "web chat queue full; a message waits for the inbound worker");
        }
        Ok(())
    }

    async fn on_set_lock(&mut self, password: Option<String>, auto_lock_minutes: Option<i64>) -> Flow {
        if self.locked {
            return send(&mut self.socket, &error("locked", "unlock the chat first".into(), None)).await;
        }
        let hash = match password {
            None => None,
            Some(password) => match session::hash_off_thread(password, auto_lock_minutes).await {
                Ok(hash) => Some(hash),
                Err(e) => {
                    let code = if matches!(e, LockError::Hash(_)) { "internal" } else { "weak_lock" };
                    return send(&mut self.socket, &error(code, e.to_string(), None)).await;
                }
            },
        };
        let now = crate::ids::now_ms();
        let minutes = auto_lock_minutes.filter(|_| hash.is_some());
        if !web_sessions::set_lock(&self.app.db, &self.session.id, hash.as_deref(), minutes, now).await? {
            return self.refresh().await;
        }
        self.session.password_hash = hash;
        self.session.auto_lock_minutes = minutes;
        self.session.last_active_at = now;
        self.touched_at = now;
        let lock = self.lock_state();
        send(&mut self.socket, &ServerFrame::LockSet { lock }).await
    }

    async fn on_lock(&mut self) -> Flow {
        if !web_sessions::lock(&self.app.db, &self.session.id).await? {
            return send(&mut self.socket, &error("no_password", "set a password before locking".into(), None)).await;
        }
        self.tell_other_tabs().await;
        self.refresh().await
    }

    async fn on_unlock(&mut self, password: String) -> Flow {
        self.reload().await?;
        let now = crate::ids::now_ms();
        // The session's one check is taken before the password is verified:
        // guesses made in parallel (other sockets, other nodes) wait their
        // turn, and each sees the wait the previous one earned.
        let lease = now + session::UNLOCK_CHECK_LEASE_MS;
        let attempt = match web_sessions::take_unlock_check(&self.app.db, &self.session.id, now, lease).await? {
            UnlockCheck::Taken(attempt) => attempt,
            UnlockCheck::Blocked(until) => {
                let frame = ServerFrame::Error {
                    code: "too_many_attempts",
                    message: "too many wrong passwords; wait before trying again".into(),
                    id: None,
                    retry_after_seconds: Some((until - now + 999) / 1000),
                };
                return send(&mut self.socket, &frame).await;
            }
            UnlockCheck::Busy => {
                let frame = ServerFrame::Error {
                    code: "unlock_in_progress",
                    message: "another password for this chat is being checked; try again in a moment".into(),
                    id: None,
                    retry_after_seconds: Some(1),
                };
                return send(&mut self.socket, &frame).await;
            }
        };
        let right = match self.session.password_hash.clone() {
            // A lock without a password cannot happen; open it.
            None => true,
            Some(phc) => session::verify_off_thread(password, phc).await,
        };
        if !right {
            let blocked = session::blocked_until(attempt, crate::ids::now_ms());
            web_sessions::finish_unlock_check(&self.app.db, &self.session.id, blocked).await?;
            return send(&mut self.socket, &error("wrong_password", "that is not the password".into(), None)).await;
        }
        let now = crate::ids::now_ms();
        web_sessions::unlock_after_check(&self.app.db, &self.session.id, now).await?;
        self.session.locked = false;
        self.session.failed_unlocks = 0;
        self.session.last_active_at = now;
        self.touched_at = now;
        self.locked = false;
        let lock = self.lock_state();
        send(&mut self.socket, &ServerFrame::Unlocked { lock }).await?;
        self.cursor = 0;
        self.catch_up().await
    }

    /// Rereads the session; a signed-out one ends the connection.
    async fn reload(&mut self) -> Flow {
        let Some(current) = web_sessions::get(&self.app.db, &self.session.id).await? else {
            send(&mut self.socket, &ServerFrame::SignedOut).await?;
            return Err(Close::Gone);
        };
        self.session = current;
        Ok(())
    }

    /// Rereads the session (another tab may have locked, signed out or been
    /// active), locks it if it has been idle too long, and sends the page
    /// what it should see now.
    async fn refresh(&mut self) -> Flow {
        self.reload().await?;
        let now = crate::ids::now_ms();
        if !self.session.locked
            && session::idle_deadline(&self.session).is_some_and(|at| at <= now)
            && web_sessions::lock_if_idle(&self.app.db, &self.session.id, now).await?
        {
            self.session.locked = true;
        }
        if self.session.locked && !self.locked {
            self.locked = true;
            self.cursor = 0;
            return send(&mut self.socket, &ServerFrame::Locked).await;
        }
        if self.locked {
            return Ok(());
        }
        self.catch_up().await
    }

    /// Makes the session's other pages (other tabs, other nodes) reread it now.
    async fn tell_other_tabs(&mut self) {
        let (app, conversation) = (self.app.clone(), self.session.conversation_id.clone());
        app.chat.feed().announce(&app.db, &conversation, CHANNEL).await;
    }

    /// Sends every message after the cursor.
    async fn catch_up(&mut self) -> Flow {
        loop {
            let messages = conversations::messages(
                &self.app.db,
                &self.business.id,
                &self.session.conversation_id,
                self.cursor,
                PAGE,
            )
            .await?;
            for message in &messages {
                send(&mut self.socket, &ServerFrame::Message { message }).await?;
                self.cursor = message.seq;
            }
            if messages.len() < PAGE as usize {
                return Ok(());
            }
        }
    }

    /// Writes down that the customer is using the page (at most every few seconds).
    async fn touch(&mut self) -> Flow {
        let now = crate::ids::now_ms();
        if self.locked || now - self.touched_at < TOUCH_EVERY_MS {
            return Ok(());
        }
        if web_sessions::touch(&self.app.db, &self.session.id, now).await? {
            self.session.last_active_at = now;
            self.touched_at = now;
        }
        Ok(())
    }

    fn may_send(&mut self) -> bool {
        let now = Instant::now();
        if now.duration_since(self.sends.0) >= SEND_WINDOW {
            self.sends = (now, 0);
        }
        self.sends.1 += 1;
        self.sends.1 <= SENDS_PER_WINDOW
    }
}

/// True when a string (or a key) anywhere in `value` holds a NUL.
fn has_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// True for what the WebSocket libraries log below a warning: they log every
/// frame at `trace`, a lock's password included.
pub fn is_websocket_chatter(metadata: &tracing::Metadata<'_>) -> bool {
    let target = metadata.target();
    let websocket = ["tungstenite", "tokio_tungstenite", "axum::extract::ws"].iter().any(|crate_target| {
        target.strip_prefix(crate_target).is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    });
    websocket && *metadata.level() > tracing::Level::WARN
}

/// `filter`, except that WebSocket chatter ([`is_websocket_chatter`]) is never
/// enabled, whatever `RUST_LOG` says (span directives included): every
/// subscriber the runtime installs filters through this.
pub fn without_websocket_frames<S>(filter: tracing_subscriber::EnvFilter) -> impl tracing_subscriber::layer::Filter<S> {
    use tracing_subscriber::filter::FilterExt as _;
    filter.and(tracing_subscriber::filter::filter_fn(|metadata| !is_websocket_chatter(metadata)))
}

fn error<'a>(code: &'a str, message: String, id: Option<&'a str>) -> ServerFrame<'a> {
    ServerFrame::Error { code, message, id, retry_after_seconds: None }
}

async fn send(socket: &mut WebSocket, frame: &ServerFrame<'_>) -> Flow {
    let text = serde_json::to_string(frame).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    socket.send(WsMessage::Text(text.into())).await?;
    Ok(())
}

/// The tokio instant of a wall-clock time in milliseconds (now, if past).
fn instant_at(at_ms: i64) -> Instant {
    let wait = u64::try_from(at_ms - crate::ids::now_ms()).unwrap_or(0);
    Instant::now() + Duration::from_millis(wait)
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A connection's task: settles its customer's messages one at a time, in
/// order, until the connection is gone and its queue drained, or the node stops.
async fn process_in_order(inbox: Inbox, mut pending: mpsc::Receiver<ClaimedEvent>, stop: CancellationToken) {
    loop {
        let event = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            event = pending.recv() => event,
        };
        let Some(event) = event else { break };
        if let Err(e) = inbox.process_accepted(event).await {
            tracing::error!("web chat message left for the inbound worker: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn websocket_frames_are_never_logged_whatever_the_level() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let everything = tracing_subscriber::EnvFilter::new("trace,tungstenite::protocol=trace,[ws]=trace");
        let layer = tracing_subscriber::fmt::layer().with_ansi(false).with_writer(move || writer.clone());
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::Layer::with_filter(layer, without_websocket_frames(everything)));
        tracing::subscriber::with_default(subscriber, || {
            let _span = tracing::trace_span!("ws").entered();
            tracing::trace!(target: "tungstenite::protocol", "received frame: unlock open sesame 42");
            tracing::debug!(target: "tokio_tungstenite", "frame open sesame 42");
            tracing::trace!(target: "bottega::transport", "kept at trace");
            tracing::warn!(target: "tungstenite::protocol", "a warning is kept");
        });
        let logged = String::from_utf8_lossy(&buffer.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
        assert!(!logged.contains("open sesame"), "{logged}");
        assert!(logged.contains("kept at trace") && logged.contains("a warning is kept"), "{logged}");
    }
}
