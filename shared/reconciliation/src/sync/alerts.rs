//! What a run tells the operator, and the outbox it goes through: a key Telnyx refused,
//! the completeness audit's findings. Each alert is admitted and queued in one atomic
//! write (at most once per account and kind per alert interval) and sent at once when
//! admitted. Best effort: an alert that cannot be admitted is logged; the run's result
//! stands.

use super::SyncError;
use super::run::Job;
use crate::billing::audit::AuditReport;
use crate::error::PortError;
use crate::outbox::{FlushReport, flush_outbox};
use crate::plan::{Notification, RepeatEvery};
use crate::ports::EmailKind;

/// Sends what the outbox holds; a failed send stays queued for the next run.
pub(super) async fn flush(job: &Job<'_>) -> FlushReport {
    let ports = job.ports;
    match flush_outbox(&*ports.store, &*ports.mailer, &*ports.clock).await {
        Ok(r) => r,
        Err(error) => {
            tracing::warn!(account_id = %job.account(), error = %error.chain(), "outbox flush failed; emails stay queued");
            FlushReport::default()
        }
    }
}

/// Admits and queues one throttled alert in one atomic write (the interval's slot is
/// taken only together with its email), and sends it when admitted.
async fn admit(job: &Job<'_>, kind: EmailKind, alert: &Notification) {
    let admitted = job
        .ports
        .store
        .admit_and_queue_alert(
            kind,
            job.account(),
            alert,
            job.started,
            job.settings.alert_interval,
        )
        .await;
    match admitted {
        Ok(true) => {
            flush(job).await;
        }
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(account_id = %job.account(), kind = kind.as_str(), error = %e.chain(), "alert not admitted (nothing queued)")
        }
    }
}

/// Reports a key Telnyx refused (401/403) to the operator, then hands the error back.
pub(super) async fn key_refused(job: &Job<'_>, error: SyncError) -> SyncError {
    if job.writes() {
        if let SyncError::Telnyx { source, .. } = &error {
            key_problem(job, source).await;
        }
    }
    error
}

/// A key Telnyx refuses (permanent error) is reported to the operator. Best effort:
/// the run fails for its own reason either way.
async fn key_problem(job: &Job<'_>, source: &PortError) {
    // Only a refused key (401/403) is the key's problem; a rejected request is ours.
    if source.key_refusal().is_none() || job.settings.alert_to.is_empty() {
        return;
    }
    let alert = Notification::KeyProblem {
        to: job.settings.alert_to.clone(),
        account: job.account().clone(),
        problem: source.chain(),
        raised_at: job.started,
        repeat_every: RepeatEvery::of(job.settings.alert_interval),
    };
    admit(job, EmailKind::KeyProblem, &alert).await;
}

/// The audit's findings that became final in this run are reported to the operator.
pub(super) async fn audit_findings(job: &Job<'_>, report: &AuditReport) {
    if report.newly_final.is_empty() || job.settings.alert_to.is_empty() {
        return;
    }
    let alert = Notification::AuditMismatch {
        to: job.settings.alert_to.clone(),
        account: job.account().clone(),
        findings: report
            .newly_final
            .iter()
            .map(|d| super::messages::audit_mismatch(d).message)
            .collect(),
        raised_at: job.started,
        repeat_every: RepeatEvery::of(job.settings.alert_interval),
    };
    admit(job, EmailKind::AuditMismatch, &alert).await;
}
