//! A cart as priced for the customer: what checkout shows, and what an order
//! keeps (stored as JSON with it). Pricing itself is `commerce::cart::price`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::money::Money;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PricedLine {
    pub product_id: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: Money,
    pub line_total: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AppliedDiscount {
    pub label: String,
    /// The amount taken off (positive).
    pub amount: Money,
    pub product_ids: Vec<String>,
}

/// A cart as the customer sees it: lines, accepted discounts and the total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PricedCart {
    pub lines: Vec<PricedLine>,
    pub discounts: Vec<AppliedDiscount>,
    pub subtotal: Money,
    pub total: Money,
}
