//! The console in the shop's language, on every page, with times in the
//! shop's time zone (the one its opening hours are kept in): an Italian shop
//! in Rome reads its inbox, a thread, its orders, catalog, bot, team,
//! billing, privacy and account pages in Italian, and the times of its
//! messages in Rome's time.
//! Before anyone signs in, the console speaks the visitor's language (their
//! browser's `Accept-Language`): the sign-in form, its refusals and lockout,
//! and error pages, and the operator's console; an invitation speaks its
//! shop's language; an error page of a signed-in session speaks the shop's,
//! whatever the browser asks.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use bottega_tests::console::{Answer, Console, form_body};
use bottega_tests::*;
use serde_json::json;

bottega_tests::on_both_databases!(
    every_page_of_an_italian_shop_speaks_italian_in_rome_s_time,
    the_sign_in_page_speaks_the_visitor_s_language,
    an_invitation_speaks_its_shop_s_language,
    the_operator_s_console_speaks_the_visitor_s_language,
);

/// GETs a console page from a browser asking for `languages`, signed in as
/// `console` when given.
async fn get_in(app: &TestApp, languages: &str, console: Option<&Console>, path: &str) -> Answer {
    let mut request = Request::builder().method(Method::GET).uri(path).header(header::ACCEPT_LANGUAGE, languages);
    if let Some(console) = console {
        request = request.header(header::COOKIE, &console.cookie);
    }
    app.console_request(request.body(Body::empty()).expect("request builds")).await
}

/// Posts a console form from a browser asking for `languages`, signed in to no session.
async fn post_in(app: &TestApp, languages: &str, path: &str, fields: &[(&str, &str)]) -> Answer {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT_LANGUAGE, languages)
        .body(Body::from(form_body(fields)))
        .expect("request builds");
    app.console_request(request).await
}

fn says(answer: &Answer, lang: &str, words: &[&str]) {
    assert!(answer.body.contains(&format!("<html lang={lang}>")), "not in {lang}: {}", answer.body);
    for word in words {
        assert!(answer.body.contains(word), "lacks {word}: {}", answer.body);
    }
}

async fn the_sign_in_page_speaks_the_visitor_s_language(app: TestApp) {
    // An Italian browser (Italy's Italian first, then any Italian, then English) reads Italian.
    let page = get_in(&app, "it-IT,it;q=0.9,en;q=0.5", None, "/console/sign-in").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    says(
        &page,
        "it",
        &[
            "<h1>Accedi alla console</h1>",
            "Password",
            "Codice della tua app di autenticazione",
            "<button>Accedi</button>",
        ],
    );
    assert!(!page.body.contains("Sign in to the console"), "{}", page.body);

    // A language the console does not speak is passed over for the next one asked for…
    let page = get_in(&app, "fr-CH, fr;q=0.9, es;q=0.8", None, "/console/sign-in").await;
    says(&page, "es", &["Inicia sesión en la consola", "Contraseña"]);
    // …and a browser asking only for French reads English.
    let page = get_in(&app, "fr", None, "/console/sign-in").await;
    says(&page, "en", &["<h1>Sign in to the console</h1>", "Password"]);
    // A newly made account is welcomed in its browser's language.
    let page = get_in(&app, "id-ID", None, "/console/sign-in?welcome=1").await;
    says(&page, "id", &["Akun Anda sudah siap"]);

    // A wrong password is refused in Italian, five times, then the lockout speaks Spanish.
    let shop = app.create_shop("Corner shop", json!({})).await;
    let agent = app.staff(&shop, "Paolo", "agent").await;
    for guess in 0..5 {
        let password = format!("guess number {guess}");
        let fields = [("email", agent.email.as_str()), ("password", password.as_str())];
        let wrong = post_in(&app, "it", "/console/sign-in", &fields).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "guess {guess}: {}", wrong.body);
        says(&wrong, "it", &["id=wrong>Email o password non corretti.</p>", "Accedi alla console"]);
    }
    let fields = [("email", agent.email.as_str()), ("password", agent.password.as_str())];
    let locked = post_in(&app, "es", "/console/sign-in", &fields).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{}", locked.body);
    says(&locked, "es", &["id=locked>Demasiados intentos de inicio de sesión. Espera "]);

    // A form another site posted is refused in the visitor's language.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/console/sign-in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT_LANGUAGE, "id")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(form_body(&fields)))
        .expect("request builds");
    let refused = app.console_request(request).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    says(&refused, "id", &["<h1>Ditolak</h1>", "Formulir ini dikirim dari situs lain."]);

    // An error page before anyone signed in speaks the visitor's language, its code kept.
    let unknown = get_in(&app, "hi-IN,hi;q=0.9", None, "/console/accept?token=never-made").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    says(&unknown, "hi", &["data-code=\"invitation_not_open\"", "यह निमंत्रण लिंक अब मान्य नहीं है", "कंसोल पर वापस जाएँ"]);

    // Signed in, an error page speaks the shop's language, whatever the browser asks.
    let italian = app.create_shop("Bottega di Rosa", json!({"locale": "it-IT"})).await;
    let agent = app.staff(&italian, "Marco", "agent").await;
    let console = app.signed_in(&agent).await;
    let refused = get_in(&app, "es", Some(&console), "/console/team").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    says(
        &refused,
        "it",
        &["<h1>Rifiutato</h1>", "data-code=\"not_allowed\">Il tuo ruolo non lo consente.</p>", "Torna alla console"],
    );
}

async fn the_operator_s_console_speaks_the_visitor_s_language(app: TestApp) {
    let page = get_in(&app, "it-IT,it;q=0.9", None, "/console/operator/sign-in").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    says(&page, "it", &["Console dell&#39;operatore", "Token di amministrazione", "<button>Accedi</button>"]);
    let wrong = post_in(&app, "hi", "/console/operator/sign-in", &[("token", "not the token")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    says(&wrong, "hi", &["id=wrong>यह इस नोड का एडमिन टोकन नहीं है।</p>"]);

    let operator = app.operator_signed_in().await;
    let page = get_in(&app, "id-ID,id;q=0.9,en;q=0.5", Some(&operator), "/console/operator").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    says(&page, "id", &["<h1>Node ini</h1>", "<h1>Bisnis</h1>", "Buat bisnis", "<button>Keluar</button>"]);
    let page = get_in(&app, "fr", Some(&operator), "/console/operator").await;
    says(&page, "en", &["<h1>This node</h1>", "Create a business"]);
}

async fn an_invitation_speaks_its_shop_s_language(app: TestApp) {
    let shop = app.create_shop("Toko Sari", json!({"locale": "id-ID"})).await;
    let token = app.invite(&shop, "dewi@toko-sari.example", "owner").await;
    let link = format!("/console/accept?token={token}");

    // The invitation knows its shop: Indonesian, even to an Italian browser.
    let page = get_in(&app, "it-IT,it;q=0.9", None, &link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    says(
        &page,
        "id",
        &[
            "<h1>Bergabung dengan tim</h1>",
            "Anda diundang sebagai <strong>dewi@toko-sari.example</strong>.",
            "Nama Anda",
            "Kata sandi",
            "<button>Buat akun saya</button>",
        ],
    );
    assert!(!page.body.contains("Join the team"), "{}", page.body);

    // A short password is refused in Indonesian, and the link still works.
    let weak =
        post_in(&app, "it", "/console/accept", &[("token", token.as_str()), ("name", "Dewi"), ("password", "short")])
            .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", weak.body);
    says(&weak, "id", &["<p class=error>Kata sandi terdiri dari 8 sampai 128 karakter.</p>", "Buat akun saya"]);
    let fields = [("token", token.as_str()), ("name", "Dewi"), ("password", "nasi goreng pedas")];
    let accepted = post_in(&app, "it", "/console/accept", &fields).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);

    // Used, the link knows no shop any more: its refusal speaks the visitor's language.
    let used = get_in(&app, "es-ES,es;q=0.9", None, &link).await;
    assert_eq!(used.status, StatusCode::NOT_FOUND, "{}", used.body);
    says(&used, "es", &["Este enlace de invitación ya no es válido", "Volver a la consola"]);
}

async fn every_page_of_an_italian_shop_speaks_italian_in_rome_s_time(app: TestApp) {
    let shop = app.create_shop("Bottega di Rosa", json!({"locale": "it-IT"})).await;
    let settings = json!({"away": {"message": "Siamo chiusi", "time_zone": "Europe/Rome", "hours": {}}});
    let (status, saved) = app.request(Method::PUT, "/v1/automations", Some(&shop.key), Some(settings)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let conversation =
        app.say(&shop, "+39 333 000 0001", "avete il pane?").await["conversation_id"].as_str().expect("id").to_string();
    let owner = app.staff(&shop, "Rosa", "owner").await;
    let console = app.signed_in(&owner).await;

    let pages: [(&str, &[&str]); 10] = [
        ("/console/inbox", &["<h1>Conversazioni</h1>", "Cliente", "Chi risponde", "Ultimo messaggio"]),
        (
            &format!("/console/inbox/{conversation}"),
            &["Conversazione con", "Carrello", "Note private", "Prendi in carico"],
        ),
        ("/console/orders", &["Esporta CSV", "ogni stato", "Totale"]),
        ("/console/catalog", &["Aggiungi un prodotto", "Importa un CSV", "Cerca"]),
        ("/console/catalog/new", &["Descrizione", "Valuta", "Salva"]),
        ("/console/bot", &["Carica una versione", "Errori recenti"]),
        ("/console/team", &["Invita qualcuno", "Inviti aperti"]),
        ("/console/account", &["Il tuo account", "Secondo fattore"]),
        ("/console/billing", &["<h1>Fatturazione</h1>", "Prossima fattura", "Ancora nessuna fattura."]),
        ("/console/privacy", &["Conservazione", "I testi dei messaggi sono conservati", "Registro di controllo"]),
    ];
    for (path, words) in pages {
        let page = app.console_get(Some(&console), path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(page.body.contains("<html lang=it>"), "{path}: {}", page.body);
        for word in words {
            assert!(page.body.contains(word), "{path} lacks {word}: {}", page.body);
        }
    }

    // Times are Rome's (CET in winter, CEST in summer), the day first.
    let thread = app.console_get(Some(&console), &format!("/console/inbox/{conversation}")).await;
    assert!(thread.body.contains(" CET<") || thread.body.contains(" CEST<"), "{}", thread.body);
    assert!(!thread.body.contains(" UTC<"), "{}", thread.body);
    // The thread's polling answers in the shop's words and time too.
    let (_, now) = app.get(&format!("/v1/conversations/{conversation}"), &shop.key).await;
    let polled = app.console_get(Some(&console), &format!("/console/inbox/{conversation}/since/0")).await;
    let polled: serde_json::Value = serde_json::from_str(&polled.body).expect("json");
    let metas: Vec<&str> =
        polled["messages"].as_array().expect("messages").iter().filter_map(|m| m["meta"].as_str()).collect();
    assert_eq!(metas.len() as i64, now["message_count"].as_i64().expect("count"), "{polled}");
    assert!(metas.iter().all(|meta| meta.ends_with(" CET") || meta.ends_with(" CEST")), "{metas:?}");
}
