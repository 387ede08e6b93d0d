//! The role × route matrix: every route of the API (as `/openapi.json` lists
//! it) with what each machine key scope reaches, and every route of the
//! console with which roles may use it. A route missing from these tables, or
//! a table entry naming a route that is gone, fails the test and is named.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use bottega_tests::console::Console;
use bottega_tests::*;
use serde_json::json;

use crate::console::machine_key;

bottega_tests::on_both_databases!(
    every_api_route_answers_each_scope_as_the_table_says,
    every_console_route_answers_each_role_as_the_table_says,
);

/// What an API route is, for the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    /// The operator's (admin token); a business key is not valid there.
    Admin,
    /// Anyone's, keyless (a customer's own data by its link's token): no key is checked.
    Public,
    Read,
    CatalogRead,
    CatalogWrite,
    Write,
    /// The team and the keys: the full key only.
    Team,
}

use Api::*;

const API: &[(&str, &str, Api)] = &[
    ("post", "/v1/admin/billing/finalize", Admin),
    ("get", "/v1/admin/billing/invoices/{id}/charges", Admin),
    ("post", "/v1/admin/billing/invoices/{id}/paid", Admin),
    ("get", "/v1/admin/billing/plans", Admin),
    ("post", "/v1/admin/billing/plans", Admin),
    ("get", "/v1/admin/billing/reconciliation", Admin),
    ("get", "/v1/admin/billing/rate-cards", Admin),
    ("post", "/v1/admin/billing/rate-cards", Admin),
    ("get", "/v1/admin/billing/revenue", Admin),
    ("get", "/v1/admin/businesses", Admin),
    ("post", "/v1/admin/businesses", Admin),
    ("post", "/v1/admin/erase", Admin),
    ("get", "/v1/admin/businesses/{id}", Admin),
    ("patch", "/v1/admin/businesses/{id}", Admin),
    ("post", "/v1/admin/businesses/{id}/adjustments", Admin),
    ("post", "/v1/admin/businesses/{id}/api-key", Admin),
    ("put", "/v1/admin/businesses/{id}/billing-card", Admin),
    ("post", "/v1/admin/businesses/{id}/plan", Admin),
    ("post", "/v1/admin/businesses/{id}/suspend", Admin),
    ("post", "/v1/admin/businesses/{id}/resume", Admin),
    ("get", "/v1/api-keys", Team),
    ("post", "/v1/api-keys", Team),
    ("delete", "/v1/api-keys/{id}", Team),
    ("delete", "/v1/automations", Write),
    ("get", "/v1/audit", Read),
    ("get", "/v1/automations", Read),
    ("put", "/v1/automations", Write),
    ("get", "/v1/billing/invoices", Read),
    ("get", "/v1/billing/invoices/{id}", Read),
    ("get", "/v1/billing/upcoming", Read),
    ("get", "/v1/billing/usage", Read),
    ("get", "/v1/business", Read),
    ("post", "/v1/business-messages", Write),
    ("delete", "/v1/channels/whatsapp", Write),
    ("get", "/v1/channels/whatsapp", Read),
    ("put", "/v1/channels/whatsapp", Write),
    ("get", "/v1/conversations", Read),
    ("get", "/v1/customer-data", Public),
    ("get", "/v1/customers/{customer}/export", Read),
    ("post", "/v1/customers/{customer}/erase", Write),
    ("get", "/v1/conversations/{id}", Read),
    ("get", "/v1/conversations/{id}/export", Read),
    ("get", "/v1/conversations/{id}/messages", Read),
    ("post", "/v1/conversations/{id}/release", Write),
    ("post", "/v1/conversations/{id}/replies", Write),
    ("post", "/v1/conversations/{id}/take", Write),
    ("post", "/v1/images", CatalogWrite),
    ("post", "/v1/messages", Write),
    ("get", "/v1/orders", Read),
    ("get", "/v1/orders/{id}", Read),
    ("post", "/v1/orders/{id}/cancel", Write),
    ("post", "/v1/orders/{id}/deliver", Write),
    ("get", "/v1/orders/{id}/payments", Read),
    ("post", "/v1/orders/{id}/refunds", Write),
    ("post", "/v1/orders/{id}/ship", Write),
    ("get", "/v1/orders/{id}/timeline", Read),
    ("get", "/v1/outbox", Read),
    ("post", "/v1/outbox/{id}/retry", Write),
    ("get", "/v1/plugins", Read),
    ("post", "/v1/plugins", Write),
    ("get", "/v1/plugins/failures", Read),
    ("get", "/v1/plugins/logs", Read),
    ("get", "/v1/plugins/{id}", Read),
    ("post", "/v1/plugins/{id}/activate", Write),
    ("get", "/v1/privacy/retention", Read),
    ("put", "/v1/privacy/retention", Write),
    ("get", "/v1/products", CatalogRead),
    ("post", "/v1/products", CatalogWrite),
    ("post", "/v1/products/import", CatalogWrite),
    ("delete", "/v1/products/{id}", CatalogWrite),
    ("get", "/v1/products/{id}", CatalogRead),
    ("put", "/v1/products/{id}", CatalogWrite),
    ("get", "/v1/staff", Team),
    ("post", "/v1/staff/invitations", Team),
    ("delete", "/v1/webhook", Write),
    ("put", "/v1/webhook", Write),
    ("get", "/v1/webhook/deliveries", Read),
];

/// Whether a key of `scope` reaches a route of `kind`.
fn reaches(scope: &str, kind: Api) -> bool {
    match scope {
        "full" => kind != Admin,
        "catalog" => matches!(kind, Public | CatalogRead | CatalogWrite),
        "read_only" => matches!(kind, Public | Read | CatalogRead),
        other => panic!("no scope {other}"),
    }
}

fn method(name: &str) -> Method {
    name.to_uppercase().parse().expect("an HTTP method")
}

/// `path` with every `{placeholder}` naming something that does not exist.
fn concrete(path: &str) -> String {
    path.split('/').map(|part| if part.starts_with('{') { "missing" } else { part }).collect::<Vec<_>>().join("/")
}

/// Fails naming every route on one side and not the other.
fn same_routes(what: &str, routed: BTreeSet<(String, String)>, table: BTreeSet<(String, String)>) {
    let missing: Vec<_> = routed.difference(&table).collect();
    let stale: Vec<_> = table.difference(&routed).collect();
    assert!(
        missing.is_empty(),
        "{what} routes missing from the matrix (add each with its expected access): {missing:?}"
    );
    assert!(stale.is_empty(), "{what} matrix entries naming no route: {stale:?}");
}

async fn every_api_route_answers_each_scope_as_the_table_says(app: TestApp) {
    let shop = app.create_shop("Matrix shop", json!({})).await;
    let (status, openapi) = app.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let routed: BTreeSet<(String, String)> = openapi["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
            methods.into_iter().map(move |m| (m, path.clone()))
        })
        .filter(|(m, _)| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
        .collect();
    let table: BTreeSet<(String, String)> = API.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    same_routes("API", routed, table);

    let keys = [
        ("full", shop.key.clone()),
        ("catalog", machine_key(&app, &shop, "catalog").await.1),
        ("read_only", machine_key(&app, &shop, "read_only").await.1),
    ];
    let mut wrong = Vec::new();
    for &(name, path, kind) in API {
        for (scope, key) in &keys {
            let (status, answer) = app.request(method(name), &concrete(path), Some(key.as_str()), None).await;
            let refused_scope = status == StatusCode::FORBIDDEN && answer["error"]["code"] == "scope_insufficient";
            let refused = refused_scope || (kind == Admin && status == StatusCode::UNAUTHORIZED);
            if refused == reaches(scope, kind) || status.is_server_error() {
                wrong.push(format!("{name} {path} with a {scope} key: {status} {answer}"));
            }
        }
    }
    assert!(wrong.is_empty(), "routes answering against the matrix:\n{}", wrong.join("\n"));
}

/// Who may use a console route.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// Anyone, signed in or not (signing in, accepting an invitation, the style).
    Public,
    /// Signed-in people with one of these roles.
    Roles(&'static [&'static str]),
    /// The operator, signed in to `/console/operator` with the admin token
    /// (no staff member, whatever their role).
    Operator,
}

const EVERY_ROLE: &[&str] = &["owner", "admin", "agent", "viewer"];
const ANSWERING: &[&str] = &["owner", "admin", "agent"];
const MANAGING: &[&str] = &["owner", "admin"];
const READING: &[&str] = &["owner", "admin", "viewer"];
const OWNER: &[&str] = &["owner"];

/// The console's routes; signing out comes last, as it ends the session.
const CONSOLE: &[(&str, &str, Who)] = &[
    ("GET", "/console/assets/console.css", Who::Public),
    ("GET", "/console/assets/inbox.js", Who::Public),
    ("GET", "/console/sign-in", Who::Public),
    ("POST", "/console/sign-in", Who::Public),
    ("GET", "/console/accept", Who::Public),
    ("POST", "/console/accept", Who::Public),
    ("GET", "/console", Who::Roles(EVERY_ROLE)),
    ("GET", "/console/inbox", Who::Roles(EVERY_ROLE)),
    ("GET", "/console/inbox/rows", Who::Roles(EVERY_ROLE)),
    ("GET", "/console/inbox/{id}", Who::Roles(EVERY_ROLE)),
    ("POST", "/console/inbox/{id}/take", Who::Roles(ANSWERING)),
    ("POST", "/console/inbox/{id}/reply", Who::Roles(ANSWERING)),
    ("POST", "/console/inbox/{id}/release", Who::Roles(ANSWERING)),
    ("POST", "/console/inbox/{id}/pause", Who::Roles(ANSWERING)),
    ("POST", "/console/inbox/{id}/notes", Who::Roles(ANSWERING)),
    ("GET", "/console/inbox/{id}/since/{seq}", Who::Roles(EVERY_ROLE)),
    ("GET", "/console/orders", Who::Roles(EVERY_ROLE)),
    ("GET", "/console/orders/export.csv", Who::Roles(EVERY_ROLE)),
    ("GET", "/console/orders/{id}", Who::Roles(EVERY_ROLE)),
    ("POST", "/console/orders/{id}/ship", Who::Roles(ANSWERING)),
    ("POST", "/console/orders/{id}/deliver", Who::Roles(MANAGING)),
    ("POST", "/console/orders/{id}/cancel", Who::Roles(MANAGING)),
    ("GET", "/console/orders/{id}/refund", Who::Roles(MANAGING)),
    ("POST", "/console/orders/{id}/refund", Who::Roles(MANAGING)),
    ("GET", "/console/catalog", Who::Roles(READING)),
    ("POST", "/console/catalog", Who::Roles(MANAGING)),
    ("GET", "/console/catalog/export.csv", Who::Roles(READING)),
    ("GET", "/console/catalog/new", Who::Roles(MANAGING)),
    ("POST", "/console/catalog/import", Who::Roles(MANAGING)),
    ("GET", "/console/catalog/{id}", Who::Roles(MANAGING)),
    ("POST", "/console/catalog/{id}", Who::Roles(MANAGING)),
    ("POST", "/console/catalog/{id}/photo", Who::Roles(MANAGING)),
    ("GET", "/console/bot", Who::Roles(READING)),
    ("POST", "/console/bot/upload", Who::Roles(MANAGING)),
    ("POST", "/console/bot/{id}/activate", Who::Roles(MANAGING)),
    ("POST", "/console/bot/{id}/replay", Who::Roles(MANAGING)),
    ("GET", "/console/team", Who::Roles(OWNER)),
    ("POST", "/console/team/invite", Who::Roles(OWNER)),
    ("POST", "/console/team/{id}/role", Who::Roles(OWNER)),
    ("POST", "/console/team/{id}/remove", Who::Roles(OWNER)),
    ("GET", "/console/billing", Who::Roles(OWNER)),
    ("GET", "/console/billing/invoices/{id}", Who::Roles(OWNER)),
    ("GET", "/console/billing/invoices/{id}/pdf", Who::Roles(OWNER)),
    ("GET", "/console/billing/invoices/{id}/csv", Who::Roles(OWNER)),
    ("GET", "/console/privacy", Who::Roles(MANAGING)),
    ("POST", "/console/privacy/retention", Who::Roles(MANAGING)),
    ("POST", "/console/privacy/export", Who::Roles(MANAGING)),
    ("POST", "/console/privacy/erase/confirm", Who::Roles(MANAGING)),
    ("POST", "/console/privacy/erase", Who::Roles(MANAGING)),
    ("GET", "/console/account", Who::Roles(EVERY_ROLE)),
    ("POST", "/console/account/totp", Who::Roles(EVERY_ROLE)),
    ("POST", "/console/account/totp/disable", Who::Roles(EVERY_ROLE)),
    ("POST", "/console/sign-out", Who::Roles(EVERY_ROLE)),
    ("POST", "/console/sign-out-everywhere", Who::Roles(EVERY_ROLE)),
    ("GET", "/console/operator/sign-in", Who::Public),
    ("POST", "/console/operator/sign-in", Who::Public),
    ("GET", "/console/operator", Who::Operator),
    ("POST", "/console/operator/businesses", Who::Operator),
    ("POST", "/console/operator/businesses/{id}/suspend", Who::Operator),
    ("POST", "/console/operator/businesses/{id}/resume", Who::Operator),
    ("POST", "/console/operator/sign-out", Who::Operator),
];

async fn every_console_route_answers_each_role_as_the_table_says(app: TestApp) {
    let routed: BTreeSet<(String, String)> =
        bottega::api::console_routes().into_iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    let table: BTreeSet<(String, String)> = CONSOLE.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    same_routes("console", routed, table);

    let shop = app.create_shop("Matrix shop", json!({})).await;
    let mut wrong = Vec::new();
    // Signed out: public routes answer, every other one sends to the sign-in page.
    for &(name, path, who) in CONSOLE {
        let answer = if name == "GET" {
            app.console_get(None, &concrete(path)).await
        } else {
            app.console_post(None, &concrete(path), &[]).await
        };
        let to_sign_in = answer.location.as_deref() == Some("/console/sign-in");
        let to_operator_sign_in = answer.location.as_deref() == Some("/console/operator/sign-in");
        let answered_wrong = match who {
            Who::Public => to_sign_in || to_operator_sign_in,
            Who::Roles(_) => !to_sign_in,
            Who::Operator => !to_operator_sign_in,
        };
        if answered_wrong || answer.status.is_server_error() {
            wrong.push(format!("{name} {path} signed out: {} {:?}", answer.status, answer.location));
        }
    }
    // Signed in with each role: a role not allowed is refused with 403 `not_allowed`.
    for role in EVERY_ROLE {
        let member = app.staff(&shop, &format!("matrix-{role}"), role).await;
        let console: Console = app.signed_in(&member).await;
        for &(name, path, who) in CONSOLE {
            let answer = if matches!(who, Who::Public) {
                continue;
            } else if name == "GET" {
                app.console_get(Some(&console), &concrete(path)).await
            } else {
                let fields = [("role", "viewer"), ("text", "hello"), ("email", "matrix@shop.example")];
                app.console_submit(&console, &concrete(path), &fields).await
            };
            let answered_wrong = match who {
                Who::Public => false,
                Who::Roles(allowed) => {
                    let refused = answer.status == StatusCode::FORBIDDEN && answer.body.contains("not_allowed");
                    refused == allowed.contains(role)
                }
                // No role reaches the operator's pages: they send to its sign-in.
                Who::Operator => answer.location.as_deref() != Some("/console/operator/sign-in"),
            };
            if answered_wrong || answer.status.is_server_error() {
                wrong.push(format!("{name} {path} as {role}: {} {:?}", answer.status, answer.location));
            }
        }
    }
    // Signed in as the operator: every operator page answers (a missing
    // business is 404, a form without its fields 422), none sends to a sign-in;
    // no staff page does.
    let operator = app.operator_signed_in().await;
    for &(name, path, who) in CONSOLE {
        if matches!(who, Who::Public) {
            continue;
        }
        let answer = if name == "GET" {
            app.console_get(Some(&operator), &concrete(path)).await
        } else {
            app.console_submit(&operator, &concrete(path), &[]).await
        };
        let to_a_sign_in = matches!(answer.location.as_deref(), Some("/console/sign-in" | "/console/operator/sign-in"));
        let answered_wrong = match who {
            Who::Operator => path != "/console/operator/sign-out" && to_a_sign_in,
            _ => answer.location.as_deref() != Some("/console/sign-in"),
        };
        if answered_wrong || answer.status.is_server_error() {
            wrong.push(format!("{name} {path} as the operator: {} {:?}", answer.status, answer.location));
        }
    }
    assert!(wrong.is_empty(), "console routes answering against the matrix:\n{}", wrong.join("\n"));
}
