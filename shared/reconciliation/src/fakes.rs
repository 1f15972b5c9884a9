//! In-memory implementations of every port, for the core's unit tests and for other
//! crates' fast tests (feature `test-util`). They follow the port contracts (create if
//! absent, outbox dedupe, 3-day alert throttle from the stored timestamp, watermarks
//! that never move back) and can be told to fail, to test failure paths.
//!
//! All state sits behind `std::sync::Mutex`; a poisoned lock is recovered (a panicking
//! test already failed).

use crate::domain::*;
use crate::error::{PortError, Transience};
use crate::plan::{Action, Notification};
use crate::ports::*;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Mutex, MutexGuard};

/// The pure meaning of applying actions (re-exported: the idempotence property test and
/// [`InMemoryStore::apply`] both use it).
pub use crate::plan::apply_to_state;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Returns `Pending` once (waking itself), so concurrent runs on the fakes interleave at
/// the points real I/O would (without a runtime dependency).
struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

fn yield_now() -> YieldNow {
    YieldNow(false)
}

fn injected(op: &str) -> PortError {
    PortError::message(format!("injected failure in {op}"), Transience::Transient)
}

// ---- Store ---------------------------------------------------------------------------

/// Everything [`InMemoryStore`] holds; read it with [`InMemoryStore::data`].
#[derive(Debug, Clone, Default)]
pub struct StoreData {
    pub onboardings: BTreeMap<ManagedAccountId, Onboarding>,
    /// Every account's departments, customers, service types and services.
    pub state: StoredState,
    pub records: BTreeMap<(ManagedAccountId, RecordType, DetailRecordId), StoredDetailRecord>,
    pub watermarks: BTreeMap<(ManagedAccountId, RecordType), DateTime<Utc>>,
    pub run_logs: Vec<crate::ports::RunLog>,
    /// Last admitted alert per (kind, account).
    pub alerts: BTreeMap<(String, ManagedAccountId), DateTime<Utc>>,
    pub outbox: BTreeMap<String, OutboxEntry>,
    /// Claim expiry per outbox key.
    pub claims: BTreeMap<String, DateTime<Utc>>,
}

impl StoreData {
    /// The business data only (state, records, watermarks, outbox keys), for "nothing
    /// was written" comparisons that ignore run logs and claims.
    pub fn business(&self) -> BusinessData {
        BusinessData {
            state: self.state.clone(),
            records: self.records.values().cloned().collect(),
            watermarks: self.watermarks.clone(),
            outbox: self.outbox.keys().cloned().collect(),
        }
    }
}

/// What a run can write, for "nothing was written" assertions.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessData {
    pub state: StoredState,
    pub records: Vec<StoredDetailRecord>,
    pub watermarks: BTreeMap<(ManagedAccountId, RecordType), DateTime<Utc>>,
    pub outbox: Vec<String>,
}

/// An in-memory [`Store`].
#[derive(Debug, Default)]
pub struct InMemoryStore {
    data: Mutex<StoreData>,
    failing: Mutex<BTreeSet<String>>,
    /// How long an outbox claim holds.
    claim_lease: Duration,
    alert_interval: Duration,
}

impl InMemoryStore {
    pub fn new() -> Self {
        Self {
            data: Mutex::default(),
            failing: Mutex::default(),
            claim_lease: Duration::minutes(5),
            alert_interval: Duration::days(3),
        }
    }

    pub fn with_onboarding(self, onboarding: Onboarding) -> Self {
        lock(&self.data)
            .onboardings
            .insert(onboarding.account.clone(), onboarding);
        self
    }

    /// Seeds stored state (departments, customers, …) by merging `state` in.
    pub fn with_state(self, state: StoredState) -> Self {
        {
            let mut d = lock(&self.data);
            d.state.departments.extend(state.departments);
            d.state.customers.extend(state.customers);
            d.state.service_types.extend(state.service_types);
            d.state.services.extend(state.services);
        }
        self
    }

    /// A copy of everything stored.
    pub fn data(&self) -> StoreData {
        lock(&self.data).clone()
    }

    /// Makes every later call of the method named `op` (e.g. `"put_detail_records"`,
    /// `"apply"`, `"advance_watermark"`) fail with a transient error.
    pub fn fail(&self, op: &str) {
        lock(&self.failing).insert(op.to_owned());
    }

    /// Stops failing `op`.
    pub fn heal(&self, op: &str) {
        lock(&self.failing).remove(op);
    }

    fn check(&self, op: &str) -> PortResult<()> {
        if lock(&self.failing).contains(op) {
            Err(injected(op))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Store for InMemoryStore {
    async fn onboarding(&self, account: &ManagedAccountId) -> PortResult<Option<Onboarding>> {
        self.check("onboarding")?;
        Ok(lock(&self.data).onboardings.get(account).cloned())
    }

    async fn onboardings(&self) -> PortResult<Vec<Onboarding>> {
        self.check("onboardings")?;
        Ok(lock(&self.data).onboardings.values().cloned().collect())
    }

    async fn put_onboarding(&self, onboarding: &Onboarding) -> PortResult<()> {
        self.check("put_onboarding")?;
        lock(&self.data)
            .onboardings
            .insert(onboarding.account.clone(), onboarding.clone());
        Ok(())
    }

    async fn put_department(&self, department: &Department) -> PortResult<()> {
        self.check("put_department")?;
        let mut d = lock(&self.data);
        d.state.departments.retain(|x| x.id != department.id);
        d.state.departments.push(department.clone());
        Ok(())
    }

    /// The account's departments and everything in them (other accounts' records
    /// included, as a query by department returns them; the planner filters by account).
    async fn load_state(&self, onboarding: &Onboarding) -> PortResult<StoredState> {
        self.check("load_state")?;
        let depts: BTreeSet<&DepartmentId> = [
            onboarding.customer_department(),
            onboarding.billing_department(),
        ]
        .into_iter()
        .collect();
        let state = {
            let d = lock(&self.data);
            StoredState {
                departments: d
                    .state
                    .departments
                    .iter()
                    .filter(|x| depts.contains(&x.id))
                    .cloned()
                    .collect(),
                customers: d
                    .state
                    .customers
                    .iter()
                    .filter(|x| depts.contains(&x.department))
                    .cloned()
                    .collect(),
                service_types: d
                    .state
                    .service_types
                    .iter()
                    .filter(|x| depts.contains(&x.department))
                    .cloned()
                    .collect(),
                services: d
                    .state
                    .services
                    .iter()
                    .filter(|x| depts.contains(&x.department))
                    .cloned()
                    .collect(),
            }
        };
        // Another run may write between this read and our apply, as with a real store.
        yield_now().await;
        Ok(state)
    }

    async fn apply(&self, actions: &[Action], now: DateTime<Utc>) -> PortResult<ApplyReport> {
        self.check("apply")?;
        let mut d = lock(&self.data);
        let mut total = ApplyReport::default();
        for action in actions {
            let r = apply_to_state(&mut d.state, std::slice::from_ref(action));
            if let Action::CreateCustomer {
                notify: Some(n), ..
            } = action
            {
                // Queued in the same write as the customer, only by the writer that created it.
                if r.created == 1 {
                    let key = n.dedupe_key();
                    d.outbox.entry(key.clone()).or_insert(OutboxEntry {
                        key,
                        notification: n.clone(),
                        queued_at: now,
                        sent_at: None,
                    });
                }
            }
            total.created += r.created;
            total.already_existed += r.already_existed;
            total.updated += r.updated;
            total.notifications_queued += r.notifications_queued;
        }
        Ok(total)
    }

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
                std::collections::btree_map::Entry::Occupied(_) => report.duplicates += 1,
                std::collections::btree_map::Entry::Vacant(v) => {
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

    async fn put_run_log(&self, log: &crate::ports::RunLog) -> PortResult<()> {
        self.check("put_run_log")?;
        lock(&self.data).run_logs.push(log.clone());
        Ok(())
    }

    async fn admit_and_queue_alert(
        &self,
        kind: &str,
        account: &ManagedAccountId,
        alert: &Notification,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        self.check("admit_and_queue_alert")?;
        // One lock for both writes: the throttle and the outbox entry change together.
        let mut d = lock(&self.data);
        let throttle = (kind.to_owned(), account.clone());
        // Decided from the stored timestamp, never from the item having expired.
        let open = d
            .alerts
            .get(&throttle)
            .is_none_or(|last| now - *last >= self.alert_interval);
        let key = alert.dedupe_key();
        if !open || d.outbox.contains_key(&key) {
            return Ok(false);
        }
        d.alerts.insert(throttle, now);
        d.outbox.insert(
            key.clone(),
            OutboxEntry {
                key,
                notification: alert.clone(),
                queued_at: now,
                sent_at: None,
            },
        );
        Ok(true)
    }

    async fn pending_notifications(&self) -> PortResult<Vec<OutboxEntry>> {
        self.check("pending_notifications")?;
        let pending = lock(&self.data)
            .outbox
            .values()
            .filter(|e| e.sent_at.is_none())
            .cloned()
            .collect();
        // Two flushes may read the same pending entry; the claim decides who sends.
        yield_now().await;
        Ok(pending)
    }

    async fn claim_notification(&self, key: &str, now: DateTime<Utc>) -> PortResult<bool> {
        self.check("claim_notification")?;
        let mut d = lock(&self.data);
        let pending = d.outbox.get(key).is_some_and(|e| e.sent_at.is_none());
        let free = d.claims.get(key).is_none_or(|until| *until <= now);
        if pending && free {
            d.claims.insert(key.to_owned(), now + self.claim_lease);
            Ok(true)
        } else {
            Ok(false)
        }
    }

    async fn mark_notification_sent(
        &self,
        key: &str,
        _message_id: &str,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        self.check("mark_notification_sent")?;
        let mut d = lock(&self.data);
        if let Some(e) = d.outbox.get_mut(key) {
            e.sent_at = Some(now);
        }
        d.claims.remove(key);
        Ok(())
    }
}

// ---- Telnyx --------------------------------------------------------------------------

#[derive(Debug, Default)]
struct TelnyxData {
    master_key: String,
    accounts: Vec<ManagedAccount>,
    /// Account key → account.
    keys: BTreeMap<String, ManagedAccountId>,
    revoked: BTreeSet<String>,
    /// Revoke a key once it has made this many more calls.
    revoke_after: BTreeMap<String, usize>,
    snapshots: BTreeMap<ManagedAccountId, TelnyxSnapshot>,
    records: BTreeMap<ManagedAccountId, Vec<DetailRecord>>,
    calls: Vec<String>,
}

/// An in-memory [`TelnyxApi`]: accounts, per-account keys, snapshots and detail records
/// served by type and window, newest first, in pages of `page_size` (50, like Telnyx).
#[derive(Debug)]
pub struct InMemoryTelnyx {
    data: Mutex<TelnyxData>,
    page_size: usize,
}

impl Default for InMemoryTelnyx {
    fn default() -> Self {
        Self::new("master-key")
    }
}

fn unauthorized() -> PortError {
    PortError::message(
        "unauthorized (401): key missing or revoked",
        Transience::Permanent,
    )
    .with_key_refusal(crate::error::KeyRefusal::Unauthorized)
}

impl InMemoryTelnyx {
    pub fn new(master_key: &str) -> Self {
        Self {
            data: Mutex::new(TelnyxData {
                master_key: master_key.to_owned(),
                ..TelnyxData::default()
            }),
            page_size: 50,
        }
    }

    pub fn with_page_size(mut self, size: usize) -> Self {
        self.page_size = size.max(1);
        self
    }

    /// A managed account readable with `key`, with its configuration.
    pub fn with_account(
        self,
        account: ManagedAccount,
        key: &str,
        snapshot: TelnyxSnapshot,
    ) -> Self {
        {
            let mut d = lock(&self.data);
            d.keys.insert(key.to_owned(), account.id.clone());
            d.snapshots.insert(account.id.clone(), snapshot);
            d.accounts.push(account);
        }
        self
    }

    /// Adds detail records to an account.
    pub fn add_records(
        &self,
        account: &ManagedAccountId,
        records: impl IntoIterator<Item = DetailRecord>,
    ) {
        lock(&self.data)
            .records
            .entry(account.clone())
            .or_default()
            .extend(records);
    }

    /// Replaces an account's configuration.
    pub fn set_snapshot(&self, account: &ManagedAccountId, snapshot: TelnyxSnapshot) {
        lock(&self.data).snapshots.insert(account.clone(), snapshot);
    }

    /// Revokes a key now.
    pub fn revoke(&self, key: &str) {
        lock(&self.data).revoked.insert(key.to_owned());
    }

    /// Revokes a key after it has made `calls` more successful calls (a key revoked mid-run).
    pub fn revoke_after(&self, key: &str, calls: usize) {
        lock(&self.data).revoke_after.insert(key.to_owned(), calls);
    }

    /// Every call made, e.g. `snapshot`, `detail_records sip-trunking`.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.data).calls.clone()
    }

    fn authorize(&self, key: &ApiKey, call: String) -> PortResult<ManagedAccountId> {
        let mut d = lock(&self.data);
        let k = key.expose().to_owned();
        if let Some(left) = d.revoke_after.get_mut(&k) {
            if *left == 0 {
                d.revoked.insert(k.clone());
            } else {
                *left -= 1;
            }
        }
        if d.revoked.contains(&k) {
            return Err(unauthorized());
        }
        let account = d.keys.get(&k).cloned().ok_or_else(unauthorized)?;
        d.calls.push(call);
        Ok(account)
    }
}

struct Pages(VecDeque<Vec<DetailRecord>>);

#[async_trait]
impl RecordPages for Pages {
    async fn next_page(&mut self) -> PortResult<Option<Vec<DetailRecord>>> {
        Ok(self.0.pop_front())
    }
}

#[async_trait]
impl TelnyxApi for InMemoryTelnyx {
    async fn managed_accounts(
        &self,
        master_key: &ApiKey,
        _include_cancelled: bool,
    ) -> PortResult<Vec<ManagedAccount>> {
        let mut d = lock(&self.data);
        if master_key.expose() != d.master_key || d.revoked.contains(master_key.expose()) {
            return Err(unauthorized());
        }
        d.calls.push("managed_accounts".into());
        Ok(d.accounts.clone())
    }

    async fn snapshot(&self, key: &ApiKey) -> PortResult<TelnyxSnapshot> {
        let account = self.authorize(key, "snapshot".into())?;
        Ok(lock(&self.data)
            .snapshots
            .get(&account)
            .cloned()
            .unwrap_or_default())
    }

    async fn detail_records(
        &self,
        key: &ApiKey,
        record_type: RecordType,
        window: TimeWindow,
    ) -> PortResult<Box<dyn RecordPages>> {
        let account = self.authorize(key, format!("detail_records {record_type}"))?;
        let mut rows: Vec<DetailRecord> = lock(&self.data)
            .records
            .get(&account)
            .into_iter()
            .flatten()
            .filter(|r| {
                r.record_type == record_type
                    && r.occurred_at >= window.from
                    && r.occurred_at < window.to
            })
            .cloned()
            .collect();
        // Telnyx ignores `sort`: newest first.
        rows.sort_by_key(|r| std::cmp::Reverse(r.occurred_at));
        let pages = rows
            .chunks(self.page_size)
            .map(<[DetailRecord]>::to_vec)
            .collect();
        Ok(Box::new(Pages(pages)))
    }
}

// ---- Secrets, mailer, clocks, dispatcher ---------------------------------------------

/// An in-memory [`Secrets`]: a missing key is a permanent error naming the account.
#[derive(Debug, Default)]
pub struct InMemorySecrets {
    master: Mutex<Option<String>>,
    accounts: Mutex<BTreeMap<ManagedAccountId, String>>,
}

impl InMemorySecrets {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with_master_key(self, key: &str) -> Self {
        *lock(&self.master) = Some(key.to_owned());
        self
    }
    pub fn with_account_key(self, account: &ManagedAccountId, key: &str) -> Self {
        lock(&self.accounts).insert(account.clone(), key.to_owned());
        self
    }
    pub fn remove_account_key(&self, account: &ManagedAccountId) {
        lock(&self.accounts).remove(account);
    }
}

#[async_trait]
impl Secrets for InMemorySecrets {
    async fn master_key(&self) -> PortResult<ApiKey> {
        lock(&self.master)
            .clone()
            .map(ApiKey::new)
            .ok_or_else(|| PortError::message("no master key secret", Transience::Permanent))
    }

    async fn account_key(&self, account: &ManagedAccountId) -> PortResult<ApiKey> {
        lock(&self.accounts)
            .get(account)
            .cloned()
            .map(ApiKey::new)
            .ok_or_else(|| {
                PortError::message(
                    format!("no API key secret for account {account}"),
                    Transience::Permanent,
                )
            })
    }
}

/// A [`Mailer`] that records what it sends; can be told to fail.
#[derive(Debug, Default)]
pub struct RecordingMailer {
    sent: Mutex<Vec<Notification>>,
    failing: Mutex<bool>,
}

impl RecordingMailer {
    pub fn new() -> Self {
        Self::default()
    }
    /// Everything sent so far, in order.
    pub fn sent(&self) -> Vec<Notification> {
        lock(&self.sent).clone()
    }
    /// Makes later sends fail (transient) or succeed again.
    pub fn set_failing(&self, failing: bool) {
        *lock(&self.failing) = failing;
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, notification: &Notification) -> PortResult<String> {
        if *lock(&self.failing) {
            return Err(injected("send"));
        }
        let mut sent = lock(&self.sent);
        sent.push(notification.clone());
        Ok(format!("message-{}", sent.len()))
    }
}

/// A clock stopped at one instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// A clock tests move by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self(Mutex::new(now))
    }
    pub fn advance(&self, by: Duration) {
        let mut t = lock(&self.0);
        *t += by;
    }
    pub fn set(&self, now: DateTime<Utc>) {
        *lock(&self.0) = now;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.0)
    }
}

/// A [`Dispatcher`] that records requests; refuses those of accounts told to fail.
#[derive(Debug, Default)]
pub struct RecordingDispatcher {
    dispatched: Mutex<Vec<SyncRequest>>,
    refuse: Mutex<BTreeSet<ManagedAccountId>>,
}

impl RecordingDispatcher {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn dispatched(&self) -> Vec<SyncRequest> {
        lock(&self.dispatched).clone()
    }
    /// Requests for `account` are refused from now on.
    pub fn refuse(&self, account: &ManagedAccountId) {
        lock(&self.refuse).insert(account.clone());
    }
}

#[async_trait]
impl Dispatcher for RecordingDispatcher {
    async fn dispatch(&self, requests: &[SyncRequest]) -> PortResult<Vec<SyncRequest>> {
        let refuse = lock(&self.refuse).clone();
        let (refused, ok): (Vec<SyncRequest>, Vec<SyncRequest>) = requests
            .iter()
            .cloned()
            .partition(|r| refuse.contains(&r.managed_account_id));
        lock(&self.dispatched).extend(ok);
        Ok(refused)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::fixtures::*;

    fn t(h: i64) -> DateTime<Utc> {
        fixed_now() + Duration::hours(h)
    }

    #[tokio::test]
    async fn applying_a_plan_twice_creates_once_and_queues_one_email() {
        let s = Scenario::wholesale()
            .billing_group("bg-a", "A")
            .sip_connection("conn-1", "Trunk", Some("bg-a"));
        let store = InMemoryStore::new()
            .with_onboarding(s.onboarding.clone())
            .with_state(s.state.clone());
        let plan = s.plan();
        let first = store.apply(&plan.actions, t(0)).await.unwrap();
        let second = store.apply(&plan.actions, t(1)).await.unwrap();
        assert_eq!(
            first.created,
            plan.actions.len() as u64 - 1,
            "the link is an update"
        );
        assert_eq!(first.notifications_queued, 1);
        assert_eq!(second.created, 0);
        assert_eq!(second.notifications_queued, 0);
        let pending = store.pending_notifications().await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].queued_at, t(0), "queued at the caller's now");
    }

    #[tokio::test]
    async fn load_state_returns_the_accounts_departments_only() {
        let s = Scenario::wholesale();
        let store = InMemoryStore::new()
            .with_state(s.state.clone())
            .with_state(StoredState {
                departments: vec![Department {
                    id: "dept-elsewhere".into(),
                    name: "Elsewhere".into(),
                    billing_email: None,
                    parent: None,
                }],
                ..StoredState::default()
            });
        let state = store.load_state(&s.onboarding).await.unwrap();
        assert_eq!(state.departments.len(), 2);
        assert!(
            state
                .departments
                .iter()
                .all(|d| d.id.as_str() != "dept-elsewhere")
        );
        assert_eq!(state.customers.len(), 1);
    }

    #[tokio::test]
    async fn watermarks_never_move_back() {
        let store = InMemoryStore::new();
        let acc = ManagedAccountId::new(ACCOUNT);
        store
            .advance_watermark(&acc, RecordType::Fax, t(2))
            .await
            .unwrap();
        store
            .advance_watermark(&acc, RecordType::Fax, t(1))
            .await
            .unwrap();
        assert_eq!(
            store.watermark(&acc, RecordType::Fax).await.unwrap(),
            Some(t(2))
        );
        assert_eq!(store.watermark(&acc, RecordType::Tts).await.unwrap(), None);
    }

    fn key_problem(account: &str, raised_at: DateTime<Utc>) -> Notification {
        Notification::KeyProblem {
            to: vec!["ops@example.com".into()],
            account: account.into(),
            problem: "unauthorized (401)".into(),
            raised_at,
        }
    }

    #[tokio::test]
    async fn alerts_are_admitted_and_queued_once_per_three_days_from_the_stored_timestamp() {
        let store = InMemoryStore::new();
        let acc = ManagedAccountId::new("acc-x");
        let admit = |kind: &'static str, h: i64| {
            let alert = key_problem("acc-x", t(h));
            let acc = acc.clone();
            let store = &store;
            async move {
                store
                    .admit_and_queue_alert(kind, &acc, &alert, t(h))
                    .await
                    .unwrap()
            }
        };
        assert!(admit("unknown-account", 0).await);
        assert!(!admit("unknown-account", 71).await);
        assert!(admit("other-kind", 1).await);
        assert!(admit("unknown-account", 72).await);
        let queued: Vec<_> = store
            .data()
            .outbox
            .into_values()
            .map(|e| e.queued_at)
            .collect();
        assert_eq!(
            queued,
            vec![t(0), t(1), t(72)],
            "one email per admitted alert"
        );
    }

    #[tokio::test]
    async fn a_failed_admission_moves_no_throttle_and_queues_nothing() {
        let store = InMemoryStore::new();
        let acc = ManagedAccountId::new("acc-x");
        let alert = key_problem("acc-x", t(0));
        store.fail("admit_and_queue_alert");
        assert!(
            store
                .admit_and_queue_alert("key-problem", &acc, &alert, t(0))
                .await
                .is_err()
        );
        assert!(store.data().alerts.is_empty());
        assert!(store.data().outbox.is_empty());
        store.heal("admit_and_queue_alert");
        assert!(
            store
                .admit_and_queue_alert("key-problem", &acc, &alert, t(0))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_claimed_notification_is_not_claimed_twice_until_its_lease_ends_and_not_after_it_is_sent()
     {
        let store = InMemoryStore::new();
        let n = key_problem("acc-x", t(0));
        let acc = ManagedAccountId::new("acc-x");
        let admit = || store.admit_and_queue_alert("key-problem", &acc, &n, t(0));
        assert!(admit().await.unwrap());
        assert!(!admit().await.unwrap());
        let key = n.dedupe_key();
        assert!(store.claim_notification(&key, t(0)).await.unwrap());
        assert!(!store.claim_notification(&key, t(0)).await.unwrap());
        assert!(
            store.claim_notification(&key, t(1)).await.unwrap(),
            "lease expired"
        );
        store
            .mark_notification_sent(&key, "m-1", t(1))
            .await
            .unwrap();
        assert!(!store.claim_notification(&key, t(2)).await.unwrap());
        assert!(store.pending_notifications().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_record_stored_twice_is_counted_as_a_duplicate() {
        let store = InMemoryStore::new();
        let plan = Scenario::direct()
            .record(record(RecordType::Fax, "r1"))
            .record(record(RecordType::Tts, "r1"))
            .plan();
        let first = store.put_detail_records(&plan.records).await.unwrap();
        let second = store.put_detail_records(&plan.records).await.unwrap();
        assert_eq!((first.written, first.duplicates), (2, 0));
        assert_eq!((second.written, second.duplicates), (0, 2));
    }

    #[tokio::test]
    async fn an_injected_failure_is_transient_and_heals() {
        let store = InMemoryStore::new();
        store.fail("watermark");
        let err = store
            .watermark(&ACCOUNT.into(), RecordType::Fax)
            .await
            .unwrap_err();
        assert!(err.is_transient());
        store.heal("watermark");
        assert!(
            store
                .watermark(&ACCOUNT.into(), RecordType::Fax)
                .await
                .is_ok()
        );
    }

    fn account() -> ManagedAccount {
        crate::fixtures::managed_account(ACCOUNT, "Acme")
    }

    #[tokio::test]
    async fn telnyx_serves_records_of_one_type_in_the_window_newest_first_in_pages() {
        let telnyx = InMemoryTelnyx::new("master")
            .with_page_size(2)
            .with_account(account(), "key-1", TelnyxSnapshot::default());
        telnyx.add_records(
            &ACCOUNT.into(),
            (0..5)
                .map(|i| {
                    record(RecordType::SipTrunking, &format!("r{i}"))
                        .at(t(i))
                        .build()
                })
                .chain([record(RecordType::Fax, "f").at(t(1)).build()]),
        );
        let key = ApiKey::new("key-1");
        let window = TimeWindow {
            from: t(1),
            to: t(4),
        };
        let mut pages = telnyx
            .detail_records(&key, RecordType::SipTrunking, window)
            .await
            .unwrap();
        let mut ids = Vec::new();
        let mut sizes = Vec::new();
        while let Some(page) = pages.next_page().await.unwrap() {
            sizes.push(page.len());
            ids.extend(page.into_iter().map(|r| r.id.into_inner()));
        }
        assert_eq!(ids, vec!["r3", "r2", "r1"]);
        assert_eq!(sizes, vec![2, 1]);
    }

    #[tokio::test]
    async fn a_revoked_key_is_refused_as_a_permanent_error() {
        let telnyx = InMemoryTelnyx::new("master").with_account(
            account(),
            "key-1",
            TelnyxSnapshot::default(),
        );
        let key = ApiKey::new("key-1");
        telnyx.revoke_after("key-1", 1);
        assert!(telnyx.snapshot(&key).await.is_ok());
        let err = telnyx.snapshot(&key).await.unwrap_err();
        assert!(!err.is_transient());
        assert!(telnyx.snapshot(&ApiKey::new("nope")).await.is_err());
        assert!(
            telnyx
                .managed_accounts(&ApiKey::new("master"), false)
                .await
                .is_ok()
        );
        assert!(telnyx.managed_accounts(&key, false).await.is_err());
    }

    #[tokio::test]
    async fn a_missing_secret_names_the_account() {
        let secrets = InMemorySecrets::new().with_account_key(&"acc-1".into(), "k");
        assert_eq!(
            secrets.account_key(&"acc-1".into()).await.unwrap().expose(),
            "k"
        );
        let err = secrets.account_key(&"acc-2".into()).await.unwrap_err();
        assert!(err.to_string().contains("acc-2"));
        assert!(!err.is_transient());
        assert!(secrets.master_key().await.is_err());
    }

    #[tokio::test]
    async fn the_mailer_records_sends_and_the_dispatcher_refuses_on_demand() {
        let mailer = RecordingMailer::new();
        let n = Notification::KeyProblem {
            to: vec![],
            account: "a".into(),
            problem: "p".into(),
            raised_at: t(0),
        };
        assert_eq!(mailer.send(&n).await.unwrap(), "message-1");
        mailer.set_failing(true);
        assert!(mailer.send(&n).await.is_err());
        assert_eq!(mailer.sent().len(), 1);

        let d = RecordingDispatcher::new();
        d.refuse(&"b".into());
        let req = |a: &str| SyncRequest {
            managed_account_id: a.into(),
            backfill_from: None,
            backfill_to: None,
            dry_run: false,
        };
        let refused = d.dispatch(&[req("a"), req("b")]).await.unwrap();
        assert_eq!(refused, vec![req("b")]);
        assert_eq!(d.dispatched(), vec![req("a")]);

        let clock = ManualClock::new(t(0));
        clock.advance(Duration::hours(2));
        assert_eq!(clock.now(), t(2));
        assert_eq!(FixedClock(t(5)).now(), t(5));
    }
}
