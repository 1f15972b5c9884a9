//! Detail records: the write path that must never lose or double money.
//!
//! `put_detail_records` runs in batches of 25 (BatchWriteItem's limit), several in
//! flight at once. BatchWriteItem accepts no condition, so "already stored" is found
//! first: each batch's keys are read with a consistent `BatchGetItem`, and only the
//! records not yet stored are written; the others are counted as duplicates.
//! `put_new_detail_records` writes the same batches without that read, for records
//! nothing can have stored yet (a slice at or after the type's reach: docs/record-path.md
//! "Reach").
//!
//! Race: a concurrent writer may store the same record between our read and our
//! write. Both then write it and both count it as written; the item is the same
//! (same key, same content), so the table is right and only the counters of one of
//! the two runs are off by the overlap. We accept that rather than pay a conditional
//! `PutItem` per record.
//!
//! `UnprocessedItems` (and `UnprocessedKeys`) are not retried by the SDK: we retry them
//! with exponential backoff and full jitter, never count them as written until they
//! are, and give up after [`RetryPolicy::max_attempts`] with a transient error. After a
//! failed batch no new batch starts, and the batches in flight are awaited (not
//! dropped), so the table is settled when the error reaches the caller.
//!
//! The raw BatchWriteItem call sits behind [`BatchWriteItems`], so a test can inject
//! the unprocessed items and failures DynamoDB Local never produces (and measure how
//! many batches are in flight); `UnprocessedKeys` of the BatchGetItem are injected in
//! tests with an SDK interceptor on the real client.

use super::DynamoStore;
use super::items::{self, Item};
use super::keys;
use super::record_item::{is_raw_trimmed, record_item};
use super::retry::RetryPolicy;
use crate::error::AwsError;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, WriteRequest};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use reconciliation::domain::StoredDetailRecord;
use reconciliation::ports::{PortResult, RecordStore, RecordWriteReport};
use std::collections::{HashMap, HashSet};

/// BatchWriteItem's item limit.
pub const BATCH_SIZE: usize = 25;
/// Batches in flight at once for one call.
pub const BATCHES_IN_FLIGHT: usize = 4;
/// One BatchWriteItem call. Returns the requests DynamoDB left unprocessed.
#[async_trait]
pub trait BatchWriteItems: Send + Sync {
    async fn batch_write(
        &self,
        table: &str,
        requests: Vec<WriteRequest>,
    ) -> Result<Vec<WriteRequest>, AwsError>;
}

/// The real call, through the SDK client.
#[derive(Debug, Clone)]
pub struct SdkBatchWriter {
    client: Client,
}

impl SdkBatchWriter {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl BatchWriteItems for SdkBatchWriter {
    async fn batch_write(
        &self,
        table: &str,
        requests: Vec<WriteRequest>,
    ) -> Result<Vec<WriteRequest>, AwsError> {
        let out = self
            .client
            .batch_write_item()
            .request_items(table, requests)
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB", "BatchWriteItem", e))?;
        Ok(out
            .unprocessed_items
            .and_then(|mut m| m.remove(table))
            .unwrap_or_default())
    }
}

/// One record ready to write: its key and its item.
#[derive(Debug, Clone)]
pub struct PreparedRecord {
    pub key: keys::Key,
    pub item: Item,
}

impl PreparedRecord {
    /// Whether the item leaves the raw JSON out ([`RAW_TRIMMED`]).
    pub fn raw_trimmed(&self) -> bool {
        is_raw_trimmed(&self.item)
    }
}

/// Encodes records and splits them into batches with no key twice; returns the
/// batches and how many input records were dropped as duplicates of an earlier one
/// in the same call.
pub fn dedupe_into_batches(
    records: &[StoredDetailRecord],
) -> Result<(Vec<Vec<PreparedRecord>>, u64), AwsError> {
    let mut seen = HashSet::new();
    let mut unique = Vec::with_capacity(records.len());
    let mut duplicates = 0u64;
    for r in records {
        let key = keys::detail_record(&r.account, r.record_type(), &r.record.id);
        if seen.insert((key.pk.clone(), key.sk.clone())) {
            unique.push(PreparedRecord {
                key,
                item: record_item(r)?,
            });
        } else {
            duplicates += 1;
        }
    }
    let mut batches = Vec::with_capacity(unique.len().div_ceil(BATCH_SIZE));
    let mut rest = unique.into_iter().peekable();
    while rest.peek().is_some() {
        batches.push(rest.by_ref().take(BATCH_SIZE).collect());
    }
    Ok((batches, duplicates))
}

/// Which of `batch`'s keys are already stored (consistent read, unprocessed keys retried).
pub async fn stored_keys(
    client: &Client,
    table: &str,
    batch: &[PreparedRecord],
    retry: &RetryPolicy,
) -> Result<HashSet<(String, String)>, AwsError> {
    let mut pending: Vec<Item> = batch.iter().map(|r| items::key_item(&r.key)).collect();
    let mut found = HashSet::new();
    for attempt in 1..=retry.max_attempts {
        let request = KeysAndAttributes::builder()
            .set_keys(Some(pending))
            .consistent_read(true)
            .projection_expression("#pk, #sk")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .build()
            .map_err(|e| AwsError::Encode {
                what: "BatchGetItem request".to_owned(),
                source: Box::new(e),
            })?;
        let out = client
            .batch_get_item()
            .request_items(table, request)
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB", "BatchGetItem", e))?;
        for item in out
            .responses
            .and_then(|mut r| r.remove(table))
            .unwrap_or_default()
        {
            if let (Some(pk), Some(sk)) = (
                items::string_attr(&item, keys::PK),
                items::string_attr(&item, keys::SK),
            ) {
                found.insert((pk.to_owned(), sk.to_owned()));
            }
        }
        pending = out
            .unprocessed_keys
            .and_then(|mut m| m.remove(table))
            .map(|k| k.keys)
            .unwrap_or_default();
        if pending.is_empty() {
            return Ok(found);
        }
        if attempt < retry.max_attempts {
            tokio::time::sleep(retry.backoff(attempt)).await;
        }
    }
    Err(AwsError::Unprocessed {
        operation: "BatchGetItem",
        attempts: retry.max_attempts,
        remaining: pending.len(),
    })
}

/// Writes every item with BatchWriteItem, retrying unprocessed ones; Ok only when all
/// are stored.
pub async fn write_all(
    writer: &dyn BatchWriteItems,
    table: &str,
    items: Vec<Item>,
    retry: &RetryPolicy,
) -> Result<u64, AwsError> {
    let total = items.len() as u64;
    let mut pending = items
        .into_iter()
        .map(|item| {
            PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map(|put| WriteRequest::builder().put_request(put).build())
                .map_err(|e| AwsError::Encode {
                    what: "BatchWriteItem request".to_owned(),
                    source: Box::new(e),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if pending.is_empty() {
        return Ok(0);
    }
    for attempt in 1..=retry.max_attempts {
        let sent = pending.len();
        pending = writer.batch_write(table, pending).await?;
        if pending.is_empty() {
            return Ok(total);
        }
        tracing::debug!(
            attempt,
            sent,
            unprocessed = pending.len(),
            "BatchWriteItem left items unprocessed; retrying"
        );
        if attempt < retry.max_attempts {
            tokio::time::sleep(retry.backoff(attempt)).await;
        }
    }
    Err(AwsError::Unprocessed {
        operation: "BatchWriteItem",
        attempts: retry.max_attempts,
        remaining: pending.len(),
    })
}

/// Writes one deduplicated batch: with `check`, reads which keys exist and writes the
/// others; without, writes every one (the caller knows none is stored).
pub async fn write_batch(
    client: &Client,
    writer: &dyn BatchWriteItems,
    table: &str,
    batch: Vec<PreparedRecord>,
    retry: &RetryPolicy,
    check: bool,
) -> Result<RecordWriteReport, AwsError> {
    let existing = if check {
        stored_keys(client, table, &batch, retry).await?
    } else {
        HashSet::new()
    };
    let mut to_write = Vec::with_capacity(batch.len());
    let mut duplicates = 0u64;
    let mut raw_trimmed = 0u64;
    for r in batch {
        if existing.contains(&(r.key.pk.clone(), r.key.sk.clone())) {
            duplicates += 1;
        } else {
            raw_trimmed += u64::from(r.raw_trimmed());
            to_write.push(r.item);
        }
    }
    let written = write_all(writer, table, to_write, retry).await?;
    Ok(RecordWriteReport {
        written,
        duplicates,
        raw_trimmed,
    })
}

/// The attribute map's string keys, for tests of injected writers.
pub fn request_key(request: &WriteRequest) -> Option<(String, String)> {
    let item: &HashMap<String, AttributeValue> = &request.put_request.as_ref()?.item;
    Some((
        items::string_attr(item, keys::PK)?.to_owned(),
        items::string_attr(item, keys::SK)?.to_owned(),
    ))
}

impl DynamoStore {
    /// Batches of 25, several in flight; `check`: existing records are duplicates.
    #[tracing::instrument(skip_all, fields(
        account_id = %records.first().map_or("", |r| r.account.as_str()),
        records = records.len(),
        check,
    ))]
    async fn put_records(
        &self,
        records: &[StoredDetailRecord],
        check: bool,
    ) -> PortResult<RecordWriteReport> {
        let account = records
            .first()
            .map_or_else(String::new, |r| r.account.to_string());
        let context = || format!("writing detail records of account {account}");
        self.bump_changes(records)
            .await
            .map_err(|e| e.into_port(context()))?;
        let (batches, in_call_duplicates) =
            dedupe_into_batches(records).map_err(|e| e.into_port(context()))?;
        let writer = self.writer.as_ref();
        let mut pending = batches
            .into_iter()
            .map(|batch| write_batch(&self.client, writer, &self.table, batch, &self.retry, check));
        let mut in_flight = FuturesUnordered::new();
        let mut report = RecordWriteReport {
            duplicates: in_call_duplicates,
            ..RecordWriteReport::default()
        };
        let mut first_error = None;
        // After a failure no new batch starts, but the batches in flight are awaited
        // rather than dropped: a dropped request may still land after we return, and
        // the caller must see a settled table.
        in_flight.extend(pending.by_ref().take(BATCHES_IN_FLIGHT));
        while let Some(result) = in_flight.next().await {
            match result {
                Ok(batch) => {
                    report.written += batch.written;
                    report.duplicates += batch.duplicates;
                    report.raw_trimmed += batch.raw_trimmed;
                    if first_error.is_none() {
                        in_flight.extend(pending.next());
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e.into_port(context()));
        }
        tracing::info!(
            written = report.written,
            duplicates = report.duplicates,
            raw_trimmed = report.raw_trimmed,
            "detail records stored"
        );
        Ok(report)
    }
}

#[async_trait]
impl RecordStore for DynamoStore {
    async fn put_detail_records(
        &self,
        records: &[StoredDetailRecord],
    ) -> PortResult<RecordWriteReport> {
        self.put_records(records, true).await
    }

    async fn put_new_detail_records(
        &self,
        records: &[StoredDetailRecord],
    ) -> PortResult<RecordWriteReport> {
        self.put_records(records, false).await
    }
}
