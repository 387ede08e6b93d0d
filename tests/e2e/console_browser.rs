//! The business console in a real browser (headless Chromium), at a phone's
//! 375 px and at desktop width, a screenshot per story (see
//! `Browser::save_screenshot`): the owner signs in; answers a waiting
//! customer; takes a conversation over and hands it back to the bot; refunds
//! half an order after confirming; invites an agent, who then sees neither
//! the bot nor the team page; and an account is locked out after repeated wrong passwords. (A form
//! posted without its CSRF token is refused: plain HTTP, in `console.rs`.)

use axum::http::{Method, StatusCode};
use bottega_tests::browser::Browser;
use bottega_tests::console::Staff;
use bottega_tests::*;
use serde_json::json;

use crate::console::paid_order;

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

    // Signing in: the home page with the shop's day.
    sign_in(browser, &base, &owner).await;
    browser.wait_for("document.getElementById('waiting')").await;
    assert!(browser.text("#waiting").await.contains('1'), "one customer waits");
    browser.save_screenshot(&format!("console-sign-in-{label}")).await;

    // Answering a waiting customer: the inbox, the thread, take over, reply.
    browser.goto(&format!("{base}/console/inbox")).await;
    browser.click(&format!("a[href='/console/inbox/{conversation}']")).await;
    browser.wait_for(&page_says("Talk to a person!")).await;
    browser.click(&format!("form[action='/console/inbox/{conversation}/take'] button")).await;
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
    browser.goto(&format!("{base}/console/bot")).await;
    browser.wait_for(&page_says("Your role does not allow this.")).await;
    browser.goto(&format!("{base}/console/team")).await;
    browser.wait_for(&page_says("Your role does not allow this.")).await;
    browser.save_screenshot(&format!("console-agent-no-team-{label}")).await;
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
