//! Collecting businesses' invoices from their billing cards: each open
//! invoice of a business with a card on file is charged through the payment
//! provider when it is finalised, and again after each decline on the
//! operator's schedule (`billing.collect_retries`: 1 hour, 1 day, 3 days by
//! default); paid moves it to `paid` (queuing `invoice.paid`), and the last
//! retry declined moves it to `past_due`, where the plan's `when_past_due`
//! applies. An invoice of nothing is paid without a charge.
//!
//! *Crash-safe like the money path:* an attempt is recorded, with its
//! idempotency key, before the provider is called, and its outcome and the
//! invoice's new status are written in one transaction. An attempt still
//! pending when its lease ends (its node died between the two) is resolved
//! by asking the provider under its key:
//!
//! | the provider says           | the collector does                          |
//! |-----------------------------|---------------------------------------------|
//! | charged and captured        | records it: the invoice is paid             |
//! | declined                    | records the decline (past due if the last)  |
//! | never saw it, or half done  | charges again with the same key (once)      |
//! | does not answer             | leaves it for the next pass                 |
//!
//! The supervisor's `invoice collector` runs [`collect_due`] on every node;
//! an attempt is one row per (invoice, attempt number), so two nodes never
//! make the same one.

use std::time::Duration;

use super::{Authorization, CardInput, ChargeOutcome, DeclineCode, ProviderError};
use crate::billing::Billing;
use crate::commerce::Commerce;
use crate::domain::billing::InvoiceStatus;
use crate::failpoint;
use crate::store::collection::{self, BillingCard, ChargeAttempt, Collectable, NewAttempt, Settled};
use crate::store::invoices;
use crate::store::{StoreError, StoreResult};

/// Why a billing card was not kept.
#[derive(Debug, thiserror::Error)]
pub enum BillingCardError {
    /// The provider refused the card (invalid number, expired, bad security code).
    #[error("the card was refused ({code}): {message}")]
    Refused { code: &'static str, message: &'static str },
    /// The provider did not answer; nothing was kept.
    #[error("the payment provider could not save the card: {0}")]
    Provider(ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Saves `card` with the provider and keeps what it returned (a token, the
/// brand, the last four digits, the expiry) as the business's billing card;
/// its open invoices are charged to it from the collector's next pass on.
pub async fn set_billing_card(
    commerce: &Commerce,
    business_id: &str,
    card: &CardInput,
) -> Result<BillingCard, BillingCardError> {
    let saved = commerce.provider().save_card(card).await.map_err(BillingCardError::Provider)?;
    let on_file = saved.map_err(|code| BillingCardError::Refused { code: code.as_str(), message: code.message() })?;
    Ok(collection::set_card(commerce.db(), business_id, &on_file, crate::ids::now_ms()).await?)
}

/// What one pass of the collector did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Collected {
    /// Invoices charged and now paid.
    pub paid: usize,
    /// Charges declined (the invoice waits for its next retry or is past due).
    pub declined: usize,
    /// Invoices whose last retry was declined, now past due.
    pub past_due: usize,
    /// Attempts a dead node left pending, now resolved.
    pub reconciled: usize,
}

/// When an invoice with `attempts` declined attempts so far (the last at
/// `last_at`), finalised at `finalized_at`, is charged next under
/// `retries`; `None` when every retry was made.
pub fn next_attempt_at(attempts: i64, last_at: Option<i64>, finalized_at: i64, retries: &[Duration]) -> Option<i64> {
    if attempts <= 0 {
        return Some(finalized_at);
    }
    let wait = retries.get(usize::try_from(attempts - 1).ok()?)?;
    let wait = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
    Some(last_at.unwrap_or(finalized_at).saturating_add(wait))
}

/// Whether attempt number `attempt` is the last one `retries` allows (the
/// first charge, then one per retry).
pub fn is_last_attempt(attempt: i64, retries: &[Duration]) -> bool {
    attempt > i64::try_from(retries.len()).unwrap_or(i64::MAX)
}

/// One pass at `now`: resolves the attempts dead nodes left pending, then
/// charges every open invoice whose next attempt is due. Nothing when
/// billing is off.
pub async fn collect_due(commerce: &Commerce, billing: &Billing, now: i64) -> StoreResult<Collected> {
    let mut done = Collected::default();
    if !billing.config().enabled {
        return Ok(done);
    }
    let retries = billing.config().collect_retries.as_slice();
    for attempt in collection::unsettled(commerce.db(), now, 100).await? {
        if !collection::take_over(commerce.db(), &attempt, now, commerce.lease_from(now)).await? {
            continue;
        }
        tracing::info!(invoice = %attempt.invoice_id, attempt = attempt.attempt, "resolving an invoice charge left pending");
        if let Some(outcome) = reconcile(commerce, &attempt, retries).await? {
            done.reconciled += 1;
            count(&mut done, outcome);
        }
    }
    for invoice in collection::collectable(commerce.db(), 500).await? {
        let Some(due) = next_attempt_at(invoice.attempts, invoice.last_attempt_at, invoice.finalized_at, retries)
        else {
            // Every retry was declined, and yet it is open (the schedule
            // was shortened since): past due now.
            if invoices::change_status(
                commerce.db(),
                &invoice.invoice_id,
                InvoiceStatus::Open,
                InvoiceStatus::PastDue,
                now,
            )
            .await?
            {
                done.past_due += 1;
            }
            continue;
        };
        if due > now {
            continue;
        }
        if let Some(outcome) = make_attempt(commerce, &invoice, retries, now).await? {
            count(&mut done, outcome);
        }
    }
    Ok(done)
}

/// What became of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Paid,
    Declined { past_due: bool },
}

fn count(done: &mut Collected, outcome: Outcome) {
    match outcome {
        Outcome::Paid => done.paid += 1,
        Outcome::Declined { past_due } => {
            done.declined += 1;
            if past_due {
                done.past_due += 1;
            }
        }
    }
}

/// Makes the next attempt of `invoice`: the intent first, then the provider
/// call, then the outcome. `None` when another node made it, or the provider
/// did not answer (the attempt's lease ends and it is resolved then).
async fn make_attempt(
    commerce: &Commerce,
    invoice: &Collectable,
    retries: &[Duration],
    now: i64,
) -> StoreResult<Option<Outcome>> {
    if invoice.total_minor <= 0 {
        // Nothing to charge (a credit note covered it): paid as it stands.
        let paid =
            invoices::change_status(commerce.db(), &invoice.invoice_id, InvoiceStatus::Open, InvoiceStatus::Paid, now)
                .await?;
        return Ok(paid.then_some(Outcome::Paid));
    }
    let new = NewAttempt {
        invoice_id: &invoice.invoice_id,
        business_id: &invoice.business_id,
        attempt: invoice.attempts + 1,
        card_token: &invoice.card_token,
        amount_minor: invoice.total_minor,
        currency: &invoice.currency,
        lease_until: commerce.lease_from(now),
    };
    let Some(attempt) = collection::start_attempt(commerce.db(), new).await? else { return Ok(None) };
    commerce.failpoints().hit(failpoint::COLLECT_AFTER_INTENT).await;
    let answer = charge(commerce, &attempt).await;
    commerce.failpoints().hit(failpoint::COLLECT_AFTER_PROVIDER).await;
    match answer {
        Some(answer) => record(commerce, &attempt, answer, retries).await,
        None => Ok(None),
    }
}

/// What the provider said of a charge.
#[derive(Debug, Clone)]
enum Answer {
    Charged { reference: String },
    Declined { code: DeclineCode },
}

/// Charges `attempt` under its idempotency key; `None` when the provider did
/// not answer (logged).
async fn charge(commerce: &Commerce, attempt: &ChargeAttempt) -> Option<Answer> {
    let charged = commerce
        .provider()
        .charge_saved(&attempt.card_token, attempt.amount_minor, &attempt.currency, &attempt.idempotency_key)
        .await;
    match charged {
        Ok(Authorization::Approved { reference, .. }) => Some(Answer::Charged { reference }),
        Ok(Authorization::Declined { code, .. }) => Some(Answer::Declined { code }),
        // A card on file is charged off-session: a challenge cannot be answered.
        Ok(Authorization::ChallengeRequired { .. }) => Some(Answer::Declined { code: DeclineCode::ChallengeFailed }),
        Err(error) => {
            tracing::warn!(invoice = %attempt.invoice_id, attempt = attempt.attempt, "the invoice charge failed: {error}");
            None
        }
    }
}

/// Resolves an attempt whose node died, from what the provider knows under
/// its key (see the module's table).
async fn reconcile(commerce: &Commerce, attempt: &ChargeAttempt, retries: &[Duration]) -> StoreResult<Option<Outcome>> {
    let known = match commerce.provider().retrieve(&attempt.idempotency_key).await {
        Ok(known) => known,
        Err(error) => {
            tracing::warn!(invoice = %attempt.invoice_id, "the provider could not say what became of a charge: {error}");
            return Ok(None);
        }
    };
    let answer = match known {
        Some(state) if state.outcome == ChargeOutcome::Approved && state.captured_minor >= attempt.amount_minor => {
            Some(Answer::Charged { reference: state.reference })
        }
        Some(state) => match state.outcome {
            ChargeOutcome::Declined(code) => Some(Answer::Declined { code }),
            // Half done, or never sent: the same key again charges once.
            _ => charge(commerce, attempt).await,
        },
        None => charge(commerce, attempt).await,
    };
    match answer {
        Some(answer) => record(commerce, attempt, answer, retries).await,
        None => Ok(None),
    }
}

/// Records what the provider said and moves the invoice, in one transaction.
async fn record(
    commerce: &Commerce,
    attempt: &ChargeAttempt,
    answer: Answer,
    retries: &[Duration],
) -> StoreResult<Option<Outcome>> {
    let Some(invoice) = invoices::get_any(commerce.db(), &attempt.invoice_id).await? else { return Ok(None) };
    let now = crate::ids::now_ms();
    let (settled, outcome) = match &answer {
        Answer::Charged { reference } => {
            (Settled::Succeeded { reference: reference.as_str(), from: invoice.status }, Outcome::Paid)
        }
        Answer::Declined { code } => {
            let past_due =
                is_last_attempt(attempt.attempt, retries) && invoice.status.can_become(InvoiceStatus::PastDue);
            (Settled::Declined { code: code.as_str(), from: invoice.status, past_due }, Outcome::Declined { past_due })
        }
    };
    if let Settled::Succeeded { from, .. } = settled
        && !from.can_become(InvoiceStatus::Paid)
    {
        tracing::error!(invoice = %invoice.id, status = %from, "an invoice that was not payable was charged");
    }
    let settled_now = collection::settle(commerce.db(), &attempt.id, &attempt.invoice_id, settled, now).await?;
    if settled_now {
        tracing::info!(invoice = %attempt.invoice_id, attempt = attempt.attempt, ?outcome, "invoice charge recorded");
    }
    Ok(settled_now.then_some(outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_from_the_last_decline() {
        let hour = Duration::from_secs(3600);
        let retries = [hour, 24 * hour, 72 * hour];
        let h = 3_600_000;
        assert_eq!(next_attempt_at(0, None, 1_000, &retries), Some(1_000), "charged when finalised");
        assert_eq!(next_attempt_at(1, Some(5_000), 1_000, &retries), Some(5_000 + h));
        assert_eq!(next_attempt_at(2, Some(9_000), 1_000, &retries), Some(9_000 + 24 * h));
        assert_eq!(next_attempt_at(3, Some(9_000), 1_000, &retries), Some(9_000 + 72 * h));
        assert_eq!(next_attempt_at(4, Some(9_000), 1_000, &retries), None, "every retry made");
        assert!(!is_last_attempt(1, &retries) && !is_last_attempt(3, &retries));
        assert!(is_last_attempt(4, &retries));
        assert!(is_last_attempt(1, &[]), "no retries: the first charge is the last");
    }
}
