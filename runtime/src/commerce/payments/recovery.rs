//! Recovery of the money path: a payment attempt whose request died (its
//! lease ended while it was still `processing`), or whose challenge answer was
//! lost, is resolved by asking the provider what it knows under the attempt's
//! idempotency key, then recorded through the same `flow::record_answer`
//! as a live answer, which drives the order to the state the money says.
//!
//! | the provider says                   | recovery does                            |
//! |-------------------------------------|------------------------------------------|
//! | never saw the key                   | the attempt failed; the order is payable |
//! | declined                            | records the decline                      |
//! | wants a challenge                   | records it; the customer may answer      |
//! | approved, not captured              | captures (same key as the request), paid |
//! | captured                            | records it: the order is paid            |
//! | does not answer                     | leaves it for the next sweep             |

use super::ChargeOutcome;
use super::flow::{self, ProviderAnswer};
use crate::commerce::Commerce;
use crate::commerce::states::AttemptStatus;
use crate::store::StoreResult;
use crate::store::payments::{self, Payment};

/// Resolves `attempt` from what the provider knows. True when its state
/// changed (the caller should read the order again).
pub async fn reconcile(commerce: &Commerce, attempt: &Payment) -> StoreResult<bool> {
    let key = attempt.provider_key.as_deref().unwrap_or(&attempt.id);
    let state = match commerce.provider().retrieve(key).await {
        Ok(state) => state,
        Err(error) => {
            tracing::warn!(payment = %attempt.id, "the provider could not say what became of a payment: {error}");
            return Ok(false);
        }
    };
    let answer = match state {
        None => ProviderAnswer::Failed,
        Some(state) => match (state.outcome, state.card) {
            (ChargeOutcome::Declined(code), card) => ProviderAnswer::Declined { code, card },
            (ChargeOutcome::ChallengeRequired, Some(card)) => {
                if attempt.status == AttemptStatus::RequiresChallenge {
                    return Ok(false);
                }
                ProviderAnswer::Challenge { reference: state.reference, card }
            }
            (ChargeOutcome::Approved, Some(card)) => ProviderAnswer::Approved {
                reference: state.reference,
                card,
                captured: state.captured_minor >= attempt.amount_minor,
            },
            (_, None) => {
                tracing::error!(payment = %attempt.id, "the provider approved a payment without a card");
                return Ok(false);
            }
        },
    };
    tracing::info!(payment = %attempt.id, "resolving a payment whose request did not finish");
    flow::record_answer(commerce, attempt, None, answer).await?;
    Ok(true)
}

/// Resolves every attempt no request owns any more; returns how many changed.
pub(crate) async fn reconcile_unresolved(commerce: &Commerce, now: i64) -> StoreResult<usize> {
    let mut resolved = 0;
    for attempt in payments::unresolved(commerce.db(), now, 100).await? {
        if reconcile(commerce, &attempt).await? {
            resolved += 1;
        }
    }
    Ok(resolved)
}
