//! Detail records: the write path that must never lose or double money.
//!
//! `put_detail_records` runs in batches of 25 (BatchWriteItem's limit), several in
//! flight at once. BatchWriteItem accepts no condition, so "already stored" is found
//! first: each batch's keys are read with a consistent `BatchGetItem`, and only the
//! records not yet stored are written; the others are counted as duplicates.
//!
//! Race: a concurrent writer may store the same record between our read and our
//! write. Both then write it and both count it as written; the item is the same
//! (same key, same content), so the table is right and only the counters of one of
//! the two runs are off by the overlap. We accept that rather than pay a conditional
//! `PutItem` per record.
//!
//! `UnprocessedItems` (and `UnprocessedKeys`) are not retried by the SDK: we retry them
//! with exponential backoff and full jitter, never count them as written until they
//! are, and give up after [`BatchRetry::max_attempts`] with a transient error. After a
//! failed batch no new batch starts, and the batches in flight are awaited (not
//! dropped), so the table is settled when the error reaches the caller.
//!
//! The raw BatchWriteItem call sits behind [`BatchWriteItems`], so a test can inject
//! the unprocessed items and failures DynamoDB Local never produces.

use super::items::{self, Item};
use super::keys;
use crate::error::AwsError;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, WriteRequest};
use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use rand::Rng;
use reconciliation::PortError;
use reconciliation::domain::{ManagedAccountId, RawRecord, RecordType, StoredDetailRecord};
use reconciliation::ports::{RecordWriteReport, Store};
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::time::Duration;

/// BatchWriteItem's item limit.
pub const BATCH_SIZE: usize = 25;
/// Batches in flight at once for one call.
pub const BATCHES_IN_FLIGHT: usize = 4;
/// The attribute holding the gzipped raw Telnyx JSON.
pub const RAW_GZ: &str = "raw_gz";
/// A record whose compressed raw JSON is larger than this is refused (items are capped
/// at 400 KB; Telnyx records are a few KB).
pub const MAX_RAW_GZ_BYTES: usize = 300 * 1024;

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

/// How unprocessed batch items are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchRetry {
    /// Calls per batch, the first one included.
    pub max_attempts: u32,
    /// Backoff before the second call; doubles each time (full jitter).
    pub base_delay: Duration,
    /// Backoff cap.
    pub max_delay: Duration,
}

impl Default for BatchRetry {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl BatchRetry {
    /// A random delay in `[0, min(max, base * 2^(attempt-1))]` (full jitter).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let cap = exp.min(self.max_delay);
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

/// Writes `records` then, only if every one of them is durably stored, advances the
/// watermark of (`account`, `record_type`) to `to`. A failure leaves the watermark
/// where it was, so the next run re-reads the window (re-imports count as duplicates).
pub async fn write_records_then_advance(
    store: &dyn Store,
    records: &[StoredDetailRecord],
    account: &ManagedAccountId,
    record_type: RecordType,
    to: DateTime<Utc>,
) -> Result<RecordWriteReport, PortError> {
    let report = store.put_detail_records(records).await?;
    store.advance_watermark(account, record_type, to).await?;
    Ok(report)
}

/// The item of one stored detail record: its fields, plus the row's JSON text exactly
/// as Telnyx sent it ([`reconciliation::domain::RawRecord`]), gzipped.
pub fn record_item(record: &StoredDetailRecord) -> Result<Item, AwsError> {
    let raw_json = record.record.raw.as_str().as_bytes();
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    let compressed = gz
        .write_all(raw_json)
        .and_then(|()| gz.finish())
        .map_err(|e| AwsError::Encode {
            what: format!("raw JSON of detail record {}", record.record.id),
            source: Box::new(e),
        })?;
    if compressed.len() > MAX_RAW_GZ_BYTES {
        return Err(AwsError::Encode {
            what: format!("detail record {}", record.record.id),
            source: format!(
                "compressed raw JSON is {} bytes, over the {MAX_RAW_GZ_BYTES}-byte limit",
                compressed.len()
            )
            .into(),
        });
    }
    // A null raw is left out of the entity's attributes: the text lives in `raw_gz` only.
    let mut without_raw = record.clone();
    without_raw.record.raw = RawRecord::null();
    let key = keys::detail_record(&record.account, record.record_type(), &record.record.id);
    let index = keys::detail_record_index(
        &record.department,
        record.billing_customer.as_ref(),
        record.record.occurred_at,
        record.record_type(),
        &record.record.id,
    );
    let mut item = items::entity_item("detail_record", &without_raw, &key, Some(&index))?;
    item.insert(RAW_GZ.to_owned(), AttributeValue::B(Blob::new(compressed)));
    Ok(item)
}

/// Reads a stored detail record back, its raw JSON text included (byte for byte what
/// was written).
pub fn record_from_item(mut item: Item) -> Result<StoredDetailRecord, AwsError> {
    let what = items::describe(&item);
    let raw = match item.remove(RAW_GZ) {
        Some(AttributeValue::B(blob)) => {
            let mut json = String::new();
            GzDecoder::new(blob.as_ref())
                .read_to_string(&mut json)
                .map_err(|e| AwsError::Decode {
                    what: what.clone(),
                    source: Box::new(e),
                })?;
            RawRecord::from_json(json).map_err(|e| AwsError::Decode {
                what: what.clone(),
                source: Box::new(e),
            })?
        }
        _ => RawRecord::null(),
    };
    // Items written before the raw text moved out kept a NULL `raw` inside `record`.
    if let Some(AttributeValue::M(fields)) = item.get_mut("record") {
        fields.remove("raw");
    }
    let mut record: StoredDetailRecord = items::from_item(item)?;
    record.record.raw = raw;
    Ok(record)
}

/// One record ready to write: its key and its item.
#[derive(Debug, Clone)]
pub struct PreparedRecord {
    pub key: keys::Key,
    pub item: Item,
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
    retry: &BatchRetry,
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
    retry: &BatchRetry,
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

/// Writes one deduplicated batch: reads which keys exist, writes the others.
pub async fn write_batch(
    client: &Client,
    writer: &dyn BatchWriteItems,
    table: &str,
    batch: Vec<PreparedRecord>,
    retry: &BatchRetry,
) -> Result<RecordWriteReport, AwsError> {
    let existing = stored_keys(client, table, &batch, retry).await?;
    let mut to_write = Vec::with_capacity(batch.len());
    let mut duplicates = 0u64;
    for r in batch {
        if existing.contains(&(r.key.pk, r.key.sk)) {
            duplicates += 1;
        } else {
            to_write.push(r.item);
        }
    }
    let written = write_all(writer, table, to_write, retry).await?;
    Ok(RecordWriteReport {
        written,
        duplicates,
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use reconciliation::domain::{DepartmentId, MatchedBy};
    use reconciliation::fixtures::record;

    fn stored(raw: &str) -> StoredDetailRecord {
        let mut r = record(RecordType::Wireless, "w-1").build();
        r.raw = RawRecord::from_json(raw).unwrap();
        StoredDetailRecord {
            account: ManagedAccountId::new("acc-1"),
            department: DepartmentId::new("dept-1"),
            billing_customer: None,
            end_customer: None,
            service: None,
            matched_by: MatchedBy::Unmatched,
            record: r,
        }
    }

    #[test]
    fn the_item_keeps_the_telnyx_text_byte_for_byte_and_reads_it_back() {
        let text = r#"{"record_type":"sim_card_usage","id":"w-1","data_cost":0.0125,"uplink_data":1E3,"z":1,"a":2}"#;
        let item = record_item(&stored(text)).unwrap();

        let Some(AttributeValue::B(blob)) = item.get(RAW_GZ) else {
            panic!("no {RAW_GZ} attribute");
        };
        let mut unzipped = String::new();
        GzDecoder::new(blob.as_ref())
            .read_to_string(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, text);
        let Some(AttributeValue::M(fields)) = item.get("record") else {
            panic!("no record attribute");
        };
        assert!(!fields.contains_key("raw"), "the text is stored once");
        let back = record_from_item(item).unwrap();
        assert_eq!(back.record.raw.as_str(), text);
        assert_eq!(back, stored(text));
    }

    #[test]
    fn an_item_with_a_null_raw_attribute_from_before_still_reads() {
        let text = r#"{"id":"w-1"}"#;
        let mut item = record_item(&stored(text)).unwrap();
        if let Some(AttributeValue::M(fields)) = item.get_mut("record") {
            fields.insert("raw".to_owned(), AttributeValue::Null(true));
        }
        let back = record_from_item(item).unwrap();
        assert_eq!(back.record.raw.as_str(), text);
    }
}
