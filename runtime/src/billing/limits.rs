//! What a business's plan does when it nears or passes its limits: the
//! `usage.threshold` webhook at 50, 80 and 100 % of its spending cap and of
//! each allowance (messages, plugin compute), announced once per period, and
//! the one check of whether a business-initiated billable send may go out
//! ([`business_send_allowed`]): refused, with a typed reason, when the plan
//! says so and the business is over its cap or past due. Replies to a
//! customer are never checked here: a customer mid-order is never abandoned.
//!
//! Thresholds are watched by the finaliser's pass (every minute), from the
//! live draft, not on the metering path, which stays one statement.

use serde::Serialize;

use super::Billing;
use super::invoices::{self, BillingError};
use crate::domain::billing::{LimitPolicy, LineKind, Metric};
use crate::store::{invoices as stored_invoices, plans as stored_plans, usage, webhooks};

/// The thresholds announced, in percent.
pub const THRESHOLDS: [i64; 3] = [50, 80, 100];

/// The subject of the spending cap's thresholds.
pub const SPENDING_CAP: &str = "spending_cap";

/// Why a business-initiated billable send was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SendRefused {
    #[error("the business has reached its spending cap for this period")]
    OverCap,
    #[error("the business has an invoice past due")]
    PastDue,
}

/// Whether `business_id` may start a billable conversation now (a template
/// or marketing send; not a reply within a customer's window).
pub async fn business_send_allowed(
    billing: &Billing,
    business_id: &str,
    now: i64,
) -> Result<Result<(), SendRefused>, BillingError> {
    if !billing.config().enabled {
        return Ok(Ok(()));
    }
    let period = billing.calendar().containing(now)?;
    let mut conn = billing.db().pool().acquire().await.map_err(crate::store::StoreError::from)?;
    let assignments = stored_plans::assignments_of(&mut conn, business_id).await?;
    let Some(assignment) = super::plans::assignment_for(&assignments, period.end) else { return Ok(Ok(())) };
    let versions = stored_plans::versions_of(&mut conn, &assignment.plan_id).await?;
    drop(conn);
    let Some(plan) = super::plans::version_for(&versions, assignment, period.start) else { return Ok(Ok(())) };
    let db = billing.db();
    if plan.terms.when_over_cap == LimitPolicy::BlockBusinessSends
        && usage::crossed(db, business_id, &period.label, SPENDING_CAP, 100).await?
    {
        return Ok(Err(SendRefused::OverCap));
    }
    if plan.terms.when_past_due == LimitPolicy::BlockBusinessSends
        && stored_invoices::has_past_due(db, business_id).await?
    {
        return Ok(Err(SendRefused::PastDue));
    }
    Ok(Ok(()))
}

/// How long after it took its time a usage row's transaction may still be
/// committing.
const LATE_COMMIT_MARGIN_MS: i64 = 60_000;

/// Announces the thresholds crossed in the period `now` falls in by every
/// business on a plan whose usage grew since the last pass; returns how many
/// were announced.
pub async fn watch_thresholds(billing: &Billing, now: i64) -> Result<usize, BillingError> {
    if !billing.config().enabled {
        return Ok(0);
    }
    let period = billing.calendar().containing(now)?;
    // Only a business whose usage grew can have crossed a threshold: those
    // with usage recorded since the previous pass began (less a margin for a
    // transaction that began before it and committed after), or since the
    // period began on a node's first pass. Announcing is idempotent, so the
    // overlap costs nothing but a look.
    let previous = billing.thresholds_watched_from();
    let since =
        if previous == 0 { period.start } else { previous.saturating_sub(LATE_COMMIT_MARGIN_MS).max(period.start) };
    let mut announced = 0;
    for business_id in usage::businesses_recorded_since(billing.db(), since).await? {
        let Some((draft, terms)) = invoices::draft_with_terms(billing, &business_id, now).await? else { continue };
        let charges: i64 = draft
            .lines
            .iter()
            .filter(|l| l.usage_period == draft.period && !matches!(l.kind, LineKind::Adjustment | LineKind::Cap))
            .map(|l| l.amount_minor)
            .sum();
        let used = |metric: Metric| {
            draft
                .lines
                .iter()
                .filter(|l| l.line_key == metric.as_str() && l.usage_period == draft.period)
                .map(|l| l.quantity)
                .sum::<i64>()
        };
        let mut subjects = vec![(SPENDING_CAP, charges, terms.spending_cap_minor)];
        for (metric, included) in
            [(Metric::MessagesHandled, terms.messages.included), (Metric::PluginCpuMs, terms.plugin_cpu_ms.included)]
        {
            subjects.push((metric.as_str(), used(metric), Some(included).filter(|i| *i > 0)));
        }
        for (subject, used, limit) in subjects {
            let Some(limit) = limit.filter(|l| *l > 0) else { continue };
            for percent in THRESHOLDS {
                // used / limit >= percent %, in integers.
                if i128::from(used) * 100 < i128::from(limit) * i128::from(percent) {
                    break;
                }
                let payload = webhooks::event_payload(
                    "usage.threshold",
                    serde_json::json!({
                        "period": draft.period, "subject": subject, "percent": percent, "used": used, "limit": limit,
                    }),
                );
                if usage::cross_threshold(billing.db(), &business_id, &draft.period, subject, percent, &payload).await?
                {
                    announced += 1;
                }
            }
        }
    }
    billing.thresholds_watched(now);
    Ok(announced)
}
