//! Billing months ([`MonthStore`]) in the account's partition: a change counter per
//! month (`CHANGES#`, an atomic `ADD` before every record write that touches the
//! month), the month's state (`MONTH#`), its frozen invoice lines (`INVOICE#`, one item
//! per line and version) and the log of closes and reopens (`MONTHLOG#`). A close or a
//! reopen is one `TransactWriteItems`: the state's conditional write and its log entry.

use super::items::{self, Item, entity_item, from_item, n, s};
use super::transact::{Transacted, transact_write};
use super::update::ConditionalUpdate;
use super::{DynamoStore, SortKey, keys};
use crate::error::AwsError;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use reconciliation::billing::rollup::Level;
use reconciliation::domain::{BillingMonth, ManagedAccountId, StoredDetailRecord};
use reconciliation::ports::{
    InvoiceLine, MonthEvent, MonthState, MonthStatus, MonthStore, PortResult,
};
use std::collections::BTreeSet;

fn port(context: &str) -> impl FnOnce(AwsError) -> reconciliation::PortError + '_ {
    move |e| e.into_port(context.to_owned())
}

fn status(s: MonthStatus) -> &'static str {
    s.into()
}

impl DynamoStore {
    /// Bumps the change counter of every (account, month) `records` lie in, once each,
    /// before they are written (docs: `MonthStore::month_changes`).
    pub(crate) async fn bump_changes(
        &self,
        records: &[StoredDetailRecord],
    ) -> Result<(), AwsError> {
        let months: BTreeSet<(&ManagedAccountId, BillingMonth)> = records
            .iter()
            .map(|r| (&r.account, BillingMonth::of(r.record.occurred_at)))
            .collect();
        let bumps = months.into_iter().map(|(account, month)| {
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(items::key_item(&keys::month_changes(account, month))))
                .update_expression("ADD #c :one SET #e = :e")
                .expression_attribute_names("#c", "changes")
                .expression_attribute_names("#e", keys::ENTITY)
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":e", s("month_changes"))
                .send()
        });
        futures::future::try_join_all(bumps)
            .await
            .map_err(|e| AwsError::sdk("DynamoDB", "UpdateItem", e))?;
        Ok(())
    }

    fn put_item(&self, item: Item, condition: &str) -> Result<Put, AwsError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .expression_attribute_names("#pk", keys::PK)
            .build()
            .map_err(|e| AwsError::Encode {
                what: "TransactWriteItems put".to_owned(),
                source: Box::new(e),
            })
    }

    fn event_item(&self, event: &MonthEvent) -> Result<TransactWriteItem, AwsError> {
        let key = keys::month_event(
            &event.account,
            event.month,
            event.at,
            event.version,
            status(event.action),
        );
        let item = entity_item("month_event", event, &key, None)?;
        let put = self.put_item(item, "attribute_not_exists(#pk)")?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    async fn commit(&self, items: Vec<TransactWriteItem>) -> Result<bool, AwsError> {
        Ok(matches!(
            transact_write(&self.client, &items, &self.retry).await?,
            Transacted::Committed
        ))
    }

    async fn commit_close_inner(
        &self,
        state: &MonthState,
        event: &MonthEvent,
    ) -> Result<bool, AwsError> {
        let key = keys::month_state(&state.account, state.month);
        let item = entity_item("month", state, &key, None)?;
        let put = if state.version <= 1 {
            self.put_item(item, "attribute_not_exists(#pk)")?
        } else {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("#st = :open AND #v = :prev")
                .expression_attribute_names("#st", "status")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":open", s(status(MonthStatus::Open)))
                .expression_attribute_values(":prev", n(state.version - 1))
                .build()
                .map_err(|e| AwsError::Encode {
                    what: "TransactWriteItems put".to_owned(),
                    source: Box::new(e),
                })?
        };
        let state_write = TransactWriteItem::builder().put(put).build();
        self.commit(vec![state_write, self.event_item(event)?])
            .await
    }

    async fn reopen_inner(&self, event: &MonthEvent) -> Result<bool, AwsError> {
        let key = keys::month_state(&event.account, event.month);
        let update = ConditionalUpdate::new(
            key,
            "SET #st = :open, #r = :at",
            "#st = :closed AND #v = :v",
        )
        .name("#st", "status")
        .name("#v", "version")
        .name("#r", "reopened_at")
        .value(":open", s(status(MonthStatus::Open)))
        .value(":closed", s(status(MonthStatus::Closed)))
        .value(":v", n(event.version))
        .value(":at", items::attribute("reopened_at", &event.at)?);
        let items = vec![
            update.into_transact_item(&self.table)?,
            self.event_item(event)?,
        ];
        self.commit(items).await
    }

    async fn put_lines_inner(
        &self,
        account: &ManagedAccountId,
        month: BillingMonth,
        version: u32,
        lines: &[InvoiceLine],
    ) -> Result<(), AwsError> {
        // A committed version's lines are never rewritten.
        if let Some(item) = self.get(&keys::month_state(account, month)).await? {
            let stored: MonthState = from_item(item)?;
            if stored.version >= version {
                return Ok(());
            }
        }
        let mut next = std::collections::BTreeMap::<Level, u32>::new();
        let mut all = Vec::with_capacity(lines.len());
        for line in lines {
            let seq = next.entry(line.level).or_default();
            let key = keys::invoice_line(account, month, version, &line.level.to_string(), *seq);
            all.push(entity_item("invoice_line", line, &key, None)?);
            *seq += 1;
        }
        for batch in all.chunks(super::records::BATCH_SIZE) {
            super::records::write_all(&*self.writer, &self.table, batch.to_vec(), &self.retry)
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl MonthStore for DynamoStore {
    async fn month_changes(
        &self,
        account: &ManagedAccountId,
        month: BillingMonth,
    ) -> PortResult<u64> {
        let item = self
            .get(&keys::month_changes(account, month))
            .await
            .map_err(port("reading a month's change counter"))?;
        Ok(item
            .as_ref()
            .and_then(|i| i.get("changes")?.as_n().ok()?.parse().ok())
            .unwrap_or_default())
    }

    async fn month_states(&self, account: &ManagedAccountId) -> PortResult<Vec<MonthState>> {
        let partition = keys::account_partition(account);
        self.query(
            None,
            &partition,
            SortKey::BeginsWith(keys::MONTH_PREFIX.to_owned()),
            false,
            None,
        )
        .await
        .and_then(|items| items.into_iter().map(from_item).collect())
        .map_err(port("reading an account's billing months"))
    }

    async fn put_invoice_lines(
        &self,
        account: &ManagedAccountId,
        month: BillingMonth,
        version: u32,
        lines: &[InvoiceLine],
    ) -> PortResult<()> {
        self.put_lines_inner(account, month, version, lines)
            .await
            .map_err(|e| e.into_port(format!("storing the invoice lines of {month}")))
    }

    async fn invoice_lines(
        &self,
        account: &ManagedAccountId,
        month: BillingMonth,
        version: u32,
        level: Level,
        count: u32,
    ) -> PortResult<Vec<InvoiceLine>> {
        let partition = keys::account_partition(account);
        let prefix = keys::invoice_lines_prefix(month, version, &level.to_string());
        let items = self
            .query(None, &partition, SortKey::BeginsWith(prefix), false, None)
            .await
            .map_err(port("reading frozen invoice lines"))?;
        items
            .into_iter()
            .filter(|i| {
                items::string_attr(i, keys::SK)
                    .and_then(|sk| sk.rsplit('#').next()?.parse::<u32>().ok())
                    .is_some_and(|seq| seq < count)
            })
            .map(from_item)
            .collect::<Result<Vec<InvoiceLine>, _>>()
            .map_err(port("reading frozen invoice lines"))
    }

    async fn commit_close(&self, state: &MonthState, event: &MonthEvent) -> PortResult<bool> {
        self.commit_close_inner(state, event).await.map_err(|e| {
            e.into_port(format!(
                "closing {} of account {}",
                state.month, state.account
            ))
        })
    }

    async fn reopen(&self, event: &MonthEvent) -> PortResult<bool> {
        self.reopen_inner(event).await.map_err(|e| {
            e.into_port(format!(
                "reopening {} of account {}",
                event.month, event.account
            ))
        })
    }

    async fn month_events(
        &self,
        account: &ManagedAccountId,
        month: BillingMonth,
    ) -> PortResult<Vec<MonthEvent>> {
        let partition = keys::account_partition(account);
        self.query(
            None,
            &partition,
            SortKey::BeginsWith(keys::month_events_prefix(month)),
            false,
            None,
        )
        .await
        .and_then(|items| items.into_iter().map(from_item).collect())
        .map_err(port("reading a month's closes and reopens"))
    }
}
