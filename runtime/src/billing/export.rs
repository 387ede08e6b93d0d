//! A finalised invoice as a file: JSON (the invoice and its lines), CSV (one
//! row per line, then the subtotal, tax and total) and PDF (one A4 page of
//! plain text a person accepts as an invoice: who issues it, to whom, its
//! number, period, lines, tax and total). Each is a function of the stored
//! invoice alone, so exporting twice gives the same bytes.

use serde::Serialize;
use utoipa::ToSchema;

use crate::money;
use crate::store::invoices::{Invoice, InvoiceLine};

/// An invoice with its lines, as the API and the JSON export show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceDocument {
    #[serde(flatten)]
    pub invoice: Invoice,
    pub lines: Vec<InvoiceLine>,
}

pub fn json(document: &InvoiceDocument) -> Vec<u8> {
    // Serializing plain data cannot fail; an empty body would say so if it did.
    serde_json::to_vec_pretty(document).unwrap_or_default()
}

/// `position,kind,usage_period,description,quantity,amount_minor,amount,priced_by`.
pub fn csv(document: &InvoiceDocument) -> Result<Vec<u8>, String> {
    let invoice = &document.invoice;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| format!("csv export: {e}");
    writer
        .write_record([
            "position",
            "kind",
            "usage_period",
            "description",
            "quantity",
            "amount_minor",
            "amount",
            "priced_by",
        ])
        .map_err(fail)?;
    for line in &document.lines {
        writer
            .write_record([
                line.position.to_string(),
                line.kind.as_str().to_string(),
                line.usage_period.clone(),
                line.description.clone(),
                line.quantity.to_string(),
                line.amount_minor.to_string(),
                money::format(line.amount_minor, &invoice.currency),
                line.priced_by.clone(),
            ])
            .map_err(fail)?;
    }
    let totals = [
        ("subtotal", invoice.subtotal_minor, String::new()),
        ("tax", invoice.tax_minor, format!("{} {}", invoice.tax_label, percent(invoice.tax_rate_bps))),
        ("total", invoice.total_minor, String::new()),
    ];
    for (what, amount, description) in totals {
        writer
            .write_record([
                String::new(),
                what.to_string(),
                invoice.period.clone(),
                description,
                String::new(),
                amount.to_string(),
                money::format(amount, &invoice.currency),
                String::new(),
            ])
            .map_err(fail)?;
    }
    writer.into_inner().map_err(|e| format!("csv export: {e}"))
}

/// The invoice as a one-page PDF (more pages when its lines need them).
pub fn pdf(document: &InvoiceDocument) -> Vec<u8> {
    let invoice = &document.invoice;
    let amount = |minor: i64| plain_amount(minor, &invoice.currency);
    let mut text: Vec<(f32, String)> = vec![
        (18.0, format!("Invoice {}", invoice.number)),
        (11.0, String::new()),
        (11.0, format!("Issued by: {}", invoice.operator_name)),
        (11.0, format!("Billed to: {} ({})", invoice.business_name, invoice.business_id)),
        (
            11.0,
            format!("Period: {} ({} to {})", invoice.period, day(invoice.period_start), day(invoice.period_end - 1)),
        ),
        (11.0, format!("Issued: {}   Due: {}", day(invoice.finalized_at), day(invoice.due_at))),
        (11.0, format!("Currency: {}", invoice.currency)),
        (11.0, String::new()),
    ];
    for line in &document.lines {
        text.push((10.0, format!("{:>3}. {}", line.position, line.description)));
        text.push((
            10.0,
            format!("      {:<60} {:>16}", format!("[{}] {}", line.kind, line.priced_by), amount(line.amount_minor)),
        ));
    }
    text.push((11.0, String::new()));
    text.push((11.0, format!("{:<66} {:>16}", "Subtotal", amount(invoice.subtotal_minor))));
    text.push((
        11.0,
        format!(
            "{:<66} {:>16}",
            format!("{} {}", invoice.tax_label, percent(invoice.tax_rate_bps)),
            amount(invoice.tax_minor)
        ),
    ));
    text.push((13.0, format!("{:<60} {:>16}", "Total", amount(invoice.total_minor))));
    render(&text)
}

/// Lays lines of text out on A4 pages in Courier (so columns line up).
fn render(lines: &[(f32, String)]) -> Vec<u8> {
    use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

    const TOP: f32 = 800.0;
    const BOTTOM: f32 = 50.0;
    let mut pages: Vec<Vec<(f32, f32, String)>> = vec![Vec::new()];
    let mut y = TOP;
    for (size, line) in lines {
        if y < BOTTOM {
            pages.push(Vec::new());
            y = TOP;
        }
        if let Some(page) = pages.last_mut() {
            page.push((*size, y, line.clone()));
        }
        y -= size * 1.5;
    }
    let catalog_id = Ref::new(1);
    let tree_id = Ref::new(2);
    let font_id = Ref::new(3);
    let font = Name(b"F1");
    let page_ids: Vec<Ref> = (0..pages.len()).map(|n| Ref::new(4 + 2 * n as i32)).collect();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(tree_id);
    pdf.pages(tree_id).kids(page_ids.iter().copied()).count(page_ids.len() as i32);
    pdf.type1_font(font_id).base_font(Name(b"Courier")).encoding_predefined(Name(b"WinAnsiEncoding"));
    for (n, page_lines) in pages.iter().enumerate() {
        let page_id = page_ids[n];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, 595.0, 842.0));
        page.parent(tree_id);
        page.contents(content_id);
        page.resources().fonts().pair(font, font_id);
        page.finish();
        let mut content = Content::new();
        for (size, y, line) in page_lines {
            content.begin_text();
            content.set_font(font, *size);
            content.next_line(50.0, *y);
            content.show(Str(latin1(line).as_slice()));
            content.end_text();
        }
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

/// Text in WinAnsiEncoding, the standard fonts' encoding: ASCII and Latin-1
/// kept, the euro sign at 0x80, anything else `?`.
fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '€' => 0x80,
            ' '..='~' | '\u{a0}'..='\u{ff}' => u8::try_from(u32::from(c)).unwrap_or(b'?'),
            _ => b'?',
        })
        .collect()
}

/// `-1234.50 EUR`: an amount with its ISO code, no symbol (the PDF fonts lack most).
fn plain_amount(amount_minor: i64, currency: &str) -> String {
    let exponent = money::exponent(currency).unwrap_or(2);
    let sign = if amount_minor < 0 { "-" } else { "" };
    let abs = amount_minor.unsigned_abs();
    let unit = 10_u64.pow(exponent);
    match exponent {
        0 => format!("{sign}{abs} {currency}"),
        _ => format!("{sign}{}.{:0width$} {currency}", abs / unit, abs % unit, width = exponent as usize),
    }
}

fn percent(bps: i64) -> String {
    format!("{}.{:02} %", bps / 100, (bps % 100).abs())
}

/// `2026-11-30` (UTC) of a millisecond time.
fn day(ms: i64) -> String {
    crate::ids::rfc3339(ms).chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::billing::{InvoiceStatus, LineKind};

    fn document() -> InvoiceDocument {
        InvoiceDocument {
            invoice: Invoice {
                id: "inv_1".into(),
                business_id: "biz_1".into(),
                number: 7,
                period: "2026-11".into(),
                period_start: 1_793_487_600_000,
                period_end: 1_796_079_600_000,
                currency: "EUR".into(),
                subtotal_minor: 3000,
                tax_label: "VAT".into(),
                tax_rate_bps: 2200,
                tax_minor: 660,
                total_minor: 3660,
                operator_name: "Bottega Cloud".into(),
                business_name: "Forno Rossi".into(),
                plan_version_id: Some("plv_1".into()),
                finalized_at: 1_796_083_200_000,
                status: InvoiceStatus::Open,
                due_at: 1_797_292_800_000,
                paid_at: None,
            },
            lines: vec![InvoiceLine {
                position: 1,
                kind: LineKind::PlanFee,
                line_key: "plan_fee".into(),
                description: "Plan growth (version 1), monthly fee".into(),
                usage_period: "2026-11".into(),
                quantity: 1,
                amount_minor: 3000,
                priced_by: "plv_1".into(),
            }],
        }
    }

    #[test]
    fn exports_are_the_same_bytes_every_time() {
        let document = document();
        assert_eq!(pdf(&document), pdf(&document));
        assert!(pdf(&document).starts_with(b"%PDF-"));
        let csv = String::from_utf8(csv(&document).expect("csv")).expect("utf-8");
        assert!(csv.starts_with("position,kind,usage_period,description,quantity,amount_minor,amount,priced_by\n"));
        assert!(csv.contains("1,plan_fee,2026-11,\"Plan growth (version 1), monthly fee\",1,3000,"), "{csv}");
        assert!(csv.contains(",total,2026-11,,,3660,"), "{csv}");
        assert_eq!(percent(2200), "22.00 %");
        assert_eq!(plain_amount(-123_450, "EUR"), "-1234.50 EUR");
        assert_eq!(plain_amount(500, "JPY"), "500 JPY");
    }
}
