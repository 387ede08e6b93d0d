//! Paying an order: authorize with the provider, pass a 3-D Secure challenge
//! when the issuer asks, capture, and record the outcome on the payment and the
//! order. One payment at a time per order (see `store::payments::start`).

use super::{Authorization, CardInput, PaymentProvider};
use crate::store::orders::Order;
use crate::store::{Db, StoreResult, payments};

/// How a payment attempt ended.
#[derive(Debug, Clone)]
pub enum PayResult {
    /// Captured; `order` as it now stands.
    Paid { payment_id: String, order: Box<Order> },
    /// The customer must pass the issuer's challenge for `payment_id`.
    Challenge { payment_id: String },
    /// `order` as it now stands (payable again while its reservation holds).
    Declined { code: super::DeclineCode, order: Option<Box<Order>> },
    /// The processor failed; the same request may be retried.
    ProcessorError,
    /// The order cannot be paid now (paid, being paid, cancelled or expired).
    NotPayable,
}

pub async fn pay(
    db: &Db,
    provider: &dyn PaymentProvider,
    business_id: &str,
    order: &Order,
    card: &CardInput,
    idempotency_key: &str,
) -> StoreResult<PayResult> {
    let Some(payment_id) = payments::start(db, business_id, &order.id, order.total_minor, &order.currency).await?
    else {
        return Ok(PayResult::NotPayable);
    };
    let provider_key = format!("{}:{idempotency_key}", order.id);
    let answer = provider.authorize(card, order.total_minor, &order.currency, &provider_key).await;
    settle(db, provider, order, &payment_id, answer).await
}

/// The customer passed (or failed) the challenge of `payment_id`.
pub async fn complete_challenge(
    db: &Db,
    provider: &dyn PaymentProvider,
    business_id: &str,
    order: &Order,
    payment_id: &str,
    passed: bool,
) -> StoreResult<PayResult> {
    let Some(payment) = payments::get(db, business_id, payment_id).await? else { return Ok(PayResult::NotPayable) };
    let Some(reference) =
        payment.provider_reference.filter(|_| payment.status == "requires_challenge" && payment.order_id == order.id)
    else {
        return Ok(PayResult::NotPayable);
    };
    let answer = provider.complete_challenge(&reference, passed).await;
    if matches!(answer, Err(super::ProviderError::Refused(_))) {
        // Completed already (a second click): nothing more to do here.
        return Ok(PayResult::NotPayable);
    }
    settle(db, provider, order, payment_id, answer).await
}

async fn settle(
    db: &Db,
    provider: &dyn PaymentProvider,
    order: &Order,
    payment_id: &str,
    answer: Result<Authorization, super::ProviderError>,
) -> StoreResult<PayResult> {
    match answer {
        Ok(Authorization::Approved { reference, card }) => {
            if provider.capture(&reference, order.total_minor).await.is_err() {
                payments::record_unsuccessful(db, &order.id, payment_id, Some(&card), None).await?;
                return Ok(PayResult::ProcessorError);
            }
            if let Some(paid) =
                payments::record_captured(db, &order.id, payment_id, &reference, &card, order.total_minor).await?
            {
                Ok(PayResult::Paid { payment_id: payment_id.to_string(), order: Box::new(paid) })
            } else {
                // The order was cancelled while the customer was paying: give it back.
                let refunded = provider.refund(&reference, order.total_minor).await;
                tracing::warn!(order = %order.id, ?refunded, "payment captured for a cancelled order was refunded");
                payments::record_unsuccessful(db, &order.id, payment_id, Some(&card), None).await?;
                Ok(PayResult::NotPayable)
            }
        }
        Ok(Authorization::ChallengeRequired { reference, card }) => {
            payments::record_challenge(db, payment_id, &reference, &card).await?;
            Ok(PayResult::Challenge { payment_id: payment_id.to_string() })
        }
        Ok(Authorization::Declined { code, card }) => {
            let order =
                payments::record_unsuccessful(db, &order.id, payment_id, card.as_ref(), Some(code.as_str())).await?;
            Ok(PayResult::Declined { code, order: order.map(Box::new) })
        }
        Err(error) => {
            tracing::warn!(order = %order.id, "payment processor error: {error}");
            payments::record_unsuccessful(db, &order.id, payment_id, None, None).await?;
            Ok(PayResult::ProcessorError)
        }
    }
}
