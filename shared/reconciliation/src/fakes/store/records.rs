//! Detail records and watermarks of the in-memory store.

use super::InMemoryStore;
use crate::domain::{ManagedAccountId, RecordType, StoredDetailRecord};
use crate::fakes::lock;
use crate::ports::{PortResult, RecordStore, RecordWriteReport};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::btree_map::Entry;

#[async_trait]
impl RecordStore for InMemoryStore {
    async fn put_detail_records(
        &self,
        records: &[StoredDetailRecord],
    ) -> PortResult<RecordWriteReport> {
        self.check("put_detail_records")?;
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
        Ok(report)
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
        let mut d = lock(&self.data);
        let w = d
            .watermarks
            .entry((account.clone(), record_type))
            .or_insert(to);
        if *w < to {
            *w = to;
        }
        Ok(())
    }
}
