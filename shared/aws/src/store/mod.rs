//! The DynamoDB [`Store`]: one table (`pk`/`sk` + index `gsi1`), documented item by
//! item in `infra/dynamodb-table.md`, every key built by [`keys`].
//!
//! - Every creation is a conditional put (`attribute_not_exists(pk)`); a condition that
//!   does not hold is a normal outcome ([`is_condition_failed`]) — for a creation,
//!   "already exists", counted in [`ApplyReport::already_existed`].
//! - Conditional updates are built once (`update`) whether they run alone or inside a
//!   transaction.
//! - A customer and its new-customer email are written in one `TransactWriteItems`,
//!   so only the writer that created the customer queues the email; a transaction
//!   cancelled by a conflicting write is retried here ([`transact`]).
//! - Every read is a `GetItem` or a `Query`, never a `Scan`.
//! - Every time-dependent method takes `now` from the caller (the core's injectable
//!   `Clock`); the store has no clock of its own.

pub mod items;
pub mod keys;
pub mod records;
pub mod retry;
pub mod transact;
mod update;

use crate::error::AwsError;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use items::{Item, entity_item, from_item, key_item, n, s};
use keys::Key;
use reconciliation::domain::*;
use reconciliation::plan::{Action, Notification};
use reconciliation::ports::{
    ApplyReport, OutboxEntry, PortResult, RecordWriteReport, RunLog, Store,
};
use records::{BatchWriteItems, SdkBatchWriter};
pub use retry::RetryPolicy;
use std::collections::BTreeSet;
use std::sync::Arc;
use transact::Transacted;
use update::ConditionalUpdate;

/// The DynamoDB code of a failed condition.
const CONDITIONAL_CHECK_FAILED: &str = "ConditionalCheckFailedException";

/// True when a write failed only because its condition did not hold (for a creation,
/// "the item already exists"; for an update, "not in the expected state"): a normal
/// outcome the caller interprets, not an error.
pub fn is_condition_failed<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    match err {
        SdkError::ServiceError(se) => se.err().code() == Some(CONDITIONAL_CHECK_FAILED),
        _ => false,
    }
}

/// Tunables of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreSettings {
    /// How long a run log is kept (its `expires_at`).
    pub run_log_retention: Duration,
    /// One alert of a kind per account per this interval.
    pub alert_interval: Duration,
    /// How long a claim on an outbox entry holds before another sender may take it.
    pub claim_lease: Duration,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            run_log_retention: Duration::days(90),
            alert_interval: Duration::days(3),
            claim_lease: Duration::minutes(5),
        }
    }
}

/// What a conditional write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Created or changed.
    Done,
    /// Already there (creation) or already in the wanted state (update).
    AlreadyThere,
}

/// The DynamoDB implementation of the [`Store`] port.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    writer: Arc<dyn BatchWriteItems>,
    retry: RetryPolicy,
    settings: StoreSettings,
}

impl std::fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.table)
            .field("retry", &self.retry)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A key condition on the sort key of a query.
enum SortKey {
    Any,
    BeginsWith(String),
    Below(String),
}

impl DynamoStore {
    /// A store on `table`, with the real BatchWriteItem call, default retry and settings.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            writer: Arc::new(SdkBatchWriter::new(client.clone())),
            client,
            table: table.into(),
            retry: RetryPolicy::default(),
            settings: StoreSettings::default(),
        }
    }

    /// Replaces the BatchWriteItem call (tests inject unprocessed items and failures).
    pub fn with_batch_writer(mut self, writer: Arc<dyn BatchWriteItems>) -> Self {
        self.writer = writer;
        self
    }

    /// Replaces the retry policy of unprocessed batch items and conflicting transactions.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces retention, alert interval and claim lease.
    pub fn with_settings(mut self, settings: StoreSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The table name.
    pub fn table_name(&self) -> &str {
        &self.table
    }

    // ---- low-level helpers ---------------------------------------------------------

    async fn get(&self, key: &Key) -> Result<Option<Item>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB", "GetItem", e))?;
        Ok(out.item)
    }

    async fn put(&self, item: Item) -> Result<(), AwsError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB", "PutItem", e))?;
        Ok(())
    }

    /// Puts `item` only if no item has its key.
    async fn put_new(&self, item: Item) -> Result<Outcome, AwsError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Outcome::Done),
            Err(e) if is_condition_failed(&e) => Ok(Outcome::AlreadyThere),
            Err(e) => Err(AwsError::sdk("DynamoDB", "PutItem", e)),
        }
    }

    /// A conditional update of an existing item. A failed condition on an existing item
    /// is `AlreadyThere`; on a missing item, [`AwsError::NotFound`].
    async fn update_existing(
        &self,
        key: &Key,
        what: String,
        update: ConditionalUpdate,
    ) -> Result<Outcome, AwsError> {
        if update.send(&self.client, &self.table).await? {
            return Ok(Outcome::Done);
        }
        match self.get(key).await? {
            Some(_) => Ok(Outcome::AlreadyThere),
            None => Err(AwsError::NotFound { what }),
        }
    }

    /// An update of the item at `key` if it exists and `condition` holds.
    fn update_if_exists(key: &Key, update: &str, condition: &str) -> ConditionalUpdate {
        ConditionalUpdate::new(
            key.clone(),
            update,
            format!("attribute_exists(#pk) AND ({condition})"),
        )
        .name("#pk", keys::PK)
    }

    async fn query(
        &self,
        index: Option<&str>,
        partition: &str,
        sort: SortKey,
        newest_first: bool,
        limit: Option<usize>,
    ) -> Result<Vec<Item>, AwsError> {
        let (pk_name, sk_name) = match index {
            Some(_) => (keys::GSI1PK, keys::GSI1SK),
            None => (keys::PK, keys::SK),
        };
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_owned))
            .consistent_read(index.is_none())
            .scan_index_forward(!newest_first)
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_values(":pk", s(partition));
        request = match sort {
            SortKey::Any => request.key_condition_expression("#pk = :pk"),
            SortKey::BeginsWith(prefix) => request
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :sk)")
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":sk", s(prefix)),
            SortKey::Below(bound) => request
                .key_condition_expression("#pk = :pk AND #sk < :sk")
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":sk", s(bound)),
        };
        let stream = request.into_paginator().items().send();
        let items: Vec<Item> = match limit {
            Some(limit) => {
                let mut out = Vec::new();
                let mut stream = stream;
                while let Some(item) = stream.next().await {
                    out.push(item.map_err(|e| AwsError::sdk("DynamoDB", "Query", e))?);
                    if out.len() >= limit {
                        break;
                    }
                }
                out
            }
            None => stream
                .try_collect()
                .await
                .map_err(|e| AwsError::sdk("DynamoDB", "Query", e))?,
        };
        Ok(items)
    }

    fn outbox_item(
        &self,
        notification: &Notification,
        now: DateTime<Utc>,
    ) -> Result<Item, AwsError> {
        let key = notification.dedupe_key();
        let entry = OutboxEntry {
            key: key.clone(),
            notification: notification.clone(),
            queued_at: now,
            sent_at: None,
        };
        entity_item(
            "outbox",
            &entry,
            &keys::outbox(&key),
            Some(&keys::outbox_pending_index(&key, now)),
        )
    }

    // ---- state -----------------------------------------------------------------------

    async fn load_department(
        &self,
        department: &DepartmentId,
        account: &ManagedAccountId,
    ) -> Result<Vec<Item>, AwsError> {
        let partition = keys::department_partition(department);
        // Three precise queries on the department's gsi1 partition: the department and
        // its customers (they sort below "SERVICE#"), its service types, and this
        // account's services (other accounts' twins in a shared parent are not read).
        let (head, types, services) = futures::try_join!(
            self.query(
                Some(keys::GSI1),
                &partition,
                SortKey::Below("SERVICE#".to_owned()),
                false,
                None
            ),
            self.query(
                Some(keys::GSI1),
                &partition,
                SortKey::BeginsWith(keys::SERVICE_TYPE_INDEX_PREFIX.to_owned()),
                false,
                None
            ),
            self.query(
                Some(keys::GSI1),
                &partition,
                SortKey::BeginsWith(keys::service_index_prefix(account)),
                false,
                None
            ),
        )?;
        Ok(head.into_iter().chain(types).chain(services).collect())
    }

    async fn load_state_inner(&self, onboarding: &Onboarding) -> Result<StoredState, AwsError> {
        let departments: BTreeSet<&DepartmentId> = [
            onboarding.customer_department(),
            onboarding.billing_department(),
        ]
        .into_iter()
        .collect();
        let referenced: BTreeSet<&CustomerId> = match &onboarding.mode {
            BillingMode::Wholesale {
                reseller_customer, ..
            } => [reseller_customer].into_iter().collect(),
            BillingMode::Direct {
                billing_customer, ..
            } => billing_customer.iter().collect(),
        };
        let loaded = futures::future::try_join_all(
            departments
                .iter()
                .map(|d| self.load_department(d, &onboarding.account)),
        )
        .await?;
        let mut state = StoredState::default();
        for item in loaded.into_iter().flatten() {
            match items::entity_of(&item) {
                Some("department") => state.departments.push(from_item(item)?),
                Some("customer") => {
                    let customer: Customer = from_item(item)?;
                    // The planner needs this account's customers, the customer the
                    // onboarding bills to, and operator-made customers (no account).
                    let wanted = customer
                        .account
                        .as_ref()
                        .is_none_or(|a| *a == onboarding.account)
                        || referenced.contains(&customer.id);
                    if wanted {
                        state.customers.push(customer);
                    }
                }
                Some("service_type") => state.service_types.push(from_item(item)?),
                Some("service") => state.services.push(from_item(item)?),
                _ => {}
            }
        }
        Ok(state)
    }

    /// The alert throttle's update: take the slot at `now` if it is free. Decided on the
    /// stored `last_sent_at`, never on TTL deletion (expired items still read back);
    /// `expires_at` only cleans up long after the interval.
    fn alert_throttle(
        &self,
        kind: &str,
        account: &ManagedAccountId,
        now: DateTime<Utc>,
    ) -> ConditionalUpdate {
        let cutoff = now - self.settings.alert_interval;
        let expires_at = (now + self.settings.alert_interval + Duration::days(1)).timestamp();
        ConditionalUpdate::new(
            keys::alert(kind, account),
            "SET last_sent_at = :now, last_sent = :now_text, kind = :kind, account = :account, #entity = :entity, #ttl = :ttl",
            "attribute_not_exists(#pk) OR last_sent_at <= :cutoff",
        )
        .name("#pk", keys::PK)
        .name("#entity", keys::ENTITY)
        .name("#ttl", keys::EXPIRES_AT)
        .value(":now", n(now.timestamp()))
        .value(":now_text", s(keys::sortable_time(now)))
        .value(":cutoff", n(cutoff.timestamp()))
        .value(":kind", s(kind))
        .value(":account", s(account.as_str()))
        .value(":entity", s("alert"))
        .value(":ttl", n(expires_at))
    }

    // ---- apply -----------------------------------------------------------------------

    /// Creates a customer and queues its notification in one transaction.
    async fn create_customer_with_notification(
        &self,
        customer: &Customer,
        notification: &Notification,
        now: DateTime<Utc>,
    ) -> Result<(Outcome, bool), AwsError> {
        let customer_item = customer_item(customer)?;
        let outbox_item = self.outbox_item(notification, now)?;
        let items = [
            self.conditional_put(customer_item.clone())?,
            self.conditional_put(outbox_item)?,
        ];
        match transact::transact_write(&self.client, &items, &self.retry).await? {
            Transacted::Committed => Ok((Outcome::Done, true)),
            // The customer exists: another writer created it and queued its email in
            // the same transaction (whatever else conflicted meanwhile).
            Transacted::ConditionsFailed(failed) if failed.first() == Some(&true) => {
                Ok((Outcome::AlreadyThere, false))
            }
            // Only the outbox entry exists (queued earlier, customer since removed):
            // create the customer alone; the email is already queued.
            Transacted::ConditionsFailed(_) => Ok((self.put_new(customer_item).await?, false)),
        }
    }

    /// A transaction item putting `item` only if no item has its key.
    fn conditional_put(&self, item: Item) -> Result<TransactWriteItem, AwsError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()
            .map(|put| TransactWriteItem::builder().put(put).build())
            .map_err(|e| AwsError::Encode {
                what: "TransactWriteItems request".to_owned(),
                source: Box::new(e),
            })
    }

    async fn set_service_status(
        &self,
        service: &ServiceId,
        to: ServiceStatus,
    ) -> Result<Outcome, AwsError> {
        let (from_tag, what) = match to {
            ServiceStatus::Active => ("ceased", format!("service {service} (reactivate)")),
            ServiceStatus::Ceased { .. } => ("active", format!("service {service} (cease)")),
        };
        let key = keys::service(service);
        let update = Self::update_if_exists(&key, "SET #status = :to", "#status.#status = :from")
            .name("#status", "status")
            .value(":to", items::attribute(&what, &to)?)
            .value(":from", s(from_tag));
        self.update_existing(&key, what, update).await
    }

    async fn apply_one(
        &self,
        action: &Action,
        now: DateTime<Utc>,
        report: &mut ApplyReport,
    ) -> Result<(), AwsError> {
        let count_creation = |report: &mut ApplyReport, outcome: Outcome| match outcome {
            Outcome::Done => report.created += 1,
            Outcome::AlreadyThere => report.already_existed += 1,
        };
        let count_update = |report: &mut ApplyReport, outcome: Outcome| match outcome {
            Outcome::Done => report.updated += 1,
            Outcome::AlreadyThere => report.already_existed += 1,
        };
        match action {
            Action::CreateServiceType(t) => {
                let item = entity_item(
                    "service_type",
                    t,
                    &keys::service_type(&t.id),
                    Some(&keys::service_type_index(&t.department, &t.id)),
                )?;
                count_creation(report, self.put_new(item).await?);
            }
            Action::LinkServiceType { child, parent } => {
                let key = keys::service_type(child);
                let update = Self::update_if_exists(
                    &key,
                    "SET #link = :parent",
                    "attribute_not_exists(#link) OR #link <> :parent",
                )
                .name("#link", "wholesale_parent")
                .value(":parent", s(parent.as_str()));
                let outcome = self
                    .update_existing(&key, format!("service type {child}"), update)
                    .await?;
                count_update(report, outcome);
            }
            Action::CreateCustomer {
                customer,
                notify: None,
            } => {
                count_creation(report, self.put_new(customer_item(customer)?).await?);
            }
            Action::CreateCustomer {
                customer,
                notify: Some(notification),
            } => {
                let (outcome, queued) = self
                    .create_customer_with_notification(customer, notification, now)
                    .await?;
                count_creation(report, outcome);
                if queued {
                    report.notifications_queued += 1;
                }
            }
            Action::CreateService(service) | Action::CreateWholesaleTwin(service) => {
                let item = entity_item(
                    "service",
                    service,
                    &keys::service(&service.id),
                    Some(&keys::service_index(
                        &service.department,
                        &service.account,
                        &service.id,
                    )),
                )?;
                count_creation(report, self.put_new(item).await?);
            }
            Action::CeaseService { service, on } => {
                let outcome = self
                    .set_service_status(service, ServiceStatus::Ceased { on: *on })
                    .await?;
                count_update(report, outcome);
            }
            Action::ReactivateService { service } => {
                let outcome = self
                    .set_service_status(service, ServiceStatus::Active)
                    .await?;
                count_update(report, outcome);
            }
        }
        Ok(())
    }

    // ---- reads beyond the port (operations, tests) ---------------------------------

    /// Every stored detail record of one account and type (Query on its partition).
    pub async fn detail_records(
        &self,
        account: &ManagedAccountId,
        record_type: RecordType,
    ) -> PortResult<Vec<StoredDetailRecord>> {
        let partition = keys::detail_record(account, record_type, &DetailRecordId::new("")).pk;
        self.query(None, &partition, SortKey::Any, false, None)
            .await
            .and_then(|items| items.into_iter().map(records::record_from_item).collect())
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
            .and_then(|items| items.into_iter().map(records::record_from_item).collect())
            .map_err(|e| e.into_port(format!("reading billed records of department {department}")))
    }

    /// The newest `limit` run logs of an account, newest first (Query on its partition).
    pub async fn run_logs(
        &self,
        account: &ManagedAccountId,
        limit: usize,
    ) -> PortResult<Vec<RunLog>> {
        self.query(
            None,
            &keys::account_partition(account),
            SortKey::BeginsWith(keys::RUN_PREFIX.to_owned()),
            true,
            Some(limit),
        )
        .await
        .and_then(|items| items.into_iter().map(from_item).collect())
        .map_err(|e| e.into_port(format!("reading run logs of account {account}")))
    }

    /// The raw stored item of a run log (for checking its `expires_at`).
    pub async fn run_log_expiry(&self, log: &RunLog) -> PortResult<Option<i64>> {
        let key = keys::run_log(&log.account, log.started_at, &log.run_id);
        let item = self.get(&key).await.map_err(|e| {
            e.into_port(format!(
                "reading run log {} of account {}",
                log.run_id, log.account
            ))
        })?;
        Ok(item
            .as_ref()
            .and_then(|i| i.get(keys::EXPIRES_AT))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok()))
    }

    /// Every watermark of an account (Query on its partition).
    pub async fn watermarks(
        &self,
        account: &ManagedAccountId,
    ) -> PortResult<Vec<(RecordType, DateTime<Utc>)>> {
        let items = self
            .query(
                None,
                &keys::account_partition(account),
                SortKey::BeginsWith(keys::WATERMARK_PREFIX.to_owned()),
                false,
                None,
            )
            .await
            .map_err(|e| e.into_port(format!("reading watermarks of account {account}")))?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let t = items::string_attr(item, "record_type")?.parse().ok()?;
                Some((t, watermark_of(item)?))
            })
            .collect())
    }

    /// One outbox entry, sent or not.
    pub async fn outbox_entry(&self, key: &str) -> PortResult<Option<OutboxEntry>> {
        self.get(&keys::outbox(key))
            .await
            .and_then(|item| item.map(from_item).transpose())
            .map_err(|e| e.into_port(format!("reading outbox entry {key}")))
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

/// Watermarks are stored as epoch microseconds (`watermark`, a Number, so the
/// never-backward condition compares numbers) plus a readable `watermark_at`.
fn watermark_of(item: &Item) -> Option<DateTime<Utc>> {
    let micros: i64 = item.get("watermark")?.as_n().ok()?.parse().ok()?;
    DateTime::from_timestamp_micros(micros)
}

#[async_trait]
impl Store for DynamoStore {
    #[tracing::instrument(skip_all, fields(account_id = %account))]
    async fn onboarding(&self, account: &ManagedAccountId) -> PortResult<Option<Onboarding>> {
        self.get(&keys::onboarding(account))
            .await
            .and_then(|item| item.map(from_item).transpose())
            .map_err(|e| e.into_port(format!("reading the onboarding of account {account}")))
    }

    #[tracing::instrument(skip_all)]
    async fn onboardings(&self) -> PortResult<Vec<Onboarding>> {
        self.query(
            Some(keys::GSI1),
            keys::ONBOARDINGS_PARTITION,
            SortKey::Any,
            false,
            None,
        )
        .await
        .and_then(|items| items.into_iter().map(from_item).collect())
        .map_err(|e| e.into_port("listing onboardings"))
    }

    #[tracing::instrument(skip_all, fields(account_id = %onboarding.account))]
    async fn put_onboarding(&self, onboarding: &Onboarding) -> PortResult<()> {
        let account = &onboarding.account;
        async {
            let item = entity_item(
                "onboarding",
                onboarding,
                &keys::onboarding(account),
                Some(&keys::onboarding_index(account)),
            )?;
            self.put(item).await
        }
        .await
        .map_err(|e| e.into_port(format!("storing the onboarding of account {account}")))
    }

    #[tracing::instrument(skip_all, fields(department = %department.id))]
    async fn put_department(&self, department: &Department) -> PortResult<()> {
        let id = &department.id;
        async {
            let item = entity_item(
                "department",
                department,
                &keys::department(id),
                Some(&keys::department_index(id)),
            )?;
            self.put(item).await
        }
        .await
        .map_err(|e| e.into_port(format!("storing department {id}")))
    }

    #[tracing::instrument(skip_all, fields(account_id = %onboarding.account))]
    async fn load_state(&self, onboarding: &Onboarding) -> PortResult<StoredState> {
        let state = self.load_state_inner(onboarding).await.map_err(|e| {
            e.into_port(format!(
                "loading the stored state of account {}",
                onboarding.account
            ))
        })?;
        tracing::debug!(
            departments = state.departments.len(),
            customers = state.customers.len(),
            service_types = state.service_types.len(),
            services = state.services.len(),
            "stored state loaded"
        );
        Ok(state)
    }

    #[tracing::instrument(skip_all, fields(actions = actions.len()))]
    async fn apply(&self, actions: &[Action], now: DateTime<Utc>) -> PortResult<ApplyReport> {
        let mut report = ApplyReport::default();
        for action in actions {
            self.apply_one(action, now, &mut report)
                .await
                .map_err(|e| e.into_port(describe_action(action)))?;
        }
        tracing::info!(
            created = report.created,
            already_existed = report.already_existed,
            updated = report.updated,
            notifications_queued = report.notifications_queued,
            "actions applied"
        );
        Ok(report)
    }

    #[tracing::instrument(skip_all, fields(
        account_id = %records.first().map_or("", |r| r.account.as_str()),
        records = records.len(),
    ))]
    async fn put_detail_records(
        &self,
        records: &[StoredDetailRecord],
    ) -> PortResult<RecordWriteReport> {
        let account = records
            .first()
            .map_or_else(String::new, |r| r.account.to_string());
        let context = || format!("writing detail records of account {account}");
        let (batches, in_call_duplicates) =
            records::dedupe_into_batches(records).map_err(|e| e.into_port(context()))?;
        let writer = self.writer.as_ref();
        let mut pending = batches.into_iter().map(|batch| {
            records::write_batch(&self.client, writer, &self.table, batch, &self.retry)
        });
        let mut in_flight = FuturesUnordered::new();
        let mut report = RecordWriteReport {
            duplicates: in_call_duplicates,
            ..RecordWriteReport::default()
        };
        let mut first_error = None;
        // After a failure no new batch starts, but the batches in flight are awaited
        // rather than dropped: a dropped request may still land after we return, and
        // the caller must see a settled table.
        in_flight.extend(pending.by_ref().take(records::BATCHES_IN_FLIGHT));
        while let Some(result) = in_flight.next().await {
            match result {
                Ok(batch) => {
                    report.written += batch.written;
                    report.duplicates += batch.duplicates;
                    report.raw_trimmed += batch.raw_trimmed;
                    if first_error.is_none() {
                        in_flight.extend(pending.next());
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e.into_port(context()));
        }
        tracing::info!(
            written = report.written,
            duplicates = report.duplicates,
            raw_trimmed = report.raw_trimmed,
            "detail records stored"
        );
        Ok(report)
    }

    #[tracing::instrument(skip_all, fields(account_id = %account, record_type = %record_type))]
    async fn watermark(
        &self,
        account: &ManagedAccountId,
        record_type: RecordType,
    ) -> PortResult<Option<DateTime<Utc>>> {
        let item = self
            .get(&keys::watermark(account, record_type))
            .await
            .map_err(|e| {
                e.into_port(format!(
                    "reading the {record_type} watermark of account {account}"
                ))
            })?;
        Ok(item.as_ref().and_then(watermark_of))
    }

    #[tracing::instrument(skip_all, fields(account_id = %account, record_type = %record_type, to = %to))]
    async fn advance_watermark(
        &self,
        account: &ManagedAccountId,
        record_type: RecordType,
        to: DateTime<Utc>,
    ) -> PortResult<()> {
        let advanced = ConditionalUpdate::new(
            keys::watermark(account, record_type),
            "SET #wm = :to, watermark_at = :at, #entity = :entity, account = :account, record_type = :type",
            "attribute_not_exists(#wm) OR #wm < :to",
        )
        .name("#wm", "watermark")
        .name("#entity", keys::ENTITY)
        .value(":to", n(to.timestamp_micros()))
        .value(":at", s(keys::sortable_time(to)))
        .value(":entity", s("watermark"))
        .value(":account", s(account.as_str()))
        .value(":type", s(record_type.filter_name()))
        .send(&self.client, &self.table)
        .await
        .map_err(|e| {
            e.into_port(format!(
                "advancing the {record_type} watermark of account {account}"
            ))
        })?;
        if !advanced {
            // Already at or beyond `to`: a watermark never moves backward.
            tracing::debug!("watermark already at or beyond the requested instant");
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(account_id = %log.account, run_id = %log.run_id))]
    async fn put_run_log(&self, log: &RunLog) -> PortResult<()> {
        let expires_at = (log.finished_at + self.settings.run_log_retention).timestamp();
        async {
            let mut item = entity_item(
                "run_log",
                log,
                &keys::run_log(&log.account, log.started_at, &log.run_id),
                None,
            )?;
            item.insert(keys::EXPIRES_AT.to_owned(), n(expires_at));
            self.put(item).await
        }
        .await
        .map_err(|e| {
            e.into_port(format!(
                "storing run log {} of account {}",
                log.run_id, log.account
            ))
        })
    }

    #[tracing::instrument(skip_all, fields(
        account_id = %account,
        kind = %kind,
        outbox_key = %alert.dedupe_key(),
    ))]
    async fn admit_and_queue_alert(
        &self,
        kind: &str,
        account: &ManagedAccountId,
        alert: &Notification,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        let admitted = async {
            let items = [
                self.alert_throttle(kind, account, now)
                    .into_transact_item(&self.table)?,
                self.conditional_put(self.outbox_item(alert, now)?)?,
            ];
            Ok::<_, AwsError>(
                match transact::transact_write(&self.client, &items, &self.retry).await? {
                    Transacted::Committed => true,
                    // The slot was taken within the interval (by us earlier or by a
                    // concurrent caller, whose email is queued with it), or this very
                    // alert is already queued: either way, nothing to do.
                    Transacted::ConditionsFailed(failed) => {
                        tracing::debug!(
                            throttled = failed.first() == Some(&true),
                            already_queued = failed.get(1) == Some(&true),
                            "alert not admitted"
                        );
                        false
                    }
                },
            )
        }
        .await
        .map_err(|e| e.into_port(format!("admitting a {kind} alert for account {account}")))?;
        Ok(admitted)
    }

    #[tracing::instrument(skip_all)]
    async fn pending_notifications(&self) -> PortResult<Vec<OutboxEntry>> {
        self.query(
            Some(keys::GSI1),
            keys::OUTBOX_PENDING_PARTITION,
            SortKey::Any,
            false,
            None,
        )
        .await
        .and_then(|items| items.into_iter().map(from_item).collect())
        .map_err(|e| e.into_port("listing pending notifications"))
    }

    #[tracing::instrument(skip_all, fields(outbox_key = %key))]
    async fn claim_notification(&self, key: &str, now: DateTime<Utc>) -> PortResult<bool> {
        let until = now + self.settings.claim_lease;
        ConditionalUpdate::new(
            keys::outbox(key),
            "SET claimed_until = :until",
            "attribute_exists(#pk) AND attribute_not_exists(sent_at) \
             AND (attribute_not_exists(claimed_until) OR claimed_until <= :now)",
        )
        .name("#pk", keys::PK)
        .value(":until", n(until.timestamp_millis()))
        .value(":now", n(now.timestamp_millis()))
        .send(&self.client, &self.table)
        .await
        .map_err(|e| e.into_port(format!("claiming notification {key}")))
    }

    #[tracing::instrument(skip_all, fields(outbox_key = %key, message_id = %message_id))]
    async fn mark_notification_sent(
        &self,
        key: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        let outbox_key = keys::outbox(key);
        let update = Self::update_if_exists(
            &outbox_key,
            "SET sent_at = :now, message_id = :mid REMOVE #gpk, #gsk, claimed_until",
            "attribute_not_exists(sent_at)",
        )
        .name("#gpk", keys::GSI1PK)
        .name("#gsk", keys::GSI1SK)
        .value(":now", s(keys::sortable_time(now)))
        .value(":mid", s(message_id));
        let outcome = self
            .update_existing(&outbox_key, format!("outbox entry {key}"), update)
            .await
            .map_err(|e| e.into_port(format!("marking notification {key} sent")))?;
        if outcome == Outcome::AlreadyThere {
            tracing::debug!("notification was already marked sent");
        }
        Ok(())
    }
}

/// The item of a customer (the only place it is built).
fn customer_item(customer: &Customer) -> Result<Item, AwsError> {
    entity_item(
        "customer",
        customer,
        &keys::customer(&customer.id),
        Some(&keys::customer_index(&customer.department, &customer.id)),
    )
}

/// What an action is about, for error contexts (ids only, never content).
fn describe_action(action: &Action) -> String {
    match action {
        Action::CreateServiceType(t) => format!(
            "creating service type {} in department {}",
            t.id, t.department
        ),
        Action::LinkServiceType { child, parent } => {
            format!("linking service type {child} to {parent}")
        }
        Action::CreateCustomer { customer, .. } => format!(
            "creating customer {} in department {}",
            customer.id, customer.department
        ),
        Action::CreateService(s) => format!("creating service {} of account {}", s.id, s.account),
        Action::CreateWholesaleTwin(s) => {
            format!("creating wholesale twin {} of account {}", s.id, s.account)
        }
        Action::CeaseService { service, .. } => format!("ceasing service {service}"),
        Action::ReactivateService { service } => format!("reactivating service {service}"),
    }
}
