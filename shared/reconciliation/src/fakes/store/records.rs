//! Detail records and watermarks of the in-memory store.

use super::InMemoryStore;
use crate::domain::{BillingMonth, ManagedAccountId, RecordType, StoredDetailRecord};
use crate::fakes::lock;
use crate::ports::{Cursor, PortResult, RecordStore, RecordWriteReport};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

impl InMemoryStore {
    /// Bumps the change counter of every (account, month) the records lie in, once per
    /// call, before anything is written (the port's contract).
    pub(super) fn bump_changes(&self, records: &[StoredDetailRecord]) {
        let months: std::collections::BTreeSet<_> = records
            .iter()
            .map(|r| (r.account.clone(), BillingMonth::of(r.record.occurred_at)))
            .collect();
        let mut d = lock(&self.data);
        for key in months {
            *d.month_changes.entry(key).or_default() += 1;
        }
    }

    /// Writes every record (a stored one is replaced by its identical item), each
    /// counted as written but for copies within the call.
    fn overwrite_records(&self, records: &[StoredDetailRecord]) -> RecordWriteReport {
        let mut d = lock(&self.data);
        let mut report = RecordWriteReport::default();
        let mut seen = std::collections::BTreeSet::new();
        for r in records {
            let key = (r.account.clone(), r.record.record_type, r.record.id.clone());
            if seen.insert(key.clone()) {
                d.records.insert(key, r.clone());
                report.written += 1;
            } else {
                report.duplicates += 1;
            }
        }
        report
    }

    /// Stores each record not stored yet; counts the others as duplicates.
    fn store_records(&self, records: &[StoredDetailRecord]) -> RecordWriteReport {
        let mut d = lock(&self.data);
        let mut report = RecordWriteReport::default();
        for r in records {
            let key = (r.account.clone(), r.record.record_type, r.record.id.clone());
            match d.records.entry(key) {
                Entry::Occupied(_) => report.duplicates += 1,
                Entry::Vacant(v) => {
                    v.insert(r.clone());
                    report.written += 1;
                }
            }
        }
        report
    }
}

#[async_trait]
impl RecordStore for InMemoryStore {
    async fn put_detail_records(
        &self,
        records: &[StoredDetailRecord],
    ) -> PortResult<RecordWriteReport> {
        self.check("put_detail_records")?;
        self.bump_changes(records);
        if self.hangs_now() {
            let half = &records[..records.len() / 2];
            self.store_records(half);
            return std::future::pending().await;
        }
        Ok(self.store_records(records))
    }

    async fn put_new_detail_records(
        &self,
        records: &[StoredDetailRecord],
    ) -> PortResult<RecordWriteReport> {
        self.check("put_detail_records")?;
        self.bump_changes(records);
        if self.hangs_now() {
            self.overwrite_records(&records[..records.len() / 2]);
            return std::future::pending().await;
        }
        Ok(self.overwrite_records(records))
    }

    async fn watermark(
        &self,
        account: &ManagedAccountId,
        record_type: RecordType,
    ) -> PortResult<Option<DateTime<Utc>>> {
        self.check("watermark")?;
        Ok(lock(&self.data)
            .watermarks
            .get(&(account.clone(), record_type))
            .copied())
    }

    async fn advance_watermark(
        &self,
        account: &ManagedAccountId,
        record_type: RecordType,
        to: DateTime<Utc>,
    ) -> PortResult<()> {
        self.check("advance_watermark")?;
        forward(&mut lock(&self.data).watermarks, account, record_type, to);
        Ok(())
    }

    async fn watermarks(
        &self,
        account: &ManagedAccountId,
    ) -> PortResult<BTreeMap<RecordType, DateTime<Utc>>> {
        self.check("watermarks")?;
        Ok(of_account(&lock(&self.data).watermarks, account))
    }

    async fn reaches(
        &self,
        account: &ManagedAccountId,
    ) -> PortResult<BTreeMap<RecordType, DateTime<Utc>>> {
        self.check("reaches")?;
        Ok(of_account(&lock(&self.data).reaches, account))
    }

    async fn extend_reach(
        &self,
        account: &ManagedAccountId,
        record_type: RecordType,
        to: DateTime<Utc>,
    ) -> PortResult<()> {
        self.check("extend_reach")?;
        forward(&mut lock(&self.data).reaches, account, record_type, to);
        Ok(())
    }

    async fn cursors(&self, account: &ManagedAccountId) -> PortResult<Vec<Cursor>> {
        self.check("cursors")?;
        Ok(lock(&self.data)
            .cursors
            .iter()
            .filter(|((a, _, _), _)| a == account)
            .map(|(_, c)| c.clone())
            .collect())
    }

    async fn save_cursor(&self, account: &ManagedAccountId, cursor: &Cursor) -> PortResult<()> {
        self.check("save_cursor")?;
        let key = (account.clone(), cursor.stream.clone(), cursor.record_type);
        lock(&self.data).cursors.insert(key, cursor.clone());
        Ok(())
    }

    async fn clear_cursor(
        &self,
        account: &ManagedAccountId,
        stream: &str,
        record_type: RecordType,
    ) -> PortResult<()> {
        self.check("clear_cursor")?;
        let key = (account.clone(), stream.to_owned(), record_type);
        lock(&self.data).cursors.remove(&key);
        Ok(())
    }
}

type Instants = BTreeMap<(ManagedAccountId, RecordType), DateTime<Utc>>;

/// One account's instants by record type.
fn of_account(all: &Instants, account: &ManagedAccountId) -> BTreeMap<RecordType, DateTime<Utc>> {
    all.iter()
        .filter(|((a, _), _)| a == account)
        .map(|((_, t), w)| (*t, *w))
        .collect()
}

/// Moves an instant forward, never backward.
fn forward(all: &mut Instants, account: &ManagedAccountId, t: RecordType, to: DateTime<Utc>) {
    let at = all.entry((account.clone(), t)).or_insert(to);
    *at = (*at).max(to);
}
