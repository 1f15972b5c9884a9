//! The account-sync invocation handler. Two payloads are accepted:
//!
//! - an SQS event (what the queue delivers, batch size 1): each message body is a
//!   [`SyncRequest`]; the response lists the messages to redeliver
//!   (`ReportBatchItemFailures`): malformed bodies and transient failures. A permanent
//!   failure (unknown account, revoked key) is recorded (run log, alert) and acked:
//!   redelivering it cannot help, and the next schedule tries again anyway.
//! - a manual invoke: a bare [`SyncRequest`] (`{"managed_account_id": "...",
//!   "dry_run": true}`); the response is the run summary, with the plan as a diff.
//!   Unknown fields are rejected by name, and nothing is written.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Diagnostic, LambdaEvent};
use reconciliation::domain::RunId;
use reconciliation::error_chain;
use reconciliation::ports::{Clock, Mailer, Secrets, Store, SyncRequest, TelnyxApi};
use reconciliation::sync::{RunSummary, SyncError, SyncPorts, SyncSettings, sync_account};
use serde::Serialize;
use std::sync::Arc;
use tracing::Instrument;

/// Everything the handler needs, built once per cold start.
#[derive(Clone)]
pub struct Deps {
    pub telnyx: Arc<dyn TelnyxApi>,
    pub secrets: Arc<dyn Secrets>,
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub settings: SyncSettings,
}

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
    deps: &Deps,
) -> Result<Response, Diagnostic> {
    let (payload, context) = event.into_parts();
    if payload.get("Records").is_some() {
        let batch: SqsEvent = serde_json::from_value(payload)
            .map_err(|e| invalid_payload(format!("not an SQS event: {e}")))?;
        return Ok(Response::Batch(
            handle_batch(batch, &context.request_id, deps).await,
        ));
    }
    let request: SyncRequest = serde_json::from_value(payload).map_err(|e| {
        invalid_payload(format!(
            "expected {{\"managed_account_id\": \"...\", \"backfill_from\"?, \"backfill_to\"?, \"dry_run\"?}}: {e}"
        ))
    })?;
    let summary = run_one(&request, RunId::new(context.request_id.clone()), deps)
        .await
        .map_err(|e| diagnostic(&e))?;
    Ok(Response::Run(Box::new(summary)))
}

async fn handle_batch(batch: SqsEvent, request_id: &str, deps: &Deps) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for (index, message) in batch.records.into_iter().enumerate() {
        let message_id = message.message_id.clone().unwrap_or_default();
        let retry = match message
            .body
            .as_deref()
            .map(serde_json::from_str::<SyncRequest>)
        {
            None => {
                tracing::error!(message_id = %message_id, "SQS message has no body; it goes back to the queue (and to the DLQ after maxReceiveCount)");
                true
            }
            Some(Err(e)) => {
                tracing::error!(message_id = %message_id, error = %e, "SQS message body is not a sync request; it goes back to the queue (and to the DLQ after maxReceiveCount)");
                true
            }
            Some(Ok(request)) => {
                let run_id = RunId::new(if index == 0 {
                    request_id.to_owned()
                } else {
                    format!("{request_id}-{index}")
                });
                match run_one(&request, run_id, deps).await {
                    Ok(_) => false,
                    Err(error) => error.is_transient(),
                }
            }
        };
        if retry {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn run_one(
    request: &SyncRequest,
    run_id: RunId,
    deps: &Deps,
) -> Result<RunSummary, SyncError> {
    let span = tracing::info_span!("sync", account_id = %request.managed_account_id, run_id = %run_id, dry_run = request.dry_run);
    let ports = SyncPorts {
        telnyx: deps.telnyx.as_ref(),
        secrets: deps.secrets.as_ref(),
        store: deps.store.as_ref(),
        mailer: deps.mailer.as_ref(),
        clock: deps.clock.as_ref(),
    };
    let result = sync_account(&ports, &deps.settings, request, run_id)
        .instrument(span.clone())
        .await;
    let _in_span = span.enter(); // no await below: the summary line carries the span's fields
    match &result {
        Ok(summary) => tracing::info!(
            actions = summary.actions,
            created = summary.applied.created,
            records_written = summary.records.written,
            records_duplicate = summary.records.duplicates,
            records_unmatched = summary.unmatched_records,
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

fn invalid_payload(message: String) -> Diagnostic {
    tracing::error!(error = %message, "invalid invoke payload; nothing was done");
    Diagnostic {
        error_type: "InvalidPayload".to_owned(),
        error_message: format!("invalid invoke payload: {message}"),
    }
}

/// The Lambda error of a failed run.
pub fn diagnostic(error: &SyncError) -> Diagnostic {
    lambda_shell::diagnostic(error, error.is_transient())
}
