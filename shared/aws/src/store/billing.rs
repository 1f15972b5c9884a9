//! The billing truth beside the records ([`BillingStore`]): a billing partition read by
//! time from `gsi1` (one page per call, resumable), call-session links, records waiting
//! for their call, audit verdicts and found time fields in the account's partition.
//! Reattribution is one conditional `UpdateItem` on the record's own item.

use super::items::{self, Item, s};
use super::keys;
use super::update::ConditionalUpdate;
use super::{DynamoStore, SortKey};
use crate::error::AwsError;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use reconciliation::domain::{ManagedAccountId, MatchedBy, StoredDetailRecord};
use reconciliation::ports::{
    AuditDay, BilledPage, BillingPartition, BillingStore, PortResult, SessionLink, TimeWindow,
};
use std::collections::{BTreeMap, HashMap};

/// Records read per `billed_page` (DynamoDB's 1 MB page holds fewer when they are big).
const PAGE_ITEMS: i32 = 500;
/// Writes and reads in flight at once for the small items here.
const IN_FLIGHT: usize = 8;

fn port(context: &str) -> impl FnOnce(AwsError) -> reconciliation::PortError + '_ {
    move |e| e.into_port(context.to_owned())
}

/// A page token: the `LastEvaluatedKey`'s string attributes as JSON.
fn token_of(key: &HashMap<String, AttributeValue>) -> Option<String> {
    let map: BTreeMap<&str, &str> = key
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_s().ok()?.as_str())))
        .collect();
    serde_json::to_string(&map).ok()
}

fn key_of_token(token: &str) -> Result<HashMap<String, AttributeValue>, AwsError> {
    let map: BTreeMap<String, String> =
        serde_json::from_str(token).map_err(|e| AwsError::Decode {
            what: "a billed-records page token".to_owned(),
            source: Box::new(e),
        })?;
    Ok(map.into_iter().map(|(k, v)| (k, s(v))).collect())
}

/// The conditional update that gives a stored record `record`'s attribution, only if it
/// is still stored unmatched: how matched, its billing partition, the customers and
/// service (removed when `None`) and the connection found.
fn reattribution(record: &StoredDetailRecord) -> Result<ConditionalUpdate, AwsError> {
    let key = keys::detail_record(&record.account, record.record_type(), &record.record.id);
    let index = super::record_item::index_of(record);
    let mut sets = vec!["#mb = :mb".to_owned(), "#g = :g".to_owned()];
    let mut removes = Vec::new();
    let mut update = ConditionalUpdate::new(key, "", "#mb = :unmatched")
        .name("#mb", "matched_by")
        .name("#g", keys::GSI1PK)
        .name("#rec", "record")
        .value(":mb", items::attribute("matched_by", &record.matched_by)?)
        .value(
            ":unmatched",
            items::attribute("matched_by", &MatchedBy::Unmatched)?,
        )
        .value(":g", s(index.gsi1pk));
    let fields: [(&str, &str, Option<&str>); 4] = [
        (
            "bc",
            "billing_customer",
            record.billing_customer.as_ref().map(|c| c.as_str()),
        ),
        (
            "ec",
            "end_customer",
            record.end_customer.as_ref().map(|c| c.as_str()),
        ),
        ("sv", "service", record.service.as_ref().map(|c| c.as_str())),
        (
            "cn",
            "connection_id",
            record.record.connection_id.as_ref().map(|c| c.as_str()),
        ),
    ];
    for (tag, attribute, value) in fields {
        update = update.name(&format!("#{tag}"), attribute);
        // The connection is a field of the nested normalized record.
        let path = if attribute == "connection_id" {
            format!("#rec.#{tag}")
        } else {
            format!("#{tag}")
        };
        match value {
            Some(v) => {
                sets.push(format!("{path} = :{tag}"));
                update = update.value(&format!(":{tag}"), s(v));
            }
            None => removes.push(path),
        }
    }
    let mut expression = format!("SET {}", sets.join(", "));
    if !removes.is_empty() {
        expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    Ok(update.with_update(expression))
}

impl DynamoStore {
    /// Puts every item, [`IN_FLIGHT`] at a time.
    async fn put_all(&self, items: Vec<Item>) -> Result<(), AwsError> {
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let chunk: Vec<_> = items
                .by_ref()
                .take(IN_FLIGHT)
                .map(|i| self.put(i))
                .collect();
            futures::future::try_join_all(chunk).await?;
        }
        Ok(())
    }

    async fn billed_page_inner(
        &self,
        partition: &BillingPartition,
        window: TimeWindow,
        after: Option<&str>,
    ) -> Result<BilledPage, AwsError> {
        let pk = keys::billing_partition(
            &partition.department,
            partition.customer.as_ref(),
            window.from,
        );
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_names("#sk", keys::GSI1SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":from", s(keys::sortable_time(window.from)))
            // Every sort key of an instant before `to` sorts below `to` itself.
            .expression_attribute_values(":to", s(keys::sortable_time(window.to)))
            .limit(PAGE_ITEMS);
        if let Some(after) = after {
            request = request.set_exclusive_start_key(Some(key_of_token(after)?));
        }
        let out = request
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB", "Query", e))?;
        let records = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(super::record_item::record_from_item)
            .collect::<Result<Vec<StoredDetailRecord>, _>>()?
            .into_iter()
            .filter(|r| r.record.occurred_at < window.to)
            .collect();
        let next = out.last_evaluated_key.as_ref().and_then(token_of);
        Ok(BilledPage { records, next })
    }
}

#[async_trait]
impl BillingStore for DynamoStore {
    async fn billed_page(
        &self,
        partition: &BillingPartition,
        window: TimeWindow,
        after: Option<&str>,
    ) -> PortResult<BilledPage> {
        self.billed_page_inner(partition, window, after)
            .await
            .map_err(|e| {
                e.into_port(format!(
                    "reading the records billed in department {}",
                    partition.department
                ))
            })
    }

    async fn put_session_links(
        &self,
        account: &ManagedAccountId,
        links: &[SessionLink],
    ) -> PortResult<()> {
        // One item per session id (the last link given wins), 25 a BatchWriteItem.
        let mut by_key: BTreeMap<String, Item> = BTreeMap::new();
        for l in links {
            let mut item = Item::new();
            let key = keys::session_link(account, &l.session);
            item.insert(keys::PK.to_owned(), s(&key.pk));
            item.insert(keys::SK.to_owned(), s(&key.sk));
            item.insert(keys::ENTITY.to_owned(), s("session_link"));
            item.insert("connection_id".to_owned(), s(l.connection.as_str()));
            by_key.insert(key.sk, item);
        }
        let items: Vec<Item> = by_key.into_values().collect();
        let batches: Vec<_> = items
            .chunks(super::records::BATCH_SIZE)
            .map(|batch| {
                super::records::write_all(&*self.writer, &self.table, batch.to_vec(), &self.retry)
            })
            .collect();
        futures::future::try_join_all(batches)
            .await
            .map(|_| ())
            .map_err(port("storing call-session links"))
    }

    async fn session_links(
        &self,
        account: &ManagedAccountId,
        sessions: &[String],
    ) -> PortResult<Vec<SessionLink>> {
        let mut unique: Vec<&String> = sessions.iter().collect();
        unique.sort();
        unique.dedup();
        let mut out = Vec::new();
        for chunk in unique.chunks(IN_FLIGHT) {
            let keys: Vec<keys::Key> = chunk
                .iter()
                .map(|session| keys::session_link(account, session))
                .collect();
            let mut reads = Vec::with_capacity(keys.len());
            for key in &keys {
                reads.push(self.get(key));
            }
            let items = futures::future::try_join_all(reads)
                .await
                .map_err(port("reading call-session links"))?;
            for (session, item) in chunk.iter().zip(items) {
                if let Some(connection) = item
                    .as_ref()
                    .and_then(|i| items::string_attr(i, "connection_id"))
                {
                    out.push(SessionLink {
                        session: (*session).clone(),
                        connection: connection.into(),
                    });
                }
            }
        }
        out.sort();
        Ok(out)
    }

    async fn put_orphans(&self, records: &[StoredDetailRecord]) -> PortResult<()> {
        let run = async {
            let mut all = Vec::with_capacity(records.len());
            for r in records {
                let copy = r.without_raw();
                let key = keys::orphan(&r.account, r.record_type(), &r.record.id);
                all.push(items::entity_item("orphan", &copy, &key, None)?);
            }
            self.put_all(all).await
        };
        run.await
            .map_err(port("storing records waiting for their call"))
    }

    async fn orphans(
        &self,
        account: &ManagedAccountId,
        limit: usize,
    ) -> PortResult<Vec<StoredDetailRecord>> {
        let partition = keys::account_partition(account);
        self.query(
            None,
            &partition,
            SortKey::BeginsWith(keys::ORPHAN_PREFIX.to_owned()),
            false,
            Some(limit),
        )
        .await
        .and_then(|items| items.into_iter().map(items::from_item).collect())
        .map_err(port("reading records waiting for their call"))
    }

    async fn reattribute(&self, record: &StoredDetailRecord) -> PortResult<bool> {
        let run = async {
            self.bump_changes(std::slice::from_ref(record)).await?;
            let changed = reattribution(record)?
                .send(&self.client, &self.table)
                .await?;
            self.delete(&keys::orphan(
                &record.account,
                record.record_type(),
                &record.record.id,
            ))
            .await?;
            Ok::<bool, AwsError>(changed)
        };
        run.await.map_err(|e| {
            e.into_port(format!(
                "linking stored record {} to its call",
                record.record.id
            ))
        })
    }

    async fn put_audit_days(&self, days: &[AuditDay]) -> PortResult<()> {
        let run = async {
            let mut all = Vec::with_capacity(days.len());
            for d in days {
                let key = keys::audit_day(&d.account, d.day, d.record_type);
                all.push(items::entity_item("audit_day", d, &key, None)?);
            }
            self.put_all(all).await
        };
        run.await.map_err(port("storing audit verdicts"))
    }

    async fn audit_days(
        &self,
        account: &ManagedAccountId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> PortResult<Vec<AuditDay>> {
        let partition = keys::account_partition(account);
        let low = format!("{}{from}", keys::AUDIT_PREFIX);
        let high = format!("{}{to}#~", keys::AUDIT_PREFIX);
        let mut days: Vec<AuditDay> = self
            .query(None, &partition, SortKey::Between(low, high), false, None)
            .await
            .and_then(|items| items.into_iter().map(items::from_item).collect())
            .map_err(port("reading audit verdicts"))?;
        days.sort_by_key(|d| (d.record_type, d.day));
        Ok(days)
    }
}
