//! Detail records of the in-memory store.

use super::InMemoryStore;
use crate::domain::StoredDetailRecord;
use crate::fakes::lock;
use crate::ports::{PortResult, RecordStore, RecordWriteReport};
use async_trait::async_trait;
use std::collections::btree_map::Entry;

impl InMemoryStore {
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
        if self.hangs_now() {
            self.overwrite_records(&records[..records.len() / 2]);
            return std::future::pending().await;
        }
        Ok(self.overwrite_records(records))
    }
}
