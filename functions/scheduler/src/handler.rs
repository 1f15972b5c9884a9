//! The scheduler's invocation handler: one EventBridge Scheduler tick in, a
//! [`ScheduleReport`] out (and the tick's run log stored, under the request id). The
//! payload is ignored (a schedule carries no input the job needs); the ports are built
//! once at cold start and passed in.

use lambda_runtime::{Diagnostic, LambdaEvent};
use reconciliation::domain::RunId;
use reconciliation::error_chain;
use reconciliation::metrics;
use reconciliation::ports::Ports;
use reconciliation::schedule::{ScheduleError, ScheduleReport, ScheduleSettings, run_tick};
use std::time::Instant;
use tracing::Instrument;

/// Handles one tick. Fails (so EventBridge Scheduler retries) when the account list
/// could not be read or some sync requests could not be queued.
pub async fn handle(
    event: LambdaEvent<serde_json::Value>,
    ports: &Ports,
    settings: &ScheduleSettings,
) -> Result<ScheduleReport, Diagnostic> {
    let request_id = event.context.request_id.clone();
    let span = tracing::info_span!("schedule", request_id = %request_id);
    let started = Instant::now();
    let result = run_tick(ports, settings, RunId::new(request_id.clone()))
        .instrument(span.clone())
        .await;
    let _in_span = span.enter(); // no await below: the summary line carries the span's fields
    let key_problem = result
        .as_ref()
        .err()
        .is_some_and(ScheduleError::is_key_problem);
    lambda_shell::emit_metrics(&[metrics::schedule_tick(
        result.as_ref().ok(),
        key_problem,
        started.elapsed().as_millis() as u64,
    )]);
    match result {
        Ok(report) => {
            tracing::info!(
                accounts_listed = report.accounts_listed,
                dispatched = report.dispatched.len(),
                unknown = report.unknown.len(),
                alerted = report.alerted.len(),
                onboarded_not_listed = report.onboarded_not_listed.len(),
                emails_sent = report.emails.sent,
                "schedule run finished"
            );
            Ok(report)
        }
        Err(error) => {
            tracing::error!(error = %error_chain(&error), transient = error.is_transient(), "schedule run failed");
            Err(diagnostic(&error))
        }
    }
}

/// The Lambda error of a failed tick.
pub fn diagnostic(error: &ScheduleError) -> Diagnostic {
    lambda_shell::diagnostic(error, error.is_transient())
}
