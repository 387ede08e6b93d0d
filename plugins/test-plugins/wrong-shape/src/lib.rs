//! Test plugin: named as `bottega:shop@1.0.0` but shaped otherwise, so it
//! passes the upload checks and fails to link against the contract.

wit_bindgen::generate!({ path: "wit", world: "bottega:shop/shop@1.0.0" });

struct Misshapen;

impl exports::bottega::shop::bot::Guest for Misshapen {
    fn handle_message(text: String) -> Vec<String> {
        vec![text]
    }
}

impl exports::bottega::shop::storefront::Guest for Misshapen {
    fn present_catalog(text: String) -> Vec<String> {
        vec![text]
    }
}

export!(Misshapen);
