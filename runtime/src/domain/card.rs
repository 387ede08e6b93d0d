//! What is kept about a card: the provider's token, the brand, the last four
//! digits and the expiry, never the number or the security code.

use serde::{Deserialize, Serialize};

/// What is kept about a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardOnFile {
    pub token: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: u32,
}
