//! A web chat page, as a program: a WebSocket client speaking the page's
//! protocol, for stories that do not need a browser.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a story waits for a frame it expects.
const WAIT: Duration = Duration::from_secs(15);

pub struct WebChat {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The session token, once the host gave one.
    pub token: Option<String>,
    /// The highest message number seen.
    pub cursor: i64,
    /// Every message frame received, in order.
    pub messages: Vec<Value>,
}

impl WebChat {
    /// Opens `business`'s chat on the runtime at `base` (`http://127.0.0.1:port`)
    /// and says hello with `token` and `after`, like a page does.
    pub async fn open(base: &str, business: &str, token: Option<&str>, after: i64) -> WebChat {
        let url = format!("{}/chat/{business}/ws", base.replacen("http", "ws", 1));
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("web chat socket opens");
        let mut chat = WebChat { socket, token: token.map(str::to_string), cursor: after, messages: Vec::new() };
        chat.send_frame(json!({"type": "hello", "token": token, "after": after, "locale": "en-GB"})).await;
        chat
    }

    /// Opens the socket without saying hello (for stories about rude pages).
    pub async fn open_raw(base: &str, business: &str) -> WebChat {
        let url = format!("{}/chat/{business}/ws", base.replacen("http", "ws", 1));
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("web chat socket opens");
        WebChat { socket, token: None, cursor: 0, messages: Vec::new() }
    }

    /// A new customer: opens the chat without a token and waits until it is ready.
    pub async fn new_customer(base: &str, business: &str) -> WebChat {
        let mut chat = WebChat::open(base, business, None, 0).await;
        let ready = chat.expect("ready").await;
        assert_eq!(ready["locked"], false, "{ready}");
        assert!(chat.token.is_some(), "a new customer gets a session token");
        chat
    }

    pub async fn send_frame(&mut self, frame: Value) {
        self.socket.send(Message::text(frame.to_string())).await.expect("frame sent");
    }

    /// Sends a customer message with the page's id for it.
    pub async fn send(&mut self, id: &str, message: Value) {
        self.send_frame(json!({"type": "send", "id": id, "message": message})).await;
    }

    pub async fn say(&mut self, id: &str, text: &str) {
        self.send(id, json!({"kind": "text", "text": text})).await;
    }

    /// The next frame (message frames are also recorded), or `None` when the
    /// host closed the socket. Panics after a long wait.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(WAIT, self.socket.next()).await.expect("a frame within 15 s");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(&text).expect("frames are JSON");
                    match frame["type"].as_str() {
                        Some("session") => {
                            // A new conversation: nothing seen yet.
                            self.token = frame["token"].as_str().map(str::to_string);
                            self.cursor = 0;
                        }
                        Some("message") => {
                            let message = frame["message"].clone();
                            self.cursor = message["seq"].as_i64().expect("seq");
                            self.messages.push(message);
                        }
                        _ => {}
                    }
                    return Some(frame);
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Reads frames until one of `kind`, which it returns.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            match self.next().await {
                Some(frame) if frame["type"] == kind => return frame,
                Some(frame) if frame["type"] == "error" && kind != "error" => {
                    panic!("expected `{kind}`, the host said {frame}")
                }
                Some(_) => {}
                None => panic!("the host closed the chat while `{kind}` was expected"),
            }
        }
    }

    /// Reads frames until the conversation has a message numbered `seq`;
    /// returns the messages received meanwhile.
    pub async fn until_message(&mut self, seq: i64) -> Vec<Value> {
        let before = self.messages.len();
        while self.cursor < seq {
            if self.next().await.is_none() {
                panic!("the host closed the chat before message {seq}");
            }
        }
        self.messages[before..].to_vec()
    }

    /// Reads frames until a message whose body passes `wanted` arrives;
    /// returns the messages received meanwhile, that one last.
    pub async fn until(&mut self, wanted: impl Fn(&Value) -> bool) -> Vec<Value> {
        let before = self.messages.len();
        loop {
            if let Some(found) = self.messages[before..].iter().position(|m| wanted(&m["body"])) {
                return self.messages[before..=before + found].to_vec();
            }
            if self.next().await.is_none() {
                panic!("the host closed the chat before the message waited for; got {:?}", &self.messages[before..]);
            }
        }
    }

    /// Reads frames for `quiet` and returns what came (a story checking that
    /// nothing more arrives).
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        let mut frames = Vec::new();
        while let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(quiet, self.socket.next()).await {
            let frame: Value = serde_json::from_str(&text).expect("frames are JSON");
            if frame["type"] == "message" {
                self.cursor = frame["message"]["seq"].as_i64().unwrap_or(self.cursor);
                self.messages.push(frame["message"].clone());
            }
            frames.push(frame);
        }
        frames
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}
