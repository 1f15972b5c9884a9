//! `billing-admin runs`: an account's recent run logs (or the scheduler's, with
//! `--account scheduler`), newest first, with their counts and import-log entries.

use reconciliation::domain::ManagedAccountId;
use reconciliation::ports::{RunLog, RunLogStore, RunOutcome};

/// The newest `last` run logs of `account`.
pub async fn runs(
    store: &dyn RunLogStore,
    account: &ManagedAccountId,
    last: usize,
) -> Result<Vec<RunLog>, String> {
    store.run_logs(account, last).await.map_err(|e| e.chain())
}

fn outcome(outcome: &RunOutcome) -> String {
    match outcome {
        RunOutcome::Complete => "complete".to_owned(),
        RunOutcome::Partial {
            remaining,
            continued,
        } => format!(
            "partial ({}; left: {})",
            if *continued {
                "continuation queued"
            } else {
                "the next run carries on"
            },
            remaining.join(", ")
        ),
        RunOutcome::Skipped { held_by } => format!("skipped (run {held_by} held the lease)"),
        RunOutcome::Failed { error } => format!("failed: {error}"),
    }
}

/// The logs as an operator reads them: one block per run.
pub fn render(logs: &[RunLog]) -> String {
    let mut out = String::new();
    for log in logs {
        let secs = (log.finished_at - log.started_at).num_milliseconds() as f64 / 1000.0;
        out.push_str(&format!(
            "run {}  {}  {secs:.1} s  {}\n",
            log.run_id,
            log.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
            outcome(&log.outcome)
        ));
        let counts: Vec<String> = log
            .counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k}={n}"))
            .collect();
        if !counts.is_empty() {
            out.push_str(&format!("  {}\n", counts.join(" ")));
        }
        for entry in &log.entries {
            out.push_str(&format!(
                "  {:?} {}: {}\n",
                entry.severity,
                entry.code.as_str(),
                entry.message
            ));
        }
    }
    out
}
