//! The scheduler's invocation handler: one EventBridge Scheduler tick in, a
//! [`ScheduleReport`] out. The payload is ignored (a schedule carries no input the
//! job needs); the ports are built once at cold start and passed in.

use lambda_runtime::{Diagnostic, LambdaEvent};
use reconciliation::error_chain;
use reconciliation::ports::{Clock, Dispatcher, Mailer, Secrets, Store, TelnyxApi};
use reconciliation::schedule::{
    ScheduleError, SchedulePorts, ScheduleReport, ScheduleSettings, run_schedule,
};
use std::sync::Arc;
use tracing::Instrument;

/// Everything the handler needs, built once per cold start.
#[derive(Clone)]
pub struct Deps {
    pub telnyx: Arc<dyn TelnyxApi>,
    pub secrets: Arc<dyn Secrets>,
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub dispatcher: Arc<dyn Dispatcher>,
    pub clock: Arc<dyn Clock>,
    pub settings: ScheduleSettings,
}

/// Handles one tick. Fails (so EventBridge Scheduler retries) when the account list
/// could not be read or some sync requests could not be queued.
pub async fn handle(
    event: LambdaEvent<serde_json::Value>,
    deps: &Deps,
) -> Result<ScheduleReport, Diagnostic> {
    let request_id = event.context.request_id.clone();
    let span = tracing::info_span!("schedule", request_id = %request_id);
    let ports = SchedulePorts {
        telnyx: deps.telnyx.as_ref(),
        secrets: deps.secrets.as_ref(),
        store: deps.store.as_ref(),
        mailer: deps.mailer.as_ref(),
        dispatcher: deps.dispatcher.as_ref(),
        clock: deps.clock.as_ref(),
    };
    let result = run_schedule(&ports, &deps.settings)
        .instrument(span.clone())
        .await;
    let _in_span = span.enter(); // no await below: the summary line carries the span's fields
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
