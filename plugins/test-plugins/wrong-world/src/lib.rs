//! Test plugin: built against `bottega:shop@9.0.0`, a version the host does not serve.

wit_bindgen::generate!({ path: "wit", world: "bottega:shop/shop@9.0.0" });

struct FromTheFuture;

impl exports::bottega::shop::bot::Guest for FromTheFuture {
    fn handle_message(text: String) -> Vec<String> {
        vec![text]
    }
}

export!(FromTheFuture);
