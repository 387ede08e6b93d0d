//! The states of an order and of its payments and refunds, as types. Each is
//! decoded once, where it is read from the database (`store/`), and written
//! back with [`as_str`](OrderStatus::as_str); JSON shows the same snake_case
//! words. Which changes are legal is said here (`can_become`) and decided by
//! the lifecycle owners (`commerce::orders`, `commerce::payments::flow`); SQL
//! `WHERE` clauses only enforce what they decided, so a racing node loses.

use super::stored_state;

stored_state! {
    /// The order's own life: `open` until it is `completed` or `cancelled`.
    OrderStatus("order status") { Open = "open", Completed = "completed", Cancelled = "cancelled" }
}

stored_state! {
    /// What the money of an order says, summed over its payments and refunds.
    PaymentStatus("payment status") {
        Pending = "pending",
        Authorized = "authorized",
        Captured = "captured",
        /// The last attempt was declined; the order may be paid again.
        Failed = "failed",
        Refunded = "refunded",
        PartiallyRefunded = "partially_refunded",
    }
}

stored_state! {
    FulfillmentStatus("fulfilment status") { Unfulfilled = "unfulfilled", Shipped = "shipped", Delivered = "delivered" }
}

stored_state! {
    /// One payment attempt of an order.
    AttemptStatus("payment attempt status") {
        /// Recorded before the provider is called; owned by the request that
        /// started it until its lease ends, then by the reconciler.
        Processing = "processing",
        /// The issuer asked for a 3-D Secure challenge; the customer answers it.
        RequiresChallenge = "requires_challenge",
        Captured = "captured",
        Declined = "declined",
        /// The provider failed or never saw the attempt; nothing was taken.
        Failed = "failed",
    }
}

stored_state! {
    /// A refund of (part of) a captured payment.
    RefundStatus("refund status") {
        /// Recorded before the provider is called; retried with the same key
        /// after a crash.
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
    }
}

stored_state! {
    /// What happened to an order: its timeline, and what its follow-ups
    /// (the business's webhook, the bot's event) report.
    OrderEventKind("order event") {
        Created = "created",
        Paid = "paid",
        PaymentFailed = "payment_failed",
        Cancelled = "cancelled",
        Expired = "expired",
        Shipped = "shipped",
        Delivered = "delivered",
        Refunded = "refunded",
    }
}

impl OrderStatus {
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!((self, next), (Open, Completed) | (Open, Cancelled))
    }
}

impl PaymentStatus {
    pub fn can_become(self, next: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, next),
            (Pending, Authorized)
                | (Pending, Captured)
                | (Pending, Failed)
                | (Failed, Authorized)
                | (Failed, Captured)
                | (Failed, Failed)
                | (Authorized, Captured)
                | (Authorized, Failed)
                | (Captured, Refunded)
                | (Captured, PartiallyRefunded)
                | (PartiallyRefunded, PartiallyRefunded)
                | (PartiallyRefunded, Refunded)
        )
    }

    /// Money was taken (and not all of it given back).
    pub fn is_paid(self) -> bool {
        matches!(self, PaymentStatus::Captured | PaymentStatus::PartiallyRefunded)
    }

    /// No money was taken: the order may still be paid (or cancelled).
    pub fn is_unpaid(self) -> bool {
        matches!(self, PaymentStatus::Pending | PaymentStatus::Failed)
    }
}

impl FulfillmentStatus {
    pub fn can_become(self, next: FulfillmentStatus) -> bool {
        use FulfillmentStatus::*;
        matches!((self, next), (Unfulfilled, Shipped) | (Shipped, Delivered))
    }
}

impl AttemptStatus {
    pub fn can_become(self, next: AttemptStatus) -> bool {
        use AttemptStatus::*;
        matches!(
            (self, next),
            (Processing, RequiresChallenge | Captured | Declined | Failed)
                | (RequiresChallenge, Captured | Declined | Failed)
        )
    }

    /// Still owned by a request or the reconciler: no outcome yet.
    pub fn in_flight(self) -> bool {
        matches!(self, AttemptStatus::Processing | AttemptStatus::RequiresChallenge)
    }
}

impl OrderEventKind {
    /// Whether the shop's bot is told (and so tells the customer in the chat).
    pub fn tells_bot(self) -> bool {
        matches!(self, OrderEventKind::Paid | OrderEventKind::PaymentFailed | OrderEventKind::Shipped)
    }

    /// The business's webhook event type, if it gets one.
    pub fn webhook_type(self) -> Option<&'static str> {
        Some(match self {
            OrderEventKind::Created => return None,
            OrderEventKind::Paid => "order.paid",
            OrderEventKind::PaymentFailed => "order.payment_failed",
            // An expired reservation cancels the order, as the business sees it.
            OrderEventKind::Cancelled | OrderEventKind::Expired => "order.cancelled",
            OrderEventKind::Shipped => "order.shipped",
            OrderEventKind::Delivered => "order.delivered",
            OrderEventKind::Refunded => "order.refunded",
        })
    }
}

impl RefundStatus {
    pub fn can_become(self, next: RefundStatus) -> bool {
        matches!((self, next), (RefundStatus::Pending, RefundStatus::Succeeded | RefundStatus::Failed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_payment_and_fulfilment_move_only_forward() {
        use FulfillmentStatus as F;
        use OrderStatus as O;
        use PaymentStatus as P;
        for (from, to, legal) in [
            (O::Open, O::Cancelled, true),
            (O::Open, O::Completed, true),
            (O::Cancelled, O::Open, false),
            (O::Completed, O::Cancelled, false),
        ] {
            assert_eq!(from.can_become(to), legal, "order {from:?} -> {to:?}");
        }
        for (from, to, legal) in [
            (P::Pending, P::Authorized, true),
            (P::Pending, P::Captured, true),
            (P::Authorized, P::Captured, true),
            (P::Failed, P::Authorized, true),
            (P::Captured, P::Refunded, true),
            (P::Captured, P::Pending, false),
            (P::Refunded, P::Captured, false),
            (P::PartiallyRefunded, P::Refunded, true),
        ] {
            assert_eq!(from.can_become(to), legal, "payment {from:?} -> {to:?}");
        }
        for (from, to, legal) in [
            (F::Unfulfilled, F::Shipped, true),
            (F::Shipped, F::Delivered, true),
            (F::Unfulfilled, F::Delivered, false),
            (F::Delivered, F::Shipped, false),
        ] {
            assert_eq!(from.can_become(to), legal, "fulfilment {from:?} -> {to:?}");
        }
    }

    #[test]
    fn an_attempt_ends_once() {
        use AttemptStatus as A;
        for from in A::ALL {
            for to in A::ALL {
                let legal = from.can_become(*to);
                assert_eq!(
                    legal,
                    from.in_flight() && !to.in_flight() || (*from, *to) == (A::Processing, A::RequiresChallenge),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn states_read_back_what_they_write() {
        for state in OrderEventKind::ALL {
            assert_eq!(state.as_str().parse::<OrderEventKind>(), Ok(*state));
            let json = serde_json::to_value(state).expect("serializes");
            assert_eq!(json, state.as_str());
        }
        assert_eq!(AttemptStatus::try_from("requires_challenge".to_string()), Ok(AttemptStatus::RequiresChallenge));
        assert!(PaymentStatus::try_from("paid".to_string()).is_err());
    }
}
