//! Reads beyond the port, for operations (`billing-admin`) and tests: an account's
//! stored records, what a department bills a customer in a month, watermarks, one
//! outbox entry, customer or service, when an alert was last sent. Queries and gets only, never a scan.

use super::items::from_item;
use super::{DynamoStore, SortKey, keys, record_item};
use chrono::{DateTime, Utc};
use reconciliation::domain::{
    Customer, CustomerId, DepartmentId, DetailRecordId, ManagedAccountId, RecordType, Service,
    ServiceId, StoredDetailRecord,
};
use reconciliation::ports::{EmailKind, OutboxEntry, PortResult};

impl DynamoStore {
    /// Every stored detail record of one account and type (Query on its partition).
    pub async fn detail_records(
        &self,
        account: &ManagedAccountId,
        record_type: RecordType,
    ) -> PortResult<Vec<StoredDetailRecord>> {
        let partition = keys::detail_record(account, record_type, &DetailRecordId::new("")).pk;
        self.query(None, &partition, SortKey::Any, false, None)
            .await
            .and_then(|items| {
                items
                    .into_iter()
                    .map(record_item::record_from_item)
                    .collect()
            })
            .map_err(|e| {
                e.into_port(format!(
                    "reading {record_type} records of account {account}"
                ))
            })
    }

    /// What `department` bills `customer` (`None`: unbilled records) in the month of
    /// `month_of`, by time (Query on `gsi1`). The index does not project `raw_gz`: the
    /// records come with their normalized fields and money, without the raw JSON.
    pub async fn billed_records(
        &self,
        department: &DepartmentId,
        customer: Option<&CustomerId>,
        month_of: DateTime<Utc>,
    ) -> PortResult<Vec<StoredDetailRecord>> {
        let partition = keys::billing_partition(department, customer, month_of);
        self.query(Some(keys::GSI1), &partition, SortKey::Any, false, None)
            .await
            .and_then(|items| {
                items
                    .into_iter()
                    .map(record_item::record_from_item)
                    .collect()
            })
            .map_err(|e| e.into_port(format!("reading billed records of department {department}")))
    }

    /// One outbox entry, sent or not.
    pub async fn outbox_entry(&self, key: &str) -> PortResult<Option<OutboxEntry>> {
        self.get(&keys::outbox(key))
            .await
            .and_then(|item| item.map(from_item).transpose())
            .map_err(|e| e.into_port(format!("reading outbox entry {key}")))
    }

    /// When the throttle last admitted an alert of `kind` for `account` (`None`: never,
    /// or so long ago that the slot expired).
    pub async fn last_alerted(
        &self,
        kind: EmailKind,
        account: &ManagedAccountId,
    ) -> PortResult<Option<DateTime<Utc>>> {
        let item = self
            .get(&keys::alert(kind.as_str(), account))
            .await
            .map_err(|e| {
                e.into_port(format!("reading the {} alert of {account}", kind.as_str()))
            })?;
        Ok(item
            .and_then(|i| i.get("last_sent_at")?.as_n().ok()?.parse::<i64>().ok())
            .and_then(|secs| DateTime::from_timestamp(secs, 0)))
    }

    /// One stored customer.
    pub async fn customer(&self, id: &CustomerId) -> PortResult<Option<Customer>> {
        self.get(&keys::customer(id))
            .await
            .and_then(|item| item.map(from_item).transpose())
            .map_err(|e| e.into_port(format!("reading customer {id}")))
    }

    /// One stored service or twin.
    pub async fn service(&self, id: &ServiceId) -> PortResult<Option<Service>> {
        self.get(&keys::service(id))
            .await
            .and_then(|item| item.map(from_item).transpose())
            .map_err(|e| e.into_port(format!("reading service {id}")))
    }
}
