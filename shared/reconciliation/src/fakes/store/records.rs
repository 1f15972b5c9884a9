//! Detail records of the in-memory store.

use super::InMemoryStore;
use crate::domain::{BillingMonth, StoredDetailRecord};
use crate::fakes::lock;
use crate::ports::{PortResult, RecordStore, RecordWriteReport};
use async_trait::async_trait;
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
}
