//! The console's catalog photos: an admin adds a photo to a product from its
//! edit form, checked as `POST /v1/images` checks one (its bytes a PNG, JPEG,
//! WebP or GIF, its declared type theirs, at most 2 MiB), and the product's
//! card then shows it; an agent cannot.

use axum::http::StatusCode;
use bottega_tests::*;
use serde_json::json;

bottega_tests::on_both_databases!(an_admin_adds_a_photo_to_a_product_from_its_page);

async fn an_admin_adds_a_photo_to_a_product_from_its_page(app: TestApp) {
    let shop = app.create_shop("Photo deli", json!({})).await;
    app.add_product(&shop, "olives", "Olives", 350, "Deli").await;
    let admin = app.staff(&shop, "Alba", "admin").await;
    let admins = app.signed_in(&admin).await;
    let page = app.console_get(Some(&admins), "/console/catalog/olives").await;
    assert!(page.body.contains("action=\"/console/catalog/olives/photo\""), "{}", page.body);

    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR not really a full image".to_vec();
    let path = "/console/catalog/olives/photo";
    let uploaded =
        app.console_upload_as(&admins, path, &[], ("photo", "olives.png", png.as_slice()), "image/png").await;
    assert_eq!(
        (uploaded.status, uploaded.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/catalog/olives")),
        "{}",
        uploaded.body
    );
    let (_, product) = app.get("/v1/products/olives", &shop.key).await;
    let url = product["photo_url"].as_str().expect("a photo").to_string();
    let id = url.rsplit('/').next().expect("an image id");
    let (status, served) = app
        .send_raw(
            axum::http::Request::builder()
                .uri(format!("/images/{id}"))
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{served}");
    let page = app.console_get(Some(&admins), "/console/catalog/olives").await;
    assert!(page.body.contains("<img id=photo"), "{}", page.body);

    // The images API's own checks: not an image, a type the bytes are not, too large.
    let script = b"<svg onload=alert(1)>".to_vec();
    let refused =
        app.console_upload_as(&admins, path, &[], ("photo", "x.svg", script.as_slice()), "image/svg+xml").await;
    assert_eq!(refused.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", refused.body);
    assert!(refused.body.contains("unsupported_image"), "{}", refused.body);
    let lying = app.console_upload_as(&admins, path, &[], ("photo", "x.jpg", png.as_slice()), "image/jpeg").await;
    assert_eq!(lying.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", lying.body);
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    // Within the form's body limit, over the image's: the shared check refuses it.
    big.resize((2 << 20) + 1, 0);
    let too_big = app.console_upload_as(&admins, path, &[], ("photo", "big.png", big.as_slice()), "image/png").await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", too_big.body);
    assert!(too_big.body.contains("image_too_large"), "{}", too_big.body);
    let (_, unchanged) = app.get("/v1/products/olives", &shop.key).await;
    assert_eq!(unchanged["photo_url"].as_str(), Some(url.as_str()), "{unchanged}");

    // Without the form's token, or as an agent: refused.
    let forged = bottega_tests::console::Console { cookie: admins.cookie.clone(), csrf: "forged".into() };
    let refused = app.console_upload_as(&forged, path, &[], ("photo", "o.png", png.as_slice()), "image/png").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("csrf_refused"), "{}", refused.body);
    let agent = app.staff(&shop, "Aldo", "agent").await;
    let agents = app.signed_in(&agent).await;
    let not_allowed = app.console_upload_as(&agents, path, &[], ("photo", "o.png", png.as_slice()), "image/png").await;
    assert_eq!(not_allowed.status, StatusCode::FORBIDDEN, "{}", not_allowed.body);
}
