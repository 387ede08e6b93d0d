//! A business keeps its catalog; customers find products by any spelling of case.

use axum::http::Method;
use bottega_tests::*;
use serde_json::json;

bottega_tests::on_both_databases!(a_business_manages_its_catalog_and_customers_search_it);

async fn a_business_manages_its_catalog_and_customers_search_it(app: TestApp) {
    let shop = app.create_shop("Tostadores", json!({})).await;
    app.add_product(&shop, "cafe-colombia", "Café de Colombia", 1250, "Coffee").await;
    app.add_product(&shop, "te-verde", "Té verde", 600, "Tea").await;
    app.upload(&shop, plugins::GROCERY_RUST).await;

    // Search is case-insensitive beyond ASCII, on both databases.
    let found = app.say(&shop, "ana", "CAFÉ").await;
    assert_eq!(replies(&found)[0]["product"]["id"], "cafe-colombia", "{found}");

    // Replace a product: the next card shows the new price.
    let updated = json!({"id": "cafe-colombia", "name": "Café de Colombia", "price_minor": 1390,
        "currency": "EUR", "stock": 5, "section": "Coffee", "photo_url": "https://example.com/cafe.jpg"});
    let (status, product) =
        app.request(Method::PUT, "/v1/products/cafe-colombia", Some(&shop.key), Some(updated)).await;
    assert_eq!(status, 200, "{product}");
    let tapped = app.send_message(&shop, json!({"customer": "ana", "product_id": "cafe-colombia"})).await;
    assert_eq!(replies(&tapped)[0]["product"]["price"]["formatted"], "€13.90");

    // Listing by section, and deleting.
    let (_, tea) = app.get("/v1/products?section=Tea", &shop.key).await;
    assert_eq!(tea["products"].as_array().map(Vec::len), Some(1));
    let (status, _) = app.request(Method::DELETE, "/v1/products/te-verde", Some(&shop.key), None).await;
    assert_eq!(status, 204);
    assert_eq!(app.get("/v1/products/te-verde", &shop.key).await.0, 404);
    let gone = app.say(&shop, "ana", "verde").await;
    assert!(reply_text(&gone).contains("couldn't find"), "{gone}");
}
