//! The business console in a real browser (headless Chromium), at a phone's
//! 375 px and at desktop width, a screenshot per story (see
//! `Browser::save_screenshot`), one signed-in session through the owner's
//! stories: the owner signs in; sees a customer who starts waiting appear in
//! the inbox without a reload; answers a waiting customer; takes a
//! conversation over and hands it back to the bot; watches the open thread
//! follow another person taking it and giving it back (the status line and
//! the forms change, no reload); refunds half an order after confirming;
//! ships it; adds a product and uploads its photo from a file; imports a
//! catalog by CSV from a file and exports the very same bytes; uploads a new
//! version of the bot, which compiles and becomes active, and rolls back to
//! the first; invites an agent, who then sees neither the bot, the team nor
//! the billing page (no link, and a visit is refused); and an account is
//! locked out after repeated wrong passwords. (A form posted without its CSRF
//! token is refused: plain HTTP, in `console.rs`.)

use std::path::Path;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use bottega_tests::browser::Browser;
use bottega_tests::console::Staff;
use bottega_tests::*;
use serde_json::json;

use crate::console::paid_order;

/// A product photo: a 2 × 2 green PNG, as a shop's computer would have it.
const PHOTO_PNG: &[u8] = b"\x89PNG\r\n\x1a\n\
    \x00\x00\x00\x0dIHDR\x00\x00\x00\x02\x00\x00\x00\x02\x08\x02\x00\x00\x00\xfd\xd4\x9a\x73\
    \x00\x00\x00\x10IDAT\x78\xda\x63\xd0\xeb\x0e\x07\x22\x06\x08\x05\x00\x1d\x2a\x04\x41\x2a\xf0\xc4\xa6\
    \x00\x00\x00\x00IEND\xae\x42\x60\x82";

/// The rows a shop adds to its catalog's export in a spreadsheet, in the
/// export's order (a section after every other, then by name) and its CSV
/// (quoted only where needed, quotes doubled).
const NEW_CSV_ROWS: &str = "arborio,Arborio rice,Carnaroli's cousin,,320,EUR,25,Pantry,true\n\
                            chickpeas,Chickpeas,,,180,EUR,40,Pantry,false\n\
                            passata,\"Passata, \"\"datterini\"\"\",Sweet & thick,,290,EUR,30,Pantry,true\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_browser_at_phone_and_desktop_width() {
    for (width, label) in [(375, "phone"), (1280, "desktop")] {
        let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
        let Some(browser) = Browser::start().await else { return };
        browser.resize(width, 900).await;
        stories(&app, &browser, label).await;
        browser.quit().await;
    }
}

async fn sign_in(browser: &Browser, base: &str, who: &Staff) {
    browser.goto(&format!("{base}/console/sign-in")).await;
    browser.type_into("input[name=email]", &who.email).await;
    browser.type_into("input[name=password]", &who.password).await;
    browser.click("form[action='/console/sign-in'] button").await;
}

async fn sign_out(browser: &Browser) {
    browser.click("form[action='/console/sign-out'] button").await;
    browser.find("form[action='/console/sign-in']").await;
}

fn page_says(text: &str) -> String {
    format!("document.body.innerText.includes({})", json!(text))
}

/// Whether the first element matching `css` is hidden (as a JavaScript expression).
fn is_hidden(css: &str) -> String {
    format!("document.querySelector({}).hidden", json!(css))
}

/// Whether the page has no element matching `css`.
async fn has_none(browser: &Browser, css: &str) -> bool {
    browser.run(&format!("return document.querySelector({}) === null;", json!(css)), json!([])).await == true
}

/// Writes `bytes` as `name` in `folder`, for the browser to upload; returns its path.
fn file(folder: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = folder.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{} is written: {e}", path.display()));
    path
}

/// The catalog's export as the signed-in browser downloads it (its session's cookie).
async fn exported_catalog(base: &str, session: &str) -> Vec<u8> {
    let answer = reqwest::Client::new()
        .get(format!("{base}/console/catalog/export.csv"))
        .header("cookie", format!("bottega_console={session}"))
        .send()
        .await
        .expect("the export answers");
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
    answer.bytes().await.expect("the export reads").to_vec()
}

async fn stories(app: &TestApp, browser: &Browser, label: &str) {
    let base = app.serve().await;
    let shop = app.create_shop("Verdura", json!({})).await;
    let order = paid_order(app, &shop).await;
    let automations = json!({"handoff_keywords": ["talk to a person"]});
    let (status, saved) = app.request(Method::PUT, "/v1/automations", Some(&shop.key), Some(automations)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let waiting = app.say(&shop, "+39 333 123 4567", "Talk to a person!").await;
    let conversation = waiting["conversation_id"].as_str().expect("conversation").to_string();
    let owner = app.staff(&shop, "Giulia", "owner").await;
    let marco = app.staff(&shop, "Marco", "agent").await;
    let files = tempfile::tempdir().expect("a folder for the files the browser uploads");

    // Signing in: the home page with the shop's day; the owner's navigation has the billing page.
    sign_in(browser, &base, &owner).await;
    browser.wait_for("document.getElementById('waiting')").await;
    assert!(browser.text("#waiting").await.contains('1'), "one customer waits");
    assert!(!has_none(browser, "a[href='/console/billing']").await, "an owner's navigation has billing");
    browser.save_screenshot(&format!("console-sign-in-{label}")).await;

    // The inbox is live: a customer who starts waiting shows, among those waiting, without a reload.
    browser.goto(&format!("{base}/console/inbox")).await;
    browser.find(&format!("a[href='/console/inbox/{conversation}']")).await;
    let newcomer = app.say(&shop, "+39 333 765 4321", "talk to a person.").await;
    let newcomer = newcomer["conversation_id"].as_str().expect("conversation").to_string();
    browser.find(&format!("#conversations tr.pending_agent a[href='/console/inbox/{newcomer}']")).await;
    browser.save_screenshot(&format!("console-inbox-live-{label}")).await;

    // Answering a waiting customer: the inbox, the thread, take over, reply.
    browser.click(&format!("a[href='/console/inbox/{conversation}']")).await;
    browser.wait_for(&page_says("Talk to a person!")).await;
    browser.click(&format!("form[action='/console/inbox/{conversation}/take'] button")).await;
    browser.wait_for(&page_says("Giulia answers.")).await;
    browser.type_into("textarea[name=text]", "Ciao! Giulia here, how can I help?").await;
    browser.click(&format!("form[action='/console/inbox/{conversation}/reply'] button")).await;
    browser.wait_for(&page_says("Giulia here, how can I help?")).await;
    browser.save_screenshot(&format!("console-answer-{label}")).await;
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    let last = history["messages"].as_array().and_then(|m| m.last()).cloned().expect("a message");
    assert_eq!(last["body"]["agent"], "Giulia", "{last}");

    // Handing back to the bot.
    browser.click(&format!("form[action='/console/inbox/{conversation}/release'] button")).await;
    browser.wait_for(&page_says("The bot answers.")).await;
    browser.save_screenshot(&format!("console-hand-back-{label}")).await;
    let (_, now) = app.get(&format!("/v1/conversations/{conversation}"), &shop.key).await;
    assert_eq!(now["handling"], "bot", "{now}");

    // The open thread follows another person: Marco takes it (elsewhere), the
    // status names him and no form is offered; he gives it back, and take is.
    let take = format!("form[action='/console/inbox/{conversation}/take']");
    let (status, taken) =
        app.post(&format!("/v1/conversations/{conversation}/take"), &shop.key, json!({"agent": marco.id})).await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    browser.wait_for(&page_says("Marco answers.")).await;
    browser.wait_for(&is_hidden(&take)).await;
    assert_eq!(
        browser.run(&format!("return {};", is_hidden("#controls p[data-when=another]")), json!([])).await,
        false
    );
    browser.save_screenshot(&format!("console-thread-live-{label}")).await;
    let (status, released) = app.post(&format!("/v1/conversations/{conversation}/release"), &shop.key, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{released}");
    browser.wait_for(&page_says("The bot answers.")).await;
    browser.wait_for(&format!("!{}", is_hidden(&take))).await;

    // Refunding half of the €1.80 order, after the confirmation.
    browser.goto(&format!("{base}/console/orders/{order}")).await;
    browser.replace_text("input[name=amount]", "0.90").await;
    browser.click(&format!("form[action='/console/orders/{order}/refund'] button")).await;
    browser.wait_for("document.getElementById('confirm')").await;
    assert!(browser.text("#confirm").await.contains("€0.90"));
    browser.save_screenshot(&format!("console-refund-confirm-{label}")).await;
    browser.click(&format!("form[action='/console/orders/{order}/refund'] button")).await;
    browser.wait_for(&page_says("partially_refunded")).await;
    browser.save_screenshot(&format!("console-refund-{label}")).await;
    let (_, refunded) = app.get(&format!("/v1/orders/{order}"), &shop.key).await;
    assert_eq!(refunded["payment_status"], "partially_refunded", "{refunded}");

    // Shipping it.
    browser.click(&format!("form[action='/console/orders/{order}/ship'] button")).await;
    browser.wait_for("document.getElementById('state').textContent.includes('shipped')").await;
    browser.save_screenshot(&format!("console-ship-{label}")).await;
    let (_, shipped) = app.get(&format!("/v1/orders/{order}"), &shop.key).await;
    assert_eq!(shipped["fulfillment_status"], "shipped", "{shipped}");

    // Adding a product, then its photo, chosen from a file.
    browser.goto(&format!("{base}/console/catalog/new")).await;
    browser.type_into("input[name=id]", "focaccia").await;
    browser.type_into("input[name=name]", "Focaccia genovese").await;
    browser.type_into("textarea[name=description]", "Olive oil & sea salt").await;
    browser.type_into("input[name=price]", "3.50").await;
    browser.type_into("input[name=stock]", "8").await;
    browser.type_into("input[name=section]", "Bakery").await;
    browser.click("form[action='/console/catalog'] button").await;
    let photo = file(files.path(), "focaccia.png", PHOTO_PNG);
    browser.upload("form[action='/console/catalog/focaccia/photo'] input[type=file]", &photo).await;
    browser.click("form[action='/console/catalog/focaccia/photo'] button").await;
    browser.find("img#photo").await;
    browser.save_screenshot(&format!("console-product-photo-{label}")).await;
    let (_, focaccia) = app.get("/v1/products/focaccia", &shop.key).await;
    assert_eq!((focaccia["price_minor"].as_i64(), focaccia["stock"].as_i64()), (Some(350), Some(8)), "{focaccia}");
    let photo_url = focaccia["photo_url"].as_str().expect("the product has its photo");
    let image = photo_url.rsplit_once("/images/").expect("a photo the runtime serves").1;
    let served = reqwest::get(format!("{base}/images/{image}")).await.expect("the photo is served");
    assert_eq!(served.bytes().await.expect("the photo reads").to_vec(), PHOTO_PNG.to_vec(), "the very photo");

    // Importing the catalog by CSV, a file with three new rows, and exporting
    // it: byte for byte the file imported.
    let session = browser.cookie("bottega_console").await.expect("the browser's session cookie");
    let before = exported_catalog(&base, &session).await;
    let kept = before.iter().filter(|&&byte| byte == b'\n').count() - 1;
    let mut spreadsheet = before.clone();
    spreadsheet.extend_from_slice(NEW_CSV_ROWS.as_bytes());
    let csv = file(files.path(), "catalog.csv", &spreadsheet);
    browser.goto(&format!("{base}/console/catalog")).await;
    browser.upload("form[action='/console/catalog/import'] input[type=file]", &csv).await;
    browser.click("form[action='/console/catalog/import'] button").await;
    let summary = browser.text("#summary").await;
    assert!(summary.contains(&format!("3 created, {kept} updated, 0 rejected")), "{summary}");
    browser.save_screenshot(&format!("console-catalog-import-{label}")).await;
    let after = exported_catalog(&base, &session).await;
    assert!(
        after == spreadsheet,
        "the export is the file imported, byte for byte:\n{}\n---\n{}",
        String::from_utf8_lossy(&spreadsheet),
        String::from_utf8_lossy(&after)
    );

    // Uploading a new version of the bot: it compiles and becomes active;
    // then rolling back to the first.
    let wasm = file(files.path(), "grocery.wasm", plugins::GROCERY_RUST_BYTES);
    browser.goto(&format!("{base}/console/bot")).await;
    browser.find("tr[data-version='1']").await;
    browser.upload("form[action='/console/bot/upload'] input[type=file]", &wasm).await;
    browser.click("form[action='/console/bot/upload'] button").await;
    let active = |version: u32| {
        format!("document.querySelector(\"tr[data-version='{version}'] .state\")?.textContent === 'active'")
    };
    browser.reload_until(&active(2), Duration::from_secs(90)).await;
    browser.save_screenshot(&format!("console-bot-upload-{label}")).await;
    browser.click("tr[data-version='1'] form button").await;
    browser.wait_for(&active(1)).await;
    assert_eq!(browser.text("tr[data-version='2'] .state").await, "ready");
    browser.save_screenshot(&format!("console-bot-roll-back-{label}")).await;
    let (_, overview) = app.get("/v1/plugins", &shop.key).await;
    let versions = overview["versions"].as_array().cloned().unwrap_or_default();
    let first = versions.iter().find(|v| v["version"] == 1).expect("the first version");
    assert_eq!(overview["active_version_id"], first["id"], "{overview}");

    // Inviting an agent: the link is shown once; she joins and has no team page.
    browser.goto(&format!("{base}/console/team")).await;
    browser.type_into("form[action='/console/team/invite'] input[name=email]", "pia@verdura.example").await;
    browser.click("form[action='/console/team/invite'] button").await;
    let link = browser.text("#invitation-link").await;
    let token = link.split_once("token=").expect("a token in the link").1.trim().to_string();
    sign_out(browser).await;
    let pia = Staff {
        id: String::new(),
        email: "pia@verdura.example".into(),
        name: "Pia".into(),
        password: "olive oil and bread".into(),
    };
    browser.goto(&format!("{base}/console/accept?token={token}")).await;
    browser.type_into("input[name=name]", &pia.name).await;
    browser.type_into("input[name=password]", &pia.password).await;
    browser.click("form[action='/console/accept'] button").await;
    browser.wait_for(&page_says("Your account is ready")).await;
    sign_in(browser, &base, &pia).await;
    browser.wait_for("document.getElementById('waiting')").await;
    let no_team = browser.run("return document.querySelector(\"a[href='/console/team']\") === null;", json!([])).await;
    assert_eq!(no_team, true, "an agent's navigation has no team page");
    let no_bot = browser.run("return document.querySelector(\"a[href='/console/bot']\") === null;", json!([])).await;
    assert_eq!(no_bot, true, "an agent's navigation has no bot page");
    assert!(has_none(browser, "a[href='/console/billing']").await, "an agent's navigation has no billing page");
    browser.goto(&format!("{base}/console/bot")).await;
    browser.wait_for(&page_says("Your role does not allow this.")).await;
    browser.goto(&format!("{base}/console/team")).await;
    browser.wait_for(&page_says("Your role does not allow this.")).await;
    browser.save_screenshot(&format!("console-agent-no-team-{label}")).await;
    // Nor the billing page, visited directly.
    browser.goto(&format!("{base}/console/billing")).await;
    browser.wait_for(&page_says("Your role does not allow this.")).await;
    assert!(!browser.run("return document.body.innerText;", json!([])).await.to_string().contains("Upcoming invoice"));
    browser.save_screenshot(&format!("console-agent-no-billing-{label}")).await;
    // The refusal page has no navigation: back home to sign out.
    browser.goto(&format!("{base}/console")).await;
    sign_out(browser).await;

    // Five wrong passwords, then the account waits, even for the right one.
    let vera = app.staff(&shop, "Vera", "viewer").await;
    let wrong = Staff { password: "not the password".into(), ..vera.clone() };
    for _ in 0..5 {
        sign_in(browser, &base, &wrong).await;
        browser.wait_for("document.getElementById('wrong')").await;
    }
    sign_in(browser, &base, &vera).await;
    browser.wait_for("document.getElementById('locked')").await;
    browser.save_screenshot(&format!("console-lockout-{label}")).await;
}
