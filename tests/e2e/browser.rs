//! The web chat page in a real browser (headless Chromium): a customer shops
//! by tapping what the bot shows, locks the chat, finds it locked after a
//! reload, unlocks it, is locked out by idle time, and signs out.

use axum::http::{Method, StatusCode};
use bottega_tests::browser::Browser;
use bottega_tests::*;
use serde_json::json;

const PASSWORD: &str = "tomatoes and basil";

/// The number of messages the page shows.
const SHOWN: &str = "document.querySelectorAll('#messages li.msg').length";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_shops_locks_and_signs_out_in_the_browser() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let Some(browser) = Browser::start().await else { return };
    let demo = bottega::seed::seed_demo_if_empty(&app.app).await.expect("seed").expect("demo shop");
    let base = app.serve().await;
    let shop = Shop { id: demo.business.id.clone(), key: demo.api_key.clone() };
    // The apples get a photo served by the runtime itself (a 1×1 GIF).
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    let http = reqwest::Client::new();
    let image: serde_json::Value = http
        .post(format!("{base}/v1/images"))
        .bearer_auth(&shop.key)
        .header("content-type", "image/gif")
        .body(gif.to_vec())
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("image");
    let photo_url = format!("{base}/images/{}", image["id"].as_str().expect("image id"));
    let (_, apples) = app.get("/v1/products/gala-apples", &shop.key).await;
    let mut input = json!({"photo_url": photo_url});
    for field in ["id", "name", "description", "price_minor", "currency", "stock", "section", "available"] {
        input[field] = apples[field].clone();
    }
    let (status, updated) = app.request(Method::PUT, "/v1/products/gala-apples", Some(&shop.key), Some(input)).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    browser.goto(&format!("{base}/chat/{}", demo.business.id)).await;
    assert_eq!(browser.text("h1").await, demo.business.name);
    browser.wait_for("document.getElementById('status').textContent === 'Online'").await;

    // "hi" brings the greeting's buttons; tapping one opens the catalog's sections.
    browser.type_into("#text", "hi\u{E007}").await;
    browser.wait_for("document.querySelector('li.msg.buttons button.choice[data-id=browse]')").await;
    let greeting = browser.text("li.msg.buttons").await;
    assert!(greeting.contains("Welcome to Verdura"), "{greeting}");
    browser.click("li.msg.buttons button.choice[data-id=browse]").await;
    browser.click("li.msg.list button.open-list").await;
    browser.click("li.msg.list button.choice[data-id='section:Fruit']").await;

    // Product cards: photo, name and price.
    let card = "li.msg.product_list .card[data-product=gala-apples]";
    browser.find(card).await;
    assert_eq!(browser.text(&format!("{card} .price")).await, "€2.40");
    browser.wait_for(&format!("document.querySelector('{card} img')?.complete")).await;
    let photo = browser
        .run(
            &format!("const img = document.querySelector('{card} img'); return [img.src, img.naturalWidth];"),
            json!([]),
        )
        .await;
    assert_eq!(photo, json!([photo_url, 1]), "the photo loaded");

    // Choosing the product, adding it, and the cart summary with its total.
    browser.click(&format!("{card} button.product-tap")).await;
    browser.click("li.msg.buttons button.choice[data-id='add:gala-apples']").await;
    browser.wait_for("document.body.innerText.includes('Your basket has 1 items')").await;
    browser.type_into("#text", "cart\u{E007}").await;
    let total = "li.msg.cart_summary tr.total";
    browser.find(total).await;
    assert!(browser.text(total).await.contains("€2.40"));
    // What the customer typed shows once, as sent.
    let typed = browser
        .run("return [...document.querySelectorAll('li.msg.inbound')].map(li => li.innerText);", json!([]))
        .await;
    assert_eq!(typed.as_array().map(|t| t.iter().filter(|t| *t == "cart").count()), Some(1), "{typed}");
    let messages = browser.run(&format!("return {SHOWN};"), json!([])).await;

    // Lock it with a password that locks after 1 idle minute, then lock now.
    browser.click("#lock-settings").await;
    browser.type_into("#new-password", PASSWORD).await;
    browser.type_into("#new-password-again", PASSWORD).await;
    browser.run("document.getElementById('auto-lock').value = '1';", json!([])).await;
    browser.click("#set-lock").await;
    browser.wait_for("document.getElementById('settings').hidden").await;
    browser.click("#lock-settings").await;
    assert!(browser.text("#lock-summary").await.contains("after 1 idle minute"));
    browser.click("#lock-now").await;
    browser.wait_for("!document.getElementById('lock-screen').hidden").await;
    browser.wait_for(&format!("{SHOWN} === 0")).await;
    assert!(!browser.run("return document.body.innerText;", json!([])).await.to_string().contains("Gala"));

    // A reload does not get around it.
    browser.refresh().await;
    browser.wait_for("!document.getElementById('lock-screen').hidden").await;
    browser.wait_for("document.getElementById('status').textContent === 'Online'").await;
    assert_eq!(browser.run(&format!("return {SHOWN};"), json!([])).await, 0);

    // A wrong password is refused; the right one brings the whole conversation back.
    browser.type_into("#unlock-password", "tomatoes and mint\u{E007}").await;
    browser.wait_for("document.getElementById('unlock-error').textContent.includes('not the password')").await;
    browser.run("document.getElementById('unlock-password').value = '';", json!([])).await;
    browser.type_into("#unlock-password", &format!("{PASSWORD}\u{E007}")).await;
    browser.wait_for("document.getElementById('lock-screen').hidden").await;
    browser.wait_for(&format!("{SHOWN} === {messages}")).await;

    // Idle for longer than a minute (as the host sees it): locked again.
    sqlx::query("UPDATE web_sessions SET last_active_at = $1")
        .bind(bottega::ids::now_ms() - 120_000)
        .execute(app.db())
        .await
        .expect("age the session");
    browser.wait_for("!document.getElementById('lock-screen').hidden").await;
    assert_eq!(browser.run(&format!("return {SHOWN};"), json!([])).await, 0);

    // Forgot the password: signing out starts a new, empty chat.
    let old_token = browser.run("return Object.values({...localStorage})[0];", json!([])).await;
    browser.click("#sign-out").await;
    browser.accept_dialog().await;
    browser.wait_for("document.getElementById('lock-screen').hidden").await;
    browser.wait_for("document.getElementById('status').textContent === 'Online'").await;
    let new_token = browser.run("return Object.values({...localStorage})[0];", json!([])).await;
    assert!(new_token.is_string() && new_token != old_token, "{old_token} → {new_token}");
    assert_eq!(browser.run(&format!("return {SHOWN};"), json!([])).await, 0);
    browser.type_into("#text", "hello again\u{E007}").await;
    browser.wait_for("document.querySelector('li.msg.buttons')").await;
    browser.quit().await;
}
