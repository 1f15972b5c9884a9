//! `billing-admin sync`: one account synced now, through the same core as account-sync
//! (`reconciliation::sync::sync_account`, the invoke payload's validation, the lease,
//! checkpoints and run log), without a deadline, and with a progress bar read from the
//! run's own checkpoints while it walks.

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use reconciliation::domain::{ManagedAccountId, RunId};
use reconciliation::invocation::{InvalidInvocation, SyncRequest};
use reconciliation::ports::{Cursor, Ports};
use reconciliation::sync::{RunContext, RunSummary, SyncSettings, sync_account};
use std::collections::BTreeMap;
use std::time::Duration;

/// The request a `sync` command line asks for, validated as an invoke payload is (the
/// error names the field, as account-sync's would).
pub fn request(
    account: &str,
    from: Option<&str>,
    to: Option<&str>,
    record_types: &[String],
    now: DateTime<Utc>,
) -> Result<SyncRequest, String> {
    let mut payload = serde_json::json!({ "managed_account_id": account });
    if let Some(from) = from {
        payload["backfill_from"] = from.into();
    }
    if let Some(to) = to {
        payload["backfill_to"] = to.into();
    }
    if !record_types.is_empty() {
        payload["record_types"] = record_types.into();
    }
    let request = SyncRequest::from_invoke(payload).map_err(flag_error)?;
    request.validate(now).map_err(flag_error)?;
    Ok(request)
}

/// The payload's error in the command line's words: the flag, then the reason.
fn flag_error(e: InvalidInvocation) -> String {
    let flag = match e.field.as_deref() {
        Some("backfill_from") => "--from".to_owned(),
        Some("backfill_to") => "--to".to_owned(),
        Some("managed_account_id") => "--account".to_owned(),
        Some(f) if f.starts_with("record_types") => format!("--record-types ({f})"),
        Some(f) => f.to_owned(),
        None => "sync".to_owned(),
    };
    format!("{flag}: {}", e.reason)
}

/// How far one walk is, in thousandths of its window.
fn permille(cursor: &Cursor) -> u64 {
    let span = (cursor.window.to - cursor.window.from).num_seconds().max(1);
    let done = (cursor.done_until - cursor.window.from)
        .num_seconds()
        .clamp(0, span);
    (done * 1000 / span) as u64
}

/// The bar's position: every walk seen so far, a finished one (its checkpoint gone)
/// counted whole.
#[derive(Debug, Default)]
struct Progress {
    seen: BTreeMap<(String, String), u64>,
}

impl Progress {
    fn update(&mut self, cursors: &[Cursor]) -> (u64, u64, String) {
        let open: BTreeMap<(String, String), u64> = cursors
            .iter()
            .map(|c| ((c.stream.clone(), c.record_type.to_string()), permille(c)))
            .collect();
        for done in self.seen.values_mut() {
            *done = 1000;
        }
        self.seen.extend(open.clone());
        let message = cursors
            .iter()
            .map(|c| {
                format!(
                    "{} through {}",
                    c.record_type,
                    c.done_until.format("%Y-%m-%d %H:%M")
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        (
            self.seen.values().sum(),
            self.seen.len() as u64 * 1000,
            message,
        )
    }
}

/// Runs the sync; while it runs, a bar on standard error follows its checkpoints
/// (hidden when standard error is not a terminal, as in tests and pipes).
pub async fn sync_now(
    ports: &Ports,
    settings: &SyncSettings,
    request: &SyncRequest,
    run_id: RunId,
) -> Result<RunSummary, String> {
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let account: ManagedAccountId = request.managed_account_id.clone();
    let watch = {
        let (store, bar) = (ports.store.clone(), bar.clone());
        tokio::spawn(async move {
            let mut progress = Progress::default();
            loop {
                if let Ok(cursors) = store.cursors(&account).await {
                    let (position, length, message) = progress.update(&cursors);
                    bar.set_length(length.max(1));
                    bar.set_position(position);
                    bar.set_message(message);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    let result = sync_account(ports, settings, request, RunContext::new(run_id)).await;
    watch.abort();
    bar.finish_and_clear();
    result.map_err(|e| reconciliation::error_chain(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reconciliation::domain::RecordType;
    use reconciliation::ports::TimeWindow;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + chrono::Duration::hours(hours)
    }

    fn cursor(t: RecordType, done_hours: i64) -> Cursor {
        Cursor {
            done_until: at(done_hours),
            ..Cursor::start(
                Cursor::REGULAR,
                t,
                TimeWindow {
                    from: at(0),
                    to: at(10),
                },
            )
        }
    }

    #[test]
    fn the_bar_counts_open_walks_by_their_checkpoint_and_finished_ones_whole() {
        let mut p = Progress::default();
        let (pos, len, msg) = p.update(&[cursor(RecordType::SipTrunking, 5)]);
        assert_eq!((pos, len), (500, 1000));
        assert!(
            msg.contains("sip-trunking through 1970-01-01 05:00"),
            "{msg}"
        );
        let (pos, len, _) = p.update(&[cursor(RecordType::Messaging, 1)]);
        assert_eq!(
            (pos, len),
            (1100, 2000),
            "sip-trunking finished, messaging 10%"
        );
    }

    #[test]
    fn a_bad_window_is_refused_naming_the_field() {
        let now = at(24 * 400);
        let err = request("acc", Some("not a date"), None, &[], now).unwrap_err();
        assert!(err.starts_with("--from: "), "{err}");
        let err = request("acc", None, None, &["sip".into()], now).unwrap_err();
        assert!(
            err.starts_with("--record-types (record_types[0]): "),
            "{err}"
        );
        let err = request(
            "acc",
            Some("2026-10-02T00:00:00Z"),
            Some("2026-10-01T00:00:00Z"),
            &[],
            now,
        )
        .unwrap_err();
        assert!(err.starts_with("--"), "reversed window named: {err}");
    }
}
