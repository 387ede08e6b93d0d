//! The console's billing and privacy pages. An owner on a plan reads the
//! period's usage to date (the messages her customers really sent, the
//! figure the API reports), the upcoming invoice and her plan's limits; the
//! month closes, she opens its invoice with its lines and downloads its PDF
//! (the API's bytes); an agent and an admin are refused the page. An admin
//! keeps message texts 30 days, exports a customer's data, and erases the
//! customer after a confirmation step: the API finds nothing of her after;
//! the erasure's form without its CSRF token is refused and erases nothing.

use axum::http::{Method, StatusCode};
use bottega::Config;
use bottega::billing::invoices;
use bottega_tests::*;
use serde_json::{Value, json};

bottega_tests::on_both_databases_with!(
    super::billing_with_time_left;
    an_owner_reads_her_usage_and_invoices_and_downloads_the_pdf_and_others_cannot
);
bottega_tests::on_both_databases!(an_admin_erases_a_customer_after_confirming_and_a_form_without_csrf_erases_nothing);

fn billing_with_time_left(config: &mut Config) {
    super::billing::billing_with_time_left(config);
}

async fn admin(app: &TestApp, path: &str, body: Value) -> Value {
    let (status, answer) = app.post(path, ADMIN_TOKEN, body).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

async fn an_owner_reads_her_usage_and_invoices_and_downloads_the_pdf_and_others_cannot(app: TestApp) {
    // The operator's plan: €10 a month, 100 messages included, due in 14 days.
    let started = bottega::ids::rfc3339(bottega::ids::now_ms() - 30_000);
    let plan = json!({
        "plan_id": "corner", "name": "Corner", "effective_from": started, "currency": "EUR",
        "terms": {"monthly_fee_minor": 1000, "messages": {"included": 100}, "due_days": 14},
    });
    admin(&app, "/v1/admin/billing/plans", plan).await;
    let shop = app.create_shop("Fruttivendolo", json!({"locale": "en-IE"})).await;
    let assign = json!({"plan_id": "corner", "effective_from": started, "tax_rate_bps": 2200, "tax_label": "VAT"});
    admin(&app, &format!("/v1/admin/businesses/{}/plan", shop.id), assign).await;
    let (status, saved) =
        app.request(Method::PUT, "/v1/automations", Some(&shop.key), Some(json!({"greeting": "Hello!"}))).await;
    assert_eq!(status, StatusCode::OK, "{saved}");

    // Two customers write: two messages handled, metered on the ledger.
    app.say(&shop, "+39 333 100 200", "do you have figs?").await;
    app.say(&shop, "+39 333 300 400", "and pears?").await;
    let (status, usage) = app.get("/v1/billing/usage", &shop.key).await;
    assert_eq!(status, StatusCode::OK, "{usage}");
    let handled = usage["metrics"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["metric"] == "messages_handled"))
        .and_then(|m| m["events"].as_i64())
        .expect("messages handled are metered");
    assert_eq!(handled, 2, "{usage}");

    // The owner's billing page shows the same figure, the live draft and her plan.
    let owner = app.staff(&shop, "Carla", "owner").await;
    let console = app.signed_in(&owner).await;
    let home = app.console_get(Some(&console), "/console").await;
    assert!(home.body.contains("href=\"/console/billing\""), "an owner sees the billing page: {}", home.body);
    let page = app.console_get(Some(&console), "/console/billing").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("<tr data-metric=\"messages_handled\"><td>messages_handled</td><td class=num>2</td>"),
        "{}",
        page.body
    );
    let (status, upcoming) = app.get("/v1/billing/upcoming", &shop.key).await;
    assert_eq!(status, StatusCode::OK, "{upcoming}");
    let total = upcoming["total_minor"].as_i64().expect("a total");
    assert_eq!(total, 1220, "€10 and 22 % VAT: {upcoming}");
    let formatted = bottega::money::format_localized(total, "EUR", "en-IE");
    assert!(page.body.contains(&formatted), "the draft's total {formatted}: {}", page.body);
    assert!(page.body.contains("<tr data-line=\"plan_fee\">"), "{}", page.body);
    assert!(page.body.contains("<dt>Messages included</dt><dd>100</dd>"), "{}", page.body);
    assert!(page.body.contains("14 days after they are issued"), "{}", page.body);
    assert!(page.body.contains("No invoices yet."), "{}", page.body);

    // The month closes into an invoice, listed open, with its lines.
    let billing = &app.app.billing;
    let now = bottega::ids::now_ms();
    let period = billing.calendar().containing(now).expect("period");
    invoices::finalize(billing, &shop.id, &period, now).await.expect("finalise").expect("an invoice");
    let (_, listed) = app.get("/v1/billing/invoices", &shop.key).await;
    let invoice = &listed[0];
    let id = invoice["id"].as_str().expect("an invoice id").to_string();
    let number = invoice["number"].as_i64().expect("a number");
    let page = app.console_get(Some(&console), "/console/billing").await;
    let link = format!("<tr data-status=\"open\"><td><a href=\"/console/billing/invoices/{id}\">#{number}</a>");
    assert!(page.body.contains(&link), "{}", page.body);
    let detail = app.console_get(Some(&console), &format!("/console/billing/invoices/{id}")).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
    assert!(detail.body.contains(&format!("<h1>Invoice #{number}</h1>")), "{}", detail.body);
    assert!(detail.body.contains("<dd id=state>open</dd>"), "{}", detail.body);
    assert!(detail.body.contains("<tr data-line=\"plan_fee\">"), "{}", detail.body);
    assert!(detail.body.contains(&formatted), "{}", detail.body);

    // Its PDF downloads: the API's own bytes.
    let pdf_path = format!("/console/billing/invoices/{id}/pdf");
    assert!(detail.body.contains(&format!("href=\"{pdf_path}\"")), "{}", detail.body);
    let pdf = app.console_get(Some(&console), &pdf_path).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert!(pdf.body.starts_with("%PDF"), "a PDF: {:?}", pdf.body.get(..16));
    let (status, api_pdf) = app.get_raw(&format!("/v1/billing/invoices/{id}?format=pdf"), &shop.key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pdf.body, api_pdf, "the console serves the API's PDF");
    let csv = app.console_get(Some(&console), &format!("/console/billing/invoices/{id}/csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with("position,kind,usage_period"), "{}", csv.body);
    let missing = app.console_get(Some(&console), "/console/billing/invoices/inv_missing").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);

    // Billing is the owner's: an agent and an admin are refused it, and see no link.
    for role in ["agent", "admin"] {
        let member = app.staff(&shop, &format!("Billing{role}"), role).await;
        let theirs = app.signed_in(&member).await;
        let home = app.console_get(Some(&theirs), "/console").await;
        assert!(!home.body.contains("/console/billing"), "{role}: {}", home.body);
        for path in ["/console/billing".to_string(), format!("/console/billing/invoices/{id}"), pdf_path.clone()] {
            let refused = app.console_get(Some(&theirs), &path).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{role} {path}: {}", refused.body);
            assert!(refused.body.contains("not_allowed"), "{}", refused.body);
        }
    }

    // Another shop's owner cannot open this shop's invoice by its id.
    let other = app.create_shop("Pescheria", json!({})).await;
    let stranger = app.staff(&other, "Nina", "owner").await;
    let strangers = app.signed_in(&stranger).await;
    for path in
        [format!("/console/billing/invoices/{id}"), pdf_path.clone(), format!("/console/billing/invoices/{id}/csv")]
    {
        let hidden = app.console_get(Some(&strangers), &path).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{path}: {}", hidden.body);
    }
}

const PHONE: &str = "+34655443399";
const TEXT: &str = "I live at Via Roma 9";

async fn an_admin_erases_a_customer_after_confirming_and_a_form_without_csrf_erases_nothing(app: TestApp) {
    let shop = app.create_shop("Panetteria", json!({})).await;
    let (status, saved) =
        app.request(Method::PUT, "/v1/automations", Some(&shop.key), Some(json!({"greeting": "Hello!"}))).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let conversation = app.say(&shop, PHONE, TEXT).await["conversation_id"].as_str().expect("id").to_string();
    let (_, conversations) = app.get("/v1/conversations", &shop.key).await;
    let pseudonym = conversations[0]["customer_id"].as_str().expect("a pseudonym").to_string();
    let admin = app.staff(&shop, "Ada", "admin").await;
    let console = app.signed_in(&admin).await;

    // The privacy page: texts kept until a customer is erased; she keeps them 30 days.
    let page = app.console_get(Some(&console), "/console/privacy").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Message texts are kept until the customer is erased."), "{}", page.body);
    let kept = app.console_submit(&console, "/console/privacy/retention", &[("days", "30")]).await;
    assert_eq!((kept.status, kept.location.as_deref()), (StatusCode::SEE_OTHER, Some("/console/privacy")));
    let (_, retention) = app.get("/v1/privacy/retention", &shop.key).await;
    assert_eq!(retention["message_days"], 30, "{retention}");
    let page = app.console_get(Some(&console), "/console/privacy").await;
    assert!(page.body.contains("Message texts are erased after 30 days."), "{}", page.body);
    let refused = app.console_submit(&console, "/console/privacy/retention", &[("days", "0")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);

    // The customer asks for her data: the export is the API's, with her text.
    let export = app
        .console_submit(&console, "/console/privacy/export", &[("customer", pseudonym.as_str()), ("format", "json")])
        .await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.body);
    assert!(export.body.contains("bottega-customer-export/1") && export.body.contains(TEXT), "{}", export.body);

    // Then to be erased. Named by her phone number, the confirmation names her
    // pseudonym and erases nothing yet.
    let confirm = app.console_submit(&console, "/console/privacy/erase/confirm", &[("customer", PHONE)]).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.body.contains(&format!("name=customer value=\"{pseudonym}\"")), "{}", confirm.body);
    assert!(confirm.body.contains("This cannot be undone."), "{}", confirm.body);
    let (status, _) = app.get(&format!("/v1/customers/{pseudonym}/export"), &shop.key).await;
    assert_eq!(status, StatusCode::OK, "the confirmation erased nothing");
    let nobody = app.console_submit(&console, "/console/privacy/erase/confirm", &[("customer", "cus_nobody")]).await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND, "{}", nobody.body);
    // A reference with a NUL in it is bad input on both databases, not a failure.
    let garbled = app.console_submit(&console, "/console/privacy/erase/confirm", &[("customer", "cus_\0x")]).await;
    assert_eq!(garbled.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", garbled.body);

    // The erasure's form without its CSRF token (or with a wrong one) is refused, and she is still there.
    let attempts: [&[(&str, &str)]; 2] =
        [&[("customer", pseudonym.as_str())], &[("csrf", "forged"), ("customer", pseudonym.as_str())]];
    for fields in attempts {
        let refused = app.console_post(Some(&console), "/console/privacy/erase", fields).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{fields:?}: {}", refused.body);
        assert!(refused.body.contains("csrf_refused"), "{}", refused.body);
    }
    let (status, _) = app.get(&format!("/v1/customers/{pseudonym}/export"), &shop.key).await;
    assert_eq!(status, StatusCode::OK, "a refused form erased nothing");

    // Confirmed, she is erased: the API finds nothing of her, her text is gone.
    let erased = app.console_submit(&console, "/console/privacy/erase", &[("customer", pseudonym.as_str())]).await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.body);
    assert!(erased.body.contains("id=erased") && erased.body.contains(&pseudonym), "{}", erased.body);
    for reference in [pseudonym.clone(), PHONE.replace('+', "%2B")] {
        let (status, _) = app.get(&format!("/v1/customers/{reference}/export"), &shop.key).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{reference} still finds her");
    }
    let (_, history) = app.get(&format!("/v1/conversations/{conversation}/messages"), &shop.key).await;
    assert!(!history.to_string().contains(TEXT), "{history}");
    let page = app.console_get(Some(&console), "/console/privacy").await;
    assert!(page.body.contains("customer.erased") && page.body.contains("customer.exported"), "{}", page.body);
    // Done in the console, the trail names the person who did it (an API key's is "business").
    assert!(page.body.contains(&format!("<td>{}</td><td>customer.erased", admin.id)), "{}", page.body);

    // Privacy is the owner's and the admins': an agent is refused it.
    let agent = app.staff(&shop, "Pia", "agent").await;
    let agents = app.signed_in(&agent).await;
    let home = app.console_get(Some(&agents), "/console").await;
    assert!(!home.body.contains("/console/privacy"), "{}", home.body);
    let refused = app.console_get(Some(&agents), "/console/privacy").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let refused = app.console_submit(&agents, "/console/privacy/erase", &[("customer", pseudonym.as_str())]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
}
