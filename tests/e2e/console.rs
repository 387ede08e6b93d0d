//! The business console over plain HTTP: a business invites its owner with
//! its API key, the owner accepts the single-use link and signs in, sees the
//! shop's day, invites an agent who answers a waiting customer from the inbox;
//! wrong passwords lock an account out for a while; a form without its CSRF
//! token is refused; signing out everywhere ends every session; an admin
//! refunds half an order after a confirmation and an agent ships one; machine
//! API keys reach what their scope allows.

use axum::http::{Method, StatusCode};
use bottega::commerce::payments::sandbox::CARD_SUCCESS;
use bottega::staff::totp;
use bottega_tests::card::pay_checkout;
use bottega_tests::console::{Answer, Console, Staff, csrf_of};
use bottega_tests::*;
use serde_json::json;

bottega_tests::on_both_databases!(
    an_owner_accepts_the_invitation_once_and_signs_in,
    repeated_wrong_passwords_lock_the_account_out,
    a_form_without_its_csrf_token_is_refused,
    an_agent_answers_a_waiting_customer_from_the_inbox,
    the_owner_runs_the_team_and_an_agent_cannot,
    signing_out_everywhere_ends_every_session,
    machine_keys_reach_what_their_scope_allows,
    an_admin_refunds_half_an_order_after_confirming_and_an_agent_ships,
    an_admin_uploads_a_bot_and_rolls_back_and_an_agent_sees_no_bot_page,
    an_admin_keeps_the_catalog_and_its_export_imports_back_as_it_was,
    the_operator_creates_a_business_with_its_owner_invited,
    a_second_factor_guards_the_sign_in_and_each_code_works_once,
    an_italian_shop_s_console_speaks_italian,
);

/// A shop run by people (automations, no bot): its customers wait for a person.
async fn shop_run_by_people(app: &TestApp, name: &str) -> Shop {
    let shop = app.create_shop(name, json!({})).await;
    let (status, saved) =
        app.request(Method::PUT, "/v1/automations", Some(&shop.key), Some(json!({"greeting": "Hello!"}))).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    shop
}

/// A customer writes; returns the conversation's id.
async fn customer_writes(app: &TestApp, shop: &Shop, customer: &str, text: &str) -> String {
    app.say(shop, customer, text).await["conversation_id"].as_str().expect("conversation").to_string()
}

async fn an_owner_accepts_the_invitation_once_and_signs_in(app: TestApp) {
    let shop = shop_run_by_people(&app, "Verdura").await;
    customer_writes(&app, &shop, "+39 333 000 111", "is anyone there?").await;

    // The business bootstraps its owner with its API key.
    let token = app.invite(&shop, "Giulia@Verdura.example", "owner").await;
    let page = app.console_get(None, &format!("/console/accept?token={token}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("giulia@verdura.example"), "the invitation names its email: {}", page.body);

    // A short password is refused, and the link still works.
    let weak = app.accept_invitation(&token, "Giulia", "short").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", weak.body);
    let accepted = app.accept_invitation(&token, "Giulia", "basil and tomatoes").await;
    assert_eq!(
        (accepted.status, accepted.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/sign-in?welcome=1"))
    );
    // The link works once.
    let again = app.accept_invitation(&token, "Mallory", "basil and tomatoes").await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.body);
    assert!(again.body.contains("invitation_not_open"), "{}", again.body);
    assert_eq!(app.console_get(None, &format!("/console/accept?token={token}")).await.status, StatusCode::NOT_FOUND);

    // Not signed in, the console sends her to the sign-in page.
    let home = app.console_get(None, "/console").await;
    assert_eq!((home.status, home.location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/sign-in")));

    // A wrong password is refused; the right one opens a session in a strict, HttpOnly cookie.
    let wrong = app.sign_in_as("giulia@verdura.example", "basil and potatoes").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.set_cookie.is_none());
    let signed = app.sign_in_as("GIULIA@verdura.example", "basil and tomatoes").await;
    assert_eq!((signed.status, signed.location.as_deref()), (StatusCode::SEE_OTHER, Some("/console")));
    let cookie = signed.set_cookie.expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "the test node's public URL is plain http: {cookie}");
    let console = Console { cookie: cookie.split(';').next().expect("name=value").to_string(), csrf: String::new() };

    // Her home page: today's orders, one customer waiting, no bot.
    let home = app.console_get(Some(&console), "/console").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("Verdura"), "{}", home.body);
    assert!(home.body.contains("Waiting for a person<b>1</b>"), "{}", home.body);
    assert!(home.body.contains("Orders today<b>0</b>"), "{}", home.body);
    assert!(home.body.contains("href=\"/console/team\""), "an owner sees the team page: {}", home.body);
    assert!(csrf_of(&home.body).is_some(), "its forms carry a CSRF token");
}

async fn repeated_wrong_passwords_lock_the_account_out(app: TestApp) {
    let shop = app.create_shop("Corner shop", json!({})).await;
    let agent = app.staff(&shop, "Paolo", "agent").await;

    // Five wrong guesses are each told so…
    for guess in 0..5 {
        let wrong = app.sign_in_as(&agent.email, &format!("guess number {guess}")).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "guess {guess}: {}", wrong.body);
    }
    // …then the account waits, even for the right password.
    let locked = app.sign_in_as(&agent.email, &agent.password).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{}", locked.body);
    assert!(locked.body.contains("Too many sign-in attempts"), "{}", locked.body);
    assert!(locked.set_cookie.is_none(), "no session while locked out");

    // Another account is not locked by Paolo's guesses.
    let owner = app.staff(&shop, "Anna", "owner").await;
    assert_eq!(app.sign_in_as(&owner.email, &owner.password).await.status, StatusCode::SEE_OTHER);
}

async fn a_form_without_its_csrf_token_is_refused(app: TestApp) {
    let shop = shop_run_by_people(&app, "Florist").await;
    let conversation = customer_writes(&app, &shop, "+34 600 000 001", "roses?").await;
    let agent = app.staff(&shop, "Marta", "agent").await;
    let other = app.staff(&shop, "Luis", "agent").await;
    let console = app.signed_in(&agent).await;
    let others = app.signed_in(&other).await;
    let take = format!("/console/inbox/{conversation}/take");

    // No token, an empty one, another session's: refused, and nothing changes.
    let attempts: [&[(&str, &str)]; 3] = [&[], &[("csrf", "")], &[("csrf", others.csrf.as_str())]];
    for fields in attempts {
        let refused = app.console_post(Some(&console), &take, fields).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{fields:?}: {}", refused.body);
        assert!(refused.body.contains("csrf_refused"), "{}", refused.body);
    }
    let (_, now) = app.get(&format!("/v1/conversations/{conversation}"), &shop.key).await;
    assert_eq!(now["handling"], "pending_agent", "{now}");

    // With her session's token the same form takes the conversation.
    let taken = app.console_submit(&console, &take, &[]).await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER, "{}", taken.body);
    let (_, now) = app.get(&format!("/v1/conversations/{conversation}"), &shop.key).await;
    assert_eq!((now["handling"].as_str(), now["agent"].as_str()), (Some("agent"), Some(agent.id.as_str())));
}

async fn an_agent_answers_a_waiting_customer_from_the_inbox(app: TestApp) {
    let shop = shop_run_by_people(&app, "Bakery").await;
    let early = customer_writes(&app, &shop, "+34 600 000 002", "do you have bread?").await;
    let later = customer_writes(&app, &shop, "+34 600 000 003", "hello").await;
    let agent = app.staff(&shop, "Sofia", "agent").await;
    let console = app.signed_in(&agent).await;

    // The inbox lists who waits, the one waiting longest first.
    let inbox = app.console_get(Some(&console), "/console/inbox").await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
    let (first, second) = (inbox.body.find(&early).expect("listed"), inbox.body.find(&later).expect("listed"));
    assert!(first < second, "the longest wait first: {}", inbox.body);

    // The thread as the customer wrote it; she takes it, answers, and hands it back.
    let thread = format!("/console/inbox/{early}");
    let page = app.console_get(Some(&console), &thread).await;
    assert!(page.body.contains("do you have bread?") && page.body.contains("Waiting for a person"), "{}", page.body);
    assert_eq!(app.console_submit(&console, &format!("{thread}/take"), &[]).await.status, StatusCode::SEE_OTHER);
    let page = app.console_get(Some(&console), &thread).await;
    assert!(page.body.contains("Sofia answers"), "{}", page.body);
    let sent = app
        .console_submit(&console, &format!("{thread}/reply"), &[("text", "Fresh at 8, Sofia here & glad <to> help")])
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let page = app.console_get(Some(&console), &thread).await;
    assert!(page.body.contains("Fresh at 8, Sofia here &amp; glad &lt;to&gt; help"), "escaped: {}", page.body);

    // The customer's history has it, signed with her name.
    let (_, history) = app.get(&format!("/v1/conversations/{early}/messages"), &shop.key).await;
    let last = history["messages"].as_array().and_then(|m| m.last()).cloned().expect("a message");
    assert_eq!((last["author"].as_str(), last["body"]["agent"].as_str()), (Some("agent"), Some("Sofia")), "{last}");

    let released = app.console_submit(&console, &format!("{thread}/release"), &[]).await;
    assert_eq!(released.status, StatusCode::SEE_OTHER, "{}", released.body);
    let (_, now) = app.get(&format!("/v1/conversations/{early}"), &shop.key).await;
    assert_eq!(now["handling"], "bot", "{now}");
}

async fn the_owner_runs_the_team_and_an_agent_cannot(app: TestApp) {
    let shop = app.create_shop("Bookshop", json!({})).await;
    let owner = app.staff(&shop, "Olga", "owner").await;
    let console = app.signed_in(&owner).await;

    // Olga invites an agent from the team page; the link is shown once.
    let invited = app
        .console_submit(&console, "/console/team/invite", &[("email", "pia@bookshop.example"), ("role", "agent")])
        .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    let link_at = invited.body.find("/console/accept?token=").expect("the link is shown");
    let token: String = invited.body[link_at + "/console/accept?token=".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let accepted = app.accept_invitation(&token, "Pia", "pages and pages").await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);

    // Pia, an agent, has no team page and no link to it.
    let pia = Staff {
        id: String::new(),
        email: "pia@bookshop.example".into(),
        name: "Pia".into(),
        password: "pages and pages".into(),
    };
    let pias = app.signed_in(&pia).await;
    let home = app.console_get(Some(&pias), "/console").await;
    assert!(!home.body.contains("/console/team"), "{}", home.body);
    let team = app.console_get(Some(&pias), "/console/team").await;
    assert_eq!(team.status, StatusCode::FORBIDDEN, "{}", team.body);
    let (_, members) = app.get("/v1/staff", &shop.key).await;
    let pia_id = members
        .as_array()
        .and_then(|m| m.iter().find(|m| m["email"] == "pia@bookshop.example"))
        .and_then(|m| m["id"].as_str())
        .expect("Pia is on the team")
        .to_string();
    let promote = app.console_submit(&pias, &format!("/console/team/{}/role", owner.id), &[("role", "viewer")]).await;
    assert_eq!(promote.status, StatusCode::FORBIDDEN, "an agent cannot change roles: {}", promote.body);

    // Olga makes Pia an admin (still no team page), then removes her: her session ends.
    let changed = app.console_submit(&console, &format!("/console/team/{pia_id}/role"), &[("role", "admin")]).await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert_eq!(app.console_get(Some(&pias), "/console/team").await.status, StatusCode::FORBIDDEN);
    let removed = app.console_submit(&console, &format!("/console/team/{pia_id}/remove"), &[]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    let gone = app.console_get(Some(&pias), "/console").await;
    assert_eq!((gone.status, gone.location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/sign-in")));
    // Olga cannot remove herself.
    let own = app.console_submit(&console, &format!("/console/team/{}/remove", owner.id), &[]).await;
    assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", own.body);
}

async fn signing_out_everywhere_ends_every_session(app: TestApp) {
    let shop = app.create_shop("Stationer", json!({})).await;
    let viewer = app.staff(&shop, "Vera", "viewer").await;
    let phone = app.signed_in(&viewer).await;
    let laptop = app.signed_in(&viewer).await;

    // Signing out on the phone ends the phone's session only.
    let out = app.console_submit(&phone, "/console/sign-out", &[]).await;
    assert_eq!((out.status, out.location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/sign-in")));
    assert!(out.set_cookie.is_some_and(|c| c.contains("Max-Age=0")), "the cookie is cleared");
    assert_eq!(app.console_get(Some(&phone), "/console").await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.console_get(Some(&laptop), "/console").await.status, StatusCode::OK);

    // Everywhere: the laptop and any other session end too.
    let tablet = app.signed_in(&viewer).await;
    assert_eq!(app.console_submit(&laptop, "/console/sign-out-everywhere", &[]).await.status, StatusCode::SEE_OTHER);
    for session in [&laptop, &tablet] {
        assert_eq!(app.console_get(Some(session), "/console").await.status, StatusCode::SEE_OTHER);
    }
}

async fn machine_keys_reach_what_their_scope_allows(app: TestApp) {
    let shop = app.create_shop("Hardware", json!({})).await;
    let (_, catalog) = machine_key(&app, &shop, "catalog").await;
    let (read_only_id, read_only) = machine_key(&app, &shop, "read_only").await;
    let product =
        json!({"id": "nail", "name": "Nail", "price_minor": 5, "currency": "EUR", "stock": 100, "section": "Tools"});

    // The catalog key edits the catalog and nothing else.
    assert_eq!(app.post("/v1/products", &catalog, product.clone()).await.0, StatusCode::CREATED);
    let (status, refused) = app.get("/v1/orders", &catalog).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("scope_insufficient")));
    // The read-only key reads everything and changes nothing.
    assert_eq!(app.get("/v1/orders", &read_only).await.0, StatusCode::OK);
    assert_eq!(app.get("/v1/products/nail", &read_only).await.0, StatusCode::OK);
    let (status, refused) = app.post("/v1/products", &read_only, product.clone()).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("scope_insufficient")));
    // Neither reaches the team or the keys.
    for secret in [&catalog, &read_only] {
        assert_eq!(app.get("/v1/staff", secret).await.0, StatusCode::FORBIDDEN);
        let (status, _) = app.post("/v1/api-keys", secret, json!({"name": "more", "scope": "full"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // The list shows the keys, never their secrets; a revoked key opens nothing.
    let (_, keys) = app.get("/v1/api-keys", &shop.key).await;
    assert_eq!(keys.as_array().map(Vec::len), Some(2), "{keys}");
    assert!(!keys.to_string().contains(&read_only), "{keys}");
    let (status, _) = app.request(Method::DELETE, &format!("/v1/api-keys/{read_only_id}"), Some(&shop.key), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/v1/orders", &read_only).await.0, StatusCode::UNAUTHORIZED);
}

/// A machine key of `scope` made with the business's own key: its id and secret.
pub async fn machine_key(app: &TestApp, shop: &Shop, scope: &str) -> (String, String) {
    let (status, created) =
        app.post("/v1/api-keys", &shop.key, json!({"name": format!("{scope} sync"), "scope": scope})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["key"]["id"].as_str().expect("id").to_string();
    (id, created["secret"].as_str().expect("secret").to_string())
}

/// A grocer whose customer bought two pears (€1.80) and paid by card; returns the order id.
pub async fn paid_order(app: &TestApp, shop: &Shop) -> String {
    let pear = json!({"id": "pear", "name": "Conference pear", "price_minor": 90, "currency": "EUR", "stock": 50, "section": "Fruit"});
    assert_eq!(app.post("/v1/products", &shop.key, pear).await.0, StatusCode::CREATED);
    app.upload(shop, plugins::GROCERY_RUST).await;
    app.say(shop, "ana", "add 2 pears").await;
    let checkout = app.say(shop, "ana", "checkout").await;
    pay_checkout(app, &checkout, CARD_SUCCESS).await
}

async fn an_admin_refunds_half_an_order_after_confirming_and_an_agent_ships(app: TestApp) {
    let shop = app.create_shop("Grocer", json!({})).await;
    let order = paid_order(&app, &shop).await;
    let admin = app.staff(&shop, "Ada", "admin").await;
    let agent = app.staff(&shop, "Gino", "agent").await;
    let admins = app.signed_in(&admin).await;
    let agents = app.signed_in(&agent).await;

    // The list, filtered by state, and the order with its timeline.
    let captured = app.console_get(Some(&admins), "/console/orders?state=captured").await;
    assert!(captured.body.contains(&order), "{}", captured.body);
    let cancelled = app.console_get(Some(&admins), "/console/orders?state=cancelled").await;
    assert!(!cancelled.body.contains(&order), "{}", cancelled.body);
    let page = format!("/console/orders/{order}");
    let detail = app.console_get(Some(&admins), &page).await;
    assert!(detail.body.contains("Conference pear") && detail.body.contains("€1.80"), "{}", detail.body);
    assert!(detail.body.contains("created") && detail.body.contains("paid"), "the timeline: {}", detail.body);

    // Half of it back: the confirmation says what will happen and changes nothing yet.
    let confirm = app.console_get(Some(&admins), &format!("{page}/refund?amount=0.90")).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.body.contains("Give back <strong>€0.90</strong>"), "{}", confirm.body);
    let (_, before) = app.get(&format!("/v1/orders/{order}"), &shop.key).await;
    assert_eq!(before["payment_status"], "captured");
    let start =
        confirm.body.find("name=key value=\"").expect("the confirmation carries its key") + "name=key value=\"".len();
    let key = confirm.body[start..].split('"').next().expect("key").to_string();
    let fields = [("amount_minor", "90"), ("key", key.as_str())];
    let refunded = app.console_submit(&admins, &format!("{page}/refund"), &fields).await;
    assert_eq!(
        (refunded.status, refunded.location.as_deref()),
        (StatusCode::SEE_OTHER, Some(page.as_str())),
        "{}",
        refunded.body
    );
    // Sent twice (a double click), it refunds once.
    assert_eq!(app.console_submit(&admins, &format!("{page}/refund"), &fields).await.status, StatusCode::SEE_OTHER);
    let (_, after) = app.get(&format!("/v1/orders/{order}"), &shop.key).await;
    assert_eq!(after["payment_status"], "partially_refunded", "{after}");
    let (_, payments) = app.get(&format!("/v1/orders/{order}/payments"), &shop.key).await;
    assert_eq!(payments[0]["refunded_minor"], 90, "{payments}");

    // The agent may not refund, but ships it; the timeline says so.
    let refused = app.console_get(Some(&agents), &format!("{page}/refund?amount=0.90")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(app.console_submit(&agents, &format!("{page}/ship"), &[]).await.status, StatusCode::SEE_OTHER);
    let shipped = app.console_get(Some(&agents), &page).await;
    assert!(shipped.body.contains("shipped"), "{}", shipped.body);

    // The export has the order, in CSV.
    let csv = app.console_get(Some(&admins), "/console/orders/export.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.body.starts_with("number,id,created_at,status,payment_status,fulfillment_status,currency,total_minor\n")
    );
    assert!(csv.body.contains(&format!(",{order},")) && csv.body.contains(",EUR,180"), "{}", csv.body);
}

async fn an_admin_uploads_a_bot_and_rolls_back_and_an_agent_sees_no_bot_page(app: TestApp) {
    let shop = app.create_shop("Grocer", json!({})).await;
    let first = app.upload(&shop, plugins::GROCERY_RUST).await;
    let first_id = first["id"].as_str().expect("version id").to_string();
    let admin = app.staff(&shop, "Ada", "admin").await;
    let agent = app.staff(&shop, "Gino", "agent").await;
    let admins = app.signed_in(&admin).await;

    // The page shows the active version; an upload from the page compiles and becomes active.
    let page = app.console_get(Some(&admins), "/console/bot").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<td class=state>active</td>"), "{}", page.body);
    let wasm = std::fs::read(plugins::GROCERY_RUST).expect("built plugin");
    let uploaded = app
        .console_upload(&admins, "/console/bot/upload", &[("activate", "on")], ("wasm", "shop.wasm", wasm.as_slice()))
        .await;
    assert_eq!(
        (uploaded.status, uploaded.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/bot")),
        "{}",
        uploaded.body
    );
    let (_, overview) = app.get("/v1/plugins", &shop.key).await;
    let second_id = overview["versions"][0]["id"].as_str().expect("the new version").to_string();
    assert_ne!(second_id, first_id);
    assert_eq!(app.compiled(&shop, &second_id).await["state"], "ready");
    let active = || async { app.get("/v1/plugins", &shop.key).await.1["active_version_id"].clone() };
    for _ in 0..200 {
        if active().await == second_id.as_str() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(active().await, second_id.as_str(), "the upload activated itself once compiled");

    // Without its CSRF token the upload is refused.
    let forged = Console { csrf: "forged".into(), ..admins.clone() };
    let refused = app.console_upload(&forged, "/console/bot/upload", &[], ("wasm", "shop.wasm", wasm.as_slice())).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    // Rolling back to the first version.
    let page = app.console_get(Some(&admins), "/console/bot").await;
    assert!(page.body.contains("Roll back to this"), "{}", page.body);
    let rolled = app.console_submit(&admins, &format!("/console/bot/{first_id}/activate"), &[]).await;
    assert_eq!(rolled.status, StatusCode::SEE_OTHER, "{}", rolled.body);
    assert_eq!(active().await, first_id.as_str());

    // An agent has no bot page, and no link to it.
    let agents = app.signed_in(&agent).await;
    let home = app.console_get(Some(&agents), "/console").await;
    assert!(!home.body.contains("href=\"/console/bot\""), "{}", home.body);
    assert_eq!(app.console_get(Some(&agents), "/console/bot").await.status, StatusCode::FORBIDDEN);
}

async fn an_admin_keeps_the_catalog_and_its_export_imports_back_as_it_was(app: TestApp) {
    let shop = app.create_shop("Deli", json!({})).await;
    let admin = app.staff(&shop, "Ada", "admin").await;
    let admins = app.signed_in(&admin).await;

    // A product added from the page, priced in euros as typed.
    let fields = [
        ("id", "pecorino"),
        ("name", "Pecorino \"romano\", aged"),
        ("description", "Sheep's milk & salt"),
        ("price", "4,50"),
        ("currency", "EUR"),
        ("stock", "12"),
        ("section", "Cheese"),
        ("available", "on"),
    ];
    let added = app.console_submit(&admins, "/console/catalog", &fields).await;
    assert_eq!(
        (added.status, added.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/catalog/pecorino")),
        "{}",
        added.body
    );
    let (_, product) = app.get("/v1/products/pecorino", &shop.key).await;
    assert_eq!((product["price_minor"].as_i64(), product["stock"].as_i64()), (Some(450), Some(12)), "{product}");
    // A bad price is refused, with the page saying why; nothing changes.
    let mut bad = fields;
    bad[3] = ("price", "four fifty");
    let refused = app.console_submit(&admins, "/console/catalog/pecorino", &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    // Edited: out of stock and unavailable (the box left unticked).
    let edited =
        [("name", "Pecorino romano"), ("price", "4.80"), ("currency", "EUR"), ("stock", "0"), ("section", "Cheese")];
    assert_eq!(app.console_submit(&admins, "/console/catalog/pecorino", &edited).await.status, StatusCode::SEE_OTHER);
    let (_, product) = app.get("/v1/products/pecorino", &shop.key).await;
    assert_eq!(
        (product["price_minor"].as_i64(), product["available"].as_bool()),
        (Some(480), Some(false)),
        "{product}"
    );
    app.add_product(&shop, "olives", "Green olives, \"Nocellara\"", 300, "Jars").await;

    // Search finds by name; the page escapes what the catalog holds.
    let found = app.console_get(Some(&admins), "/console/catalog?q=olive").await;
    assert!(
        found.body.contains("Green olives, &quot;Nocellara&quot;") && !found.body.contains("Pecorino"),
        "{}",
        found.body
    );

    // The export imports back as it was: every row updated, nothing changed.
    let export = app.console_get(Some(&admins), "/console/catalog/export.csv").await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(
        export.body.starts_with("id,name,description,photo_url,price_minor,currency,stock,section,available\n"),
        "{}",
        export.body
    );
    let (_, before) = app.get("/v1/products", &shop.key).await;
    let imported = app
        .console_upload(&admins, "/console/catalog/import", &[], ("csv", "catalog.csv", export.body.as_bytes()))
        .await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.body);
    assert!(imported.body.contains("0 created, 2 updated, 0 rejected"), "{}", imported.body);
    let (_, after) = app.get("/v1/products", &shop.key).await;
    let strip = |page: &serde_json::Value| -> Vec<serde_json::Value> {
        let mut products = page["products"].as_array().expect("products").clone();
        for product in &mut products {
            if let Some(fields) = product.as_object_mut() {
                fields.remove("updated_at");
            }
        }
        products
    };
    assert_eq!(strip(&before), strip(&after));
    let again = app.console_get(Some(&admins), "/console/catalog/export.csv").await;
    assert_eq!(again.body, export.body, "exported again, the same file");

    // A row that cannot be a product is reported, the others imported.
    let csv = "id,name,price_minor,currency,section\nbread,Bread,250,EUR,Bakery\nbad id,Nope,1,EUR,X\n";
    let report = app.console_upload(&admins, "/console/catalog/import", &[], ("csv", "more.csv", csv.as_bytes())).await;
    assert!(report.body.contains("1 created, 0 updated, 1 rejected"), "{}", report.body);

    // A viewer reads the catalog but cannot add to it; an agent does not see it.
    let viewer = app.staff(&shop, "Vera", "viewer").await;
    let viewers = app.signed_in(&viewer).await;
    assert_eq!(app.console_get(Some(&viewers), "/console/catalog").await.status, StatusCode::OK);
    assert_eq!(app.console_get(Some(&viewers), "/console/catalog/new").await.status, StatusCode::FORBIDDEN);
    let agent = app.staff(&shop, "Gino", "agent").await;
    let agents = app.signed_in(&agent).await;
    assert_eq!(app.console_get(Some(&agents), "/console/catalog").await.status, StatusCode::FORBIDDEN);
}

async fn the_operator_creates_a_business_with_its_owner_invited(app: TestApp) {
    let body = json!({"name": "Toko Rina", "currency": "IDR", "owner_email": "Rina@Toko.example"});
    let (status, created) = app.request(Method::POST, "/v1/admin/businesses", Some(ADMIN_TOKEN), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let link = created["owner_invitation"].as_str().expect("the owner's invitation link");
    let token = link.split_once("token=").expect("a token").1;
    assert_eq!(app.accept_invitation(token, "Rina", "nasi goreng pedas").await.status, StatusCode::SEE_OTHER);
    let signed = app.sign_in_as("rina@toko.example", "nasi goreng pedas").await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let (_, team) = app.get("/v1/staff", created["api_key"].as_str().expect("key")).await;
    assert_eq!(team[0]["role"], "owner", "{team}");

    // Without an owner nothing is invited; a malformed email creates no business.
    let plain_body = json!({"name": "Plain", "currency": "EUR"});
    let (_, plain) = app.request(Method::POST, "/v1/admin/businesses", Some(ADMIN_TOKEN), Some(plain_body)).await;
    assert!(plain.get("owner_invitation").is_none(), "{plain}");
    let bad = json!({"name": "Bad", "currency": "EUR", "owner_email": "not an email"});
    let (status, refused) = app.request(Method::POST, "/v1/admin/businesses", Some(ADMIN_TOKEN), Some(bad)).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_email")));
    let (_, all) = app.request(Method::GET, "/v1/admin/businesses", Some(ADMIN_TOKEN), None).await;
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
}

async fn a_second_factor_guards_the_sign_in_and_each_code_works_once(app: TestApp) {
    let shop = app.create_shop("Pharmacy", json!({})).await;
    let owner = app.staff(&shop, "Olga", "owner").await;
    let console = app.signed_in(&owner).await;

    // The account page offers a key for the authenticator app.
    let page = app.console_get(Some(&console), "/console/account").await;
    let start = page.body.find("<code id=totp-secret>").expect("a key") + "<code id=totp-secret>".len();
    let secret = page.body[start..].split('<').next().expect("the key").to_string();
    let key = totp::base32_decode(&secret).expect("base32");
    let step = totp::step_at(bottega::ids::now_ms() / 1000);
    let code_of = |step: i64| format!("{:06}", totp::code_at(&key, step));

    // A wrong code does not turn it on; the app's code does.
    let wrong = format!("{:06}", (totp::code_at(&key, step) + 500_000) % 1_000_000);
    let fields = [("secret", secret.as_str()), ("code", wrong.as_str())];
    let refused = app.console_submit(&console, "/console/account/totp", &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let now_code = code_of(step);
    let fields = [("secret", secret.as_str()), ("code", now_code.as_str())];
    let on = app.console_submit(&console, "/console/account/totp", &fields).await;
    assert_eq!(on.status, StatusCode::SEE_OTHER, "{}", on.body);
    let page = app.console_get(Some(&console), "/console/account").await;
    assert!(page.body.contains("A second factor is on"), "{}", page.body);

    // Signing in now needs a code, each code once.
    let without = sign_in_with_code(&app, &owner, "").await;
    assert_eq!(without.status, StatusCode::UNAUTHORIZED);
    assert!(without.body.contains("code-refused") && without.set_cookie.is_none(), "{}", without.body);
    let used = sign_in_with_code(&app, &owner, &now_code).await;
    assert_eq!(used.status, StatusCode::UNAUTHORIZED, "the code that turned it on was used: {}", used.body);
    let next = code_of(step + 1);
    let signed = sign_in_with_code(&app, &owner, &next).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert!(signed.set_cookie.is_some());
    let again = sign_in_with_code(&app, &owner, &next).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "a code works once: {}", again.body);

    // Turning it off takes a right code: a wrong one leaves it on.
    let kept = app.console_submit(&console, "/console/account/totp/disable", &[("code", wrong.as_str())]).await;
    assert_eq!(kept.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", kept.body);
    assert!(app.console_get(Some(&console), "/console/account").await.body.contains("A second factor is on"));
}

/// Posts the sign-in form with a second factor's code.
async fn sign_in_with_code(app: &TestApp, who: &Staff, code: &str) -> Answer {
    let fields = [("email", who.email.as_str()), ("password", who.password.as_str()), ("code", code)];
    app.console_post(None, "/console/sign-in", &fields).await
}

async fn an_italian_shop_s_console_speaks_italian(app: TestApp) {
    let shop = app.create_shop("Bottega di Anna", json!({"locale": "it-IT"})).await;
    let owner = app.staff(&shop, "Anna", "owner").await;
    let console = app.signed_in(&owner).await;
    let home = app.console_get(Some(&console), "/console").await;
    assert!(home.body.contains("<html lang=it>"), "{}", home.body);
    for words in ["Ordini di oggi", "Vendite di oggi", "In attesa di una persona", "Squadra", "Esci ovunque"] {
        assert!(home.body.contains(words), "{words}: {}", home.body);
    }
    assert!(!home.body.contains("Orders today"), "{}", home.body);
}
