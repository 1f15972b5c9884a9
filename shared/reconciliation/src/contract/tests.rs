//! The in-memory store keeps the store contract, and the contract catches a store that
//! does not: each deliberate defect below fails the check that guards it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::store::{self, check_store};
use crate::domain::RunId;
use crate::domain::{
    Department, ManagedAccountId, Onboarding, RecordType, StoredDetailRecord, StoredState,
};
use crate::fakes::InMemoryStore;
use crate::plan::{Action, Notification};
use crate::ports::{
    ApplyReport, EmailKind, Lease, LeaseGrant, LeaseStore, OnboardingStore, OutboxEntry,
    OutboxStore, PortResult, RecordStore, RecordWriteReport, RunLog, RunLogStore, StateStore,
    StreamState, StreamStore,
};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use std::sync::Mutex;

#[tokio::test]
async fn the_in_memory_telnyx_keeps_the_telnyx_contract() {
    use super::telnyx::{CHECKS, ContractWorld, check_telnyx};
    use crate::fakes::InMemoryTelnyx;
    let world = ContractWorld::new("acct-1", "key-1", "master", "revoked-key");
    let fake = InMemoryTelnyx::new("master").with_account(
        crate::fixtures::managed_account("acct-1", "Acme"),
        "key-1",
        crate::domain::TelnyxSnapshot::default(),
    );
    fake.add_records(&world.account, world.detail_records());
    let report = check_telnyx(&fake, &world).await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.passed.len(), CHECKS.len());
}

#[tokio::test]
async fn the_in_memory_store_keeps_the_store_contract() {
    let report = check_store(&InMemoryStore::new()).await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.passed.len(), store::CHECKS.len());
}

/// One wrong behaviour at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    StaleStreamWriteAccepted,
    ReimportCountedAsWritten,
    AlertIntervalIgnored,
    ClaimNotExclusive,
    StateOfEveryDepartment,
    NewestRunLogLast,
    LeaseIgnoresItsHolder,
    StreamsOfEveryAccount,
    ReachNotKept,
    LastConfirmationKept,
    DuplicatesNotCounted,
    CommittedLinesRewritten,
}

struct Defective {
    inner: InMemoryStore,
    defect: Defect,
    /// Streams kept here, overwritten by every write (`StaleStreamWriteAccepted`).
    overwritten: Mutex<BTreeMap<(ManagedAccountId, RecordType), StreamState>>,
    /// Confirmations kept here, the last one winning (`LastConfirmationKept`).
    confirmations: Mutex<BTreeMap<(String, String), crate::ports::ConfirmedCount>>,
}

#[async_trait]
impl OnboardingStore for Defective {
    async fn onboarding(&self, account: &ManagedAccountId) -> PortResult<Option<Onboarding>> {
        self.inner.onboarding(account).await
    }
    async fn onboardings(&self) -> PortResult<Vec<Onboarding>> {
        self.inner.onboardings().await
    }
    async fn put_onboarding(&self, onboarding: &Onboarding) -> PortResult<()> {
        self.inner.put_onboarding(onboarding).await
    }
    async fn offboard(
        &self,
        account: &ManagedAccountId,
        at: DateTime<Utc>,
    ) -> PortResult<Option<crate::domain::Offboarding>> {
        self.inner.offboard(account, at).await
    }
    async fn offboardings(&self) -> PortResult<Vec<crate::domain::Offboarding>> {
        self.inner.offboardings().await
    }
    async fn put_department(&self, department: &Department) -> PortResult<()> {
        self.inner.put_department(department).await
    }
}

#[async_trait]
impl StateStore for Defective {
    async fn load_state(&self, onboarding: &Onboarding) -> PortResult<StoredState> {
        if self.defect == Defect::StateOfEveryDepartment {
            return Ok(self.inner.data().state);
        }
        self.inner.load_state(onboarding).await
    }
    async fn apply(&self, actions: &[Action], now: DateTime<Utc>) -> PortResult<ApplyReport> {
        self.inner.apply(actions, now).await
    }
}

#[async_trait]
impl RecordStore for Defective {
    async fn put_detail_records(
        &self,
        records: &[StoredDetailRecord],
    ) -> PortResult<RecordWriteReport> {
        let mut report = self.inner.put_detail_records(records).await?;
        if self.defect == Defect::ReimportCountedAsWritten {
            report.written += report.duplicates;
            report.duplicates = 0;
        }
        Ok(report)
    }
    async fn put_new_detail_records(
        &self,
        records: &[StoredDetailRecord],
    ) -> PortResult<RecordWriteReport> {
        self.inner.put_new_detail_records(records).await
    }
}

#[async_trait]
impl StreamStore for Defective {
    async fn streams(&self, account: &ManagedAccountId) -> PortResult<Vec<StreamState>> {
        match self.defect {
            Defect::StreamsOfEveryAccount => Ok(self.inner.data().streams.into_values().collect()),
            Defect::StaleStreamWriteAccepted => Ok(self
                .overwritten
                .lock()
                .unwrap()
                .iter()
                .filter(|((a, _), _)| a == account)
                .map(|(_, s)| s.clone())
                .collect()),
            _ => self.inner.streams(account).await,
        }
    }
    async fn put_stream(&self, account: &ManagedAccountId, state: &StreamState) -> PortResult<()> {
        match self.defect {
            Defect::StaleStreamWriteAccepted => {
                self.overwritten
                    .lock()
                    .unwrap()
                    .insert((account.clone(), state.record_type), state.clone());
                Ok(())
            }
            Defect::ReachNotKept => {
                let mut without = state.clone();
                without.reach = None;
                self.inner.put_stream(account, &without).await
            }
            _ => self.inner.put_stream(account, state).await,
        }
    }
}

#[async_trait]
impl LeaseStore for Defective {
    async fn acquire_lease(
        &self,
        account: &ManagedAccountId,
        holder: &RunId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> PortResult<LeaseGrant> {
        let grant = self
            .inner
            .acquire_lease(account, holder, now, until)
            .await?;
        if self.defect == Defect::LeaseIgnoresItsHolder {
            return Ok(LeaseGrant::Granted);
        }
        Ok(grant)
    }
    async fn release_lease(&self, account: &ManagedAccountId, holder: &RunId) -> PortResult<()> {
        self.inner.release_lease(account, holder).await
    }
    async fn active_leases(
        &self,
        accounts: &[ManagedAccountId],
        now: DateTime<Utc>,
    ) -> PortResult<Vec<Lease>> {
        self.inner.active_leases(accounts, now).await
    }
}

#[async_trait]
impl OutboxStore for Defective {
    async fn admit_and_queue_alert(
        &self,
        kind: EmailKind,
        account: &ManagedAccountId,
        alert: &Notification,
        now: DateTime<Utc>,
        interval: Duration,
    ) -> PortResult<bool> {
        let interval = match self.defect {
            Defect::AlertIntervalIgnored => Duration::zero(),
            _ => interval,
        };
        self.inner
            .admit_and_queue_alert(kind, account, alert, now, interval)
            .await
    }
    async fn admit_and_queue_digest(
        &self,
        kind: EmailKind,
        accounts: &[ManagedAccountId],
        digest: &crate::ports::DigestFn<'_>,
        now: DateTime<Utc>,
        interval: Duration,
    ) -> PortResult<Vec<ManagedAccountId>> {
        let interval = match self.defect {
            Defect::AlertIntervalIgnored => Duration::zero(),
            _ => interval,
        };
        self.inner
            .admit_and_queue_digest(kind, accounts, digest, now, interval)
            .await
    }
    async fn pending_notifications(&self) -> PortResult<Vec<OutboxEntry>> {
        self.inner.pending_notifications().await
    }
    async fn claim_notification(&self, key: &str, now: DateTime<Utc>) -> PortResult<bool> {
        let claimed = self.inner.claim_notification(key, now).await?;
        if self.defect == Defect::ClaimNotExclusive {
            let pending = self.inner.pending_notifications().await?;
            return Ok(claimed || pending.iter().any(|e| e.key == key));
        }
        Ok(claimed)
    }
    async fn mark_notification_sent(
        &self,
        key: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        self.inner
            .mark_notification_sent(key, message_id, now)
            .await
    }
}

#[async_trait]
impl RunLogStore for Defective {
    async fn put_run_log(&self, log: &RunLog) -> PortResult<()> {
        self.inner.put_run_log(log).await
    }
    async fn run_logs(&self, account: &ManagedAccountId, limit: usize) -> PortResult<Vec<RunLog>> {
        let mut logs = self.inner.run_logs(account, usize::MAX).await?;
        if self.defect == Defect::NewestRunLogLast {
            logs.reverse();
        }
        logs.truncate(limit);
        Ok(logs)
    }
}

#[tokio::test]
async fn each_deliberately_wrong_store_fails_the_check_that_guards_it() {
    let cases = [
        (Defect::StaleStreamWriteAccepted, store::STREAM_VERSIONS),
        (Defect::ReachNotKept, store::STREAMS),
        (Defect::ReimportCountedAsWritten, store::RECORDS_ONCE),
        (Defect::AlertIntervalIgnored, store::ALERT_THROTTLE),
        (Defect::ClaimNotExclusive, store::CLAIMS),
        (Defect::StateOfEveryDepartment, store::LOAD_STATE),
        (Defect::NewestRunLogLast, store::RUN_LOGS),
        (Defect::LeaseIgnoresItsHolder, store::LEASES),
        (Defect::StreamsOfEveryAccount, store::STREAMS),
        (Defect::LastConfirmationKept, store::COUNT_CONFIRMATIONS),
        (Defect::DuplicatesNotCounted, store::MONTH_CHANGES),
        (Defect::CommittedLinesRewritten, store::MONTH_CLOSES),
    ];
    for (defect, check) in cases {
        let broken = Defective {
            inner: InMemoryStore::new(),
            defect,
            overwritten: Mutex::default(),
            confirmations: Mutex::default(),
        };
        let report = check_store(&broken).await;
        assert!(
            report.violated(check),
            "{defect:?} was not caught by '{check}': {report}"
        );
    }
}

#[async_trait]
impl crate::ports::BillingStore for Defective {
    async fn billed_page(
        &self,
        partition: &crate::ports::BillingPartition,
        window: crate::ports::TimeWindow,
        after: Option<&str>,
    ) -> PortResult<crate::ports::BilledPage> {
        self.inner.billed_page(partition, window, after).await
    }
    async fn put_session_links(
        &self,
        account: &ManagedAccountId,
        links: &[crate::ports::SessionLink],
    ) -> PortResult<()> {
        self.inner.put_session_links(account, links).await
    }
    async fn session_links(
        &self,
        account: &ManagedAccountId,
        sessions: &[String],
    ) -> PortResult<Vec<crate::ports::SessionLink>> {
        self.inner.session_links(account, sessions).await
    }
    async fn put_orphans(&self, records: &[crate::domain::StoredDetailRecord]) -> PortResult<()> {
        self.inner.put_orphans(records).await
    }
    async fn orphans(
        &self,
        account: &ManagedAccountId,
        limit: usize,
    ) -> PortResult<Vec<crate::domain::StoredDetailRecord>> {
        self.inner.orphans(account, limit).await
    }
    async fn reattribute(&self, record: &crate::domain::StoredDetailRecord) -> PortResult<bool> {
        self.inner.reattribute(record).await
    }
    async fn put_audit_days(&self, days: &[crate::ports::AuditDay]) -> PortResult<()> {
        self.inner.put_audit_days(days).await
    }
    async fn audit_days(
        &self,
        account: &ManagedAccountId,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> PortResult<Vec<crate::ports::AuditDay>> {
        self.inner.audit_days(account, from, to).await
    }
}

#[async_trait]
impl crate::ports::UsageStore for Defective {
    async fn usage_options(&self) -> PortResult<Option<crate::ports::CachedUsageOptions>> {
        self.inner.usage_options().await
    }
    async fn put_usage_options(&self, cached: &crate::ports::CachedUsageOptions) -> PortResult<()> {
        self.inner.put_usage_options(cached).await
    }
    async fn confirmed_counts(&self) -> PortResult<Vec<crate::ports::ConfirmedCount>> {
        if self.defect == Defect::LastConfirmationKept {
            return Ok(self
                .confirmations
                .lock()
                .unwrap()
                .values()
                .cloned()
                .collect());
        }
        self.inner.confirmed_counts().await
    }
    async fn confirm_count(&self, confirmed: &crate::ports::ConfirmedCount) -> PortResult<()> {
        if self.defect == Defect::LastConfirmationKept {
            let key = (confirmed.product.clone(), confirmed.metric.clone());
            self.confirmations
                .lock()
                .unwrap()
                .insert(key, confirmed.clone());
            return Ok(());
        }
        self.inner.confirm_count(confirmed).await
    }
    async fn distrusts(
        &self,
        account: &ManagedAccountId,
    ) -> PortResult<Vec<crate::ports::Distrust>> {
        self.inner.distrusts(account).await
    }
    async fn distrust(
        &self,
        account: &ManagedAccountId,
        distrust: &crate::ports::Distrust,
    ) -> PortResult<()> {
        self.inner.distrust(account, distrust).await
    }
    async fn trust_again(
        &self,
        account: &ManagedAccountId,
        record_type: RecordType,
    ) -> PortResult<()> {
        self.inner.trust_again(account, record_type).await
    }
}

#[async_trait]
impl crate::ports::MonthStore for Defective {
    async fn month_changes(
        &self,
        account: &ManagedAccountId,
        month: crate::domain::BillingMonth,
    ) -> PortResult<u64> {
        let n = self.inner.month_changes(account, month).await?;
        // Counts only the first write of each month: a re-import is not a change.
        Ok(if self.defect == Defect::DuplicatesNotCounted {
            n.min(1)
        } else {
            n
        })
    }
    async fn month_states(
        &self,
        account: &ManagedAccountId,
    ) -> PortResult<Vec<crate::ports::MonthState>> {
        self.inner.month_states(account).await
    }
    async fn put_invoice_lines(
        &self,
        account: &ManagedAccountId,
        month: crate::domain::BillingMonth,
        version: u32,
        lines: &[crate::ports::InvoiceLine],
    ) -> PortResult<()> {
        if self.defect == Defect::CommittedLinesRewritten {
            self.inner
                .put_invoice_lines_unguarded(account, month, version, lines);
            return Ok(());
        }
        self.inner
            .put_invoice_lines(account, month, version, lines)
            .await
    }
    async fn invoice_lines(
        &self,
        account: &ManagedAccountId,
        month: crate::domain::BillingMonth,
        version: u32,
        level: crate::billing::rollup::Level,
        count: u32,
    ) -> PortResult<Vec<crate::ports::InvoiceLine>> {
        self.inner
            .invoice_lines(account, month, version, level, count)
            .await
    }
    async fn commit_close(
        &self,
        state: &crate::ports::MonthState,
        event: &crate::ports::MonthEvent,
    ) -> PortResult<bool> {
        self.inner.commit_close(state, event).await
    }
    async fn reopen(&self, event: &crate::ports::MonthEvent) -> PortResult<bool> {
        self.inner.reopen(event).await
    }
    async fn month_events(
        &self,
        account: &ManagedAccountId,
        month: crate::domain::BillingMonth,
    ) -> PortResult<Vec<crate::ports::MonthEvent>> {
        self.inner.month_events(account, month).await
    }
}

#[tokio::test]
async fn the_in_memory_key_store_keeps_the_key_store_contract() {
    use crate::fakes::InMemorySecrets;
    let (a, b) = (InMemorySecrets::new(), InMemorySecrets::new());
    // Two writers on one storage: the fake's is shared through one instance.
    let report = super::secrets::check_key_store(
        &a,
        &a,
        [
            ManagedAccountId::new("acc-1"),
            ManagedAccountId::new("acc-2"),
        ],
    )
    .await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.passed.len(), super::secrets::CHECKS.len());
    // A second instance is another storage: the first one's keys are not there.
    assert!(
        crate::ports::Secrets::account_key(&b, &ManagedAccountId::new("acc-1"))
            .await
            .is_err()
    );
}
