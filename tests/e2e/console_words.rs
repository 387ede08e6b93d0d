//! The console in the shop's language, on every page, with times in the
//! shop's time zone (the one its opening hours are kept in): an Italian shop
//! in Rome reads its inbox, a thread, its orders, catalog, bot, team,
//! billing, privacy and account pages in Italian, and the times of its
//! messages in Rome's time.

use axum::http::{Method, StatusCode};
use bottega_tests::*;
use serde_json::json;

bottega_tests::on_both_databases!(every_page_of_an_italian_shop_speaks_italian_in_rome_s_time);

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
