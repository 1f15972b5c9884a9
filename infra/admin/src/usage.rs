//! `billing-admin usage` and `billing-admin audit`: the two invoices of a billing month
//! (reseller level: what the operator bills the reseller, per twin service; customer
//! level: what the reseller bills each end customer), read from the stored records, and
//! the completeness audit's verdicts for the same month with their totals, so the two
//! can be compared line for line.

use crate::table::Table;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use reconciliation::billing::rollup::{self, Invoice, Level, Sums};
use reconciliation::domain::ManagedAccountId;
use reconciliation::ports::{AuditDay, AuditVerdict, Store};
use reconciliation::usage::UsageCatalog;
use rust_decimal::Decimal;
use std::fmt::Write as _;

/// How an invoice is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// `2026-11` → the month's first instant; anything else is an error naming `--month`.
pub fn parse_month(text: &str) -> Result<DateTime<Utc>, String> {
    let bad = || format!("--month {text:?} is not a month: write it as YYYY-MM, e.g. 2026-11");
    let (y, m) = text.split_once('-').ok_or_else(bad)?;
    let (y, m): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    rollup::month_window(y, m).map(|w| w.from).ok_or_else(bad)
}

/// The invoice of `account` for `month` at `level`.
pub async fn invoice(
    store: &dyn Store,
    account: &ManagedAccountId,
    month: DateTime<Utc>,
    level: Level,
) -> Result<Invoice, String> {
    let onboarding = store
        .onboarding(account)
        .await
        .map_err(|e| e.chain())?
        .ok_or_else(|| {
            format!("--account {account} is not onboarded (billing-admin accounts lists them)")
        })?;
    rollup::invoice(store, &onboarding, month, level)
        .await
        .map_err(|e| e.chain())
}

/// The audit's verdicts of `account` for the days of `month`.
pub async fn audit_days(
    store: &dyn Store,
    account: &ManagedAccountId,
    month: DateTime<Utc>,
) -> Result<Vec<AuditDay>, String> {
    let first = month.date_naive();
    let last = rollup::month_window(month.year(), month.month())
        .map(|w| (w.to - chrono::Duration::days(1)).date_naive())
        .unwrap_or(first);
    store
        .audit_days(account, first, last)
        .await
        .map_err(|e| e.chain())
}

/// What the audit says of a month, in one line: days clean (and healed by a re-walk),
/// findings, differences not final yet, and Telnyx's and our record counts over the
/// audited days.
pub fn audit_line(days: &[AuditDay]) -> String {
    let count = |f: &dyn Fn(&AuditDay) -> bool| days.iter().filter(|d| f(d)).count();
    let clean = count(&|d| d.verdict == AuditVerdict::Clean);
    let healed = count(&|d| d.verdict == AuditVerdict::Clean && d.rewalk.is_some());
    let findings = count(&AuditDay::is_finding);
    let pending = days.len() - clean - findings;
    let telnyx: u64 = days.iter().map(|d| d.telnyx.count).sum();
    let stored: u64 = days.iter().map(|d| d.stored.count).sum();
    let distinct: std::collections::BTreeSet<NaiveDate> = days.iter().map(|d| d.day).collect();
    format!(
        "audit: {} day(s) × type audited over {} day(s): {clean} clean ({healed} after a re-walk), {findings} mismatched (findings), {pending} pending (not settled, or a re-walk due); Telnyx counts {telnyx} record(s), {stored} stored",
        days.len(),
        distinct.len()
    )
}

/// The types the audit cannot prove complete, one line each with the reason; or why
/// that is not known yet.
pub fn not_auditable_lines(catalog: Option<&UsageCatalog>) -> String {
    let Some(catalog) = catalog else {
        return "not auditable: unknown until a run has read Telnyx's usage report options\n"
            .to_owned();
    };
    let mut out = String::new();
    for n in catalog.not_auditable() {
        let _ = writeln!(out, "not auditable: {} ({})", n.record_type, n.reason);
    }
    out
}

/// The invoice against the audit: how many of its records are of record types the
/// audit cannot prove, the audit's totals for the month, and the types not auditable
/// with their reasons.
pub fn reconcile_line(
    invoice: &Invoice,
    days: &[AuditDay],
    catalog: Option<&UsageCatalog>,
) -> String {
    let not_auditable: u64 = invoice
        .total
        .records_by_type
        .iter()
        .filter(|(t, _)| catalog.is_none_or(|c| c.auditable(**t).is_err()))
        .map(|(_, n)| n)
        .sum();
    format!(
        "invoice: {} record(s), {} of them of types the audit cannot prove ({} auditable)\n{}\n{}",
        invoice.total.records,
        not_auditable,
        invoice.total.records - not_auditable,
        audit_line(days),
        not_auditable_lines(catalog).trim_end()
    )
}

fn quantities(s: &Sums) -> String {
    s.quantity
        .iter()
        .map(|(unit, q)| format!("{} {unit}", q.normalize()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn costs(s: &Sums) -> String {
    let mut out: Vec<String> = s
        .cost
        .iter()
        .map(|(currency, c)| format!("{currency} {}", c.normalize()))
        .collect();
    if out.is_empty() {
        out.push("-".to_owned());
    }
    out.join(", ")
}

fn hidden(s: &Sums) -> String {
    if s.hidden_pricing == 0 {
        String::new()
    } else {
        format!("{} without price", s.hidden_pricing)
    }
}

/// An invoice's total in one line: records, usage per unit, cost per currency, records
/// without a price.
pub fn total_line(invoice: &Invoice) -> String {
    let t = &invoice.total;
    let mut out = format!(
        "{} line(s), {} record(s); {}; cost {}",
        invoice.lines.len(),
        t.records,
        quantities(t),
        costs(t)
    );
    if t.hidden_pricing > 0 {
        out.push_str(&format!(
            "; {} record(s) without a price (pricing hidden)",
            t.hidden_pricing
        ));
    }
    out
}

/// The invoice in `format`.
pub fn render(invoice: &Invoice, format: Format) -> Result<String, String> {
    match format {
        Format::Json => serde_json::to_string_pretty(invoice).map_err(|e| e.to_string()),
        Format::Csv => Ok(csv(invoice)),
        Format::Table => Ok(table(invoice)),
    }
}

fn table(invoice: &Invoice) -> String {
    let who = match invoice.level {
        Level::Reseller => "billed customer (reseller)",
        Level::Customer => "end customer",
    };
    let mut t = Table::new([
        who,
        "service",
        "type",
        "records",
        "usage",
        "cost",
        "hidden pricing",
    ]);
    for l in &invoice.lines {
        t.row([
            l.customer_name.clone(),
            l.service_label.clone(),
            l.service_type.to_string(),
            l.sums.records.to_string(),
            quantities(&l.sums),
            costs(&l.sums),
            hidden(&l.sums),
        ]);
    }
    t.row([
        "TOTAL".to_owned(),
        String::new(),
        String::new(),
        invoice.total.records.to_string(),
        quantities(&invoice.total),
        costs(&invoice.total),
        hidden(&invoice.total),
    ]);
    format!(
        "{} invoice, {}\n{}",
        invoice.level,
        invoice.month,
        t.render()
    )
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

const UNITS: [&str; 5] = ["seconds", "parts", "characters", "bytes", "records"];

fn csv(invoice: &Invoice) -> String {
    let mut out = String::from(
        "month,level,customer_id,customer,service_id,service,service_type,records,seconds,parts,characters,bytes,per_record_units,currency,cost,hidden_pricing\n",
    );
    for l in &invoice.lines {
        let unit = |u: &str| {
            l.sums
                .quantity
                .get(u)
                .map(|q| q.normalize().to_string())
                .unwrap_or_default()
        };
        let mut currencies: Vec<(String, Decimal)> =
            l.sums.cost.iter().map(|(c, v)| (c.clone(), *v)).collect();
        if currencies.is_empty() {
            currencies.push((String::new(), Decimal::ZERO));
        }
        // One row per currency; the counts are on the first only, so a sum of any
        // column over the file is the invoice's total.
        for (i, (currency, cost)) in currencies.iter().enumerate() {
            let first = i == 0;
            let cells = [
                invoice.month.clone(),
                invoice.level.to_string(),
                l.customer
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                l.customer_name.clone(),
                l.service
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                l.service_label.clone(),
                l.service_type.to_string(),
                if first {
                    l.sums.records.to_string()
                } else {
                    "0".into()
                },
            ];
            let mut row: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            row.extend(
                UNITS
                    .iter()
                    .map(|u| if first { unit(u) } else { String::new() }),
            );
            row.push(currency.clone());
            row.push(if currency.is_empty() {
                String::new()
            } else {
                cost.normalize().to_string()
            });
            row.push(if first {
                l.sums.hidden_pricing.to_string()
            } else {
                "0".into()
            });
            let _ = writeln!(out, "{}", row.join(","));
        }
    }
    out
}

/// A verdict as the operator reads it: `clean`, `clean (healed)`, `MISMATCH` (a
/// finding), `pending` (not settled yet, or short and its re-walk due).
fn verdict_of(d: &AuditDay) -> &'static str {
    match (d.verdict, d.rewalk.is_some(), d.is_finding()) {
        (AuditVerdict::Clean, true, _) => "clean (healed)",
        (AuditVerdict::Clean, false, _) => "clean",
        (AuditVerdict::Mismatch, _, true) => "MISMATCH",
        (AuditVerdict::Mismatch, _, false) => "pending",
    }
}

/// The audit's days as a table: day, type, product and count metric, verdict, both
/// sides, the re-walk; then the month's line and the types not auditable.
pub fn render_audit(days: &[AuditDay], catalog: Option<&UsageCatalog>) -> String {
    let mut t = Table::new([
        "day",
        "type",
        "counted by",
        "verdict",
        "settled",
        "Telnyx",
        "stored",
        "cost compared",
        "re-walk",
    ]);
    let side = |f: &reconciliation::ports::AuditFigures| {
        let mut s = format!("{} rec", f.count);
        if let Some(q) = f.quantity {
            let _ = write!(s, ", {} qty", q.normalize());
        }
        if let Some(c) = f.cost {
            let _ = write!(s, ", cost {}", c.normalize());
        }
        s
    };
    for d in days {
        t.row([
            d.day.to_string(),
            d.record_type.to_string(),
            format!("{} `{}`", d.product, d.count_metric),
            verdict_of(d).to_owned(),
            if d.settled { "yes".into() } else { "no".into() },
            side(&d.telnyx),
            side(&d.stored),
            if d.cost_compared {
                "yes".into()
            } else {
                "no".into()
            },
            d.rewalk
                .as_ref()
                .map(|r| format!("{} read, {} stored", r.read, r.stored))
                .unwrap_or_default(),
        ]);
    }
    format!(
        "{}\n{}\n{}",
        t.render(),
        audit_line(days),
        not_auditable_lines(catalog)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_written_yyyy_mm_and_anything_else_names_the_flag() {
        assert_eq!(
            parse_month("2026-11").unwrap().to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        for bad in ["2026-13", "11-2026x", "2026", "november"] {
            let e = parse_month(bad).unwrap_err();
            assert!(e.contains("--month") && e.contains("YYYY-MM"), "{e}");
        }
    }

    #[test]
    fn a_csv_cell_with_a_comma_or_quote_is_quoted() {
        assert_eq!(
            csv_cell("Acme, Inc. \"East\""),
            "\"Acme, Inc. \"\"East\"\"\""
        );
        assert_eq!(csv_cell("plain"), "plain");
    }
}
