//! Every key string of every item, produced here and nowhere else.
//!
//! The table (`pk`/`sk`, index `gsi1` on `gsi1pk`/`gsi1sk`) is documented in
//! `infra/dynamodb-table.md`; each function below is one row of that document.
//! Ids are embedded verbatim: Telnyx ids and our derived ids never contain `#`
//! in a position that could make two different entities collide, because every key
//! starts with its entity's own prefix.

use chrono::{DateTime, SecondsFormat, Utc};
use reconciliation::domain::{
    BillingMonth, CustomerId, DepartmentId, DetailRecordId, ManagedAccountId, RecordType, RunId,
    ServiceId, ServiceTypeId,
};

/// The primary key of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

/// An item's place in the `gsi1` index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKey {
    pub gsi1pk: String,
    pub gsi1sk: String,
}

/// Attribute names.
pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1PK: &str = "gsi1pk";
pub const GSI1SK: &str = "gsi1sk";
/// The index name in `template.yaml`.
pub const GSI1: &str = "gsi1";
/// The TTL attribute (epoch seconds) in `template.yaml`.
pub const EXPIRES_AT: &str = "expires_at";
/// Which entity an item holds.
pub const ENTITY: &str = "entity";

/// A timestamp as a fixed-width, sortable string (UTC, microseconds, `Z`).
pub fn sortable_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn key(pk: String, sk: &str) -> Key {
    Key {
        pk,
        sk: sk.to_owned(),
    }
}

// ---- departments and what lives in them -------------------------------------------

/// A department: `DEPT#{id}` / `DEPT`.
pub fn department(id: &DepartmentId) -> Key {
    key(format!("DEPT#{id}"), "DEPT")
}

/// The `gsi1` partition holding a department and everything in it.
pub fn department_partition(id: &DepartmentId) -> String {
    format!("DEPT#{id}")
}

/// A department in its own `gsi1` partition (sorts first).
pub fn department_index(id: &DepartmentId) -> IndexKey {
    IndexKey {
        gsi1pk: department_partition(id),
        gsi1sk: "#DEPT".to_owned(),
    }
}

/// A customer: `CUSTOMER#{id}` / `CUSTOMER`.
pub fn customer(id: &CustomerId) -> Key {
    key(format!("CUSTOMER#{id}"), "CUSTOMER")
}

/// Prefix of customers in a department partition of `gsi1`.
pub const CUSTOMER_INDEX_PREFIX: &str = "CUSTOMER#";

/// A customer in its department's `gsi1` partition.
pub fn customer_index(department: &DepartmentId, id: &CustomerId) -> IndexKey {
    IndexKey {
        gsi1pk: department_partition(department),
        gsi1sk: format!("{CUSTOMER_INDEX_PREFIX}{id}"),
    }
}

/// A service type: `STYPE#{id}` / `STYPE`. Its wholesale link is the attribute
/// `wholesale_parent` on the child type's item.
pub fn service_type(id: &ServiceTypeId) -> Key {
    key(format!("STYPE#{id}"), "STYPE")
}

/// Prefix of service types in a department partition of `gsi1`.
pub const SERVICE_TYPE_INDEX_PREFIX: &str = "STYPE#";

/// A service type in its department's `gsi1` partition.
pub fn service_type_index(department: &DepartmentId, id: &ServiceTypeId) -> IndexKey {
    IndexKey {
        gsi1pk: department_partition(department),
        gsi1sk: format!("{SERVICE_TYPE_INDEX_PREFIX}{id}"),
    }
}

/// A service or a wholesale twin: `SERVICE#{id}` / `SERVICE`.
pub fn service(id: &ServiceId) -> Key {
    key(format!("SERVICE#{id}"), "SERVICE")
}

/// Prefix of one account's services in a department partition of `gsi1`.
pub fn service_index_prefix(account: &ManagedAccountId) -> String {
    format!("SERVICE#{account}#")
}

/// A service in its department's `gsi1` partition, grouped by account.
pub fn service_index(
    department: &DepartmentId,
    account: &ManagedAccountId,
    id: &ServiceId,
) -> IndexKey {
    IndexKey {
        gsi1pk: department_partition(department),
        gsi1sk: format!("{}{id}", service_index_prefix(account)),
    }
}

// ---- accounts ----------------------------------------------------------------------

/// The partition of everything about one managed account.
pub fn account_partition(account: &ManagedAccountId) -> String {
    format!("ACCOUNT#{account}")
}

/// An onboarding: `ACCOUNT#{account}` / `ONBOARDING`.
pub fn onboarding(account: &ManagedAccountId) -> Key {
    key(account_partition(account), "ONBOARDING")
}

/// The `gsi1` partition listing every onboarding.
pub const ONBOARDINGS_PARTITION: &str = "ONBOARDING";

/// An onboarding in the list of all onboardings.
pub fn onboarding_index(account: &ManagedAccountId) -> IndexKey {
    IndexKey {
        gsi1pk: ONBOARDINGS_PARTITION.to_owned(),
        gsi1sk: account_partition(account),
    }
}

/// The partition listing every offboarded account.
pub const OFFBOARDINGS_PARTITION: &str = "OFFBOARDING";

/// An offboarding: `OFFBOARDING` / `ACCOUNT#{account}` (one partition: the scheduler
/// reads them all with one query, and there are at most a few thousand).
pub fn offboarding(account: &ManagedAccountId) -> Key {
    key(
        OFFBOARDINGS_PARTITION.to_owned(),
        &account_partition(account),
    )
}

/// Prefix of record streams in an account partition.
pub const STREAM_PREFIX: &str = "STREAM#";

/// One record type's stream (watermark, reach, time field, cursors):
/// `ACCOUNT#{account}` / `STREAM#{record type}`.
pub fn stream(account: &ManagedAccountId, record_type: RecordType) -> Key {
    key(
        account_partition(account),
        &format!("{STREAM_PREFIX}{}", record_type.filter_name()),
    )
}

/// The mark that an account's streams are kept as `STREAM#` items (its legacy items, if
/// any, were converted): `ACCOUNT#{account}` / `STREAMS`. Sorts beside them, so one
/// query reads both.
pub fn streams_kept(account: &ManagedAccountId) -> Key {
    key(account_partition(account), STREAMS_KEPT)
}

/// The sort key of [`streams_kept`].
pub const STREAMS_KEPT: &str = "STREAMS";

/// What the sort keys of the stream items and of their mark begin with (one query).
pub const STREAM_ITEMS: &str = "STREAM";

/// The items streams were kept in before 2026-12-06 (`WATERMARK#{type}`, `REACH#{type}`,
/// `CURSOR#{stream}#{type}`, `TIMEFIELD#{type}`): read once per account to convert them.
pub const LEGACY_STREAM_PREFIXES: [&str; 4] = ["WATERMARK#", "REACH#", "CURSOR#", "TIMEFIELD#"];

/// The account's lease (one worker at a time): `ACCOUNT#{account}` / `LEASE`.
pub fn lease(account: &ManagedAccountId) -> Key {
    key(account_partition(account), "LEASE")
}

/// Prefix of run logs in an account partition.
pub const RUN_PREFIX: &str = "RUN#";

/// A run log: `ACCOUNT#{account}` / `RUN#{started_at}#{run_id}` (newest last).
pub fn run_log(account: &ManagedAccountId, started_at: DateTime<Utc>, run_id: &RunId) -> Key {
    key(
        account_partition(account),
        &format!("{RUN_PREFIX}{}#{run_id}", sortable_time(started_at)),
    )
}

// ---- detail records ----------------------------------------------------------------

/// A detail record: `CDR#{account}#{record type}` / `{telnyx id}`. The key is the
/// record's identity: re-importing it addresses the same item.
pub fn detail_record(
    account: &ManagedAccountId,
    record_type: RecordType,
    id: &DetailRecordId,
) -> Key {
    Key {
        pk: format!("CDR#{account}#{}", record_type.filter_name()),
        sk: id.as_str().to_owned(),
    }
}

/// A detail record in its billing partition of `gsi1`: what a department bills one
/// customer (or `UNBILLED` when no customer) in one month, by time.
pub fn detail_record_index(
    department: &DepartmentId,
    billing_customer: Option<&CustomerId>,
    occurred_at: DateTime<Utc>,
    record_type: RecordType,
    id: &DetailRecordId,
) -> IndexKey {
    IndexKey {
        gsi1pk: billing_partition(department, billing_customer, occurred_at),
        gsi1sk: format!(
            "{}#{}#{id}",
            sortable_time(occurred_at),
            record_type.filter_name()
        ),
    }
}

/// The `gsi1` partition of what `department` bills `customer` in the month of `at`.
pub fn billing_partition(
    department: &DepartmentId,
    customer: Option<&CustomerId>,
    at: DateTime<Utc>,
) -> String {
    let customer = customer.map_or("UNBILLED", CustomerId::as_str);
    format!("BILL#{department}#{customer}#{}", at.format("%Y-%m"))
}

// ---- alerts and outbox -------------------------------------------------------------

/// An alert throttle: `ALERT#{kind}#{account}` / `ALERT`.
pub fn alert(kind: &str, account: &ManagedAccountId) -> Key {
    key(format!("ALERT#{kind}#{account}"), "ALERT")
}

/// An outbox entry: `OUTBOX#{dedupe key}` / `OUTBOX`.
pub fn outbox(dedupe_key: &str) -> Key {
    key(format!("OUTBOX#{dedupe_key}"), "OUTBOX")
}

/// The `gsi1` partition of unsent notifications.
pub const OUTBOX_PENDING_PARTITION: &str = "OUTBOX#PENDING";

/// A pending outbox entry in the pending index, oldest first.
pub fn outbox_pending_index(dedupe_key: &str, queued_at: DateTime<Utc>) -> IndexKey {
    IndexKey {
        gsi1pk: OUTBOX_PENDING_PARTITION.to_owned(),
        gsi1sk: format!("{}#{dedupe_key}", sortable_time(queued_at)),
    }
}

// ---- billing truth -----------------------------------------------------------------

/// Prefix of call-session links in an account partition.
pub const SESSION_PREFIX: &str = "SESSION#";

/// A call's session or leg id linked to its connection: `ACCOUNT#{a}` / `SESSION#{id}`.
pub fn session_link(account: &ManagedAccountId, session: &str) -> Key {
    key(
        account_partition(account),
        &format!("{SESSION_PREFIX}{session}"),
    )
}

/// Prefix of records waiting for their call in an account partition.
pub const ORPHAN_PREFIX: &str = "ORPHAN#";

/// A stored record waiting for its call: `ACCOUNT#{a}` / `ORPHAN#{type}#{telnyx id}`.
pub fn orphan(account: &ManagedAccountId, record_type: RecordType, id: &DetailRecordId) -> Key {
    key(
        account_partition(account),
        &format!("{ORPHAN_PREFIX}{}#{id}", record_type.filter_name()),
    )
}

/// Prefix of audit verdicts in an account partition.
pub const AUDIT_PREFIX: &str = "AUDIT#";

/// An audit verdict: `ACCOUNT#{a}` / `AUDIT#{yyyy-mm-dd}#{type}` (by day).
pub fn audit_day(account: &ManagedAccountId, day: chrono::NaiveDate, t: RecordType) -> Key {
    key(
        account_partition(account),
        &format!("{AUDIT_PREFIX}{day}#{}", t.filter_name()),
    )
}

// ---- billing months ----------------------------------------------------------------

/// Prefix of month change counters in an account partition.
pub const CHANGES_PREFIX: &str = "CHANGES#";

/// A month's change counter: `ACCOUNT#{a}` / `CHANGES#{yyyy-mm}`.
pub fn month_changes(account: &ManagedAccountId, month: BillingMonth) -> Key {
    key(
        account_partition(account),
        &format!("{CHANGES_PREFIX}{month}"),
    )
}

/// Prefix of month states in an account partition.
pub const MONTH_PREFIX: &str = "MONTH#";

/// A month's state (closed or reopened): `ACCOUNT#{a}` / `MONTH#{yyyy-mm}`.
pub fn month_state(account: &ManagedAccountId, month: BillingMonth) -> Key {
    key(
        account_partition(account),
        &format!("{MONTH_PREFIX}{month}"),
    )
}

/// The prefix of one level's lines of one version of a month's invoice.
pub fn invoice_lines_prefix(month: BillingMonth, version: u32, level: &str) -> String {
    format!("INVOICE#{month}#v{version:04}#{level}#")
}

/// A frozen invoice line: `ACCOUNT#{a}` / `INVOICE#{yyyy-mm}#v{version}#{level}#{n}`.
pub fn invoice_line(
    account: &ManagedAccountId,
    month: BillingMonth,
    version: u32,
    level: &str,
    n: u32,
) -> Key {
    key(
        account_partition(account),
        &format!("{}{n:06}", invoice_lines_prefix(month, version, level)),
    )
}

/// The prefix of a month's closes and reopens.
pub fn month_events_prefix(month: BillingMonth) -> String {
    format!("MONTHLOG#{month}#")
}

/// A close or reopen: `ACCOUNT#{a}` / `MONTHLOG#{yyyy-mm}#{at}#{version}#{action}`.
pub fn month_event(
    account: &ManagedAccountId,
    month: BillingMonth,
    at: DateTime<Utc>,
    version: u32,
    action: &str,
) -> Key {
    key(
        account_partition(account),
        &format!(
            "{}{}#v{version:04}#{action}",
            month_events_prefix(month),
            sortable_time(at)
        ),
    )
}

// ---- the usage report, learned -------------------------------------------------

/// The cached usage report options (one item for the table): `USAGE#OPTIONS` / `OPTIONS`.
pub fn usage_options() -> Key {
    key("USAGE#OPTIONS".to_owned(), "OPTIONS")
}

/// The partition of confirmed count metrics.
pub const CONFIRMED_COUNTS: &str = "USAGE#COUNT";

/// A count metric confirmed against walked records: `USAGE#COUNT` / `{product}#{metric}`.
pub fn confirmed_count(product: &str, metric: &str) -> Key {
    key(CONFIRMED_COUNTS.to_owned(), &format!("{product}#{metric}"))
}

/// Prefix of distrusted usage reports in an account partition.
pub const DISTRUST_PREFIX: &str = "DISTRUST#";

/// A usage report an account distrusts: `ACCOUNT#{a}` / `DISTRUST#{type}`.
pub fn distrust(account: &ManagedAccountId, t: RecordType) -> Key {
    key(
        account_partition(account),
        &format!("{DISTRUST_PREFIX}{}", t.filter_name()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn detail_record_key_is_account_type_and_telnyx_id() {
        let k = detail_record(
            &ManagedAccountId::new("acc-1"),
            RecordType::Messaging,
            &DetailRecordId::new("u-1"),
        );
        assert_eq!(k.pk, "CDR#acc-1#messaging");
        assert_eq!(k.sk, "u-1");
    }

    #[test]
    fn sortable_time_has_fixed_width_so_strings_sort_like_instants() {
        let a = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single();
        let b = a.map(|t| t + chrono::Duration::microseconds(1));
        let (Some(a), Some(b)) = (a, b) else {
            panic!("valid dates")
        };
        assert_eq!(sortable_time(a), "2026-01-02T03:04:05.000000Z");
        assert!(sortable_time(a) < sortable_time(b));
        assert_eq!(sortable_time(a).len(), sortable_time(b).len());
    }

    #[test]
    fn department_item_sorts_before_everything_in_its_partition() {
        let d = DepartmentId::new("d");
        let first = department_index(&d).gsi1sk;
        assert!(first < customer_index(&d, &CustomerId::new("0")).gsi1sk);
        assert!(first < service_type_index(&d, &ServiceTypeId::new("0")).gsi1sk);
        assert!(
            first < service_index(&d, &ManagedAccountId::new("a"), &ServiceId::new("0")).gsi1sk
        );
    }
}
