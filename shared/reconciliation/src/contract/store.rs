//! The `Store` contract: every promise the port's documentation makes, checked against
//! any implementation. Each check works in its own namespace (ids tagged uniquely), so
//! the suite can run on a shared table and in parallel with other tests.
//!
//! ```text
//! let report = reconciliation::contract::store::check_store(&store).await;
//! assert!(report.is_clean(), "{report}");
//! ```

use super::{Check, ContractReport, at, ensure, port, unique_tag};
use crate::domain::{
    BillingMode, Customer, CustomerId, Department, DepartmentId, DetailRecord, DetailRecordId,
    ManagedAccountId, MappingPreference, MatchedBy, Onboarding, RawRecord, RecordType, RunId,
    Service, ServiceSource, ServiceStatus, ServiceType, ServiceTypeName, StoredDetailRecord,
};
use crate::plan::{Action, LogCode, LogEntry, Notification, RepeatEvery, identity};
use crate::ports::{EmailKind, Lease, LeaseGrant, RunLog, RunOutcome, Store};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The names of the checks, in the order they run.
pub const CHECKS: &[&str] = &[
    ONBOARDINGS,
    LOAD_STATE,
    APPLY_TWICE,
    CEASE_REACTIVATE,
    RECORDS_ONCE,
    STREAMS,
    STREAM_VERSIONS,
    RUN_LOGS,
    ALERT_THROTTLE,
    CLAIMS,
    LEASES,
    BILLED_PAGES,
    SESSIONS_AND_ORPHANS,
    AUDITS,
    USAGE_OPTIONS,
    COUNT_CONFIRMATIONS,
    DISTRUSTS,
    OFFBOARDING,
    DIGEST,
    MONTH_CHANGES,
    MONTH_CLOSES,
];

pub const ONBOARDINGS: &str = "an onboarding is read back and listed among all onboardings";
pub const LOAD_STATE: &str = "load_state returns the account's departments and what is in them, nothing of other departments";
pub const APPLY_TWICE: &str =
    "applying the same actions twice creates once and queues the customer's email once";
pub const CEASE_REACTIVATE: &str = "cease and reactivate are idempotent, a second cease keeps the first date, and a missing service is a permanent error";
pub const RECORDS_ONCE: &str =
    "a detail record is stored once; a re-import or a copy in the same call is a duplicate";
pub const STREAMS: &str = "a stream's state (watermark, reach, time field, cursors by stream) reads back whole, replaced whole, per account and record type";
pub const STREAM_VERSIONS: &str =
    "a stream write naming a version other than the next one is refused and changes nothing";
pub const RUN_LOGS: &str = "run logs read back newest first, limited, one per run";
pub const ALERT_THROTTLE: &str =
    "an alert is admitted and queued once per interval, decided on the stored time, per kind";
pub const CLAIMS: &str = "a claim is exclusive until its lease ends; a sent notification is never pending or claimable again";
pub const LEASES: &str = "a lease is exclusive until it expires, renewed by its holder, released only by it, listed while held";

pub const BILLED_PAGES: &str = "a billing partition reads back by time, oldest first, in pages, each record once, without raw JSON";
pub const SESSIONS_AND_ORPHANS: &str = "session links read back per account; an orphan is reattributed once (conditionally) and forgotten";
pub const AUDITS: &str = "audit verdicts are replaced per type and day and read back by day range";
pub const USAGE_OPTIONS: &str =
    "the cached usage options read back as written and are replaced whole";
pub const COUNT_CONFIRMATIONS: &str =
    "a count metric's first confirmation is kept, other metrics are listed beside it";
pub const DISTRUSTS: &str =
    "distrusted usage reports read back per account, replaced per type, lifted per type";

pub const OFFBOARDING: &str = "an offboarded account is neither read nor listed as onboarded, is listed as offboarded with its onboarding, and onboarding it again undoes it; offboarding an account not onboarded writes nothing";
pub const MONTH_CHANGES: &str = "a month's change counter is bumped by every record write and re-attribution touching it, once per call, duplicates included";
pub const MONTH_CLOSES: &str = "a month closes once per version with its log entry, its frozen lines read back in order and are never rewritten, and a reopen is conditional and logged";
pub const DIGEST: &str = "a digest admits each account once per interval, shares the slot with single alerts, and queues one email naming only the accounts admitted";

/// Runs every check against `store`.
pub async fn check_store(store: &dyn Store) -> ContractReport {
    let mut report = ContractReport::default();
    report.record(ONBOARDINGS, onboardings(store, &Ns::new()).await);
    report.record(LOAD_STATE, load_state(store, &Ns::new()).await);
    report.record(APPLY_TWICE, apply_twice(store, &Ns::new()).await);
    report.record(CEASE_REACTIVATE, cease_reactivate(store, &Ns::new()).await);
    report.record(RECORDS_ONCE, records_once(store, &Ns::new()).await);
    report.record(STREAMS, super::streams::states(store, &Ns::new()).await);
    report.record(
        STREAM_VERSIONS,
        super::streams::versions(store, &Ns::new()).await,
    );
    report.record(RUN_LOGS, run_logs(store, &Ns::new()).await);
    report.record(ALERT_THROTTLE, alert_throttle(store, &Ns::new()).await);
    report.record(CLAIMS, claims(store, &Ns::new()).await);
    report.record(LEASES, leases(store, &Ns::new()).await);
    let ns = Ns::new();
    report.record(
        BILLED_PAGES,
        super::billing::billed_pages(store, &ns.account(1), &ns.dept("bill")).await,
    );
    let ns = Ns::new();
    report.record(
        SESSIONS_AND_ORPHANS,
        super::billing::sessions_and_orphans(store, &ns.account(1), &ns.dept("bill")).await,
    );
    report.record(
        AUDITS,
        super::billing::audits(store, &Ns::new().account(1)).await,
    );
    report.record(USAGE_OPTIONS, super::usage::options_cache(store).await);
    report.record(
        COUNT_CONFIRMATIONS,
        super::usage::confirmations(store, &Ns::new().account(1)).await,
    );
    let ns = Ns::new();
    report.record(
        DISTRUSTS,
        super::usage::distrusts(store, &ns.account(1), &ns.account(2)).await,
    );
    report.record(OFFBOARDING, offboarding(store, &Ns::new()).await);
    report.record(DIGEST, digest(store, &Ns::new()).await);
    report.record(
        MONTH_CHANGES,
        super::months::change_counters(store, &Ns::new().account(1)).await,
    );
    report.record(
        MONTH_CLOSES,
        super::months::closes(store, &Ns::new().account(1)).await,
    );
    report
}

/// One check's ids.
pub(super) struct Ns {
    tag: String,
}

impl Ns {
    pub(super) fn new() -> Self {
        Self { tag: unique_tag() }
    }
    pub(super) fn account(&self, n: u8) -> ManagedAccountId {
        ManagedAccountId::new(format!("acc-{n}-{}", self.tag))
    }
    fn dept(&self, name: &str) -> DepartmentId {
        DepartmentId::new(format!("dept-{name}-{}", self.tag))
    }
}

fn department(id: &DepartmentId, parent: Option<&DepartmentId>) -> Department {
    Department {
        id: id.clone(),
        name: format!("Department {id}"),
        billing_email: Some("billing@operator.example".into()),
        parent: parent.cloned(),
    }
}

fn onboarding(account: &ManagedAccountId, dept: &DepartmentId) -> Onboarding {
    Onboarding {
        account: account.clone(),
        organization_name: "Contract Org".into(),
        mode: BillingMode::Direct {
            department: dept.clone(),
            billing_customer: None,
        },
        mapping: MappingPreference::PerBillingGroup,
    }
}

fn customer(account: &ManagedAccountId, dept: &DepartmentId, group: &str) -> Customer {
    Customer {
        id: identity::customer_for_billing_group(dept, account, &group.into()),
        department: dept.clone(),
        company_name: format!("Customer {group}"),
        account: Some(account.clone()),
        billing_group_id: Some(group.into()),
        source_name: Some(format!("Customer {group}")),
        created_at: Some(at(0)),
    }
}

fn service_type(dept: &DepartmentId) -> ServiceType {
    let name = ServiceTypeName::SipTrunking;
    ServiceType {
        id: identity::service_type(dept, name),
        department: dept.clone(),
        name,
        category: name.category(),
        wholesale_parent: None,
    }
}

fn service(account: &ManagedAccountId, c: &Customer, t: &ServiceType) -> Service {
    let source = ServiceSource::Connection("conn-1".into());
    Service {
        id: identity::service(&c.department, &c.id, &source, t.name),
        account: account.clone(),
        department: c.department.clone(),
        customer: c.id.clone(),
        service_type: t.id.clone(),
        service_type_name: t.name,
        source,
        label: "Trunk".into(),
        status: ServiceStatus::Active,
        twin_of: None,
        started_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 3),
    }
}

fn new_customer_email(c: &Customer) -> Notification {
    Notification::NewCustomer {
        to: vec!["billing@operator.example".into()],
        account: c.account.clone().unwrap_or_default(),
        customer_id: c.id.clone(),
        customer_name: c.company_name.clone(),
        department_id: c.department.clone(),
        department_name: "Department".into(),
        billing_group_id: c.billing_group_id.clone(),
        connections: vec!["Trunk (conn-1)".into()],
        link: format!("https://billing.example/customers/{}", c.id),
    }
}

async fn onboardings(store: &dyn Store, ns: &Ns) -> Check {
    let (a, b) = (ns.account(1), ns.account(2));
    let dept = ns.dept("d");
    port(
        "put_onboarding",
        store.put_onboarding(&onboarding(&a, &dept)).await,
    )?;
    port(
        "put_onboarding",
        store.put_onboarding(&onboarding(&b, &dept)).await,
    )?;
    // Replacing keeps one onboarding.
    let mut renamed = onboarding(&a, &dept);
    renamed.organization_name = "Renamed".into();
    port("put_onboarding", store.put_onboarding(&renamed).await)?;
    let read = port("onboarding", store.onboarding(&a).await)?;
    ensure!(
        read.as_ref() == Some(&renamed),
        "onboarding of {a} read back as {read:?}"
    );
    let missing = port("onboarding", store.onboarding(&ns.account(3)).await)?;
    ensure!(
        missing.is_none(),
        "an account never onboarded read back as {missing:?}"
    );
    let all = port("onboardings", store.onboardings().await)?;
    let ours: Vec<&Onboarding> = all
        .iter()
        .filter(|o| o.account == a || o.account == b)
        .collect();
    ensure!(
        ours.len() == 2,
        "onboardings lists {} of the 2 just stored",
        ours.len()
    );
    Ok(())
}

async fn load_state(store: &dyn Store, ns: &Ns) -> Check {
    let (dept, other) = (ns.dept("mine"), ns.dept("other"));
    let account = ns.account(1);
    for d in [&dept, &other] {
        port(
            "put_department",
            store.put_department(&department(d, None)).await,
        )?;
    }
    let mine = customer(&account, &dept, "bg-1");
    let elsewhere = customer(&account, &other, "bg-2");
    let t = service_type(&dept);
    let actions = vec![
        Action::CreateServiceType(t.clone()),
        Action::CreateServiceType(service_type(&other)),
        Action::CreateCustomer {
            customer: mine.clone(),
            notify: None,
        },
        Action::CreateCustomer {
            customer: elsewhere,
            notify: None,
        },
        Action::CreateService(service(&account, &mine, &t)),
    ];
    port("apply", store.apply(&actions, at(0)).await)?;
    let state = port(
        "load_state",
        store.load_state(&onboarding(&account, &dept)).await,
    )?;
    ensure!(
        state.departments.iter().map(|d| &d.id).collect::<Vec<_>>() == vec![&dept],
        "departments: {:?}",
        state.departments
    );
    ensure!(
        state.customers == vec![mine.clone()],
        "customers: {:?}",
        state.customers
    );
    ensure!(
        state.service_types == vec![t.clone()],
        "service types: {:?}",
        state.service_types
    );
    ensure!(
        state.services == vec![service(&account, &mine, &t)],
        "services: {:?}",
        state.services
    );
    Ok(())
}

async fn apply_twice(store: &dyn Store, ns: &Ns) -> Check {
    let (dept, parent) = (ns.dept("child"), ns.dept("parent"));
    let account = ns.account(1);
    port(
        "put_department",
        store
            .put_department(&department(&dept, Some(&parent)))
            .await,
    )?;
    let c = customer(&account, &dept, "bg-1");
    let (t, parent_type) = (service_type(&dept), service_type(&parent));
    let actions = vec![
        Action::CreateServiceType(parent_type.clone()),
        Action::CreateServiceType(t.clone()),
        Action::LinkServiceType {
            child: t.id.clone(),
            parent: parent_type.id.clone(),
        },
        Action::CreateCustomer {
            customer: c.clone(),
            notify: Some(new_customer_email(&c)),
        },
        Action::CreateService(service(&account, &c, &t)),
    ];
    let first = port("apply", store.apply(&actions, at(0)).await)?;
    let second = port("apply", store.apply(&actions, at(1)).await)?;
    let counts = |r: &crate::ports::ApplyReport| {
        (
            r.created,
            r.updated,
            r.already_existed,
            r.notifications_queued,
            r.customers_created,
            r.services_created,
        )
    };
    ensure!(
        counts(&first) == (4, 1, 0, 1, 1, 1),
        "first apply: {first:?}"
    );
    ensure!(
        counts(&second) == (0, 0, 5, 0, 0, 0),
        "second apply: {second:?}"
    );
    let key = new_customer_email(&c).dedupe_key();
    let pending = port("pending_notifications", store.pending_notifications().await)?;
    let queued: Vec<_> = pending.iter().filter(|e| e.key == key).collect();
    ensure!(
        queued.len() == 1,
        "{} outbox entries for {key}",
        queued.len()
    );
    ensure!(
        queued[0].queued_at == at(0),
        "queued at {} (the first apply's now is {})",
        queued[0].queued_at,
        at(0)
    );
    let state = port(
        "load_state",
        store.load_state(&onboarding(&account, &dept)).await,
    )?;
    let linked = state
        .service_types
        .iter()
        .find(|x| x.id == t.id)
        .and_then(|x| x.wholesale_parent.clone());
    ensure!(
        linked == Some(parent_type.id.clone()),
        "the child type's link reads {linked:?}"
    );
    Ok(())
}

async fn cease_reactivate(store: &dyn Store, ns: &Ns) -> Check {
    let dept = ns.dept("d");
    let account = ns.account(1);
    let c = customer(&account, &dept, "bg-1");
    let t = service_type(&dept);
    let s = service(&account, &c, &t);
    port(
        "apply",
        store
            .apply(&[Action::CreateService(s.clone())], at(0))
            .await,
    )?;
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default();
    let cease = |d: u32| Action::CeaseService {
        service: s.id.clone(),
        on: day(d),
    };
    let reactivate = Action::ReactivateService {
        service: s.id.clone(),
    };
    let r = port("apply", store.apply(&[cease(20), cease(21)], at(0)).await)?;
    ensure!(
        (r.updated, r.already_existed) == (1, 1),
        "ceasing twice: {r:?} (one update, one already so)"
    );
    let status = stored_status(store, &account, &dept, &s).await?;
    ensure!(
        status == Some(ServiceStatus::Ceased { on: day(20) }),
        "after two ceases: {status:?}"
    );
    let r = port(
        "apply",
        store.apply(&[reactivate.clone(), reactivate], at(0)).await,
    )?;
    ensure!(
        (r.updated, r.already_existed) == (1, 1),
        "reactivating twice: {r:?} (one update, one already so)"
    );
    let status = stored_status(store, &account, &dept, &s).await?;
    ensure!(
        status == Some(ServiceStatus::Active),
        "after reactivating: {status:?}"
    );
    let ghost = Action::CeaseService {
        service: ns_service_id(ns),
        on: day(20),
    };
    match store.apply(&[ghost], at(0)).await {
        Ok(r) => {
            return Err(format!(
                "ceasing a service that does not exist succeeded: {r:?}"
            ));
        }
        Err(e) if e.is_transient() => {
            return Err(format!(
                "ceasing a missing service failed transiently: {}",
                e.chain()
            ));
        }
        Err(_) => {}
    }
    Ok(())
}

fn ns_service_id(ns: &Ns) -> crate::domain::ServiceId {
    crate::domain::ServiceId::new(format!("svc-ghost-{}", ns.tag))
}

async fn stored_status(
    store: &dyn Store,
    account: &ManagedAccountId,
    dept: &DepartmentId,
    s: &Service,
) -> Result<Option<ServiceStatus>, String> {
    let state = port(
        "load_state",
        store.load_state(&onboarding(account, dept)).await,
    )?;
    Ok(state
        .services
        .iter()
        .find(|x| x.id == s.id)
        .map(|x| x.status.clone()))
}

fn detail(account: &ManagedAccountId, record_type: RecordType, id: &str) -> StoredDetailRecord {
    StoredDetailRecord {
        account: account.clone(),
        department: DepartmentId::new("dept-billing"),
        billing_customer: Some(CustomerId::new("cus-reseller")),
        end_customer: None,
        service: None,
        matched_by: MatchedBy::Unmatched,
        record: DetailRecord {
            record_type,
            id: DetailRecordId::new(id),
            occurred_at: at(-1),
            connection_id: None,
            billing_group_id: None,
            cli: None,
            cld: None,
            direction: None,
            cost: Some(Decimal::new(42, 4)),
            rate: None,
            currency: Some("USD".into()),
            billed_quantity: Some(Decimal::from(60)),
            sessions: vec!["session-1".into()],
            raw: RawRecord::from_value(&serde_json::json!({ "id": id, "cost": "0.0042" })),
        },
    }
}

async fn records_once(store: &dyn Store, ns: &Ns) -> Check {
    let account = ns.account(1);
    let batch: Vec<StoredDetailRecord> = (0..30)
        .map(|i| detail(&account, RecordType::SipTrunking, &format!("r-{i}")))
        .chain([
            // Same id, another type: another record.
            detail(&account, RecordType::Fax, "r-0"),
            // The same record twice in one call.
            detail(&account, RecordType::SipTrunking, "r-1"),
        ])
        .collect();
    let first = port("put_detail_records", store.put_detail_records(&batch).await)?;
    ensure!(
        (first.written, first.duplicates) == (31, 1),
        "first write: {first:?} (31 distinct records, 1 copy)"
    );
    let again = port("put_detail_records", store.put_detail_records(&batch).await)?;
    ensure!(
        (again.written, again.duplicates) == (0, 32),
        "re-import: {again:?} (every record already stored)"
    );
    let empty = port("put_detail_records", store.put_detail_records(&[]).await)?;
    ensure!(
        empty.written + empty.duplicates == 0,
        "an empty call reported {empty:?}"
    );
    Ok(())
}

fn run_log(account: &ManagedAccountId, run: &str, hours: i64) -> RunLog {
    RunLog {
        account: account.clone(),
        run_id: RunId::new(run),
        started_at: at(hours),
        finished_at: at(hours) + Duration::seconds(5),
        counts: BTreeMap::from([("records_written".to_owned(), 7)]),
        entries: vec![LogEntry::new(
            LogCode::NoBillingGroup,
            "no billing group".into(),
        )],
        outcome: RunOutcome::Complete,
    }
}

async fn run_logs(store: &dyn Store, ns: &Ns) -> Check {
    let account = ns.account(1);
    for (run, hours) in [("run-a", 0), ("run-c", 2), ("run-b", 1)] {
        port(
            "put_run_log",
            store.put_run_log(&run_log(&account, run, hours)).await,
        )?;
    }
    // Writing a run's log again replaces it.
    let mut failed = run_log(&account, "run-b", 1);
    failed.outcome = RunOutcome::Failed {
        error: "boom".into(),
    };
    port("put_run_log", store.put_run_log(&failed).await)?;
    let logs = port("run_logs", store.run_logs(&account, 2).await)?;
    let ids: Vec<&str> = logs.iter().map(|l| l.run_id.as_str()).collect();
    ensure!(ids == ["run-c", "run-b"], "newest two: {ids:?}");
    ensure!(logs[1] == failed, "run-b read back as {:?}", logs[1]);
    let all = port("run_logs", store.run_logs(&account, 10).await)?;
    ensure!(all.len() == 3, "{} run logs for 3 runs", all.len());
    let other = port("run_logs", store.run_logs(&ns.account(2), 10).await)?;
    ensure!(
        other.is_empty(),
        "another account has {} run logs",
        other.len()
    );
    Ok(())
}

fn key_problem(account: &ManagedAccountId, raised_at: DateTime<Utc>) -> Notification {
    Notification::KeyProblem {
        to: vec!["ops@operator.example".into()],
        account: account.clone(),
        problem: "unauthorized (401)".into(),
        raised_at,
        repeat_every: RepeatEvery::DEFAULT,
    }
}

async fn alert_throttle(store: &dyn Store, ns: &Ns) -> Check {
    let account = ns.account(1);
    let interval = Duration::hours(72);
    let admit = |kind: EmailKind, h: i64| {
        let alert = key_problem(&account, at(h));
        let account = account.clone();
        async move {
            port(
                "admit_and_queue_alert",
                store
                    .admit_and_queue_alert(kind, &account, &alert, at(h), interval)
                    .await,
            )
        }
    };
    ensure!(
        admit(EmailKind::KeyProblem, 0).await?,
        "the first alert was not admitted"
    );
    ensure!(
        !admit(EmailKind::KeyProblem, 71).await?,
        "a second alert within the interval was admitted"
    );
    ensure!(
        admit(EmailKind::UnknownAccounts, 1).await?,
        "another kind's alert was throttled"
    );
    ensure!(
        admit(EmailKind::KeyProblem, 72).await?,
        "an alert a whole interval later was not admitted"
    );
    // The very same alert (same dedupe key) is never queued twice, interval or not.
    let again = key_problem(&account, at(72));
    let requeued = port(
        "admit_and_queue_alert",
        store
            .admit_and_queue_alert(EmailKind::KeyProblem, &account, &again, at(200), interval)
            .await,
    )?;
    ensure!(!requeued, "an alert already queued was queued again");
    let pending = port("pending_notifications", store.pending_notifications().await)?;
    let ours: Vec<DateTime<Utc>> = pending
        .iter()
        .filter(|e| e.key.contains(account.as_str()))
        .map(|e| e.queued_at)
        .collect();
    ensure!(
        ours == vec![at(0), at(1), at(72)],
        "queued alerts at {ours:?}, oldest first"
    );
    Ok(())
}

async fn claims(store: &dyn Store, ns: &Ns) -> Check {
    let account = ns.account(1);
    let n = key_problem(&account, at(0));
    let queued = port(
        "admit_and_queue_alert",
        store
            .admit_and_queue_alert(
                EmailKind::KeyProblem,
                &account,
                &n,
                at(0),
                Duration::hours(72),
            )
            .await,
    )?;
    ensure!(queued, "the alert to claim was not queued");
    let key = n.dedupe_key();
    let claim = |h: i64| {
        let key = key.clone();
        async move {
            port(
                "claim_notification",
                store.claim_notification(&key, at(h)).await,
            )
        }
    };
    ensure!(
        claim(0).await?,
        "a pending notification could not be claimed"
    );
    ensure!(
        !claim(0).await?,
        "a claimed notification was claimed again at once"
    );
    ensure!(
        claim(1).await?,
        "a claim an hour old (past its lease) still held"
    );
    port(
        "mark_notification_sent",
        store.mark_notification_sent(&key, "msg-1", at(1)).await,
    )?;
    port(
        "mark_notification_sent",
        store.mark_notification_sent(&key, "msg-1", at(2)).await,
    )?;
    ensure!(!claim(5).await?, "a sent notification was claimed");
    let pending = port("pending_notifications", store.pending_notifications().await)?;
    ensure!(
        !pending.iter().any(|e| e.key == key),
        "a sent notification is still pending"
    );
    Ok(())
}

async fn leases(store: &dyn Store, ns: &Ns) -> Check {
    let account = ns.account(1);
    let (one, two) = (RunId::new("run-one"), RunId::new("run-two"));
    let take = |holder: &RunId, now: i64, until: i64| {
        let (account, holder) = (account.clone(), holder.clone());
        async move {
            port(
                "acquire_lease",
                store
                    .acquire_lease(&account, &holder, at(now), at(until))
                    .await,
            )
        }
    };
    ensure!(
        take(&one, 0, 2).await? == LeaseGrant::Granted,
        "a free lease was not granted"
    );
    match take(&two, 1, 3).await? {
        LeaseGrant::HeldBy(l) if l.holder == one && l.until == at(2) => {}
        other => return Err(format!("a held lease was answered {other:?}")),
    }
    ensure!(
        take(&one, 1, 4).await? == LeaseGrant::Granted,
        "its holder could not renew it"
    );
    let held = port(
        "active_leases",
        store
            .active_leases(&[account.clone(), ns.account(2)], at(3))
            .await,
    )?;
    ensure!(
        held == vec![Lease {
            account: account.clone(),
            holder: one.clone(),
            until: at(4)
        }],
        "active leases at +3h: {held:?}"
    );
    port("release_lease", store.release_lease(&account, &two).await)?;
    match take(&two, 3, 5).await? {
        LeaseGrant::HeldBy(_) => {}
        LeaseGrant::Granted => return Err("a release by another run freed the lease".into()),
    }
    ensure!(
        take(&two, 4, 6).await? == LeaseGrant::Granted,
        "an expired lease was not taken over"
    );
    port("release_lease", store.release_lease(&account, &two).await)?;
    let held = port(
        "active_leases",
        store
            .active_leases(std::slice::from_ref(&account), at(4))
            .await,
    )?;
    ensure!(
        held.is_empty(),
        "a released lease is still active: {held:?}"
    );
    ensure!(
        take(&one, 4, 5).await? == LeaseGrant::Granted,
        "a released lease was not free"
    );
    Ok(())
}

async fn offboarding(store: &dyn Store, ns: &Ns) -> Check {
    let (a, b, never) = (ns.account(1), ns.account(2), ns.account(3));
    let dept = ns.dept("off");
    port(
        "put_onboarding",
        store.put_onboarding(&onboarding(&a, &dept)).await,
    )?;
    port(
        "put_onboarding",
        store.put_onboarding(&onboarding(&b, &dept)).await,
    )?;
    let gone = port("offboard", store.offboard(&a, at(1)).await)?;
    ensure!(
        gone.as_ref().map(|o| (&o.onboarding, o.offboarded_at))
            == Some((&onboarding(&a, &dept), at(1))),
        "offboard returned {gone:?}"
    );
    ensure!(
        port("onboarding", store.onboarding(&a).await)?.is_none(),
        "an offboarded account still reads as onboarded"
    );
    let listed = port("onboardings", store.onboardings().await)?;
    ensure!(
        !listed.iter().any(|o| o.account == a) && listed.iter().any(|o| o.account == b),
        "onboardings after offboarding {a}: {listed:?}"
    );
    let off = port("offboardings", store.offboardings().await)?;
    ensure!(
        off.iter().filter(|o| o.onboarding.account == a).count() == 1
            && !off.iter().any(|o| o.onboarding.account == b),
        "offboardings: {off:?}"
    );
    ensure!(
        port("offboard", store.offboard(&never, at(2)).await)?.is_none(),
        "offboarding an account never onboarded returned an offboarding"
    );
    ensure!(
        !port("offboardings", store.offboardings().await)?
            .iter()
            .any(|o| o.onboarding.account == never),
        "offboarding an account never onboarded wrote one"
    );
    port(
        "put_onboarding",
        store.put_onboarding(&onboarding(&a, &dept)).await,
    )?;
    ensure!(
        port("onboarding", store.onboarding(&a).await)?.is_some(),
        "onboarding again did not restore the onboarding"
    );
    ensure!(
        !port("offboardings", store.offboardings().await)?
            .iter()
            .any(|o| o.onboarding.account == a),
        "onboarding again left the offboarding listed"
    );
    Ok(())
}

fn unknown_digest(accounts: &[ManagedAccountId], raised_at: DateTime<Utc>) -> Notification {
    Notification::UnknownAccounts {
        to: vec!["ops@operator.example".into()],
        accounts: accounts
            .iter()
            .map(|a| crate::plan::UnknownAccount {
                account: a.clone(),
                organization_name: None,
                email: None,
                created_at: None,
            })
            .collect(),
        raised_at,
        repeat_every: RepeatEvery::DEFAULT,
    }
}

async fn digest(store: &dyn Store, ns: &Ns) -> Check {
    let interval = Duration::hours(72);
    let accounts: Vec<ManagedAccountId> = (1..=5).map(|n| ns.account(n)).collect();
    // One of them was alerted alone within the interval: its slot is taken.
    let alone = key_problem(&accounts[4], at(0));
    port(
        "admit_and_queue_alert",
        store
            .admit_and_queue_alert(
                EmailKind::UnknownAccounts,
                &accounts[4],
                &alone,
                at(0),
                interval,
            )
            .await,
    )?;
    let run = |h: i64, list: Vec<ManagedAccountId>| async move {
        let build = |admitted: &[ManagedAccountId]| unknown_digest(admitted, at(h));
        port(
            "admit_and_queue_digest",
            store
                .admit_and_queue_digest(EmailKind::UnknownAccounts, &list, &build, at(h), interval)
                .await,
        )
    };
    let first = run(1, accounts[..3].to_vec()).await?;
    ensure!(
        first == accounts[..3],
        "the first digest admitted {first:?}"
    );
    let second = run(2, accounts.clone()).await?;
    ensure!(
        second == vec![accounts[3].clone()],
        "within the interval only the new account is admitted, got {second:?}"
    );
    let later = run(74, accounts[..2].to_vec()).await?;
    ensure!(
        later == accounts[..2],
        "a whole interval later, admitted {later:?}"
    );
    let none = run(75, accounts[..2].to_vec()).await?;
    ensure!(none.is_empty(), "nothing new, yet {none:?} admitted");
    let pending = port("pending_notifications", store.pending_notifications().await)?;
    let ours: Vec<Vec<ManagedAccountId>> = pending
        .iter()
        .filter_map(|e| match &e.notification {
            Notification::UnknownAccounts {
                accounts: named, ..
            } if named.iter().any(|n| accounts.contains(&n.account)) => {
                Some(named.iter().map(|n| n.account.clone()).collect())
            }
            _ => None,
        })
        .collect();
    ensure!(
        ours == vec![
            accounts[..3].to_vec(),
            vec![accounts[3].clone()],
            accounts[..2].to_vec()
        ],
        "queued digests name {ours:?}"
    );
    Ok(())
}
