//! The billing truth of the in-memory store: partitions read by time, session links,
//! orphans, audit verdicts, found time fields.

use super::InMemoryStore;
use crate::domain::{
    DetailRecordId, ManagedAccountId, MatchedBy, RawRecord, RecordType, StoredDetailRecord,
};
use crate::fakes::lock;
use crate::ports::{
    AuditDay, BilledPage, BillingPartition, BillingStore, PortResult, SessionLink, TimeWindow,
};
use async_trait::async_trait;
use chrono::NaiveDate;

/// Records a fake page holds (small, so tests walk several pages).
const PAGE: usize = 7;

#[async_trait]
impl BillingStore for InMemoryStore {
    async fn billed_page(
        &self,
        partition: &BillingPartition,
        window: TimeWindow,
        after: Option<&str>,
    ) -> PortResult<BilledPage> {
        self.check("billed_page")?;
        let d = lock(&self.data);
        let mut rows: Vec<&StoredDetailRecord> = d
            .records
            .values()
            .filter(|r| {
                r.department == partition.department
                    && r.billing_customer == partition.customer
                    && r.record.occurred_at >= window.from
                    && r.record.occurred_at < window.to
            })
            .collect();
        rows.sort_by(|a, b| {
            (a.record.occurred_at, a.record.record_type, &a.record.id).cmp(&(
                b.record.occurred_at,
                b.record.record_type,
                &b.record.id,
            ))
        });
        let start: usize = after.and_then(|a| a.parse().ok()).unwrap_or(0);
        let records: Vec<StoredDetailRecord> = rows
            .iter()
            .skip(start)
            .take(PAGE)
            .map(|r| {
                let mut r = (*r).clone();
                r.record.raw = RawRecord::null();
                r
            })
            .collect();
        let next = (start + PAGE < rows.len()).then(|| (start + PAGE).to_string());
        Ok(BilledPage { records, next })
    }

    async fn put_session_links(
        &self,
        account: &ManagedAccountId,
        links: &[SessionLink],
    ) -> PortResult<()> {
        self.check("put_session_links")?;
        let mut d = lock(&self.data);
        for l in links {
            d.session_links
                .insert((account.clone(), l.session.clone()), l.connection.clone());
        }
        Ok(())
    }

    async fn session_links(
        &self,
        account: &ManagedAccountId,
        sessions: &[String],
    ) -> PortResult<Vec<SessionLink>> {
        self.check("session_links")?;
        let d = lock(&self.data);
        let mut out: Vec<SessionLink> = sessions
            .iter()
            .filter_map(|s| {
                let connection = d.session_links.get(&(account.clone(), s.clone()))?;
                Some(SessionLink {
                    session: s.clone(),
                    connection: connection.clone(),
                })
            })
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    async fn put_orphans(&self, records: &[StoredDetailRecord]) -> PortResult<()> {
        self.check("put_orphans")?;
        let mut d = lock(&self.data);
        for r in records {
            let mut r = r.clone();
            r.record.raw = RawRecord::null();
            d.orphans.insert(key_of(&r), r);
        }
        Ok(())
    }

    async fn orphans(
        &self,
        account: &ManagedAccountId,
        limit: usize,
    ) -> PortResult<Vec<StoredDetailRecord>> {
        self.check("orphans")?;
        Ok(lock(&self.data)
            .orphans
            .iter()
            .filter(|((a, _, _), _)| a == account)
            .take(limit)
            .map(|(_, r)| r.clone())
            .collect())
    }

    async fn reattribute(&self, record: &StoredDetailRecord) -> PortResult<bool> {
        self.check("reattribute")?;
        self.bump_changes(std::slice::from_ref(record));
        let mut d = lock(&self.data);
        let key = key_of(record);
        d.orphans.remove(&key);
        match d.records.get_mut(&key) {
            Some(stored) if stored.matched_by == MatchedBy::Unmatched => {
                stored.billing_customer.clone_from(&record.billing_customer);
                stored.end_customer.clone_from(&record.end_customer);
                stored.service.clone_from(&record.service);
                stored.matched_by = record.matched_by;
                stored
                    .record
                    .connection_id
                    .clone_from(&record.record.connection_id);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn put_audit_days(&self, days: &[AuditDay]) -> PortResult<()> {
        self.check("put_audit_days")?;
        let mut d = lock(&self.data);
        for day in days {
            d.audits
                .insert((day.account.clone(), day.record_type, day.day), day.clone());
        }
        Ok(())
    }

    async fn audit_days(
        &self,
        account: &ManagedAccountId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> PortResult<Vec<AuditDay>> {
        self.check("audit_days")?;
        Ok(lock(&self.data)
            .audits
            .iter()
            .filter(|((a, _, day), _)| a == account && *day >= from && *day <= to)
            .map(|(_, v)| v.clone())
            .collect())
    }
}

fn key_of(r: &StoredDetailRecord) -> (ManagedAccountId, RecordType, DetailRecordId) {
    (r.account.clone(), r.record.record_type, r.record.id.clone())
}
