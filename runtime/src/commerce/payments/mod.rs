//! Card payments, owned by the host: the connector boundary every payment
//! provider implements, the built-in sandbox processor, the payment lifecycle
//! (`flow`), refunds (`refund`), the reconciler that resolves whatever a
//! crash left between a provider call and its record (`recovery`), and the
//! collection of businesses' invoices from their billing cards (`collection`).
//!
//! Invariant: a card number exists only in the request that carries it and in
//! the provider call; it is never stored, logged, or given to a plugin or the
//! business. What is kept is the provider's token, the brand, the last four
//! digits and the expiry. The CVC is never kept, not even encrypted.

pub mod collection;
pub mod flow;
pub mod recovery;
pub mod refund;
pub mod sandbox;

use std::future::Future;
use std::pin::Pin;

/// A card as the customer typed it. `Debug` shows only the last four digits.
#[derive(Clone)]
pub struct CardInput {
    pub number: String,
    pub exp_month: u32,
    pub exp_year: u32,
    pub cvc: String,
}

impl std::fmt::Debug for CardInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardInput").field("last4", &last4(&self.number)).finish_non_exhaustive()
    }
}

/// The digits of a card number, without spaces or dashes.
pub fn digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

pub fn last4(number: &str) -> String {
    let digits = digits(number);
    digits[digits.len().saturating_sub(4)..].to_string()
}

pub use crate::domain::card::CardOnFile;

/// The answer to an authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    Approved {
        reference: String,
        card: CardOnFile,
    },
    /// The issuer wants the customer to pass a 3-D Secure challenge first.
    ChallengeRequired {
        reference: String,
        card: CardOnFile,
    },
    Declined {
        code: DeclineCode,
        card: Option<CardOnFile>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineCode {
    InvalidNumber,
    Expired,
    InvalidCvc,
    GenericDecline,
    InsufficientFunds,
    ChallengeFailed,
}

impl DeclineCode {
    pub fn as_str(self) -> &'static str {
        match self {
            DeclineCode::InvalidNumber => "invalid_number",
            DeclineCode::Expired => "expired_card",
            DeclineCode::InvalidCvc => "invalid_cvc",
            DeclineCode::GenericDecline => "card_declined",
            DeclineCode::InsufficientFunds => "insufficient_funds",
            DeclineCode::ChallengeFailed => "authentication_failed",
        }
    }

    pub fn parse(code: &str) -> Option<DeclineCode> {
        use DeclineCode::*;
        [InvalidNumber, Expired, InvalidCvc, GenericDecline, InsufficientFunds, ChallengeFailed]
            .into_iter()
            .find(|c| c.as_str() == code)
    }

    /// What the customer is told.
    pub fn message(self) -> &'static str {
        match self {
            DeclineCode::InvalidNumber => "The card number is not valid.",
            DeclineCode::Expired => "The card has expired.",
            DeclineCode::InvalidCvc => "The security code is not valid.",
            DeclineCode::GenericDecline => "The card was declined.",
            DeclineCode::InsufficientFunds => "The card has insufficient funds.",
            DeclineCode::ChallengeFailed => "The card issuer could not verify the payment.",
        }
    }
}

/// A provider failure that is not a decline: the caller may retry with the same
/// idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("the payment processor failed to process the payment; try again")]
    Processing,
    #[error("unknown payment reference `{0}`")]
    UnknownReference(String),
    #[error("{0}")]
    Refused(String),
}

pub type ProviderFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

/// What the provider knows of an authorization, asked by the idempotency key
/// it was made with: how recovery learns what a request that died did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeState {
    pub reference: String,
    pub outcome: ChargeOutcome,
    pub card: Option<CardOnFile>,
    pub authorized_minor: i64,
    pub captured_minor: i64,
    pub refunded_minor: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeOutcome {
    Approved,
    ChallengeRequired,
    Declined(DeclineCode),
}

/// The connector boundary: what Bottega needs from a card processor. Amounts
/// are minor units of `currency`; a connector converts at its own edge. Every
/// call that moves money takes an idempotency key: the same key answers the
/// same and moves the money once, so a call retried after a crash is safe.
pub trait PaymentProvider: Send + Sync + std::fmt::Debug {
    /// Authorizes `amount_minor`; `idempotency_key` makes a retry safe.
    fn authorize<'a>(
        &'a self,
        card: &'a CardInput,
        amount_minor: i64,
        currency: &'a str,
        idempotency_key: &'a str,
    ) -> ProviderFuture<'a, Authorization>;

    /// Completes a 3-D Secure challenge the customer passed or failed.
    fn complete_challenge<'a>(&'a self, reference: &'a str, passed: bool) -> ProviderFuture<'a, Authorization>;

    fn capture<'a>(&'a self, reference: &'a str, amount_minor: i64, idempotency_key: &'a str)
    -> ProviderFuture<'a, ()>;

    fn refund<'a>(&'a self, reference: &'a str, amount_minor: i64, idempotency_key: &'a str) -> ProviderFuture<'a, ()>;

    /// The authorization made under `idempotency_key`, or `None` when the
    /// provider never received it.
    fn retrieve<'a>(&'a self, idempotency_key: &'a str) -> ProviderFuture<'a, Option<ChargeState>>;

    /// Keeps `card` for later charges without charging it (a business's
    /// billing card): what is kept of it, or why the card was refused.
    fn save_card<'a>(&'a self, card: &'a CardInput) -> ProviderFuture<'a, Result<CardOnFile, DeclineCode>>;

    /// Charges the card kept as `token` `amount_minor` at once (authorized
    /// and captured, or declined). The same `idempotency_key` answers the
    /// same and charges once; a call cut off half way is finished by the
    /// same call again. [`PaymentProvider::retrieve`] knows it by that key.
    fn charge_saved<'a>(
        &'a self,
        token: &'a str,
        amount_minor: i64,
        currency: &'a str,
        idempotency_key: &'a str,
    ) -> ProviderFuture<'a, Authorization>;
}
