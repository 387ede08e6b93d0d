//! WhatsApp stories' tools: a fake Graph API that records what the runtime
//! sends (and fails on request, like the real one does under load), signed
//! webhook deliveries, and webhook bodies written from the documented format.
//! The published payloads in `../shared/fixtures/whatsapp/` are read by the
//! conformance story from there; none is copied here.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::{Value, json};

use super::{Shop, TestApp};

pub const APP_SECRET: &str = "test-app-secret";
pub const VERIFY_TOKEN: &str = "test-verify-token";
pub const ACCESS_TOKEN: &str = "test-access-token";

/// One request the fake Graph API received.
#[derive(Debug, Clone)]
pub struct Sent {
    pub phone_number_id: String,
    pub authorization: String,
    pub body: Value,
}

#[derive(Default)]
struct GraphState {
    sent: Vec<Sent>,
    /// Statuses to answer with before succeeding again (500, 429, 400...).
    failures: VecDeque<u16>,
    /// Message ids to answer with before generated ones.
    ids: VecDeque<String>,
    counter: u64,
    /// Random-ish latency per request, in ms (0 for none).
    jitter_ms: u64,
    /// What `GET /{version}/{waba-id}?fields=pricing_analytics...` reports.
    pricing_points: Vec<Value>,
    /// The `fields` of the pricing analytics requests received.
    pricing_requests: Vec<String>,
}

/// A local stand-in for `graph.facebook.com`, answering
/// `POST /{version}/{phone-number-id}/messages` as the Cloud API does, and a
/// WhatsApp Business Account's `pricing_analytics` field (`GET
/// /{version}/{waba-id}?fields=pricing_analytics...`) with the data points a
/// story sets.
#[derive(Clone)]
pub struct FakeGraph {
    state: Arc<Mutex<GraphState>>,
    pub base_url: String,
}

impl FakeGraph {
    pub async fn start() -> FakeGraph {
        let state = Arc::new(Mutex::new(GraphState::default()));
        let router = axum::Router::new()
            .route("/{version}/{phone}/messages", axum::routing::post(Self::messages))
            .route("/{version}/{node}", axum::routing::get(Self::node))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("fake Graph API binds");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeGraph { state, base_url: format!("http://{address}/v23.0") }
    }

    async fn messages(
        State(state): State<Arc<Mutex<GraphState>>>,
        Path((_version, phone)): Path<(String, String)>,
        headers: HeaderMap,
        body: axum::Json<Value>,
    ) -> (StatusCode, axum::Json<Value>) {
        let jitter = {
            let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
            s.counter += 1;
            if s.jitter_ms > 0 { (s.counter * 7919) % s.jitter_ms } else { 0 }
        };
        if jitter > 0 {
            tokio::time::sleep(Duration::from_millis(jitter)).await;
        }
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(status) = s.failures.pop_front() {
            let error = json!({"error": {"message": format!("fake failure {status}"), "type": "OAuthException", "code": 131000}});
            return (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), axum::Json(error));
        }
        let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let to = body.get("to").or(body.get("recipient")).cloned().unwrap_or(Value::Null);
        s.sent.push(Sent { phone_number_id: phone, authorization, body: body.0 });
        let id = s.ids.pop_front().unwrap_or_else(|| format!("wamid.fake.{}", s.counter));
        (
            StatusCode::OK,
            axum::Json(
                json!({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": id}]}),
            ),
        )
    }

    /// A node's fields: a WhatsApp Business Account's `pricing_analytics`, in
    /// Meta's shape (one group of data points, whatever the dimensions asked).
    async fn node(
        State(state): State<Arc<Mutex<GraphState>>>,
        Path((_version, node)): Path<(String, String)>,
        axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
    ) -> (StatusCode, axum::Json<Value>) {
        let fields = query.get("fields").cloned().unwrap_or_default();
        if !fields.starts_with("pricing_analytics") {
            let error = json!({"error": {"message": "unsupported field", "type": "OAuthException", "code": 100}});
            return (StatusCode::BAD_REQUEST, axum::Json(error));
        }
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.pricing_requests.push(fields);
        let points = s.pricing_points.clone();
        (StatusCode::OK, axum::Json(json!({"pricing_analytics": {"data": [{"data_points": points}]}, "id": node})))
    }

    /// Reports these `pricing_analytics` data points (each with `start`,
    /// `end`, `country`, `pricing_type`, `pricing_category`, `volume`, `cost`).
    pub fn report_pricing(&self, points: Vec<Value>) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).pricing_points = points;
    }

    /// The `fields` of every pricing analytics request received.
    pub fn pricing_requests(&self) -> Vec<String> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).pricing_requests.clone()
    }

    /// Answers the next requests with these statuses, then succeeds again.
    pub fn fail_next(&self, statuses: &[u16]) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).failures.extend(statuses.iter().copied());
    }

    /// Answers the next successful sends with these message ids.
    pub fn answer_ids(&self, ids: &[&str]) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).ids.extend(ids.iter().map(|s| s.to_string()));
    }

    /// Delays each request by up to `ms` milliseconds.
    pub fn jitter(&self, ms: u64) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).jitter_ms = ms;
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).sent.clone()
    }

    /// Waits (up to 10 s) until at least `n` requests were received, and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Sent> {
        for _ in 0..500 {
            let sent = self.sent();
            if sent.len() >= n {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the fake Graph API received {} requests, expected {n}: {:#?}", self.sent().len(), self.sent());
    }
}

/// The published WhatsApp payloads, or `None` (with a message) where the
/// shared folder is absent.
/// `WHATSAPP_FIXTURES` names the folder; by default it is `shared/` beside the checkout.
pub fn shared_fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("WHATSAPP_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/whatsapp"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent, so the WhatsApp conformance checks did not run", dir.display());
        None
    }
}

impl TestApp {
    /// Connects `shop` to a WhatsApp number served by `graph`.
    pub async fn connect_whatsapp(&self, shop: &Shop, graph: &FakeGraph, phone_number_id: &str) {
        let body = json!({
            "phone_number_id": phone_number_id, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN,
            "access_token": ACCESS_TOKEN, "graph_base_url": graph.base_url,
        });
        let (status, channel) = self.request(Method::PUT, "/v1/channels/whatsapp", Some(&shop.key), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{channel}");
    }

    /// Posts a webhook delivery signed with `secret` over exactly `body`.
    pub async fn deliver_webhook(&self, shop: &Shop, body: &[u8], secret: &str) -> (StatusCode, Value) {
        let signature = bottega::transport::whatsapp::sign(secret, body);
        self.deliver_webhook_signed(shop, body, Some(&signature)).await
    }

    pub async fn deliver_webhook_signed(
        &self,
        shop: &Shop,
        body: &[u8],
        signature: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(format!("/webhooks/whatsapp/{}", shop.id))
            .header("content-type", "application/json");
        if let Some(signature) = signature {
            request = request.header("x-hub-signature-256", signature);
        }
        self.send(request.body(Body::from(body.to_vec())).expect("request builds")).await
    }

    /// Delivers one message (a `messages[]` item) from `from` to `phone_number_id`.
    pub async fn whatsapp_says(&self, shop: &Shop, phone_number_id: &str, from: &str, message: Value) -> Value {
        let body = webhook(phone_number_id, from, vec![message]);
        let (status, received) = self.deliver_webhook(shop, body.to_string().as_bytes(), APP_SECRET).await;
        assert_eq!(status, StatusCode::OK, "{received}");
        received
    }
}

/// A webhook body carrying `messages` from `from`, in the documented shape.
pub fn webhook(phone_number_id: &str, from: &str, messages: Vec<Value>) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "0", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": "Customer"}, "wa_id": from}],
            "messages": messages,
        }}]}],
    })
}

/// A text message item with a fresh id.
pub fn text_message(from: &str, text: &str) -> Value {
    json!({"from": from, "id": format!("wamid.test.{}", uuid::Uuid::new_v4().simple()), "timestamp": "1700000000",
           "type": "text", "text": {"body": text}})
}

/// A reply-button tap item.
pub fn button_tap(from: &str, id: &str, title: &str) -> Value {
    json!({"from": from, "id": format!("wamid.test.{}", uuid::Uuid::new_v4().simple()), "timestamp": "1700000000",
           "type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": id, "title": title}}})
}
