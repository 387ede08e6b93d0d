//! The one `bindgen!` of the host: Rust types and traits generated from the
//! contract in `wit/` (the current version). Every other module uses these
//! types; none keeps a copy. Plugins built against the previous version are
//! served by the same bindings: see [`super::contract`].

wasmtime::component::bindgen!({
    path: "../wit",
    world: "bottega:shop/shop@1.1.0",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use self::bottega::shop::types::{
    ButtonsReply, Cart, CartItem, CartLine, CatalogQuery, Choice, ConversationContext, DiscountLine, InboundMessage,
    ListReply, ListRow, Money, OrderRef, PaymentFailure, Product, ProductListReply, Reply, ReplyButton, ShopEvent,
};
