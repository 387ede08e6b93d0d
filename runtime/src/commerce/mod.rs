//! Commerce the host owns: carts priced from the host's own catalog (with the
//! plugin's discounts validated), and orders that hold stock from checkout
//! until they are paid, cancelled or their reservation expires. Payments come next.

pub mod cart;
pub mod orders;
pub mod payments;
