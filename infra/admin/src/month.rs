//! `billing-admin close`, `reopen`, `export` and the month part of `usage`: what a
//! close did or why it waits (every blocker named by type and days), a month's state
//! and its adjustments listed apart from its own usage, and the sinks an export writes
//! to (a file, standard output; S3 is `aws_adapters::export::S3Sink`).

use async_trait::async_trait;
use reconciliation::billing::close::readiness::{self, Readiness};
use reconciliation::billing::close::{CloseOutcome, MonthView, ReopenOutcome};
use reconciliation::billing::export::ExportSink;
use reconciliation::domain::{BillingMonth, ManagedAccountId};
use reconciliation::ports::{InvoiceLine, LineKind, MonthState, MonthStatus, PortResult};
use reconciliation::{PortError, Transience};
use std::fmt::Write as _;
use tokio::io::AsyncWriteExt;

/// A file (or standard output) an export is written to, as it is produced.
pub struct FileSink {
    out: Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
}

impl FileSink {
    /// Creates (or truncates) `path`.
    pub async fn create(path: &std::path::Path) -> Result<Self, String> {
        let file = tokio::fs::File::create(path)
            .await
            .map_err(|e| format!("--out {}: {e}", path.display()))?;
        Ok(Self {
            out: Box::new(tokio::io::BufWriter::new(file)),
        })
    }

    /// Standard output.
    pub fn stdout() -> Self {
        Self {
            out: Box::new(tokio::io::stdout()),
        }
    }

    /// Flushes what is buffered.
    pub async fn finish(mut self) -> Result<(), String> {
        self.out.flush().await.map_err(|e| e.to_string())
    }
}

#[async_trait]
impl ExportSink for FileSink {
    async fn write(&mut self, bytes: &[u8]) -> PortResult<()> {
        self.out
            .write_all(bytes)
            .await
            .map_err(|e| PortError::new("writing the export", Transience::Permanent, e))
    }
}

/// The blockers of a close, one a line.
pub fn render_blockers(ready: &Readiness) -> String {
    let mut out = String::new();
    for b in &ready.blockers {
        let _ = writeln!(out, "  {}", readiness::blocker_text(b));
    }
    out
}

/// The types the audit cannot prove, one a line.
fn render_unproven(ready_unproven: &[reconciliation::ports::Unproven]) -> String {
    let mut out = String::new();
    for u in ready_unproven {
        let _ = writeln!(
            out,
            "  not auditable (not blocking): {} ({})",
            u.record_type, u.reason
        );
    }
    out
}

/// What a close of `month` of `account` did, in the operator's words; `Err` when it
/// was refused (so the command exits non-zero).
pub fn render_close(
    account: &ManagedAccountId,
    month: BillingMonth,
    outcome: &CloseOutcome,
) -> Result<String, String> {
    match outcome {
        CloseOutcome::Closed { state, adjustments } => {
            let mut out = format!(
                "{account} {month}: closed (version {}, {}), {} reseller line(s), {} customer line(s), {} adjustment line(s) of earlier months\n",
                state.version,
                state.closed_at.format("%Y-%m-%d %H:%M UTC"),
                state
                    .lines
                    .get(&reconciliation::billing::rollup::Level::Reseller)
                    .copied()
                    .unwrap_or_default(),
                state
                    .lines
                    .get(&reconciliation::billing::rollup::Level::Customer)
                    .copied()
                    .unwrap_or_default(),
                adjustments.len(),
            );
            if !state.accepted.is_empty() {
                let _ = writeln!(
                    out,
                    "  accepted by the operator (--accept-findings), recorded with the close:"
                );
                out.push_str(&render_blockers(&Readiness {
                    blockers: state.accepted.clone(),
                    unproven: Vec::new(),
                }));
            }
            out.push_str(&render_unproven(&state.unproven));
            Ok(out)
        }
        CloseOutcome::AlreadyClosed(state) => Ok(format!(
            "{account} {month}: already closed (version {}, {}); nothing written\n",
            state.version,
            state.closed_at.format("%Y-%m-%d %H:%M UTC")
        )),
        CloseOutcome::Busy(lease) => Err(format!(
            "{account} {month}: not closed: run {} holds the account until {} (a sync); try again after it",
            lease.holder,
            lease.until.format("%H:%M:%S UTC")
        )),
        CloseOutcome::Refused(ready) => Err(format!(
            "{account} {month}: not closed, {} day(s) × type not settled and clean; nothing written (--accept-findings closes anyway and records these):\n{}{}",
            ready
                .blockers
                .iter()
                .map(|b| b.days.len().max(1))
                .sum::<usize>(),
            render_blockers(ready),
            render_unproven(&ready.unproven).trim_end()
        )),
    }
}

/// What a reopen did.
pub fn render_reopen(
    account: &ManagedAccountId,
    month: BillingMonth,
    outcome: &ReopenOutcome,
) -> Result<String, String> {
    match outcome {
        ReopenOutcome::Reopened(state) => Ok(format!(
            "{account} {month}: reopened (its version {} lines are kept; logged); its invoices are read from the records again until it is closed anew\n",
            state.version
        )),
        ReopenOutcome::NotClosed => {
            Err(format!("{account} {month}: not closed; nothing to reopen"))
        }
        ReopenOutcome::LaterMonthsClosed(later) => Err(format!(
            "{account} {month}: later months are closed ({}): reopen them first, latest first; nothing written",
            later
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// A month's state in one line.
pub fn status_line(month: BillingMonth, state: Option<&MonthState>) -> String {
    match state {
        Some(s) if s.status == MonthStatus::Closed => {
            let mut out = format!(
                "{month}: CLOSED (version {}, {}): the invoice below is frozen",
                s.version,
                s.closed_at.format("%Y-%m-%d %H:%M UTC")
            );
            if !s.accepted.is_empty() {
                let _ = write!(
                    out,
                    "; closed with {} accepted finding(s)",
                    s.accepted.len()
                );
            }
            out
        }
        Some(s) => format!(
            "{month}: open (reopened {}; version {} kept for the record)",
            s.reopened_at
                .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
            s.version
        ),
        None => format!("{month}: open (computed from the stored records)"),
    }
}

fn line_text(l: &InvoiceLine) -> String {
    let of = match l.kind {
        LineKind::Adjustment { of } => format!("adjusts {of}: "),
        LineKind::Usage => String::new(),
    };
    let quantities: Vec<String> = l
        .sums
        .quantity
        .iter()
        .map(|(u, q)| format!("{q} {u}"))
        .collect();
    let costs: Vec<String> = l
        .sums
        .cost
        .iter()
        .map(|(c, v)| format!("{c} {v}"))
        .collect();
    format!(
        "{of}{} level, {} ({}), {} [{}]: {} record(s); {}; cost {}",
        l.level,
        l.customer_name,
        l.customer
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        l.service_label,
        l.service_type,
        l.sums.records,
        quantities.join(", "),
        if costs.is_empty() {
            "-".to_owned()
        } else {
            costs.join(", ")
        }
    )
}

/// The adjustments of a month, listed apart from its own usage: those billed in it (of
/// earlier closed months) and, for a closed month, its own late changes and where they
/// are billed.
pub fn adjustments_text(view: &MonthView) -> String {
    let mut out = String::new();
    if view.adjustments.is_empty() {
        let _ = writeln!(out, "adjustments billed in {}: none", view.month);
    } else {
        let _ = writeln!(
            out,
            "adjustments billed in {} (of earlier closed months):",
            view.month
        );
        for l in &view.adjustments {
            let _ = writeln!(out, "  {}", line_text(l));
        }
    }
    if view.is_closed() {
        if view.late.is_empty() {
            let _ = writeln!(out, "changes to {} since it closed: none", view.month);
        } else {
            let _ = writeln!(
                out,
                "changes to {} since it closed (billed later as adjustments):",
                view.month
            );
            for (billed_in, l) in &view.late {
                let _ = writeln!(out, "  in {billed_in}: {}", line_text(l));
            }
        }
    }
    out
}

/// A month's own usage at `level` as the invoice `usage` prints (the frozen lines of a
/// closed month, else the records' sums).
pub fn invoice_of(
    view: &MonthView,
    level: reconciliation::billing::rollup::Level,
) -> reconciliation::billing::rollup::Invoice {
    use reconciliation::billing::rollup::{Invoice, Line, Sums};
    let unsigned = |n: i64| u64::try_from(n).unwrap_or_default();
    let mut total = Sums::default();
    let lines = view
        .usage
        .iter()
        .filter(|l| l.level == level)
        .map(|l| {
            let sums = Sums {
                records: unsigned(l.sums.records),
                quantity: l.sums.quantity.clone(),
                cost: l.sums.cost.clone(),
                hidden_pricing: unsigned(l.sums.hidden_pricing),
                records_by_type: l
                    .sums
                    .records_by_type
                    .iter()
                    .map(|(t, n)| (*t, unsigned(*n)))
                    .collect(),
            };
            total.merge(&sums);
            Line {
                customer: l.customer.clone(),
                customer_name: l.customer_name.clone(),
                service: l.service.clone(),
                service_label: l.service_label.clone(),
                service_type: l.service_type,
                sums,
            }
        })
        .collect();
    Invoice {
        level,
        month: view.month.to_string(),
        lines,
        total,
    }
}
