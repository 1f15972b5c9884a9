//! A tick leaves a run log under the scheduler, and a manager key that cannot be used
//! reaches the operator (once per interval) instead of only failing the function.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::domain::RunId;
use crate::fakes::*;
use crate::fixtures::*;
use crate::plan::Notification;
use crate::ports::{Ports, RunOutcome};
use chrono::Duration;
use std::sync::Arc;

const MASTER: &str = "master-key-secret-value";

struct World {
    telnyx: Arc<InMemoryTelnyx>,
    secrets: Arc<InMemorySecrets>,
    store: Arc<InMemoryStore>,
    mailer: Arc<RecordingMailer>,
    dispatcher: Arc<RecordingDispatcher>,
    clock: Arc<ManualClock>,
}

impl World {
    /// Two managed accounts, one onboarded.
    fn new(secrets: InMemorySecrets) -> Self {
        let scenario = Scenario::wholesale();
        let telnyx = InMemoryTelnyx::new(MASTER)
            .with_account(
                managed_account(ACCOUNT, "Acme Telecom"),
                "key-1",
                scenario.snapshot.clone(),
            )
            .with_account(
                managed_account("acc-unknown", "Nobody Ltd"),
                "key-2",
                scenario.snapshot.clone(),
            );
        Self {
            telnyx: Arc::new(telnyx),
            secrets: Arc::new(secrets),
            store: Arc::new(InMemoryStore::new().with_onboarding(scenario.onboarding)),
            mailer: Arc::new(RecordingMailer::new()),
            dispatcher: Arc::new(RecordingDispatcher::new()),
            clock: Arc::new(ManualClock::new(fixed_now())),
        }
    }

    fn with_master_key() -> Self {
        Self::new(InMemorySecrets::new().with_master_key(MASTER))
    }

    async fn tick(&self, run: &str) -> Result<ScheduleReport, ScheduleError> {
        let ports = Ports {
            telnyx: self.telnyx.clone(),
            secrets: self.secrets.clone(),
            store: self.store.clone(),
            mailer: self.mailer.clone(),
            dispatcher: self.dispatcher.clone(),
            clock: self.clock.clone(),
        };
        let settings = ScheduleSettings::new(vec!["ops@operator.example".into()]);
        run_tick(&ports, &settings, RunId::new(run)).await
    }

    fn manager_key_alerts(&self) -> Vec<Notification> {
        self.mailer
            .sent()
            .into_iter()
            .filter(|n| matches!(n, Notification::ManagerKeyProblem { .. }))
            .collect()
    }

    fn scheduler_logs(&self) -> Vec<crate::ports::RunLog> {
        self.store
            .data()
            .run_logs
            .into_iter()
            .filter(|l| l.account == scheduler_account())
            .collect()
    }
}

#[tokio::test]
async fn a_good_tick_stores_its_counts_under_the_scheduler() {
    let w = World::with_master_key();
    let report = w.tick("tick-1").await.unwrap();
    assert_eq!(report.dispatched.len(), 1);
    let logs = w.scheduler_logs();
    assert_eq!(logs.len(), 1);
    let log = &logs[0];
    assert_eq!(log.run_id, RunId::new("tick-1"));
    assert_eq!(log.outcome, RunOutcome::Complete);
    assert_eq!(log.counts["accounts_listed"], 2);
    assert_eq!(log.counts["dispatched"], 1);
    assert_eq!(log.counts["unknown"], 1);
    assert!(w.manager_key_alerts().is_empty());
}

#[tokio::test]
async fn a_missing_manager_key_fails_the_tick_logs_it_and_alerts_the_operator_once_per_interval() {
    let w = World::new(InMemorySecrets::new());
    let err = w.tick("tick-1").await.unwrap_err();
    assert!(err.is_key_problem(), "{err:?}");
    assert!(w.dispatcher.dispatched().is_empty(), "nothing queued");

    let logs = w.scheduler_logs();
    assert_eq!(logs.len(), 1);
    let RunOutcome::Failed { error } = &logs[0].outcome else {
        panic!("the tick's log says failed: {:?}", logs[0]);
    };
    assert!(error.contains("master key"), "{error}");
    assert_eq!(w.manager_key_alerts().len(), 1);

    // The next tick within the interval fails and is logged again, but stays quiet.
    w.clock.advance(Duration::minutes(15));
    w.tick("tick-2").await.unwrap_err();
    assert_eq!(w.scheduler_logs().len(), 2);
    assert_eq!(w.manager_key_alerts().len(), 1, "throttled");

    // After the interval, the operator hears again.
    w.clock.advance(RepeatEvery::DEFAULT.duration());
    w.tick("tick-3").await.unwrap_err();
    assert_eq!(w.manager_key_alerts().len(), 2);
}

#[tokio::test]
async fn a_revoked_manager_key_is_named_without_the_key_in_the_log_and_the_alert() {
    let w = World::with_master_key();
    w.telnyx.revoke(MASTER);
    let err = w.tick("tick-1").await.unwrap_err();
    assert!(err.is_key_problem(), "{err:?}");
    assert!(
        !err.is_transient(),
        "a revoked key does not heal by retrying"
    );
    let logs = w.scheduler_logs();
    let RunOutcome::Failed { error } = &logs[0].outcome else {
        panic!("failed: {:?}", logs[0]);
    };
    assert!(error.contains("401"), "{error}");
    let alerts = w.manager_key_alerts();
    let Notification::ManagerKeyProblem { problem, to, .. } = &alerts[0] else {
        unreachable!()
    };
    assert!(problem.contains("401"), "{problem}");
    assert_eq!(to, &vec!["ops@operator.example".to_owned()]);
    for text in [error, problem] {
        assert!(
            !text.contains(MASTER),
            "the key never reaches a log or an email"
        );
    }
    // Unknown accounts are not alerted on either: nothing could be listed.
    assert_eq!(w.mailer.sent().len(), 1);
}
