//! A headless Chromium for stories about the web chat page and the console, driven through
//! chromedriver's W3C WebDriver API (plain JSON over HTTP, so reqwest is all
//! it takes).
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them).
//! Where chromedriver is missing the story prints why and passes without
//! running, unless `BOTTEGA_REQUIRE_BROWSER=1` (set by CI) makes that a failure.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

/// How WebDriver names an element reference in JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const WAIT: Duration = Duration::from_secs(20);

pub struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:port/session/{id}`
    session: String,
    _driver: Driver,
}

/// The chromedriver process, stopped when the browser is dropped.
struct Driver(std::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_program(names: &[&str]) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .chain([std::path::PathBuf::from("/usr/bin")])
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

impl Browser {
    /// A fresh headless browser, or `None` (with a message) where chromedriver
    /// and Chromium are not installed.
    pub async fn start() -> Option<Browser> {
        let driver = std::env::var_os("CHROMEDRIVER").map(Into::into).or_else(|| find_program(&["chromedriver"]));
        let chromium =
            std::env::var_os("CHROMIUM").map(Into::into).or_else(|| find_program(&["chromium", "chromium-browser"]));
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            let why = "chromedriver and chromium are not installed (apt-get install chromium chromium-driver)";
            if std::env::var("BOTTEGA_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("BOTTEGA_REQUIRE_BROWSER=1 but {why}");
            }
            eprintln!("skipped: {why}, so this browser test did not run");
            return None;
        };
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("address").port()
        };
        let child = std::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if let Ok(response) = ready
                && let Ok(status) = response.json::<Value>().await
                && status["value"]["ready"] == true
            {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1000,900"],
            },
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("session request")
            .json()
            .await
            .expect("session answer");
        let id = created["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no browser session: {created}"));
        Some(Browser { http, session: format!("{base}/session/{id}"), _driver: Driver(child) })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.expect("webdriver answers").json().await.expect("webdriver JSON");
        if answer["value"]["error"].is_string() {
            panic!("webdriver {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    pub async fn refresh(&self) {
        self.call(reqwest::Method::POST, "/refresh", Some(json!({}))).await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": args}))).await
    }

    /// Waits until the JavaScript expression `condition` is true in the page.
    pub async fn wait_for(&self, condition: &str) {
        self.poll(condition, WAIT, Duration::from_millis(100), false).await;
    }

    /// Checks `condition` until it holds (for at most `within`, every
    /// `every`), reloading the page between checks when `reload`.
    async fn poll(&self, condition: &str, within: Duration, every: Duration, reload: bool) {
        let deadline = tokio::time::Instant::now() + within;
        let script = format!("return Boolean({condition});");
        loop {
            if self.run(&script, json!([])).await == true {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                let text = self.run("return document.body.innerText;", json!([])).await;
                let how = if reload { "reloaded" } else { "waited" };
                panic!(
                    "{how} for {within:?} until `{condition}`; the page reads:\n{}",
                    text.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(every).await;
            if reload {
                self.refresh().await;
            }
        }
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> String {
        self.wait_for(&format!("document.querySelector({})", json!(css))).await;
        let found =
            self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element reference for `{css}`: {found}")).to_string()
    }

    /// Clicks the first element matching `css` (as a person would: WebDriver
    /// refuses hidden or covered elements).
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await;
    }

    /// Types into the first element matching `css`; "\u{E007}" presses Enter.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{element}/value"), Some(json!({"text": text}))).await;
    }

    /// The visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        let text = self.call(reqwest::Method::GET, &format!("/element/{element}/text"), None).await;
        text.as_str().unwrap_or_default().to_string()
    }

    /// Closes Chromium (ending the session), then the driver.
    pub async fn quit(self) {
        let _ = self.http.delete(&self.session).send().await;
    }

    /// The page as a PNG, base64-encoded (for looking at it while debugging).
    pub async fn screenshot_base64(&self) -> String {
        self.call(reqwest::Method::GET, "/screenshot", None).await.as_str().unwrap_or_default().to_string()
    }

    /// Resizes the window, e.g. to a phone's 375 px width.
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(reqwest::Method::POST, "/window/rect", Some(json!({"width": width, "height": height}))).await;
    }

    /// Empties the first input matching `css`, then types `text` into it.
    pub async fn replace_text(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{element}/clear"), Some(json!({}))).await;
        self.call(reqwest::Method::POST, &format!("/element/{element}/value"), Some(json!({"text": text}))).await;
    }

    /// Saves the page as `<name>.png` in the folder `BOTTEGA_SCREENSHOTS`
    /// names (`target/screenshots` by default), kept as a CI artifact; returns its path.
    pub async fn save_screenshot(&self, name: &str) -> std::path::PathBuf {
        let folder = std::env::var_os("BOTTEGA_SCREENSHOTS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots"));
        std::fs::create_dir_all(&folder).expect("the screenshots folder");
        let path = folder.join(format!("{name}.png"));
        let png = decode_base64(&self.screenshot_base64().await);
        assert!(png.starts_with(b"\x89PNG"), "the screenshot of {name} is not a PNG");
        std::fs::write(&path, png).expect("the screenshot is written");
        path
    }

    /// Chooses the file at `path` (absolute) in the first file input matching
    /// `css`, as a person picking it on their computer would (WebDriver types
    /// the path into the input).
    pub async fn upload(&self, css: &str, path: &std::path::Path) {
        assert!(path.is_absolute(), "a file to upload is named by its absolute path: {}", path.display());
        let path = path.to_str().unwrap_or_else(|| panic!("{} is not UTF-8", path.display()));
        let element = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{element}/value"), Some(json!({"text": path}))).await;
    }

    /// The value of the cookie `name` the page's address is sent with, when
    /// it has one; HttpOnly cookies too (WebDriver sees them), so a story can
    /// fetch what the signed-in browser would download.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        let cookies = self.call(reqwest::Method::GET, "/cookie", None).await;
        cookies.as_array()?.iter().find(|cookie| cookie["name"] == name)?["value"].as_str().map(str::to_string)
    }

    /// Reloads the page until the JavaScript expression `condition` is true
    /// in it, for what the page does not follow by itself (a compile
    /// finishing), for at most `within`.
    pub async fn reload_until(&self, condition: &str, within: Duration) {
        self.poll(condition, within, Duration::from_millis(250), true).await;
    }

    /// Accepts the open `confirm()` dialog.
    pub async fn accept_dialog(&self) {
        self.call(reqwest::Method::POST, "/alert/accept", Some(json!({}))).await;
    }
}

/// Standard base64 (WebDriver's screenshots) to bytes; characters outside
/// the alphabet (padding, line breaks) are skipped.
fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for sextet in text.bytes().filter_map(value) {
        buffer = (buffer << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    bytes
}
