//! Exports a billing system takes as they are (docs/audit.md "Exports"): a month's
//! detail records, or its invoice lines at both levels, as CSV or JSON Lines, written
//! to an [`ExportSink`] as they are read — one page of records in memory at a time, so
//! a million records export in the memory of a thousand.
//!
//! Every row carries the ids a billing system joins on (account, department, customer,
//! service, service type) and the unit of its quantity; money and quantities are exact
//! decimals written as text (never a float). Rows come in a fixed order (accounts,
//! then billing partitions, then the index's time order; invoice lines by level, kind
//! and key), so an export of a closed month — whose invoice lines are frozen — is
//! byte-identical when repeated.

use super::close::{self, lines::Directory};
use super::rollup::Level;
use crate::domain::{BillingMonth, Onboarding, StoredDetailRecord};
use crate::ports::{InvoiceLine, LineKind, PortResult, Store, TimeWindow};
use async_trait::async_trait;
use rust_decimal::Decimal;

/// What is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::Display)]
#[strum(serialize_all = "snake_case")]
pub enum What {
    Records,
    Invoices,
}

/// How rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::Display)]
#[strum(serialize_all = "snake_case")]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
}

/// Where an export's bytes go (a file, an S3 multipart upload…), in order.
#[async_trait]
pub trait ExportSink: Send {
    /// Takes the next bytes (a few hundred KB at most at a time).
    async fn write(&mut self, bytes: &[u8]) -> PortResult<()>;
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportReport {
    pub rows: u64,
    pub bytes: u64,
}

/// Bytes gathered before they are handed to the sink.
const FLUSH_AT: usize = 256 * 1024;

/// One cell: text, a whole number, an exact decimal (written as text), or nothing.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Text(String),
    Int(i64),
    Dec(Decimal),
    Empty,
}

fn text(s: impl ToString) -> Cell {
    Cell::Text(s.to_string())
}

fn opt(s: Option<impl ToString>) -> Cell {
    s.map_or(Cell::Empty, text)
}

/// Rows into bytes into the sink.
struct RowWriter<'s> {
    sink: &'s mut dyn ExportSink,
    format: Format,
    columns: &'static [&'static str],
    buf: Vec<u8>,
    report: ExportReport,
}

impl<'s> RowWriter<'s> {
    fn new(sink: &'s mut dyn ExportSink, format: Format, columns: &'static [&'static str]) -> Self {
        let mut w = Self {
            sink,
            format,
            columns,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            report: ExportReport::default(),
        };
        if format == Format::Csv {
            w.buf.extend_from_slice(columns.join(",").as_bytes());
            w.buf.push(b'\n');
        }
        w
    }

    fn row(&mut self, cells: Vec<Cell>) {
        match self.format {
            Format::Csv => {
                let line: Vec<String> = cells.iter().map(csv_cell).collect();
                self.buf.extend_from_slice(line.join(",").as_bytes());
            }
            Format::Jsonl => {
                let mut object = serde_json::Map::new();
                for (name, cell) in self.columns.iter().zip(cells) {
                    object.insert((*name).to_owned(), json_cell(cell));
                }
                let line = serde_json::Value::Object(object).to_string();
                self.buf.extend_from_slice(line.as_bytes());
            }
        }
        self.buf.push(b'\n');
        self.report.rows += 1;
    }

    async fn flush_if_full(&mut self) -> PortResult<()> {
        if self.buf.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> PortResult<()> {
        if !self.buf.is_empty() {
            self.sink.write(&self.buf).await?;
            self.report.bytes += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }

    async fn finish(mut self) -> PortResult<ExportReport> {
        self.flush().await?;
        Ok(self.report)
    }
}

fn csv_cell(c: &Cell) -> String {
    let s = match c {
        Cell::Text(s) => s.clone(),
        Cell::Int(n) => n.to_string(),
        Cell::Dec(d) => d.normalize().to_string(),
        Cell::Empty => String::new(),
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn json_cell(c: Cell) -> serde_json::Value {
    match c {
        Cell::Text(s) => serde_json::Value::String(s),
        Cell::Int(n) => serde_json::Value::from(n),
        Cell::Dec(d) => serde_json::Value::String(d.normalize().to_string()),
        Cell::Empty => serde_json::Value::Null,
    }
}

/// The columns of a records export.
pub const RECORD_COLUMNS: &[&str] = &[
    "month",
    "account_id",
    "record_type",
    "record_id",
    "occurred_at",
    "department_id",
    "billing_customer_id",
    "billing_service_id",
    "customer_department_id",
    "customer_id",
    "service_id",
    "service_type",
    "matched_by",
    "unit",
    "quantity",
    "currency",
    "cost",
    "pricing",
];

fn record_row(month: BillingMonth, dir: &Directory<'_>, r: &StoredDetailRecord) -> Vec<Cell> {
    let t = r.record_type();
    let unit = t.quantity_unit();
    let quantity = if unit == "records" {
        Decimal::ONE
    } else {
        r.record.billed_quantity.unwrap_or_default()
    };
    let priced = r.record.cost.is_some();
    vec![
        text(month),
        text(&r.account),
        text(t),
        text(&r.record.id),
        text(
            r.record
                .occurred_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        ),
        text(&r.department),
        opt(r.billing_customer.as_ref()),
        opt(dir.billed_service(r.service.as_ref())),
        text(dir.customer_department(r.end_customer.as_ref())),
        opt(r.end_customer.as_ref()),
        opt(r.service.as_ref()),
        text(t.service_type()),
        text(
            serde_json::to_value(r.matched_by)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        ),
        text(unit),
        Cell::Dec(quantity),
        if priced {
            text(r.record.currency.as_deref().unwrap_or("USD"))
        } else {
            Cell::Empty
        },
        r.record.cost.map_or(Cell::Empty, Cell::Dec),
        text(if priced { "priced" } else { "hidden" }),
    ]
}

/// Every record of `month` of each account, one row each, streamed page by page.
pub async fn export_records(
    store: &dyn Store,
    onboardings: &[Onboarding],
    month: BillingMonth,
    format: Format,
    sink: &mut dyn ExportSink,
) -> PortResult<ExportReport> {
    let mut out = RowWriter::new(sink, format, RECORD_COLUMNS);
    let window = TimeWindow {
        from: month.start(),
        to: month.end(),
    };
    for onboarding in sorted(onboardings) {
        let state = store.load_state(onboarding).await?;
        let dir = Directory::new(onboarding, &state);
        for partition in super::partitions(onboarding, &state) {
            let mut after: Option<String> = None;
            loop {
                let page = store
                    .billed_page(&partition, window, after.as_deref())
                    .await?;
                for r in page
                    .records
                    .iter()
                    .filter(|r| r.account == onboarding.account)
                {
                    out.row(record_row(month, &dir, r));
                }
                out.flush_if_full().await?;
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
    }
    out.finish().await
}

/// The columns of an invoices export.
pub const INVOICE_COLUMNS: &[&str] = &[
    "month",
    "status",
    "version",
    "level",
    "kind",
    "adjusts_month",
    "account_id",
    "department_id",
    "customer_id",
    "customer",
    "service_id",
    "service",
    "service_type",
    "service_started_on",
    "service_ceased_on",
    "unit",
    "quantity",
    "records",
    "hidden_pricing",
    "currency",
    "cost",
];

/// A line's rows: one per currency (one with no cost), its counts and quantity on the
/// first only, so every column sums to the invoice's total.
fn line_rows(head: &[Cell], line: &InvoiceLine) -> Vec<Vec<Cell>> {
    let (kind, of) = match line.kind {
        LineKind::Usage => ("usage", Cell::Empty),
        LineKind::Adjustment { of } => ("adjustment", text(of)),
    };
    let unit = line.unit();
    let mut costs: Vec<(Cell, Cell)> = line
        .sums
        .cost
        .iter()
        .map(|(c, v)| (text(c), Cell::Dec(*v)))
        .collect();
    if costs.is_empty() {
        costs.push((Cell::Empty, Cell::Empty));
    }
    costs
        .into_iter()
        .enumerate()
        .map(|(i, (currency, cost))| {
            let first = i == 0;
            let mut row = head.to_vec();
            row.extend([
                text(line.level),
                text(kind),
                of.clone(),
                text(&line.account),
                text(&line.department),
                opt(line.customer.as_ref()),
                text(&line.customer_name),
                opt(line.service.as_ref()),
                text(&line.service_label),
                text(line.service_type),
                opt(line.service_started_on),
                opt(line.service_ceased_on),
                text(unit),
                Cell::Dec(if first {
                    line.sums.quantity.get(unit).copied().unwrap_or_default()
                } else {
                    Decimal::ZERO
                }),
                Cell::Int(if first { line.sums.records } else { 0 }),
                Cell::Int(if first { line.sums.hidden_pricing } else { 0 }),
                currency,
                cost,
            ]);
            row
        })
        .collect()
}

/// Every invoice line billed in `month` for each account, both levels (reseller
/// first): its usage, then the adjustments of earlier closed months. A closed month's
/// lines are the frozen ones.
pub async fn export_invoices(
    store: &dyn Store,
    onboardings: &[Onboarding],
    month: BillingMonth,
    format: Format,
    sink: &mut dyn ExportSink,
) -> PortResult<ExportReport> {
    let mut out = RowWriter::new(sink, format, INVOICE_COLUMNS);
    for onboarding in sorted(onboardings) {
        let view = close::view(store, onboarding, month).await?;
        let (status, version) = match &view.state {
            Some(s) if view.is_closed() => ("closed", Cell::Int(i64::from(s.version))),
            _ => ("open", Cell::Empty),
        };
        let head = [text(month), text(status), version];
        for level in [Level::Reseller, Level::Customer] {
            for line in view.billed(level) {
                for row in line_rows(&head, line) {
                    out.row(row);
                }
                out.flush_if_full().await?;
            }
        }
    }
    out.finish().await
}

fn sorted(onboardings: &[Onboarding]) -> Vec<&Onboarding> {
    let mut v: Vec<&Onboarding> = onboardings.iter().collect();
    v.sort_by(|a, b| a.account.cmp(&b.account));
    v
}

/// A sink that keeps everything in memory (tests; small exports).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemorySink {
    pub bytes: Vec<u8>,
    /// The largest single write, for bounded-memory checks.
    pub largest_write: usize,
    pub writes: usize,
}

#[async_trait]
impl ExportSink for MemorySink {
    async fn write(&mut self, bytes: &[u8]) -> PortResult<()> {
        self.bytes.extend_from_slice(bytes);
        self.largest_write = self.largest_write.max(bytes.len());
        self.writes += 1;
        Ok(())
    }
}
