//! The world of the billing-truth tests on the in-memory fakes: reseller Acme with one
//! trunk, a clock at 12:00 on 2026-11-23, three days of first window, an operator alert
//! address; helpers to add records, run, and read the audit's verdicts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::domain::RecordType;
use crate::fakes::*;
use crate::fixtures::*;
use crate::ports::{AuditVerdict, BillingStore};
use std::sync::Arc;

pub(super) const KEY: &str = "key-billing";

pub(super) struct World {
    pub telnyx: Arc<InMemoryTelnyx>,
    pub store: Arc<InMemoryStore>,
    pub clock: Arc<ManualClock>,
    pub settings: SyncSettings,
    pub scenario: Scenario,
}

impl World {
    pub(super) fn new() -> Self {
        let scenario = Scenario::wholesale()
            .billing_group("bg-a", "Customer A")
            .sip_connection("conn-1", "Main trunk", Some("bg-a"));
        let telnyx = InMemoryTelnyx::new("master").with_account(
            managed_account(ACCOUNT, "Acme"),
            KEY,
            scenario.snapshot.clone(),
        );
        Self {
            telnyx: Arc::new(telnyx),
            store: Arc::new(
                InMemoryStore::new()
                    .with_onboarding(scenario.onboarding.clone())
                    .with_state(scenario.state.clone()),
            ),
            clock: Arc::new(ManualClock::new(fixed_now())),
            settings: SyncSettings {
                portal_url_template: PORTAL.into(),
                initial_lookback: Some(Duration::days(3)),
                alert_to: vec!["ops@example.com".into()],
                ..SyncSettings::default()
            },
            scenario,
        }
    }

    pub(super) fn ports(&self) -> Ports {
        Ports {
            telnyx: self.telnyx.clone(),
            secrets: Arc::new(
                InMemorySecrets::new()
                    .with_master_key("master")
                    .with_account_key(&ACCOUNT.into(), KEY),
            ),
            store: self.store.clone(),
            mailer: Arc::new(RecordingMailer::new()),
            dispatcher: Arc::new(RecordingDispatcher::new()),
            clock: self.clock.clone(),
        }
    }

    pub(super) fn add(&self, records: impl IntoIterator<Item = crate::domain::DetailRecord>) {
        self.telnyx.add_records(&ACCOUNT.into(), records);
    }

    pub(super) async fn run(&self, n: usize) -> RunSummary {
        let request = SyncRequest::for_account(ACCOUNT);
        let ctx = RunContext::new(RunId::new(format!("run-{n}")));
        sync_account(&self.ports(), &self.settings, &request, ctx)
            .await
            .unwrap()
    }

    /// The one stored mismatch verdict.
    pub(super) async fn mismatch(&self) -> crate::ports::AuditDay {
        let mut bad: Vec<_> = self
            .audits()
            .await
            .into_iter()
            .filter(|d| d.verdict == AuditVerdict::Mismatch)
            .collect();
        assert_eq!(bad.len(), 1, "{bad:?}");
        bad.remove(0)
    }

    pub(super) async fn audits(&self) -> Vec<crate::ports::AuditDay> {
        let from = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let to = chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        self.store
            .audit_days(&ACCOUNT.into(), from, to)
            .await
            .unwrap()
    }
}

/// `hours` before the fixed now (12:00 on 2026-11-23).
pub(super) fn ago(hours: i64) -> chrono::DateTime<chrono::Utc> {
    fixed_now() - Duration::hours(hours)
}

pub(super) fn calls(prefix: &str, hours: &[i64]) -> Vec<crate::domain::DetailRecord> {
    hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            record(RecordType::SipTrunking, &format!("{prefix}-{i}"))
                .connection("conn-1")
                .at(ago(*h))
                .build()
        })
        .collect()
}

/// The audit alerts queued so far.
pub(super) fn audit_alerts(w: &World) -> usize {
    w.store
        .data()
        .outbox
        .values()
        .filter(|e| {
            matches!(
                e.notification,
                crate::plan::Notification::AuditMismatch { .. }
            )
        })
        .count()
}
