//! The payment lifecycle of an order: the intent is recorded (the order's
//! payment slot taken, the provider key and the request's lease written)
//! before the provider is called; then authorize, a 3-D Secure challenge when
//! the issuer asks, capture, and the outcome recorded on the attempt and the
//! order in one transaction. `record_answer` is the one place an outcome is
//! recorded, for a live request and for recovery alike; a request whose
//! attempt was resolved by another (recovery, a retry) answers what was
//! recorded.

use super::{Authorization, CardInput, CardOnFile, DeclineCode, ProviderError};
use crate::commerce::Commerce;
use crate::commerce::states::{AttemptStatus, OrderEventKind, OrderStatus, PaymentStatus};
use crate::failpoint;
use crate::ids;
use crate::store::orders::{self, Order, OrderChange};
use crate::store::payments::{self, AttemptUpdate, Payment};
use crate::store::{StoreError, StoreResult};

/// How a payment attempt ended.
#[derive(Debug, Clone)]
pub enum PayResult {
    /// Captured; `order` as it now stands.
    Paid { payment_id: String, order: Box<Order> },
    /// The customer must pass the issuer's challenge for `payment_id`.
    Challenge { payment_id: String },
    /// `order` as it now stands (payable again while its reservation holds).
    Declined { code: DeclineCode, order: Option<Box<Order>> },
    /// The processor failed; the same request may be retried.
    ProcessorError,
    /// The order cannot be paid now (paid, being paid, cancelled or expired).
    NotPayable,
}

/// What the provider said of an attempt, from a live call or (recovery) from
/// asking it afterwards.
#[derive(Debug, Clone)]
pub(crate) enum ProviderAnswer {
    Approved {
        reference: String,
        card: CardOnFile,
        captured: bool,
    },
    Challenge {
        reference: String,
        card: CardOnFile,
    },
    Declined {
        code: DeclineCode,
        card: Option<CardOnFile>,
    },
    /// The provider failed, or never saw the attempt: nothing was taken.
    Failed,
}

impl From<Result<Authorization, ProviderError>> for ProviderAnswer {
    fn from(answer: Result<Authorization, ProviderError>) -> ProviderAnswer {
        match answer {
            Ok(Authorization::Approved { reference, card }) => {
                ProviderAnswer::Approved { reference, card, captured: false }
            }
            Ok(Authorization::ChallengeRequired { reference, card }) => ProviderAnswer::Challenge { reference, card },
            Ok(Authorization::Declined { code, card }) => ProviderAnswer::Declined { code, card },
            Err(error) => {
                tracing::warn!("payment processor error: {error}");
                ProviderAnswer::Failed
            }
        }
    }
}

/// Pays `order` with `card` for the request `request_key` (the payment form's
/// idempotency key). A retry of a request whose first try died (`resumed`:
/// its idempotency claim was taken over) resumes that try's attempt instead
/// of charging again; a fresh claim has no attempt to find (the attempts'
/// unique request key would refuse a second one anyway).
pub async fn pay(
    commerce: &Commerce,
    business_id: &str,
    order: &Order,
    card: &CardInput,
    request_key: &str,
    resumed: bool,
) -> StoreResult<PayResult> {
    let db = commerce.db();
    let mut order = order.clone();
    let earlier = if resumed { payments::by_request_key(db, &order.id, request_key).await? } else { None };
    if let Some(attempt) = earlier {
        match resume(commerce, attempt).await? {
            // The provider never saw the first try (it died before calling
            // out): this retry carries the card again, so pay with it.
            PayResult::ProcessorError => {
                order = orders::get(db, business_id, &order.id).await?.unwrap_or(order);
            }
            outcome => return Ok(outcome),
        }
    }
    if let Some(payment_id) = &order.payment_id {
        // Another request's attempt: if its request died, resolve it first.
        if let Some(attempt) = payments::get(db, business_id, payment_id).await?
            && attempt.status == AttemptStatus::Processing
            && lease_ended(&attempt)
        {
            super::recovery::reconcile(commerce, &attempt).await?;
            order = orders::get(db, business_id, &order.id).await?.unwrap_or(order);
        }
    }
    let payable = order.status == OrderStatus::Open && order.payment_status.is_unpaid() && order.payment_id.is_none();
    if !payable {
        return Ok(PayResult::NotPayable);
    }
    let now = ids::now_ms();
    let Some(attempt) = payments::start(db, business_id, &order, Some(request_key), commerce.lease_from(now)).await?
    else {
        return Ok(PayResult::NotPayable);
    };
    commerce.failpoints().hit(failpoint::PAY_AFTER_START).await;
    let key = attempt.provider_key.clone().unwrap_or_else(|| attempt.id.clone());
    let answer = commerce.provider().authorize(card, order.total_minor, &order.currency, &key).await;
    commerce.failpoints().hit(failpoint::PAY_AFTER_AUTHORIZE).await;
    // The order as the start left it (its payment slot ours): no second read.
    let started = Order { payment_id: Some(attempt.id.clone()), ..order };
    record_answer(commerce, &attempt, Some(started), answer.into()).await
}

/// The customer passed (or failed) the challenge of `payment_id`.
pub async fn complete_challenge(
    commerce: &Commerce,
    business_id: &str,
    order: &Order,
    payment_id: &str,
    passed: bool,
) -> StoreResult<PayResult> {
    let db = commerce.db();
    let Some(attempt) = payments::get(db, business_id, payment_id).await?.filter(|p| p.order_id == order.id) else {
        return Ok(PayResult::NotPayable);
    };
    let reference = match (&attempt.status, &attempt.provider_reference) {
        (AttemptStatus::RequiresChallenge, Some(reference)) => reference.clone(),
        // Answered already (a second click, or a retry after a crash): say how it ended.
        _ => return resume(commerce, attempt).await,
    };
    let answer = commerce.provider().complete_challenge(&reference, passed).await;
    commerce.failpoints().hit(failpoint::CHALLENGE_AFTER_PROVIDER).await;
    if matches!(answer, Err(ProviderError::Refused(_))) {
        // The provider completed it before (the answer was lost): ask what it knows.
        super::recovery::reconcile(commerce, &attempt).await?;
        let attempt = payments::get(db, business_id, payment_id).await?.unwrap_or(attempt);
        return outcome_of(commerce, &attempt).await;
    }
    record_answer(commerce, &attempt, None, answer.into()).await
}

/// What became of `attempt` for a retried request: resolved first if it is
/// still in flight (the idempotency key's lease says its first owner died; if
/// that owner is only slow, every step after is idempotent, so both agree).
async fn resume(commerce: &Commerce, attempt: Payment) -> StoreResult<PayResult> {
    // Follow-ups the first try may not have reached (the bot's thanks).
    crate::commerce::events::dispatch(commerce, Some(&attempt.order_id)).await?;
    if attempt.status == AttemptStatus::Processing {
        super::recovery::reconcile(commerce, &attempt).await?;
        let attempt = payments::get(commerce.db(), &attempt.business_id, &attempt.id).await?.unwrap_or(attempt);
        return outcome_of(commerce, &attempt).await;
    }
    outcome_of(commerce, &attempt).await
}

fn lease_ended(attempt: &Payment) -> bool {
    attempt.lease_until.is_none_or(|until| until <= ids::now_ms())
}

/// Records what the provider said of `attempt`, and what it means for the
/// order, in one transaction; then tells the bot. The one writer of outcomes.
/// `order`: the attempt's order as the caller knows it, if it does (read
/// again otherwise); a stale one only loses the race to write, and is read
/// again.
pub(crate) async fn record_answer(
    commerce: &Commerce,
    attempt: &Payment,
    order: Option<Order>,
    answer: ProviderAnswer,
) -> StoreResult<PayResult> {
    let db = commerce.db();
    let mut answer = answer;
    // The attempt and its order as the caller read them; after a lost race, as they are now.
    let mut read = Some(attempt.clone());
    let mut known_order = order;
    for _ in 0..5 {
        let current = match read.take() {
            Some(fresh) => Some(fresh),
            None => payments::get(db, &attempt.business_id, &attempt.id).await?,
        };
        let Some(current) = current.filter(|p| p.status.in_flight()) else {
            // Resolved meanwhile by another request or recovery: say how.
            let resolved = payments::get(db, &attempt.business_id, &attempt.id).await?;
            return match resolved {
                Some(resolved) => outcome_of(commerce, &resolved).await,
                None => Ok(PayResult::NotPayable),
            };
        };
        let order = match known_order.take().filter(|o| o.id == current.order_id) {
            Some(order) => order,
            None => orders::get(db, &current.business_id, &current.order_id)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("payment {} has no order", current.id)))?,
        };
        let holds_slot = order.payment_id.as_deref() == Some(current.id.as_str());
        if let ProviderAnswer::Approved { reference, captured: captured @ false, .. } = &mut answer {
            let key = format!("{}:capture", current.id);
            if let Err(error) = commerce.provider().capture(reference, current.amount_minor, &key).await {
                tracing::warn!(payment = %current.id, "capture failed: {error}");
                answer = ProviderAnswer::Failed;
                continue;
            }
            *captured = true;
            commerce.failpoints().hit(failpoint::PAY_AFTER_CAPTURE).await;
        }
        let recorded = match &answer {
            ProviderAnswer::Approved { reference, card, .. } => {
                // Metering hook: the capture's ledger row, in the transaction that records it.
                let billed = commerce.meter().payment_captured(&current);
                let update = AttemptUpdate {
                    reference: Some(reference),
                    card: Some(card),
                    captured_minor: Some(current.amount_minor),
                    usage: billed.as_ref(),
                    ..AttemptUpdate::default()
                };
                if !(holds_slot && order.status == OrderStatus::Open) {
                    // Captured for an order that is no longer waiting for this
                    // payment: give the money back, and say the order is not payable.
                    return give_back(commerce, &current, reference, card).await;
                }
                let paid = OrderChange {
                    payment_status: PaymentStatus::Captured,
                    end_reservation: true,
                    event: Some(OrderEventKind::Paid),
                    ..OrderChange::keeping(&order)
                };
                payments::record(db, &current, AttemptStatus::Captured, &update, Some((&order, &paid))).await?
            }
            ProviderAnswer::Challenge { reference, card } => {
                let update = AttemptUpdate { reference: Some(reference), card: Some(card), ..AttemptUpdate::default() };
                if current.status == AttemptStatus::RequiresChallenge {
                    return Ok(PayResult::Challenge { payment_id: current.id.clone() });
                }
                payments::record(db, &current, AttemptStatus::RequiresChallenge, &update, None).await?
            }
            ProviderAnswer::Declined { code, card } => {
                let update = AttemptUpdate {
                    card: card.as_ref(),
                    decline_code: Some(code.as_str()),
                    ..AttemptUpdate::default()
                };
                let declined = holds_slot.then(|| OrderChange {
                    payment_status: PaymentStatus::Failed,
                    payment_id: None,
                    event: Some(OrderEventKind::PaymentFailed),
                    detail: Some(code.message().to_string()),
                    ..OrderChange::keeping(&order)
                });
                payments::record(db, &current, AttemptStatus::Declined, &update, declined.as_ref().map(|c| (&order, c)))
                    .await?
            }
            ProviderAnswer::Failed => {
                let freed = holds_slot.then(|| OrderChange { payment_id: None, ..OrderChange::keeping(&order) });
                let update = AttemptUpdate::default();
                payments::record(db, &current, AttemptStatus::Failed, &update, freed.as_ref().map(|c| (&order, c)))
                    .await?
            }
        };
        let Some((recorded, changed)) = recorded else { continue };
        if recorded.status == AttemptStatus::Captured {
            commerce.failpoints().hit(failpoint::PAY_AFTER_RECORD).await;
        }
        let order = match changed {
            Some(changed) => changed,
            None => order,
        };
        crate::commerce::events::dispatch_for(commerce, &order).await?;
        return Ok(outcome_with(&recorded, Some(order)));
    }
    Err(StoreError::Conflict("the payment kept changing; try again".into()))
}

/// Money captured for an order that no longer waits for it goes back at once.
async fn give_back(
    commerce: &Commerce,
    attempt: &Payment,
    reference: &str,
    card: &CardOnFile,
) -> StoreResult<PayResult> {
    let key = format!("{}:give-back", attempt.id);
    let refunded = commerce.provider().refund(reference, attempt.amount_minor, &key).await;
    tracing::warn!(payment = %attempt.id, ?refunded, "payment captured for an order no longer payable was refunded");
    let update = AttemptUpdate { reference: Some(reference), card: Some(card), ..AttemptUpdate::default() };
    payments::record(commerce.db(), attempt, AttemptStatus::Failed, &update, None).await?;
    Ok(PayResult::NotPayable)
}

/// How a recorded attempt ended, as the customer is told.
async fn outcome_of(commerce: &Commerce, attempt: &Payment) -> StoreResult<PayResult> {
    let order = orders::get(commerce.db(), &attempt.business_id, &attempt.order_id).await?;
    Ok(outcome_with(attempt, order))
}

/// [`outcome_of`] with the attempt's order as it now stands.
fn outcome_with(attempt: &Payment, order: Option<Order>) -> PayResult {
    match attempt.status {
        AttemptStatus::Captured => match order {
            Some(order) => PayResult::Paid { payment_id: attempt.id.clone(), order: Box::new(order) },
            None => PayResult::NotPayable,
        },
        AttemptStatus::RequiresChallenge => PayResult::Challenge { payment_id: attempt.id.clone() },
        AttemptStatus::Declined => PayResult::Declined {
            code: attempt.decline_code.as_deref().and_then(DeclineCode::parse).unwrap_or(DeclineCode::GenericDecline),
            order: order.map(Box::new),
        },
        AttemptStatus::Failed => PayResult::ProcessorError,
        AttemptStatus::Processing => PayResult::NotPayable,
    }
}
