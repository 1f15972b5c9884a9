//! The account-sync invocation handler. Two payloads are accepted:
//!
//! - an SQS event (what the queue delivers, batch size 1): each message body is a
//!   [`SyncRequest`] (fields this version does not know are logged and ignored); the
//!   response lists the messages to redeliver (`ReportBatchItemFailures`): malformed or
//!   invalid bodies (a reversed window, an empty type list: only a broken sender writes
//!   one, so it goes to the DLQ where an operator sees it) and transient failures. A
//!   permanent failure (unknown account, revoked key) is recorded (run log, alert) and
//!   acked: redelivering it cannot help, and the next schedule tries again anyway.
//! - a manual invoke: a bare [`SyncRequest`] (`{"managed_account_id": "...",
//!   "dry_run": true}`); the response is the run summary, with the plan as a diff.
//!   Unknown fields are rejected by name, and nothing is done.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::DateTime;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use reconciliation::domain::RunId;
use reconciliation::error_chain;
use reconciliation::invocation::{InvalidInvocation, SyncRequest};
use reconciliation::metrics;
use reconciliation::ports::Ports;
use reconciliation::sync::{RunContext, RunSummary, SyncError, SyncSettings, sync_account};
use serde::Serialize;
use std::time::Instant;
use tracing::Instrument;

/// The handler's answer: a batch response for SQS, a run summary for a manual invoke.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Response {
    Batch(SqsBatchResponse),
    Run(Box<RunSummary>),
}

/// Handles one invocation (see the module docs for the two payloads).
pub async fn handle(
    event: LambdaEvent<serde_json::Value>,
    ports: &Ports,
    settings: &SyncSettings,
) -> Result<Response, Diagnostic> {
    let (payload, context) = event.into_parts();
    if payload.get("Records").is_some() {
        let batch: SqsEvent = serde_json::from_value(payload).map_err(|e| {
            invalid_payload(&InvalidInvocation {
                field: Some("Records".into()),
                reason: format!("not an SQS event: {e}"),
            })
        })?;
        return Ok(Response::Batch(
            handle_batch(batch, &context, ports, settings).await,
        ));
    }
    let request = SyncRequest::from_invoke(payload).map_err(|e| invalid_payload(&e))?;
    // Refused here, like a malformed payload: before the onboarding, a key or Telnyx
    // is read, and without a run log (a window in the future, reversed, empty…).
    request
        .validate(ports.clock.now())
        .map_err(|e| invalid_payload(&e))?;
    let ctx = run_context(RunId::new(context.request_id.clone()), &context);
    let summary = run_one(&request, ctx, ports, settings)
        .await
        .map_err(|e| diagnostic(&e))?;
    Ok(Response::Run(Box::new(summary)))
}

/// The run's id and deadline: the invocation's (a `Context` without a deadline, as in
/// tests, gives a run without one).
fn run_context(run_id: RunId, context: &Context) -> RunContext {
    let deadline = i64::try_from(context.deadline)
        .ok()
        .filter(|ms| *ms > 0)
        .and_then(DateTime::from_timestamp_millis);
    RunContext { run_id, deadline }
}

async fn handle_batch(
    batch: SqsEvent,
    context: &Context,
    ports: &Ports,
    settings: &SyncSettings,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let request_id = &context.request_id;
    for (index, message) in batch.records.into_iter().enumerate() {
        let run_id = RunId::new(if index == 0 {
            request_id.to_owned()
        } else {
            format!("{request_id}-{index}")
        });
        let message_id = message.message_id.clone().unwrap_or_default();
        let ctx = run_context(run_id, context);
        if handle_message(&message, ctx, ports, settings)
            .await
            .is_err()
        {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// `Err` when the message must go back to the queue: a malformed body (it ends in the
/// DLQ after maxReceiveCount) or a transient failure.
async fn handle_message(
    message: &SqsMessage,
    ctx: RunContext,
    ports: &Ports,
    settings: &SyncSettings,
) -> Result<(), ()> {
    let message_id = message.message_id.as_deref().unwrap_or_default();
    let parsed = match message.body.as_deref().map(SyncRequest::from_queue_body) {
        None => {
            tracing::error!(
                message_id,
                "SQS message has no body; it goes back to the queue (and to the DLQ after maxReceiveCount)"
            );
            return Err(());
        }
        Some(Err(e)) => {
            tracing::error!(message_id, error = %e, "SQS message body is not a sync request; it goes back to the queue (and to the DLQ after maxReceiveCount)");
            return Err(());
        }
        Some(Ok(parsed)) => parsed,
    };
    if let Err(e) = parsed.request.validate(ports.clock.now()) {
        tracing::error!(message_id, error = %e, "SQS message is not a valid sync request; it goes back to the queue (and to the DLQ after maxReceiveCount)");
        return Err(());
    }
    if !parsed.ignored_fields.is_empty() {
        tracing::info!(message_id, ignored_fields = ?parsed.ignored_fields, "SQS message carries fields this version does not know; ignored");
    }
    match run_one(&parsed.request, ctx, ports, settings).await {
        Err(error) if error.is_transient() => Err(()),
        _ => Ok(()),
    }
}

async fn run_one(
    request: &SyncRequest,
    ctx: RunContext,
    ports: &Ports,
    settings: &SyncSettings,
) -> Result<RunSummary, SyncError> {
    let span = tracing::info_span!("sync", account_id = %request.managed_account_id, run_id = %ctx.run_id, dry_run = request.dry_run, continuation = request.continuation);
    let (started, telnyx_before) = (Instant::now(), ports.telnyx.request_counts());
    let run_id = ctx.run_id.to_string();
    let result = sync_account(ports, settings, request, ctx)
        .instrument(span.clone())
        .await;
    let _in_span = span.enter(); // no await below: the summary line carries the span's fields
    let duration_ms = started.elapsed().as_millis() as u64;
    let telnyx = ports.telnyx.request_counts().since(telnyx_before);
    lambda_shell::emit_metrics(&match &result {
        Ok(summary) => metrics::sync_run(summary, duration_ms, telnyx),
        Err(error) => vec![metrics::sync_failure(
            &request.managed_account_id,
            &run_id,
            error,
            duration_ms,
            telnyx,
        )],
    });
    match &result {
        Ok(summary) => tracing::info!(
            outcome = ?summary.outcome,
            pages = summary.pages,
            actions = summary.actions,
            created = summary.applied.created,
            records_written = summary.records.written,
            records_duplicate = summary.records.duplicates,
            records_unmatched = summary.unmatched_records(),
            emails_sent = summary.emails.sent,
            log_entries = summary.log.len(),
            "sync run finished"
        ),
        Err(error) => {
            tracing::error!(error = %error_chain(error), transient = error.is_transient(), "sync run failed")
        }
    }
    result
}

fn invalid_payload(error: &InvalidInvocation) -> Diagnostic {
    tracing::error!(error = %error, "invalid invoke payload; nothing was done");
    Diagnostic {
        error_type: "InvalidPayload".to_owned(),
        error_message: format!("invalid invoke payload: {error}"),
    }
}

/// The Lambda error of a failed run.
pub fn diagnostic(error: &SyncError) -> Diagnostic {
    lambda_shell::diagnostic(error, error.is_transient())
}
