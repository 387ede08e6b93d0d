//! After an order changed: the one step that tells the shop's bot (which
//! tells the customer in the chat). The business's webhook needs no step: it
//! is queued by the transaction that made the change (`store::orders::apply`).
//!
//! Each change the bot hears of is an `order_events` row written with the
//! change, claimed under a lease by whoever dispatches it (the request that
//! made the change, right after; or the sweeper, when a crash came first),
//! and marked done after the bot was told. A crash between telling and
//! marking tells the bot twice, never zero times.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::Commerce;
use crate::store::StoreResult;
use crate::store::orders::{self, Order, OrderEvent};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How long a dispatcher owns the events it claimed.
const LEASE: Duration = Duration::from_secs(60);

/// Who hears of order changes: the chat service, which runs the bot's
/// `handle-event` and stores its replies. Commerce knows no chat.
pub trait OrderObserver: Send + Sync {
    /// `event` happened to `order` (as it stands now). An error is logged and
    /// the event retried later.
    fn order_changed<'a>(
        &'a self,
        business_id: &'a str,
        order: &'a Order,
        event: &'a OrderEvent,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// An observer that hears nothing (for tools that run commerce without chat).
#[derive(Debug, Default)]
pub struct NoObserver;

impl OrderObserver for NoObserver {
    fn order_changed<'a>(&'a self, _: &'a str, _: &'a Order, _: &'a OrderEvent) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// [`dispatch`] for the order a change just returned: its events, told with
/// the order as it is (no second read).
pub async fn dispatch_for(commerce: &Commerce, order: &Order) -> StoreResult<usize> {
    let db = commerce.db();
    let now = crate::ids::now_ms();
    let claimed = orders::claim_undispatched(db, Some(&order.id), now, now + super::millis(LEASE), 20).await?;
    let mut done = 0;
    for event in &claimed {
        done += usize::from(tell(commerce, order, event).await?);
    }
    Ok(done)
}

/// Tells the observer of one claimed event and marks it done; false (left for
/// a later dispatch) when the observer failed.
async fn tell(commerce: &Commerce, order: &Order, event: &OrderEvent) -> StoreResult<bool> {
    match commerce.observer.order_changed(&event.business_id, order, event).await {
        Ok(()) => {
            orders::mark_dispatched(commerce.db(), &event.id).await?;
            Ok(true)
        }
        Err(error) => {
            tracing::warn!(order = %order.id, kind = %event.kind, "telling the bot about an order failed: {error}");
            Ok(false)
        }
    }
}

/// Does the follow-ups of undispatched events: of one order (right after a
/// change), or of every order whose dispatcher died. Returns how many.
pub async fn dispatch(commerce: &Commerce, order_id: Option<&str>) -> StoreResult<usize> {
    let db = commerce.db();
    let mut done = 0;
    loop {
        let now = crate::ids::now_ms();
        let claimed = orders::claim_undispatched(db, order_id, now, now + super::millis(LEASE), 20).await?;
        if claimed.is_empty() {
            return Ok(done);
        }
        for event in &claimed {
            let Some(order) = orders::get(db, &event.business_id, &event.order_id).await? else { continue };
            done += usize::from(tell(commerce, &order, event).await?);
        }
        if order_id.is_some() {
            return Ok(done);
        }
    }
}
