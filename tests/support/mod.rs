//! Test support: a real Bottega runtime (database, plugin host, HTTP API) per
//! test, driven through its router without a socket, on SQLite or on a fresh
//! PostgreSQL database of its own.
//!
//! A runtime is stopped as a node is on SIGTERM with `test_app.app.shutdown(grace)`.
//!
//! PostgreSQL tests read `DATABASE_URL` (e.g. postgres://postgres@127.0.0.1:5432/test);
//! where it is not set they print why and pass without running.

use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bottega::config::PluginHostConfig;
use bottega::plugin::{Capability, PluginLimits};
use bottega::{App, Config};
use serde_json::{Value, json};
use sqlx::Connection;
use tower::ServiceExt;

pub use bottega_plugin_artifacts as plugins;

pub mod browser;
pub mod card;
pub mod console;
pub mod examples;
pub mod webchat;
pub mod whatsapp;

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// Everything the runtimes of this test process logged (bottega at debug,
/// HTTP traces), for assertions about what never appears in logs.
static LOGS: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

#[derive(Clone)]
struct SharedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    LOGS.get_or_init(|| {
        let buffer = std::sync::Arc::default();
        let writer = SharedLog(std::sync::Arc::clone(&buffer));
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info,bottega=debug,tower_http=debug")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        buffer
    });
}

/// What the runtimes logged so far.
pub fn captured_logs() -> String {
    LOGS.get()
        .map(|b| String::from_utf8_lossy(&b.lock().unwrap_or_else(|p| p.into_inner())).into_owned())
        .unwrap_or_default()
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a story once on each database: `on_both_databases!(story_fn)` makes a
/// module `story_fn` with tests `sqlite` and `postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($story:ident),* $(,)?) => {$(
        mod $story {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = $crate::TestApp::start($crate::Backend::Sqlite).await {
                    super::$story(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::TestApp::start($crate::Backend::Postgres).await {
                    super::$story(app).await;
                }
            }
        }
    )*};
}

/// Like [`on_both_databases!`], with the configuration changed by
/// `$adjust: fn(&mut Config)` first: `on_both_databases_with!(adjust; story_fn)`.
#[macro_export]
macro_rules! on_both_databases_with {
    ($adjust:path; $($story:ident),* $(,)?) => {$(
        mod $story {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = $crate::TestApp::start_with($crate::Backend::Sqlite, $adjust).await {
                    super::$story(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::TestApp::start_with($crate::Backend::Postgres, $adjust).await {
                    super::$story(app).await;
                }
            }
        }
    )*};
}

/// A running runtime with its own data directory and database.
pub struct TestApp {
    pub app: App,
    router: Router,
    pub data_dir: tempfile::TempDir,
    postgres: Option<PostgresDatabase>,
}

/// A business created through the admin API.
#[derive(Debug, Clone)]
pub struct Shop {
    pub id: String,
    pub key: String,
}

impl TestApp {
    /// A runtime on `backend`, or `None` (with a message) when PostgreSQL is
    /// asked for and `DATABASE_URL` is not set.
    pub async fn start(backend: Backend) -> Option<TestApp> {
        Self::start_with(backend, |_| {}).await
    }

    /// Like [`TestApp::start`], with a chance to change the configuration.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
        capture_logs();
        let data_dir = tempfile::tempdir().expect("temporary data directory");
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => match std::env::var("DATABASE_URL") {
                Ok(url) if !url.is_empty() => Some(PostgresDatabase::create(&url).await),
                _ => {
                    eprintln!("skipped: DATABASE_URL is not set, so this PostgreSQL test did not run");
                    return None;
                }
            },
        };
        let mut config = test_config(data_dir.path().to_path_buf(), postgres.as_ref().map(|p| p.url.clone()));
        adjust(&mut config);
        let app = App::start(config).await.expect("runtime starts");
        let router = app.router();
        Some(TestApp { app, router, data_dir, postgres })
    }

    /// Starts a second runtime on the same data directory and database, as a
    /// restart (or a second node) would.
    pub async fn restart(&self) -> App {
        self.restart_with(|_| {}).await
    }

    /// Like [`TestApp::restart`], with a chance to change the configuration.
    pub async fn restart_with(&self, adjust: impl FnOnce(&mut Config)) -> App {
        let mut config = test_config(self.data_dir.path().to_path_buf(), self.postgres.as_ref().map(|p| p.url.clone()));
        adjust(&mut config);
        App::start(config).await.expect("runtime restarts")
    }

    /// A crash and a restart: this runtime stops at once (no grace: what its
    /// requests had not finished stays as they left it) and a new runtime on
    /// the same data directory and database takes its place, with its own
    /// configuration changed by `adjust`.
    pub async fn crash_and_restart(&mut self, adjust: impl FnOnce(&mut Config)) {
        self.app.shutdown(std::time::Duration::ZERO).await;
        self.app = self.restart_with(adjust).await;
        self.router = self.app.router();
    }

    /// Serves the API on a loopback port (for WebSockets and browsers) until
    /// the test ends or the runtime is stopped (`app.shutdown`); returns its
    /// base URL, e.g. `http://127.0.0.1:40123`.
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let address = listener.local_addr().expect("bound address");
        self.app.serve(listener);
        format!("http://{address}")
    }

    /// The database this runtime uses, for stories that age data on purpose.
    /// Waits until every inbound event is processed and nothing is left to send.
    pub async fn queues_settled(&self) {
        for _ in 0..500 {
            let busy: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM inbound_events WHERE state = 'pending') + \
                        (SELECT COUNT(*) FROM outbox WHERE state = 'pending')",
            )
            .fetch_one(self.db())
            .await
            .expect("count");
            if busy == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("inbound events or sends are still pending after 10 s");
    }

    pub fn db(&self) -> &sqlx::AnyPool {
        self.app.db.pool()
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(key) = key {
            builder = builder.header("authorization", format!("Bearer {key}"));
        }
        let request = match body {
            Some(body) => builder.header("content-type", "application/json").body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        }
        .expect("request builds");
        self.send(request).await
    }

    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.router.clone().oneshot(request).await.expect("router answers");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body reads");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("{status}: body is not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        (status, value)
    }

    /// A business API read as text with `key` (a file the API serves: a PDF, a CSV).
    pub async fn get_raw(&self, path: &str, key: &str) -> (StatusCode, String) {
        let request = Request::builder()
            .uri(path)
            .header("authorization", format!("Bearer {key}"))
            .body(Body::empty())
            .expect("request");
        self.send_raw(request).await
    }

    /// Sends a request and returns the body as text (for HTML pages).
    pub async fn send_raw(&self, request: Request<Body>) -> (StatusCode, String) {
        let response = self.router.clone().oneshot(request).await.expect("router answers");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body reads");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Posts an HTML form (fields are sent as they are: use URL-safe values).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let body = fields.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request builds");
        self.send_raw(request).await
    }

    pub async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::POST, path, Some(key), Some(body)).await
    }

    /// Creates a business (EUR, the node's defaults unless `settings` says otherwise).
    pub async fn create_shop(&self, name: &str, settings: Value) -> Shop {
        let mut body = json!({"name": name, "currency": "EUR"});
        if let (Some(body), Some(settings)) = (body.as_object_mut(), settings.as_object()) {
            body.extend(settings.clone());
        }
        let (status, created) = self.request(Method::POST, "/v1/admin/businesses", Some(ADMIN_TOKEN), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        Shop {
            id: created["business"]["id"].as_str().expect("business id").to_string(),
            key: created["api_key"].as_str().expect("api key").to_string(),
        }
    }

    /// Uploads a component's bytes as a business.
    pub async fn upload_bytes(&self, shop: &Shop, wasm: Vec<u8>) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/v1/plugins")
            .header("authorization", format!("Bearer {}", shop.key))
            .header("content-type", "application/wasm")
            .body(Body::from(wasm))
            .expect("request builds");
        self.send(request).await
    }

    /// Uploads a built plugin (a path from `plugins`) and expects it accepted
    /// and compiled; returns the version, ready (and active).
    pub async fn upload(&self, shop: &Shop, plugin_path: &str) -> Value {
        let wasm = std::fs::read(plugin_path).expect("built plugin exists");
        self.upload_ready(shop, wasm).await
    }

    /// Uploads a component, expects it accepted (202, `compiling`), and waits
    /// for its background compile; returns the version, ready.
    pub async fn upload_ready(&self, shop: &Shop, wasm: Vec<u8>) -> Value {
        let (status, version) = self.upload_bytes(shop, wasm).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{version}");
        assert_eq!(version["state"], "compiling", "{version}");
        let ready = self.compiled(shop, version["id"].as_str().expect("version id")).await;
        assert_eq!(ready["state"], "ready", "{ready}");
        ready
    }

    /// Polls a plugin version until its compile is over; returns it.
    pub async fn compiled(&self, shop: &Shop, version_id: &str) -> Value {
        let started = std::time::Instant::now();
        loop {
            let (status, version) = self.get(&format!("/v1/plugins/{version_id}"), &shop.key).await;
            assert_eq!(status, StatusCode::OK, "{version}");
            if version["state"] != "compiling" {
                return version;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(600), "still compiling after 10 minutes");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// A customer sends text; returns the whole outcome.
    pub async fn say(&self, shop: &Shop, customer: &str, text: &str) -> Value {
        self.send_message(shop, json!({"customer": customer, "text": text})).await
    }

    /// A customer sends any message body; expects it accepted.
    pub async fn send_message(&self, shop: &Shop, body: Value) -> Value {
        let (status, outcome) = self.post("/v1/messages", &shop.key, body).await;
        assert_eq!(status, StatusCode::OK, "{outcome}");
        outcome
    }

    /// Adds a product to a shop's catalog.
    pub async fn add_product(&self, shop: &Shop, id: &str, name: &str, price_minor: i64, section: &str) {
        let body = json!({
            "id": id, "name": name, "price_minor": price_minor, "currency": "EUR",
            "stock": 10, "section": section,
        });
        let (status, product) = self.post("/v1/products", &shop.key, body).await;
        assert_eq!(status, StatusCode::CREATED, "{product}");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(database) = self.postgres.take() {
            database.drop_in_background();
        }
    }
}

/// Serves `router` on a loopback port until the test ends; returns its base URL.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let address = listener.local_addr().expect("bound address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

/// The reply bodies of an outcome.
pub fn replies(outcome: &Value) -> Vec<Value> {
    outcome["replies"].as_array().map(|r| r.iter().map(|m| m["body"].clone()).collect()).unwrap_or_default()
}

/// The text of every text reply of an outcome, joined.
pub fn reply_text(outcome: &Value) -> String {
    replies(outcome)
        .iter()
        .filter_map(|b| b["text"].as_str().or(b["body"].as_str()).map(str::to_string))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The key-encryption key of the PostgreSQL stories (bytes 0 to 31, as base64).
pub const TEST_KEK: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn test_config(data_dir: PathBuf, database_url: Option<String>) -> Config {
    let mut config = Config::new(data_dir, ADMIN_TOKEN.to_string());
    // PostgreSQL needs a key-encryption key named: every node of a story
    // shares this one (SQLite stories use the default, generated in the data
    // directory on first start).
    if database_url.is_some() {
        config.key = bottega::privacy::KeySource::Base64(TEST_KEK.to_string());
    }
    config.database_url = database_url;
    // Fake receivers (webhook endpoints, the Graph API) listen on loopback.
    config.egress = test_egress(&["127.0.0.1", "localhost"]);
    // Stories deliver webhooks themselves, at the times they choose.
    config.commerce.webhooks_every = None;
    // Stories finalise invoices themselves, for the periods they choose.
    config.billing.finalize_every = None;
    // And collect them (charge the businesses' cards) when they say so.
    config.billing.collect_every = None;
    // Transport retries come quickly, so stories about them stay short.
    config.transport.poll_every = std::time::Duration::from_millis(100);
    config.transport.retry_base = std::time::Duration::from_millis(20);
    // Open web chats notice what other nodes did (and idle time) quickly.
    config.transport.web_poll_every = std::time::Duration::from_millis(200);
    config.plugins = PluginHostConfig {
        // Stories that count a plugin's answers rely on the business's
        // max_instance_uses alone; instances.rs tests the automatic choice.
        reuse_instances_above: std::time::Duration::ZERO,
        max_concurrent_calls: 16,
        max_concurrent_calls_per_business: 4,
        default_limits: PluginLimits::default(),
        default_capabilities: Capability::ALL.to_vec(),
        ..PluginHostConfig::default()
    };
    config
}

/// An egress policy allowing `hosts` (each `host[:port]`) besides public HTTPS.
pub fn test_egress(hosts: &[&str]) -> bottega::egress::EgressPolicy {
    bottega::egress::EgressPolicy::allowing(
        hosts.iter().map(|h| bottega::egress::AllowedHost::parse(h).expect("an allow-list entry")).collect(),
    )
}

/// A PostgreSQL database made for one test and dropped after it.
struct PostgresDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    async fn create(admin_url: &str) -> PostgresDatabase {
        let name = format!("bottega_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(admin_url).await.expect("DATABASE_URL is reachable");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create test database");
        admin.close().await.ok();
        let (base, query) = match admin_url.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (admin_url, String::new()),
        };
        let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
        PostgresDatabase { admin_url: admin_url.to_string(), url: format!("{server}/{name}{query}"), name }
    }

    fn drop_in_background(self) {
        // Drop cannot await; a short-lived runtime on another thread can.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&self.admin_url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}
