//! Commerce the host owns: carts priced from the host's own catalog, and the
//! validation of the discounts a plugin proposes. (Orders and payments build on
//! this in the payments work.)

pub mod cart;
