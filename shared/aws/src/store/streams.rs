//! Record streams: one `STREAM#{record type}` item per (account, record type), holding
//! its watermark, reach, found time field and open cursors, replaced whole by one
//! conditional `PutItem` per change (the version it makes must follow the stored one).
//!
//! Accounts synced before streams were kept whole have their state in four kinds of
//! item (`WATERMARK#`, `REACH#`, `CURSOR#`, `TIMEFIELD#`). The first read of such an
//! account converts them: each type's state is created (only where no stream item
//! exists), the old items deleted, and the `STREAMS` mark put, which every later read
//! finds in the same query as the streams and so never looks for old items again.

use super::items::{self, Item, s};
use super::keys;
use super::{DynamoStore, SortKey, is_condition_failed};
use crate::error::AwsError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reconciliation::domain::{ManagedAccountId, RecordType};
use reconciliation::error::{PortError, Transience};
use reconciliation::ports::{Cursor, PortResult, StreamState, StreamStore};
use std::collections::BTreeMap;

#[async_trait]
impl StreamStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(account_id = %account))]
    async fn streams(&self, account: &ManagedAccountId) -> PortResult<Vec<StreamState>> {
        let read = async {
            let (states, kept) = self.stream_items(account).await?;
            if kept {
                return Ok(states);
            }
            self.convert_legacy(account).await?;
            Ok(self.stream_items(account).await?.0)
        };
        read.await.map_err(|e: AwsError| {
            e.into_port(format!("reading the record streams of account {account}"))
        })
    }

    #[tracing::instrument(skip_all, fields(account_id = %account, record_type = %state.record_type, version = state.version))]
    async fn put_stream(&self, account: &ManagedAccountId, state: &StreamState) -> PortResult<()> {
        let t = state.record_type;
        let context = || format!("saving the {t} stream of account {account}");
        let item = items::entity_item("stream", state, &keys::stream(account, t), None)
            .map_err(|e| e.into_port(context()))?;
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let request = if state.version <= 1 {
            request
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK)
        } else {
            request
                .condition_expression("#version = :before")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":before", items::n(state.version - 1))
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => Err(PortError::message(
                format!(
                    "{}: the stored stream is not at version {} (another run wrote it); \
                     this run stops and the next reads it again",
                    context(),
                    state.version.saturating_sub(1)
                ),
                Transience::Transient,
            )),
            Err(e) => Err(AwsError::sdk("DynamoDB", "PutItem", e).into_port(context())),
        }
    }
}

impl DynamoStore {
    /// The account's stream items, and whether its `STREAMS` mark is there (one query).
    async fn stream_items(
        &self,
        account: &ManagedAccountId,
    ) -> Result<(Vec<StreamState>, bool), AwsError> {
        let found = self
            .query(
                None,
                &keys::account_partition(account),
                SortKey::BeginsWith(keys::STREAM_ITEMS.to_owned()),
                false,
                None,
            )
            .await?;
        let kept = found
            .iter()
            .any(|i| items::string_attr(i, keys::SK) == Some(keys::STREAMS_KEPT));
        let states = found
            .into_iter()
            .filter(|i| items::entity_of(i) == Some("stream"))
            .map(items::from_item)
            .collect::<Result<_, _>>()?;
        Ok((states, kept))
    }

    /// Converts the account's old stream items, if any, and puts the `STREAMS` mark.
    /// Safe to repeat and to race: a type whose stream item exists keeps it.
    async fn convert_legacy(&self, account: &ManagedAccountId) -> Result<(), AwsError> {
        let partition = keys::account_partition(account);
        let mut old: Vec<Item> = Vec::new();
        for prefix in keys::LEGACY_STREAM_PREFIXES {
            let sort = SortKey::BeginsWith(prefix.to_owned());
            old.extend(self.query(None, &partition, sort, false, None).await?);
        }
        for state in legacy_states(&old)? {
            let t = state.record_type;
            let item = items::entity_item("stream", &state, &keys::stream(account, t), None)?;
            self.put_new(item).await?;
        }
        for item in &old {
            if let Some(sk) = items::string_attr(item, keys::SK) {
                self.delete(&keys::Key {
                    pk: partition.clone(),
                    sk: sk.to_owned(),
                })
                .await?;
            }
        }
        if !old.is_empty() {
            tracing::info!(
                items = old.len(),
                "record streams converted to one item per type"
            );
        }
        let mut mark = items::key_item(&keys::streams_kept(account));
        mark.insert(keys::ENTITY.to_owned(), s("streams_kept"));
        mark.insert("kept_since".to_owned(), s(Utc::now().to_rfc3339()));
        self.put(mark).await
    }
}

/// Each type's state (version 1) from the old items.
fn legacy_states(old: &[Item]) -> Result<Vec<StreamState>, AwsError> {
    let mut states: BTreeMap<RecordType, StreamState> = BTreeMap::new();
    fn state(states: &mut BTreeMap<RecordType, StreamState>, t: RecordType) -> &mut StreamState {
        states.entry(t).or_insert_with(|| StreamState::new(t))
    }
    for item in old {
        let sk = items::string_attr(item, keys::SK).unwrap_or_default();
        if sk.starts_with("CURSOR#") {
            let cursor: Cursor = items::from_item(item.clone())?;
            state(&mut states, cursor.record_type).save_cursor(cursor);
            continue;
        }
        let Some(t) = items::string_attr(item, "record_type").and_then(|t| t.parse().ok()) else {
            continue;
        };
        let t: RecordType = t;
        if sk.starts_with("WATERMARK#") {
            state(&mut states, t).watermark = micros_attr(item, "watermark");
        } else if sk.starts_with("REACH#") {
            state(&mut states, t).reach = micros_attr(item, "reach");
        } else if sk.starts_with("TIMEFIELD#") {
            state(&mut states, t).time_field =
                items::string_attr(item, "time_field").map(str::to_owned);
        }
    }
    Ok(states
        .into_values()
        .map(|mut s| {
            s.version = 1;
            s
        })
        .collect())
}

/// An epoch-microseconds number attribute as an instant.
fn micros_attr(item: &Item, attribute: &str) -> Option<DateTime<Utc>> {
    let micros: i64 = item.get(attribute)?.as_n().ok()?.parse().ok()?;
    DateTime::from_timestamp_micros(micros)
}
