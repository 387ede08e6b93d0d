//! Refunds of captured payments: the intent (amount reserved on the payment,
//! a `pending` refund under the request's key) is recorded before the
//! provider is called with the refund's id as its idempotency key; a refund
//! left pending by a crash is retried with that key (the provider moves the
//! money once) and then recorded, by the retried request or by the sweeper.

use super::ProviderError;
use crate::commerce::Commerce;
use crate::commerce::states::{AttemptStatus, OrderEventKind, PaymentStatus, RefundStatus};
use crate::failpoint;
use crate::ids;
use crate::store::orders::{self, Order, OrderChange};
use crate::store::payments::{self, Payment, Refund};
use crate::store::{StoreError, StoreResult};

/// A refund done: the order and payment as they now stand.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Refunded {
    pub order: Order,
    pub payment: Payment,
    pub refund: Refund,
}

#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    #[error("the order was not found")]
    NotFound,
    #[error("the order has no captured payment to refund")]
    NotPaid,
    #[error("a refund must be between 1 and the {left} minor units captured and not yet refunded")]
    Exceeds { left: i64 },
    #[error("a concurrent refund used up the captured amount")]
    Concurrent,
    #[error("a refund under this request is still being processed")]
    InProgress,
    /// The provider failed; nothing was refunded, and the request may be retried.
    #[error("{0}")]
    Processor(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a refund request came.
#[derive(Debug, Clone, Copy)]
pub struct RefundRequest<'a> {
    pub amount_minor: i64,
    /// The request's idempotency key: its retry resumes its refund.
    pub key: Option<&'a str>,
    /// The request's key was taken over from an owner that died: a refund
    /// it left pending is carried on at once (the provider moves the money
    /// once per refund), not after the refund's own lease.
    pub resumed: bool,
}

/// Refunds part of a paid order, once per request key.
pub async fn refund(
    commerce: &Commerce,
    business_id: &str,
    order_id: &str,
    request: RefundRequest<'_>,
) -> Result<Refunded, RefundError> {
    let RefundRequest { amount_minor, key: request_key, resumed } = request;
    let db = commerce.db();
    orders::get(db, business_id, order_id).await?.ok_or(RefundError::NotFound)?;
    if let Some(key) = request_key
        && let Some(started) = payments::refund_by_request_key(db, order_id, key).await?
    {
        return resume(commerce, started, resumed).await;
    }
    let payments = payments::of_order(db, business_id, order_id).await?;
    let Some(payment) = payments.into_iter().find(|p| p.status == AttemptStatus::Captured) else {
        return Err(RefundError::NotPaid);
    };
    let left = payment.captured_minor - payment.refunded_minor;
    if amount_minor <= 0 || amount_minor > left {
        return Err(RefundError::Exceeds { left });
    }
    let lease = commerce.lease_from(ids::now_ms());
    let Some(started) = payments::start_refund(db, &payment, amount_minor, request_key, lease).await? else {
        return Err(RefundError::Concurrent);
    };
    commerce.failpoints().hit(failpoint::REFUND_AFTER_INTENT).await;
    execute(commerce, started).await
}

async fn resume(commerce: &Commerce, refund: Refund, resumed: bool) -> Result<Refunded, RefundError> {
    match refund.status {
        RefundStatus::Pending if !resumed && refund.lease_until.is_some_and(|until| until > ids::now_ms()) => {
            Err(RefundError::InProgress)
        }
        RefundStatus::Pending => execute(commerce, refund).await,
        RefundStatus::Succeeded | RefundStatus::Failed => done(commerce, refund).await,
    }
}

/// Calls the provider for a pending refund (again, after a crash: the same
/// key moves the money once) and records the outcome.
async fn execute(commerce: &Commerce, refund: Refund) -> Result<Refunded, RefundError> {
    let db = commerce.db();
    let payment = payments::get(db, &refund.business_id, &refund.payment_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("refund {} has no payment", refund.id)))?;
    let reference = payment.provider_reference.clone().unwrap_or_default();
    let outcome = commerce.provider().refund(&reference, refund.amount_minor, &refund.id).await;
    commerce.failpoints().hit(failpoint::REFUND_AFTER_PROVIDER).await;
    let failure = match &outcome {
        Ok(()) => None,
        Err(ProviderError::Processing) => {
            // The provider did not answer: the refund stays pending, to be
            // retried with the same key (at once by the request's retry, or
            // by the sweeper).
            payments::give_up_refund_lease(db, &refund.id).await?;
            return Err(RefundError::Processor(ProviderError::Processing.to_string()));
        }
        Err(refused) => Some(refused.to_string()),
    };
    for _ in 0..5 {
        let order = orders::get(db, &refund.business_id, &refund.order_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("refund {} has no order", refund.id)))?;
        let change = match &failure {
            Some(_) => None,
            None => Some(refunded_change(db, &order, &payment, &refund).await?),
        };
        // Metering hook: the refund's ledger row, in the transaction that records its success.
        let billed = change.as_ref().and_then(|c| {
            commerce.meter().refund_succeeded(&refund, &payment, c.payment_status == PaymentStatus::Refunded)
        });
        let finished = payments::finish_refund(
            db,
            &refund,
            failure.as_deref().map_or(Ok(()), Err),
            change.as_ref().map(|c| (&order, c)),
            billed.as_ref(),
        )
        .await?;
        match finished {
            Some((finished, _)) => {
                commerce.failpoints().hit(failpoint::REFUND_AFTER_RECORD).await;
                crate::commerce::events::dispatch(commerce, Some(&finished.order_id)).await?;
                return match failure {
                    None => done(commerce, finished).await,
                    Some(reason) => Err(RefundError::Processor(reason)),
                };
            }
            None => {
                let current = payments::get_refund(db, &refund.id).await?;
                if let Some(current) = current.filter(|r| r.status != RefundStatus::Pending) {
                    return done(commerce, current).await;
                }
            }
        }
    }
    Err(StoreError::Conflict("the order kept changing; try again".into()).into())
}

/// The order's money after `refund` succeeds on top of the refunds before it.
async fn refunded_change(
    db: &crate::store::Db,
    order: &Order,
    payment: &Payment,
    refund: &Refund,
) -> StoreResult<OrderChange> {
    let given_back = payments::refunded_minor(db, &payment.id).await?.saturating_add(refund.amount_minor);
    let payment_status =
        if given_back >= payment.captured_minor { PaymentStatus::Refunded } else { PaymentStatus::PartiallyRefunded };
    if !order.payment_status.can_become(payment_status) {
        return Err(StoreError::Corrupt(format!("order {} cannot become {payment_status}", order.id)));
    }
    Ok(OrderChange {
        payment_status,
        event: Some(OrderEventKind::Refunded),
        detail: Some(crate::money::format(refund.amount_minor, &payment.currency)),
        ..OrderChange::keeping(order)
    })
}

async fn done(commerce: &Commerce, refund: Refund) -> Result<Refunded, RefundError> {
    if let Some(reason) = &refund.failure {
        return Err(RefundError::Processor(reason.clone()));
    }
    let db = commerce.db();
    let order = orders::get(db, &refund.business_id, &refund.order_id).await?.ok_or(RefundError::NotFound)?;
    let payment = payments::get(db, &refund.business_id, &refund.payment_id).await?.ok_or(RefundError::NotFound)?;
    Ok(Refunded { order, payment, refund })
}

/// Finishes refunds whose request died; returns how many.
pub(crate) async fn finish_unfinished(commerce: &Commerce, now: i64) -> StoreResult<usize> {
    let mut finished = 0;
    for refund in payments::unfinished_refunds(commerce.db(), now, 100).await? {
        match execute(commerce, refund).await {
            Ok(_) => finished += 1,
            Err(RefundError::Store(e)) => return Err(e),
            Err(other) => tracing::warn!("finishing an interrupted refund: {other}"),
        }
    }
    Ok(finished)
}
