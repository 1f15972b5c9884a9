//! `TransactWriteItems`, with DynamoDB's per-item cancellation reasons read and
//! transaction conflicts retried here.
//!
//! DynamoDB cancels a whole transaction and reports one reason per item, in request
//! order: `None` (this item was fine), `ConditionalCheckFailed`, `TransactionConflict`
//! (another transaction or write touched the item meanwhile), `ThrottlingError`, … The
//! SDK does not retry a cancellation, and a conflict is real on DynamoDB (two appliers
//! creating the same customer at once) though DynamoDB Local, which serialises
//! transactions, never produces one. So:
//!
//! - any `ConditionalCheckFailed` decides, even when another item conflicted: every
//!   condition we put in a transaction states a fact a retry cannot undo (a customer
//!   or outbox entry exists — they are never deleted — or an alert slot was taken
//!   within the interval), so the caller acts on which items failed their condition;
//! - otherwise, if every non-`None` reason is a conflict or throttling, the same items
//!   are sent again after a jittered backoff, at most [`RetryPolicy::max_attempts`]
//!   times, then [`AwsError::TransactionConflict`] (transient) is returned;
//! - anything else (validation, size) is a permanent error.
//!
//! Each attempt carries a fresh `ClientRequestToken`: the SDK's own retry of one
//! attempt is idempotent, while a new attempt after a cancellation really runs again.

use super::retry::RetryPolicy;
use crate::error::AwsError;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The cancellation reason of an item whose condition did not hold.
pub const CONDITION_FAILED: &str = "ConditionalCheckFailed";
/// The cancellation reason of an item nothing was wrong with.
const NO_REASON: &str = "None";
/// Cancellation reasons a later attempt can get past.
const RETRYABLE_REASONS: &[&str] = &[
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];
/// The top-level error of a write that conflicted with a running transaction.
const CONFLICT_EXCEPTION: &str = "TransactionConflictException";

/// Why DynamoDB cancelled one item of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemReason {
    /// Nothing wrong with this item (`None`).
    Fine,
    /// Its condition did not hold.
    ConditionFailed,
    /// A conflict or throttling: another attempt may pass.
    Retryable(String),
    /// Anything else (validation, item size…).
    Other(String),
}

/// The per-item reasons of a cancelled transaction, in request order; `None` when
/// the failure is not a cancellation.
pub fn cancellation_reasons<R>(
    err: &SdkError<TransactWriteItemsError, R>,
) -> Option<Vec<ItemReason>> {
    let SdkError::ServiceError(se) = err else {
        return None;
    };
    let TransactWriteItemsError::TransactionCanceledException(cancelled) = se.err() else {
        return None;
    };
    Some(
        cancelled
            .cancellation_reasons()
            .iter()
            .map(|r| match r.code() {
                None | Some(NO_REASON) => ItemReason::Fine,
                Some(CONDITION_FAILED) => ItemReason::ConditionFailed,
                Some(code) if RETRYABLE_REASONS.contains(&code) => {
                    ItemReason::Retryable(code.to_owned())
                }
                Some(code) => ItemReason::Other(code.to_owned()),
            })
            .collect(),
    )
}

/// What a transaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transacted {
    /// Every item was written.
    Committed,
    /// Nothing was written: the items whose condition failed (by position).
    ConditionsFailed(Vec<bool>),
}

/// What one attempt's failure calls for.
enum Next {
    Decided(Vec<bool>),
    Retry,
    Fail,
}

fn next_step(
    err: &SdkError<
        TransactWriteItemsError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> Next {
    match cancellation_reasons(err) {
        Some(reasons) if reasons.contains(&ItemReason::ConditionFailed) => Next::Decided(
            reasons
                .iter()
                .map(|r| *r == ItemReason::ConditionFailed)
                .collect(),
        ),
        Some(reasons)
            if reasons
                .iter()
                .any(|r| matches!(r, ItemReason::Retryable(_)))
                && !reasons.iter().any(|r| matches!(r, ItemReason::Other(_))) =>
        {
            Next::Retry
        }
        None if err.code() == Some(CONFLICT_EXCEPTION) => Next::Retry,
        _ => Next::Fail,
    }
}

/// Writes `items` in one transaction, retrying conflicts (see the module doc).
pub(crate) async fn transact_write(
    client: &Client,
    items: &[TransactWriteItem],
    retry: &RetryPolicy,
) -> Result<Transacted, AwsError> {
    for attempt in 1..=retry.max_attempts {
        let result = client
            .transact_write_items()
            .set_transact_items(Some(items.to_vec()))
            .client_request_token(uuid::Uuid::new_v4().to_string())
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Transacted::Committed),
            Err(err) => err,
        };
        match next_step(&err) {
            Next::Decided(failed) => return Ok(Transacted::ConditionsFailed(failed)),
            Next::Fail => return Err(AwsError::sdk("DynamoDB", "TransactWriteItems", err)),
            Next::Retry => {
                tracing::debug!(
                    attempt,
                    "transaction cancelled by a conflicting write or throttling; retrying"
                );
                if attempt < retry.max_attempts {
                    tokio::time::sleep(retry.backoff(attempt)).await;
                }
            }
        }
    }
    Err(AwsError::TransactionConflict {
        operation: "TransactWriteItems",
        attempts: retry.max_attempts,
    })
}
