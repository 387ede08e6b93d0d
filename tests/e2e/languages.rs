//! The contract is language-neutral: the example shops in Python, JavaScript
//! and C, built from source with their own build commands, are uploaded like
//! any plugin (compiled in the background) and hold a conversation through the
//! host.

use bottega_tests::examples::{self, Example};
use bottega_tests::*;
use serde_json::{Value, json};

bottega_tests::on_both_databases_with!(
    crate::languages::share_compiled_plugins;
    a_python_bakery_takes_a_made_to_order_cake,
    a_javascript_bookshop_searches_and_recommends,
    a_c_flower_stall_sells_a_bouquet,
);

/// A shop selling the example's catalog, running the example's plugin; the
/// compiled cache is shared between stories so each plugin compiles once.
async fn open_shop(app: &TestApp, example: Example, name: &str) -> Option<Shop> {
    let wasm = examples::built(example)?;
    let shop = app.create_shop(name, json!({})).await;
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/products/import")
        .header("authorization", format!("Bearer {}", shop.key))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(example.catalog()))
        .expect("request builds");
    let (status, report) = app.send(request).await;
    assert_eq!(status, 200, "{report}");
    let version = app.upload_ready(&shop, wasm).await;
    assert_eq!(version["language_class"], if example == Example::FloristC { "compiled" } else { "interpreted" });
    assert_eq!(version["world"], "bottega:shop@1.1.0");
    // Measured when compiled; which choice it leads to is the benchmark's to show
    // (cargo bench --bench languages), as it depends on this machine's speed.
    assert!(version["startup_us"].as_i64().is_some_and(|us| us >= 0), "{version}");
    let (_, overview) = app.get("/v1/plugins", &shop.key).await;
    assert_eq!(overview["active_version_id"], version["id"], "a ready upload becomes active");
    Some(shop)
}

pub fn share_compiled_plugins(config: &mut bottega::Config) {
    config.plugins.compiled_cache_dir = Some(examples::shared_compiled_cache());
}

async fn tap(app: &TestApp, shop: &Shop, customer: &str, id: &str) -> Value {
    app.send_message(shop, json!({"customer": customer, "choice": {"id": id, "title": id}})).await
}

fn button_ids(reply: &Value) -> Vec<String> {
    reply["buttons"].as_array().into_iter().flatten().filter_map(|b| b["id"].as_str().map(str::to_string)).collect()
}

fn product_ids(reply: &Value) -> Vec<String> {
    reply["products"].as_array().into_iter().flatten().filter_map(|p| p["id"].as_str().map(str::to_string)).collect()
}

fn summary(outcome: &Value) -> Value {
    replies(outcome).into_iter().find(|r| r["type"] == "cart_summary").unwrap_or_else(|| panic!("a cart: {outcome}"))
}

async fn a_python_bakery_takes_a_made_to_order_cake(app: TestApp) {
    let Some(shop) = open_shop(&app, Example::BakeryPython, "Crumb & Co").await else { return };
    let ana = "+44 7700 900001";

    let hello = app.say(&shop, ana, "hi").await;
    assert_eq!(button_ids(&replies(&hello)[0]), ["browse", "cake", "cart"]);

    // The plugin walks her through the cake's options.
    let flavours = tap(&app, &shop, ana, "cake").await;
    let list = &replies(&flavours)[0];
    let rows: Vec<&str> = list["rows"].as_array().expect("rows").iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(rows, ["flavour:chocolate", "flavour:lemon", "flavour:carrot", "flavour:vanilla"]);
    let sizes = tap(&app, &shop, ana, "flavour:lemon").await;
    assert_eq!(button_ids(&replies(&sizes)[0]), ["size:cake-6", "size:cake-9"]);
    let asked = tap(&app, &shop, ana, "size:cake-9").await;
    assert!(reply_text(&asked).contains("What should we write on it?"), "{asked}");

    // Another customer is mid-way through nothing: his text is a search, not an inscription.
    let ben = app.say(&shop, "+44 7700 900002", "croissant").await;
    assert_eq!(replies(&ben)[0]["product"]["id"], "croissant", "{ben}");

    // The plugin validates the inscription, then puts the cake in her basket.
    let too_long = app.say(&shop, ana, "Happy birthday to the best grandmother").await;
    assert!(reply_text(&too_long).contains("our piping bag fits 30"), "{too_long}");
    let cake = app.say(&shop, ana, "Happy birthday Ana").await;
    let text = reply_text(&cake);
    assert!(text.contains("One Lemon drizzle cake, reading \"Happy birthday Ana\""), "{text}");
    assert!(text.contains("Added 1 × 9-inch cake"), "{text}");

    // Six pastries: the pricing hook makes the cheapest one free.
    for _ in 0..5 {
        tap(&app, &shop, ana, "add:croissant").await;
    }
    tap(&app, &shop, ana, "add:pain-au-chocolat").await;
    let basket = summary(&app.say(&shop, ana, "basket").await);
    assert_eq!(basket["cart"]["subtotal"]["amount_minor"], 4500 + 5 * 180 + 210);
    assert_eq!(basket["cart"]["discounts"][0]["label"], "Every 6th pastry free");
    assert_eq!(basket["cart"]["discounts"][0]["amount"]["amount_minor"], 180);
    assert_eq!(basket["cart"]["total"]["amount_minor"], 4500 + 4 * 180 + 210);

    let checkout = tap(&app, &shop, ana, "checkout").await;
    let request = replies(&checkout).into_iter().find(|r| r["type"] == "checkout").expect("checkout");
    assert_eq!(request["order"]["total"]["amount_minor"], 4500 + 4 * 180 + 210);
}

async fn a_javascript_bookshop_searches_and_recommends(app: TestApp) {
    let Some(shop) = open_shop(&app, Example::BookshopJs, "Folio").await else { return };
    let reader = "+33 6 00 00 00 01";

    let hello = app.say(&shop, reader, "hello").await;
    assert_eq!(button_ids(&replies(&hello)[0]), ["browse", "recommend", "cart"]);
    // Nothing looked at yet: nothing to recommend from.
    let nothing = tap(&app, &shop, reader, "recommend").await;
    assert!(reply_text(&nothing).contains("Look at a few books first"), "{nothing}");

    // Search by author; look at the book; recommendations follow its section.
    let found = app.say(&shop, reader, "herbert").await;
    assert_eq!(replies(&found)[0]["product"]["id"], "dune", "{found}");
    app.send_message(&shop, json!({"customer": reader, "product_id": "dune"})).await;
    let picks = tap(&app, &shop, reader, "recommend").await;
    assert_eq!(product_ids(&replies(&picks)[0]), ["foundation", "hyperion"]);

    // Three books: 10% off, computed in BigInt minor units by the plugin.
    for id in ["dune", "foundation", "hyperion"] {
        tap(&app, &shop, reader, &format!("add:{id}")).await;
    }
    let basket = summary(&app.say(&shop, reader, "cart").await);
    assert_eq!(basket["cart"]["subtotal"]["amount_minor"], 1299 + 999 + 1150);
    assert_eq!(basket["cart"]["discounts"][0]["label"], "10% off 3+ books");
    assert_eq!(basket["cart"]["discounts"][0]["amount"]["amount_minor"], 344);
    assert_eq!(basket["cart"]["total"]["formatted"], "€31.04");
}

async fn a_c_flower_stall_sells_a_bouquet(app: TestApp) {
    let Some(shop) = open_shop(&app, Example::FloristC, "Fiori").await else { return };
    let customer = "+39 333 000 0001";

    let hello = app.say(&shop, customer, "Hi").await;
    assert_eq!(button_ids(&replies(&hello)[0]), ["browse", "cart", "agent"]);
    let sections = tap(&app, &shop, customer, "browse").await;
    let list = &replies(&sections)[0];
    let rows: Vec<&str> = list["rows"].as_array().expect("rows").iter().filter_map(|r| r["title"].as_str()).collect();
    assert_eq!(rows, ["Peonies", "Roses", "Tulips"]);
    let roses = tap(&app, &shop, customer, "section:Roses").await;
    assert_eq!(product_ids(&replies(&roses)[0]), ["red-rose", "white-rose"]);

    // A whole cart sent at once; a dozen roses get the bouquet discount.
    let sent = app
        .send_message(
            &shop,
            json!({"customer": customer, "cart": [{"product_id": "red-rose", "quantity": 12}, {"product_id": "tulip", "quantity": 2}]}),
        )
        .await;
    let basket = summary(&sent);
    assert_eq!(basket["cart"]["discounts"][0]["label"], "Bouquet: 10% off Red rose");
    assert_eq!(basket["cart"]["discounts"][0]["amount"]["amount_minor"], 420);
    assert_eq!(basket["cart"]["total"]["amount_minor"], 12 * 350 + 2 * 150 - 420);

    let checkout = app.say(&shop, customer, "checkout").await;
    let request = replies(&checkout).into_iter().find(|r| r["type"] == "checkout").expect("checkout");
    assert_eq!(request["order"]["total"]["formatted"], "€40.80");
}
