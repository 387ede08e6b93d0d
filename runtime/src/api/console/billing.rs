//! The console's billing page (the owner's): the current period's usage to
//! date, the upcoming invoice (the live draft) with the plan that prices it
//! and its limits, the finalised invoices with their state, an invoice with
//! its lines, and its PDF or CSV to download. Every figure is the JSON API's
//! (`api/billing.rs`'s usage report and invoice files, `billing::invoices`'s
//! draft): this page only shows them, money in the shop's locale.

use axum::extract::{Path, State};
use axum::response::{Html, Response};

use super::super::billing::{Format, invoice_document, invoice_file, usage_report};
use super::super::error::ApiError;
use super::words::{Lang, Word};
use super::{ConsoleError, Page, Signed, escape, layout};
use crate::App;
use crate::billing::invoices::{self as billed, Draft};
use crate::domain::billing::PlanTerms;
use crate::domain::staff::Action;
use crate::money;
use crate::store::invoices::{self, InvoiceLine};

/// Invoices listed at most (the API's default page).
const LISTED: u32 = 50;

fn amount(minor: i64, currency: &str, locale: &str) -> String {
    escape(&money::format_localized(minor, currency, locale))
}

/// Basis points as a percentage: `22%`, `5.5%`.
fn percent(bps: i64) -> String {
    let (whole, rest) = (bps / 100, (bps % 100).abs());
    match rest {
        0 => format!("{whole}%"),
        r if r % 10 == 0 => format!("{whole}.{}%", r / 10),
        r => format!("{whole}.{r:02}%"),
    }
}

/// A table of invoice lines with its totals (each a label, already HTML, and an amount).
fn lines_table(
    id: &str,
    lines: &[InvoiceLine],
    totals: &[(String, i64)],
    currency: &str,
    locale: &str,
    lang: Lang,
) -> String {
    let w = |word: Word| escape(word.in_(lang));
    let rows: String = lines
        .iter()
        .map(|line| {
            format!(
                "<tr data-line=\"{}\"><td>{}</td><td>{}</td><td class=num>{}</td><td class=num>{}</td></tr>",
                escape(&line.line_key),
                escape(&line.description),
                escape(&line.usage_period),
                line.quantity,
                amount(line.amount_minor, currency, locale)
            )
        })
        .collect();
    let sums: String = totals
        .iter()
        .map(|(label, minor)| {
            format!(
                "<tr><th>{label}</th><td></td><td></td><td class=num>{}</td></tr>",
                amount(*minor, currency, locale)
            )
        })
        .collect();
    format!(
        "<table id={id}><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>\
         <tbody>{rows}</tbody><tfoot>{sums}</tfoot></table>",
        w(Word::Description),
        w(Word::Period),
        w(Word::Quantity),
        w(Word::Amount),
    )
}

/// The subtotal, tax and total rows of an invoice or a draft.
fn totals(lang: Lang, subtotal: i64, tax_label: &str, tax_rate_bps: i64, tax: i64, total: i64) -> Vec<(String, i64)> {
    vec![
        (escape(Word::Subtotal.in_(lang)), subtotal),
        (format!("{} {}", escape(tax_label), escape(&percent(tax_rate_bps))), tax),
        (escape(Word::Total.in_(lang)), total),
    ]
}

/// The upcoming invoice: its lines and totals, and what could not be priced.
fn draft_html(draft: &Draft, locale: &str, lang: Lang) -> String {
    let sums =
        totals(lang, draft.subtotal_minor, &draft.tax_label, draft.tax_rate_bps, draft.tax_minor, draft.total_minor);
    let unpriced = if draft.unpriced.is_empty() {
        String::new()
    } else {
        let list = draft.unpriced.iter().map(String::as_str).map(escape).collect::<Vec<_>>().join(", ");
        format!("<p class=note id=unpriced>{}</p>", Word::Unpriced.fill(lang, &[list]))
    };
    format!(
        "<p id=upcoming-total>{}</p>{}{unpriced}",
        Word::DraftTotal.fill(lang, &[escape(&draft.period), amount(draft.total_minor, &draft.currency, locale)]),
        lines_table("upcoming", &draft.lines, &sums, &draft.currency, locale, lang),
    )
}

/// The plan version pricing the period and the limits it sets.
fn plan_html(draft: &Draft, terms: &PlanTerms, locale: &str, lang: Lang) -> String {
    let w = |word: Word| escape(word.in_(lang));
    let currency = &draft.currency;
    let cap = match terms.spending_cap_minor {
        Some(cap) => amount(cap, currency, locale),
        None => w(Word::NoCap),
    };
    let rows = [
        (Word::PlanVersion, escape(&draft.plan_version_id)),
        (Word::MonthlyFee, amount(terms.monthly_fee_minor, currency, locale)),
        (Word::SpendingCap, cap),
        (Word::MessagesIncluded, terms.messages.included.to_string()),
        (Word::BotComputeIncluded, terms.plugin_cpu_ms.included.to_string()),
        (Word::InvoicesDue, Word::DaysCount.fill(lang, &[terms.due_days.to_string()])),
    ];
    let items: String = rows.iter().map(|(word, value)| format!("<dt>{}</dt><dd>{value}</dd>", w(*word))).collect();
    format!("<dl id=plan>{items}</dl>")
}

pub async fn page(State(app): State<App>, signed: Signed) -> Result<Html<String>, ConsoleError> {
    signed.require(Action::ManageBilling)?;
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let business = &signed.business;
    let locale = &business.locale;
    let usage = usage_report(&app, &business.id, None).await?;
    let drafted =
        billed::draft_with_terms(&app.billing, &business.id, crate::ids::now_ms()).await.map_err(ApiError::from)?;
    let listed = invoices::list(&app.db, &business.id, LISTED).await?;

    let metrics: String = usage
        .metrics
        .iter()
        .map(|total| {
            format!(
                "<tr data-metric=\"{0}\"><td>{0}</td><td class=num>{1}</td><td class=num>{2}</td></tr>",
                escape(total.metric.as_str()),
                total.events,
                total.quantity
            )
        })
        .collect();
    let usage_html = if metrics.is_empty() {
        format!("<p id=usage class=note>{}</p>", w(Word::NoUsageYet))
    } else {
        format!(
            "<table id=usage><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{metrics}</tbody></table>",
            w(Word::Metric),
            w(Word::Events),
            w(Word::Quantity),
        )
    };
    let (upcoming, plan) = match &drafted {
        Some((draft, terms)) => (draft_html(draft, locale, lang), plan_html(draft, terms, locale, lang)),
        None => (format!("<p id=no-plan class=note>{}</p>", w(Word::NoPlan)), String::new()),
    };
    let rows: String = listed
        .iter()
        .map(|invoice| {
            format!(
                "<tr data-status=\"{0}\"><td><a href=\"/console/billing/invoices/{1}\">#{2}</a></td><td>{3}</td>\
                 <td class=num>{4}</td><td>{0}</td></tr>",
                escape(invoice.status.as_str()),
                escape(&invoice.id),
                invoice.number,
                escape(&invoice.period),
                amount(invoice.total_minor, &invoice.currency, locale),
            )
        })
        .collect();
    let invoices_html = if rows.is_empty() {
        format!("<p id=invoices class=note>{}</p>", w(Word::NoInvoicesYet))
    } else {
        format!(
            "<table id=invoices><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>\
             <tbody>{rows}</tbody></table>",
            w(Word::Number),
            w(Word::Period),
            w(Word::Total),
            w(Word::State),
        )
    };
    let body = format!(
        "<h1>{}</h1><h2>{}</h2>{usage_html}<h2>{}</h2>{upcoming}{plan_title}{plan}<h2>{}</h2>{invoices_html}",
        w(Word::Billing),
        Word::UsageToDate.fill(lang, &[escape(&usage.period)]),
        w(Word::UpcomingInvoice),
        w(Word::Invoices),
        plan_title = if plan.is_empty() { String::new() } else { format!("<h2>{}</h2>", w(Word::YourPlan)) },
    );
    Ok(layout(&signed, Page::Billing, &body))
}

/// A finalised invoice: its state, period, due date, lines and totals, and its files.
pub async fn invoice(
    State(app): State<App>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Html<String>, ConsoleError> {
    signed.require(Action::ManageBilling)?;
    let clock = signed.clock();
    let lang = signed.lang();
    let w = |word: Word| escape(word.in_(lang));
    let locale = &signed.business.locale;
    let document = invoice_document(&app, &signed.business.id, &id).await?;
    let invoice = &document.invoice;
    let sums = totals(
        lang,
        invoice.subtotal_minor,
        &invoice.tax_label,
        invoice.tax_rate_bps,
        invoice.tax_minor,
        invoice.total_minor,
    );
    let paid = match invoice.paid_at {
        Some(at) => format!("<dt>{}</dt><dd>{}</dd>", w(Word::PaidOn), escape(&clock.time(at))),
        None => String::new(),
    };
    let invoice_id = escape(&invoice.id);
    let body = format!(
        "<h1>{}</h1><dl id=invoice><dt>{}</dt><dd id=state>{}</dd><dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd>{}</dd>{paid}</dl>{}\
         <p class=actions><a id=pdf href=\"/console/billing/invoices/{invoice_id}/pdf\">{}</a> \
         <a id=csv href=\"/console/billing/invoices/{invoice_id}/csv\">{}</a></p>\
         <p><a href=\"/console/billing\">{}</a></p>",
        Word::InvoiceNumber.fill(lang, &[invoice.number.to_string()]),
        w(Word::State),
        escape(invoice.status.as_str()),
        w(Word::Period),
        escape(&invoice.period),
        w(Word::Due),
        escape(&clock.time(invoice.due_at)),
        lines_table("lines", &document.lines, &sums, &invoice.currency, locale, lang),
        w(Word::DownloadPdf),
        w(Word::DownloadCsv),
        w(Word::BackToBilling),
    );
    Ok(layout(&signed, Page::Billing, &body))
}

/// The invoice's PDF: the API's bytes (`/v1/billing/invoices/{id}?format=pdf`).
pub async fn pdf(State(app): State<App>, signed: Signed, Path(id): Path<String>) -> Result<Response, ConsoleError> {
    download(&app, &signed, &id, Format::Pdf).await
}

/// The invoice's CSV: the API's bytes (`/v1/billing/invoices/{id}?format=csv`).
pub async fn csv(State(app): State<App>, signed: Signed, Path(id): Path<String>) -> Result<Response, ConsoleError> {
    download(&app, &signed, &id, Format::Csv).await
}

async fn download(app: &App, signed: &Signed, id: &str, format: Format) -> Result<Response, ConsoleError> {
    signed.require(Action::ManageBilling)?;
    let document = invoice_document(app, &signed.business.id, id).await?;
    Ok(invoice_file(document, format)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basis_points_read_as_percentages() {
        assert_eq!(percent(2200), "22%");
        assert_eq!(percent(550), "5.5%");
        assert_eq!(percent(1), "0.01%");
        assert_eq!(percent(0), "0%");
    }
}
