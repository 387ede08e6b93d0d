//! The sandbox card processor: a stand-in for a real one, for development and
//! tests. It is a sandbox (no money moves), but it behaves like a processor:
//! Luhn and expiry checks, the published test cards below, authorization,
//! 3-D Secure challenges, capture, and refunds never above what was captured.
//! Idempotent like a real API: the same idempotency key returns the first answer.
//! Its ledger lives in the database, so it survives restarts and is shared by nodes.
//!
//! | card number          | behaviour                                   |
//! |----------------------|---------------------------------------------|
//! | 4242 4242 4242 4242  | approved                                    |
//! | 5555 5555 5555 4444  | approved (Mastercard)                       |
//! | 4000 0000 0000 0002  | declined: card_declined                     |
//! | 4000 0000 0000 9995  | declined: insufficient_funds                |
//! | 4000 0000 0000 3220  | 3-D Secure challenge, then approved/declined|
//! | 4000 0000 0000 0119  | processing error (retry)                    |
//! | any other valid card | approved                                    |
//!
//! A saved card (`save_card`, a business's billing card) is refused when its
//! number, expiry or security code is invalid; otherwise it is kept and each
//! charge of it (`charge_saved`) behaves as its number says above: declined
//! (`card_declined`, `insufficient_funds`), a processing error, or approved
//! and captured at once (the 3-D Secure card too: off-session, no challenge).

use super::{
    Authorization, CardInput, CardOnFile, ChargeOutcome, ChargeState, DeclineCode, PaymentProvider, ProviderError,
    ProviderFuture, digits, last4,
};
use crate::store::sandbox_charges::{self, Change, Charge, Operation};
use crate::store::{Db, StoreError};

pub const CARD_SUCCESS: &str = "4242424242424242";
pub const CARD_MASTERCARD: &str = "5555555555554444";
pub const CARD_DECLINED: &str = "4000000000000002";
pub const CARD_INSUFFICIENT_FUNDS: &str = "4000000000009995";
pub const CARD_3DS: &str = "4000000000003220";
pub const CARD_PROCESSING_ERROR: &str = "4000000000000119";

/// The sandbox processor. Its ledger is the `sandbox_charges` table (see
/// `store::sandbox_charges`): shared by every node on the same database and
/// kept across restarts, as a real processor's books are.
#[derive(Debug, Clone)]
pub struct SandboxProcessor {
    db: Db,
}

/// True when `number` passes the Luhn check.
pub fn luhn_valid(number: &str) -> bool {
    let digits = digits(number);
    if !(12..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn brand(digits: &str) -> &'static str {
    match digits.as_bytes().first() {
        Some(b'4') => "visa",
        Some(b'5') | Some(b'2') => "mastercard",
        Some(b'3') => "amex",
        _ => "card",
    }
}

/// Whether a card is still valid in the month of `now_ms`.
fn expired(exp_month: u32, exp_year: u32, now_ms: i64) -> bool {
    let days = now_ms / 86_400_000;
    // Civil-from-days (Howard Hinnant's algorithm), enough for year and month.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let exp_year = i64::from(if exp_year < 100 { exp_year + 2000 } else { exp_year });
    !(1..=12).contains(&exp_month) || (exp_year, i64::from(exp_month)) < (year, month)
}

/// What the sandbox answers for `card`, before it is written to the ledger.
fn decide(card: &CardInput) -> Result<Charge, ProviderError> {
    let number = digits(&card.number);
    let reference = crate::ids::new_id("sbx");
    let declined = |code: DeclineCode, card: Option<CardOnFile>| {
        Ok(Charge {
            reference: reference.clone(),
            outcome: "declined".into(),
            decline_code: Some(code.as_str().into()),
            card,
        })
    };
    if !luhn_valid(&number) {
        return declined(DeclineCode::InvalidNumber, None);
    }
    let on_file = CardOnFile {
        token: crate::ids::new_id("tok"),
        brand: brand(&number).to_string(),
        last4: last4(&number),
        exp_month: card.exp_month,
        exp_year: card.exp_year,
    };
    if expired(card.exp_month, card.exp_year, crate::ids::now_ms()) {
        return declined(DeclineCode::Expired, Some(on_file));
    }
    let cvc_ok = (3..=4).contains(&card.cvc.len()) && card.cvc.chars().all(|c| c.is_ascii_digit());
    if !cvc_ok {
        return declined(DeclineCode::InvalidCvc, Some(on_file));
    }
    let outcome = match number.as_str() {
        CARD_DECLINED => return declined(DeclineCode::GenericDecline, Some(on_file)),
        CARD_INSUFFICIENT_FUNDS => return declined(DeclineCode::InsufficientFunds, Some(on_file)),
        CARD_PROCESSING_ERROR => return Err(ProviderError::Processing),
        CARD_3DS => "challenge",
        _ => "approved",
    };
    Ok(Charge { reference, outcome: outcome.into(), decline_code: None, card: Some(on_file) })
}

/// What the sandbox keeps of a card saved for later charges, and how the
/// test card behaves when charged; or why it refuses to keep it.
fn vault_entry(card: &CardInput) -> Result<(CardOnFile, &'static str), DeclineCode> {
    let number = digits(&card.number);
    if !luhn_valid(&number) {
        return Err(DeclineCode::InvalidNumber);
    }
    if expired(card.exp_month, card.exp_year, crate::ids::now_ms()) {
        return Err(DeclineCode::Expired);
    }
    if !((3..=4).contains(&card.cvc.len()) && card.cvc.chars().all(|c| c.is_ascii_digit())) {
        return Err(DeclineCode::InvalidCvc);
    }
    let behaviour = match number.as_str() {
        CARD_DECLINED => DeclineCode::GenericDecline.as_str(),
        CARD_INSUFFICIENT_FUNDS => DeclineCode::InsufficientFunds.as_str(),
        CARD_PROCESSING_ERROR => PROCESSING_ERROR,
        _ => APPROVED,
    };
    let on_file = CardOnFile {
        token: crate::ids::new_id("tok"),
        brand: brand(&number).to_string(),
        last4: last4(&number),
        exp_month: card.exp_month,
        exp_year: card.exp_year,
    };
    Ok((on_file, behaviour))
}

/// How a saved card behaves: charged and captured.
const APPROVED: &str = "approved";
/// How a saved card behaves: the processor fails (retry with the same key).
const PROCESSING_ERROR: &str = "processing_error";

/// The ledger's row as the connector's answer.
fn answer(charge: Charge) -> Result<Authorization, ProviderError> {
    let Charge { reference, outcome, decline_code, card } = charge;
    match (outcome.as_str(), card) {
        ("approved", Some(card)) => Ok(Authorization::Approved { reference, card }),
        ("challenge", Some(card)) => Ok(Authorization::ChallengeRequired { reference, card }),
        ("declined", card) => {
            let code = decline_code.as_deref().and_then(DeclineCode::parse).unwrap_or(DeclineCode::GenericDecline);
            Ok(Authorization::Declined { code, card })
        }
        _ => {
            tracing::error!(%reference, %outcome, "sandbox ledger row is inconsistent");
            Err(ProviderError::Processing)
        }
    }
}

/// A database failure looks to the caller like a processor that did not answer.
fn unavailable(error: StoreError) -> ProviderError {
    tracing::warn!("sandbox processor ledger: {error}");
    ProviderError::Processing
}

fn changed(change: Change, reference: &str, refused: &str) -> Result<(), ProviderError> {
    match change {
        Change::Done => Ok(()),
        Change::Refused => Err(ProviderError::Refused(refused.into())),
        Change::Unknown => Err(ProviderError::UnknownReference(reference.into())),
    }
}

impl SandboxProcessor {
    pub fn new(db: Db) -> SandboxProcessor {
        SandboxProcessor { db }
    }
}

impl PaymentProvider for SandboxProcessor {
    fn authorize<'a>(
        &'a self,
        card: &'a CardInput,
        amount_minor: i64,
        _currency: &'a str,
        idempotency_key: &'a str,
    ) -> ProviderFuture<'a, Authorization> {
        Box::pin(async move {
            let charge = decide(card)?;
            let recorded = sandbox_charges::record(&self.db, idempotency_key, &charge, amount_minor).await;
            answer(recorded.map_err(unavailable)?)
        })
    }

    fn complete_challenge<'a>(&'a self, reference: &'a str, passed: bool) -> ProviderFuture<'a, Authorization> {
        Box::pin(async move {
            let failed = DeclineCode::ChallengeFailed.as_str();
            let (change, charge) =
                sandbox_charges::complete_challenge(&self.db, reference, passed, failed).await.map_err(unavailable)?;
            changed(change, reference, "no challenge is pending for this payment")?;
            charge.map_or(Err(ProviderError::Processing), answer)
        })
    }

    fn capture<'a>(
        &'a self,
        reference: &'a str,
        amount_minor: i64,
        idempotency_key: &'a str,
    ) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            let change =
                sandbox_charges::operate(&self.db, idempotency_key, reference, Operation::Capture, amount_minor)
                    .await
                    .map_err(unavailable)?;
            changed(change, reference, "capture above the authorized amount")
        })
    }

    fn refund<'a>(&'a self, reference: &'a str, amount_minor: i64, idempotency_key: &'a str) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            let change =
                sandbox_charges::operate(&self.db, idempotency_key, reference, Operation::Refund, amount_minor)
                    .await
                    .map_err(unavailable)?;
            changed(change, reference, "refund above the captured amount")
        })
    }

    fn save_card<'a>(&'a self, card: &'a CardInput) -> ProviderFuture<'a, Result<CardOnFile, DeclineCode>> {
        Box::pin(async move {
            let (on_file, behaviour) = match vault_entry(card) {
                Ok(entry) => entry,
                Err(code) => return Ok(Err(code)),
            };
            sandbox_charges::save_card(&self.db, &on_file, behaviour).await.map_err(unavailable)?;
            Ok(Ok(on_file))
        })
    }

    fn charge_saved<'a>(
        &'a self,
        token: &'a str,
        amount_minor: i64,
        _currency: &'a str,
        idempotency_key: &'a str,
    ) -> ProviderFuture<'a, Authorization> {
        Box::pin(async move {
            let Some((card, behaviour)) = sandbox_charges::saved_card(&self.db, token).await.map_err(unavailable)?
            else {
                return Err(ProviderError::UnknownReference(token.to_string()));
            };
            let reference = crate::ids::new_id("sbx");
            let charge = match behaviour.as_str() {
                APPROVED => Charge { reference, outcome: "approved".into(), decline_code: None, card: Some(card) },
                PROCESSING_ERROR => return Err(ProviderError::Processing),
                code => Charge {
                    reference,
                    outcome: "declined".into(),
                    decline_code: Some(code.to_string()),
                    card: Some(card),
                },
            };
            // The key's first answer stands; an approved charge is captured
            // under a key of its own, so a retry finishes a capture cut off.
            let recorded =
                sandbox_charges::record(&self.db, idempotency_key, &charge, amount_minor).await.map_err(unavailable)?;
            if recorded.outcome == APPROVED {
                let capture_key = format!("{idempotency_key}:capture");
                let change = sandbox_charges::operate(
                    &self.db,
                    &capture_key,
                    &recorded.reference,
                    Operation::Capture,
                    amount_minor,
                )
                .await
                .map_err(unavailable)?;
                changed(change, &recorded.reference, "capture above the authorized amount")?;
            }
            answer(recorded)
        })
    }

    fn retrieve<'a>(&'a self, idempotency_key: &'a str) -> ProviderFuture<'a, Option<ChargeState>> {
        Box::pin(async move {
            let Some(books) =
                sandbox_charges::by_idempotency_key(&self.db, idempotency_key).await.map_err(unavailable)?
            else {
                return Ok(None);
            };
            let outcome = match answer(books.charge.clone())? {
                Authorization::Approved { .. } => ChargeOutcome::Approved,
                Authorization::ChallengeRequired { .. } => ChargeOutcome::ChallengeRequired,
                Authorization::Declined { code, .. } => ChargeOutcome::Declined(code),
            };
            Ok(Some(ChargeState {
                reference: books.charge.reference,
                outcome,
                card: books.charge.card,
                authorized_minor: books.amount_minor,
                captured_minor: books.captured_minor,
                refunded_minor: books.refunded_minor,
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_saved_card_is_charged_once_per_key_as_its_number_says() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::connect(None, dir.path()).await.expect("database");
        let sandbox = SandboxProcessor::new(db);
        let saved = sandbox.save_card(&card(CARD_SUCCESS)).await.expect("answer").expect("kept");
        assert_eq!((saved.brand.as_str(), saved.last4.as_str()), ("visa", "4242"));
        let charged = sandbox.charge_saved(&saved.token, 1266, "EUR", "inv_1:charge:1").await;
        let Ok(Authorization::Approved { reference, .. }) = charged else { panic!("{charged:?}") };
        // The same key again: the same answer, nothing charged twice.
        let again = sandbox.charge_saved(&saved.token, 1266, "EUR", "inv_1:charge:1").await;
        assert!(matches!(&again, Ok(Authorization::Approved { reference: r, .. }) if *r == reference), "{again:?}");
        let books = sandbox.retrieve("inv_1:charge:1").await.expect("retrieve").expect("known");
        assert_eq!((books.outcome, books.captured_minor), (ChargeOutcome::Approved, 1266));

        let declining = sandbox.save_card(&card(CARD_DECLINED)).await.expect("answer").expect("kept");
        assert!(matches!(
            sandbox.charge_saved(&declining.token, 500, "EUR", "inv_2:charge:1").await,
            Ok(Authorization::Declined { code: DeclineCode::GenericDecline, .. })
        ));
        assert_eq!(sandbox.save_card(&card("4242424242424241")).await, Ok(Err(DeclineCode::InvalidNumber)));
        assert_eq!(
            sandbox.charge_saved("tok_never", 500, "EUR", "inv_3:charge:1").await,
            Err(ProviderError::UnknownReference("tok_never".into()))
        );
    }

    fn card(number: &str) -> CardInput {
        CardInput { number: number.into(), exp_month: 12, exp_year: 2099, cvc: "123".into() }
    }

    #[test]
    fn luhn_and_expiry() {
        assert!(luhn_valid("4242 4242 4242 4242"));
        assert!(!luhn_valid("4242 4242 4242 4241"));
        assert!(!luhn_valid("42"));
        let jan_2026 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
        assert!(!expired(1, 2026, jan_2026));
        assert!(expired(12, 2025, jan_2026));
        assert!(!expired(1, 26, jan_2026), "two-digit years");
        assert!(expired(13, 2030, jan_2026));
    }

    #[tokio::test]
    async fn test_cards_behave_as_published() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::connect(None, dir.path()).await.expect("database");
        let sandbox = SandboxProcessor::new(db.clone());
        let approved = sandbox.authorize(&card(CARD_SUCCESS), 500, "EUR", "k1").await;
        let Ok(Authorization::Approved { reference, card: on_file }) = approved else { panic!("{approved:?}") };
        assert_eq!((on_file.brand.as_str(), on_file.last4.as_str()), ("visa", "4242"));
        // The same key answers the same, without a second authorization.
        assert_eq!(
            sandbox.authorize(&card(CARD_SUCCESS), 500, "EUR", "k1").await,
            Ok(Authorization::Approved { reference: reference.clone(), card: on_file })
        );
        assert!(matches!(
            sandbox.authorize(&card(CARD_DECLINED), 500, "EUR", "k2").await,
            Ok(Authorization::Declined { code: DeclineCode::GenericDecline, .. })
        ));
        assert!(matches!(
            sandbox.authorize(&card(CARD_INSUFFICIENT_FUNDS), 500, "EUR", "k3").await,
            Ok(Authorization::Declined { code: DeclineCode::InsufficientFunds, .. })
        ));
        assert_eq!(
            sandbox.authorize(&card(CARD_PROCESSING_ERROR), 500, "EUR", "k4").await,
            Err(ProviderError::Processing)
        );
        assert!(matches!(
            sandbox.authorize(&card("4242424242424241"), 500, "EUR", "k5").await,
            Ok(Authorization::Declined { code: DeclineCode::InvalidNumber, card: None })
        ));

        // Capture and refunds never exceed what was authorized and captured.
        sandbox.capture(&reference, 500, "c1").await.expect("capture");
        assert!(sandbox.capture(&reference, 1, "c2").await.is_err());
        // A retried capture answers the same and captures nothing more.
        sandbox.capture(&reference, 500, "c1").await.expect("the same capture");
        sandbox.refund(&reference, 200, "r1").await.expect("partial refund");
        sandbox.refund(&reference, 200, "r1").await.expect("the same refund, once");
        assert!(sandbox.refund(&reference, 301, "r2").await.is_err());
        sandbox.refund(&reference, 300, "r3").await.expect("the rest");
        let books = sandbox.retrieve("k1").await.expect("retrieve").expect("known");
        assert_eq!((books.captured_minor, books.refunded_minor), (500, 500));
        assert_eq!(sandbox.retrieve("never-sent").await, Ok(None));

        // 3-D Secure: nothing can be captured until the challenge is passed.
        let Ok(Authorization::ChallengeRequired { reference, .. }) =
            sandbox.authorize(&card(CARD_3DS), 900, "EUR", "k6").await
        else {
            panic!("a challenge")
        };
        assert!(sandbox.capture(&reference, 900, "c3").await.is_err());
        assert!(matches!(sandbox.complete_challenge(&reference, true).await, Ok(Authorization::Approved { .. })));
        sandbox.capture(&reference, 900, "c4").await.expect("capture after the challenge");

        // The ledger is the database's: another processor on it (another node,
        // or this one after a restart) refunds what the first one captured.
        let restarted = SandboxProcessor::new(db);
        restarted.refund(&reference, 900, "r4").await.expect("refund after a restart");
        assert!(restarted.refund(&reference, 1, "r5").await.is_err());
        assert_eq!(
            restarted.capture("sbx_unknown", 1, "c5").await,
            Err(ProviderError::UnknownReference("sbx_unknown".into()))
        );
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    /// Luhn by the table of doubled digits, to check the sandbox's arithmetic against.
    fn luhn_by_table(digits: &[u8]) -> bool {
        const DOUBLED: [u32; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
        let sum: u32 = digits
            .iter()
            .rev()
            .enumerate()
            .map(|(i, d)| if i % 2 == 1 { DOUBLED[usize::from(*d)] } else { u32::from(*d) })
            .sum();
        (12..=19).contains(&digits.len()) && sum.is_multiple_of(10)
    }

    /// A card number as a person types it: digits, with spaces or dashes between groups.
    fn typed_number() -> impl Strategy<Value = (Vec<u8>, String)> {
        (prop::collection::vec(0u8..10, 0..24), prop::sample::select(vec!["", " ", "-", "  "])).prop_map(
            |(digits, separator)| {
                let text = digits
                    .chunks(4)
                    .map(|group| group.iter().map(|d| char::from(b'0' + d)).collect::<String>())
                    .collect::<Vec<_>>()
                    .join(separator);
                (digits, text)
            },
        )
    }

    proptest! {
        #![proptest_config(crate::proptests::config())]

        #[test]
        fn luhn_agrees_with_the_table_however_the_number_is_typed((digits, typed) in typed_number()) {
            prop_assert_eq!(luhn_valid(&typed), luhn_by_table(&digits), "{}", typed);
            let last = last4(&typed);
            prop_assert!(last.len() <= 4 && last.chars().all(|c| c.is_ascii_digit()));
            prop_assert_eq!(digits.len(), super::digits(&typed).len());
        }

        #[test]
        fn card_fields_never_panic_whatever_is_typed(number in any::<String>(), month in any::<u32>(), year in any::<u32>(), now in any::<i64>()) {
            let _ = luhn_valid(&number);
            let last = last4(&number);
            prop_assert!(last.len() <= 4);
            let _ = expired(month, year, now);
        }

        #[test]
        fn a_month_outside_the_calendar_is_always_expired(month in 13u32.., year in any::<u32>(), now in 0i64..4_102_444_800_000) {
            prop_assert!(expired(month, year, now));
            prop_assert!(expired(0, year, now));
        }

        #[test]
        fn a_card_ending_after_2100_is_valid_until_then(month in 1u32..=12, year in 2101u32..100_000, now in 0i64..4_102_444_800_000) {
            prop_assert!(!expired(month, year, now));
        }
    }
}
