//! The DynamoDB `Store` ([`DynamoStore`]): one table (`pk`/`sk` + index `gsi1`), documented item by
//! item in `infra/dynamodb-table.md`, every key built by [`keys`].
//!
//! - Every creation is a conditional put (`attribute_not_exists(pk)`); a condition that
//!   does not hold is a normal outcome ([`is_condition_failed`]) — for a creation,
//!   "already exists", counted in `ApplyReport::already_existed`.
//! - Conditional updates are built once (`update`) whether they run alone or inside a
//!   transaction.
//! - A customer and its new-customer email are written in one `TransactWriteItems`,
//!   so only the writer that created the customer queues the email; a transaction
//!   cancelled by a conflicting write is retried here ([`transact`]).
//! - Every read is a `GetItem` or a `Query`, never a `Scan`.
//! - Every time-dependent method takes `now` from the caller (the core's injectable
//!   `Clock`); the store has no clock of its own.

//!
//! One module per concern of the port, like the core's `ports::store` traits:
//!
//! | module | concern |
//! |---|---|
//! | [`onboardings`] | onboardings and departments |
//! | [`state`] | loading the planner's state, applying actions |
//! | [`records`] | detail records (batched, deduplicated writes), watermarks, reaches, cursors |
//! | [`leases`] | one worker per account (a conditional lease with an expiry) |
//! | [`record_item`] | one detail record's item (raw JSON gzipped, trimmed when too large) |
//! | [`outbox`] | the outbox and the alert throttle |
//! | [`run_logs`] | run logs |
//! | [`billing`] | billing partitions by time, session links, orphans, audit verdicts, time fields |
//! | [`usage`] | the usage report's cached options, confirmed count metrics, distrusted reports |
//! | [`months`] | billing months: change counters, closes and reopens, frozen invoice lines |
//! | [`inspect`] | reads beyond the port, for operations and tests |
//!
//! and the building blocks: [`keys`] (every key string), [`items`] (serde ↔ items),
//! `update` (conditional updates), [`transact`] (transactions and their retries),
//! [`retry`] (the backoff policy).

pub mod billing;
mod digest;
pub mod inspect;
pub mod items;
pub mod keys;
pub mod leases;
pub mod months;
pub mod onboardings;
pub mod outbox;
pub mod record_item;
pub mod records;
pub mod retry;
pub mod run_logs;
pub mod state;
pub mod streams;
pub mod transact;
mod update;
pub mod usage;

use crate::error::AwsError;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::Duration;
use items::{Item, key_item, s};
use keys::Key;
use records::{BatchWriteItems, SdkBatchWriter};
pub use retry::RetryPolicy;
use std::sync::Arc;
use update::ConditionalUpdate;

/// The DynamoDB code of a failed condition.
const CONDITIONAL_CHECK_FAILED: &str = "ConditionalCheckFailedException";

/// True when a write failed only because its condition did not hold (for a creation,
/// "the item already exists"; for an update, "not in the expected state"): a normal
/// outcome the caller interprets, not an error.
pub fn is_condition_failed<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    match err {
        SdkError::ServiceError(se) => se.err().code() == Some(CONDITIONAL_CHECK_FAILED),
        _ => false,
    }
}

/// Tunables of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreSettings {
    /// How long a run log is kept (its `expires_at`).
    pub run_log_retention: Duration,
    /// How long a claim on an outbox entry holds before another sender may take it.
    pub claim_lease: Duration,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            run_log_retention: Duration::days(90),
            claim_lease: Duration::minutes(5),
        }
    }
}

/// What a conditional write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Created or changed.
    Done,
    /// Already there (creation) or already in the wanted state (update).
    AlreadyThere,
}

/// The DynamoDB implementation of the [`Store`] port.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    writer: Arc<dyn BatchWriteItems>,
    retry: RetryPolicy,
    settings: StoreSettings,
}

impl std::fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.table)
            .field("retry", &self.retry)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A key condition on the sort key of a query.
enum SortKey {
    Any,
    BeginsWith(String),
    Below(String),
    /// Between two bounds, both included.
    Between(String, String),
}

impl DynamoStore {
    /// A store on `table`, with the real BatchWriteItem call, default retry and settings.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            writer: Arc::new(SdkBatchWriter::new(client.clone())),
            client,
            table: table.into(),
            retry: RetryPolicy::default(),
            settings: StoreSettings::default(),
        }
    }

    /// Replaces the BatchWriteItem call (tests inject unprocessed items and failures).
    pub fn with_batch_writer(mut self, writer: Arc<dyn BatchWriteItems>) -> Self {
        self.writer = writer;
        self
    }

    /// Replaces the retry policy of unprocessed batch items and conflicting transactions.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces retention, alert interval and claim lease.
    pub fn with_settings(mut self, settings: StoreSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The table name.
    pub fn table_name(&self) -> &str {
        &self.table
    }

    // ---- low-level helpers ---------------------------------------------------------

    async fn get(&self, key: &Key) -> Result<Option<Item>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB", "GetItem", e))?;
        Ok(out.item)
    }

    async fn delete(&self, key: &Key) -> Result<(), AwsError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB", "DeleteItem", e))?;
        Ok(())
    }

    async fn put(&self, item: Item) -> Result<(), AwsError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB", "PutItem", e))?;
        Ok(())
    }

    /// Puts `item` only if no item has its key.
    async fn put_new(&self, item: Item) -> Result<Outcome, AwsError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Outcome::Done),
            Err(e) if is_condition_failed(&e) => Ok(Outcome::AlreadyThere),
            Err(e) => Err(AwsError::sdk("DynamoDB", "PutItem", e)),
        }
    }

    /// A conditional update of an existing item. A failed condition on an existing item
    /// is `AlreadyThere`; on a missing item, [`AwsError::NotFound`].
    async fn update_existing(
        &self,
        key: &Key,
        what: String,
        update: ConditionalUpdate,
    ) -> Result<Outcome, AwsError> {
        if update.send(&self.client, &self.table).await? {
            return Ok(Outcome::Done);
        }
        match self.get(key).await? {
            Some(_) => Ok(Outcome::AlreadyThere),
            None => Err(AwsError::NotFound { what }),
        }
    }

    /// An update of the item at `key` if it exists and `condition` holds.
    fn update_if_exists(key: &Key, update: &str, condition: &str) -> ConditionalUpdate {
        ConditionalUpdate::new(
            key.clone(),
            update,
            format!("attribute_exists(#pk) AND ({condition})"),
        )
        .name("#pk", keys::PK)
    }

    async fn query(
        &self,
        index: Option<&str>,
        partition: &str,
        sort: SortKey,
        newest_first: bool,
        limit: Option<usize>,
    ) -> Result<Vec<Item>, AwsError> {
        let (pk_name, sk_name) = match index {
            Some(_) => (keys::GSI1PK, keys::GSI1SK),
            None => (keys::PK, keys::SK),
        };
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_owned))
            .consistent_read(index.is_none())
            .scan_index_forward(!newest_first)
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_values(":pk", s(partition));
        request = match sort {
            SortKey::Any => request.key_condition_expression("#pk = :pk"),
            SortKey::BeginsWith(prefix) => request
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :sk)")
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":sk", s(prefix)),
            SortKey::Below(bound) => request
                .key_condition_expression("#pk = :pk AND #sk < :sk")
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":sk", s(bound)),
            SortKey::Between(low, high) => request
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":low", s(low))
                .expression_attribute_values(":high", s(high)),
        };
        let stream = request.into_paginator().items().send();
        let items: Vec<Item> = match limit {
            Some(limit) => {
                let mut out = Vec::new();
                let mut stream = stream;
                while let Some(item) = stream.next().await {
                    out.push(item.map_err(|e| AwsError::sdk("DynamoDB", "Query", e))?);
                    if out.len() >= limit {
                        break;
                    }
                }
                out
            }
            None => stream
                .try_collect()
                .await
                .map_err(|e| AwsError::sdk("DynamoDB", "Query", e))?,
        };
        Ok(items)
    }

    /// A transaction item putting `item` only if no item has its key.
    fn conditional_put(&self, item: Item) -> Result<TransactWriteItem, AwsError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()
            .map(|put| TransactWriteItem::builder().put(put).build())
            .map_err(|e| AwsError::Encode {
                what: "TransactWriteItems request".to_owned(),
                source: Box::new(e),
            })
    }
}
