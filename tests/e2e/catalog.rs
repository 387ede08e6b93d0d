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
    // A Spanish-speaking customer sees the price the Spanish way.
    let spanish =
        app.send_message(&shop, json!({"customer": "luis", "locale": "es-ES", "product_id": "cafe-colombia"})).await;
    assert_eq!(replies(&spanish)[0]["product"]["price"]["formatted"], "13,90\u{a0}€");

    // Listing by section, and deleting.
    let (_, tea) = app.get("/v1/products?section=Tea", &shop.key).await;
    assert_eq!(tea["products"].as_array().map(Vec::len), Some(1));
    let (status, _) = app.request(Method::DELETE, "/v1/products/te-verde", Some(&shop.key), None).await;
    assert_eq!(status, 204);
    assert_eq!(app.get("/v1/products/te-verde", &shop.key).await.0, 404);
    let gone = app.say(&shop, "ana", "verde").await;
    assert!(reply_text(&gone).contains("couldn't find"), "{gone}");
}

bottega_tests::on_both_databases!(a_business_imports_a_catalog_and_reads_what_was_rejected);

async fn import(app: &TestApp, shop: &Shop, content_type: &str, body: &str) -> (u16, serde_json::Value) {
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/v1/products/import")
        .header("authorization", format!("Bearer {}", shop.key))
        .header("content-type", content_type)
        .body(axum::body::Body::from(body.to_string()))
        .expect("request");
    let (status, report) = app.send(request).await;
    (status.as_u16(), report)
}

async fn a_business_imports_a_catalog_and_reads_what_was_rejected(app: TestApp) {
    let shop = app.create_shop("Importer", json!({})).await;
    app.add_product(&shop, "milk", "Milk", 100, "Dairy").await;

    let csv = "id,name,description,price_minor,currency,stock,section,available\n\
               eggs,Free-range eggs,Six of them,260,EUR,30,Dairy,true\n\
               milk,Whole milk,\"Fresh, pasteurised\",115,EUR,40,Dairy,yes\n\
               caviar,Caviar,,9900,USD,1,Luxury,true\n\
               bread,Bread,,two euros,EUR,5,Bakery,true\n";
    let (status, report) = import(&app, &shop, "text/csv", csv).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["created"].as_i64(), report["updated"].as_i64(), report["rejected"].as_i64()),
        (Some(1), Some(1), Some(2))
    );
    assert_eq!(report["rows"][1]["status"], "updated");
    assert!(report["rows"][2]["error"].as_str().unwrap_or_default().contains("shop's currency EUR"), "{report}");
    assert!(report["rows"][3]["error"].as_str().unwrap_or_default().contains("not a whole number"), "{report}");
    let (_, milk) = app.get("/v1/products/milk", &shop.key).await;
    assert_eq!((milk["price_minor"].as_i64(), milk["description"].as_str()), (Some(115), Some("Fresh, pasteurised")));

    // JSON works the same; a file that cannot be read imports nothing.
    let (status, report) = import(
        &app,
        &shop,
        "application/json",
        r#"[{"id": "tea", "name": "Tea", "price_minor": 300, "currency": "EUR", "section": "Drinks"}]"#,
    )
    .await;
    assert_eq!((status, report["created"].as_i64()), (200, Some(1)));
    let (status, refused) = import(&app, &shop, "application/json", r#"[{"id": "coffee", "name": "Coffee""#).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("invalid_request")));
    let (status, _) = import(&app, &shop, "text/csv", "name,price\nx,1\n").await;
    assert_eq!(status, 422, "a CSV without the required columns");
    assert_eq!(app.get("/v1/products/coffee", &shop.key).await.0, 404);
    let (_, all) = app.get("/v1/products", &shop.key).await;
    assert_eq!(all["products"].as_array().map(Vec::len), Some(3), "milk, eggs and tea");
}

bottega_tests::on_both_databases!(a_business_uploads_a_product_photo_that_the_runtime_serves);

async fn a_business_uploads_a_product_photo_that_the_runtime_serves(app: TestApp) {
    let shop = app.create_shop("Photographer", json!({})).await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR not really a full image".to_vec();
    let upload = |content_type: &'static str, bytes: Vec<u8>| {
        axum::http::Request::builder()
            .method(Method::POST)
            .uri("/v1/images")
            .header("authorization", format!("Bearer {}", shop.key))
            .header("content-type", content_type)
            .body(axum::body::Body::from(bytes))
            .expect("request")
    };
    let (status, image) = app.send(upload("image/png", png.clone())).await;
    assert_eq!(status, 201, "{image}");
    let url = image["url"].as_str().expect("url");
    let path = url.split_once("/images/").map(|(_, id)| format!("/images/{id}")).expect("an /images/ url");
    let (status, served) =
        app.send_raw(axum::http::Request::builder().uri(&path).body(axum::body::Body::empty()).expect("request")).await;
    assert_eq!(status, 200);
    assert_eq!(served.as_bytes(), String::from_utf8_lossy(&png).as_bytes());

    // A product can use it as its photo.
    let product =
        json!({"id": "pic", "name": "Pictured", "price_minor": 1, "currency": "EUR", "section": "S", "photo_url": url});
    assert_eq!(app.post("/v1/products", &shop.key, product).await.0, 201);

    // Not an image, or not the type it claims, or too large: refused.
    let (status, refused) = app.send(upload("image/svg+xml", b"<svg onload=alert(1)>".to_vec())).await;
    assert_eq!((status.as_u16(), refused["error"]["code"].as_str()), (415, Some("unsupported_image")));
    let (status, _) = app.send(upload("image/jpeg", png)).await;
    assert_eq!(status, 415);
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(3 << 20, 0);
    let (status, refused) = app.send(upload("image/png", big)).await;
    assert_eq!((status.as_u16(), refused["error"]["code"].as_str()), (413, Some("image_too_large")));
}
