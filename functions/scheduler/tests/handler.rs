//! The scheduler handler on the in-memory fakes: fan-out to onboarded accounts,
//! throttled alerts for unknown ones, failures surfaced for the schedule's retry.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use lambda_runtime::{Context, LambdaEvent};
use reconciliation::domain::*;
use reconciliation::fakes::*;
use reconciliation::fixtures::*;
use reconciliation::plan::Notification;
use reconciliation::ports::Ports;
use reconciliation::schedule::ScheduleSettings;
use scheduler::handler::handle;
use std::sync::Arc;

const MASTER: &str = "KEYmaster-secret";

fn account(id: &str, name: &str) -> ManagedAccount {
    ManagedAccount {
        email: Some(format!("owner@{id}.example")),
        manager_account_id: Some("mgr-1".into()),
        ..managed_account(id, name)
    }
}

struct World {
    telnyx: Arc<InMemoryTelnyx>,
    mailer: Arc<RecordingMailer>,
    dispatcher: Arc<RecordingDispatcher>,
    clock: Arc<ManualClock>,
    ports: Ports,
    settings: ScheduleSettings,
}

/// Two listed accounts: `acc-1` onboarded (fixture), `acc-new` nobody onboarded.
fn world() -> World {
    let scenario = Scenario::wholesale();
    let telnyx = Arc::new(
        InMemoryTelnyx::new(MASTER)
            .with_account(
                account(ACCOUNT, "Acme Telecom"),
                "KEYacc1",
                TelnyxSnapshot::default(),
            )
            .with_account(
                account("acc-new", "Newco <b>"),
                "KEYnew",
                TelnyxSnapshot::default(),
            ),
    );
    let mailer = Arc::new(RecordingMailer::new());
    let dispatcher = Arc::new(RecordingDispatcher::new());
    let clock = Arc::new(ManualClock::new(fixed_now()));
    let ports = Ports {
        telnyx: telnyx.clone(),
        secrets: Arc::new(InMemorySecrets::new().with_master_key(MASTER)),
        store: Arc::new(
            InMemoryStore::new()
                .with_onboarding(scenario.onboarding)
                .with_state(scenario.state),
        ),
        mailer: mailer.clone(),
        dispatcher: dispatcher.clone(),
        clock: clock.clone(),
    };
    World {
        telnyx,
        mailer,
        dispatcher,
        clock,
        ports,
        settings: ScheduleSettings::new(vec!["ops@operator.example".into()]),
    }
}

fn tick() -> LambdaEvent<serde_json::Value> {
    let sample: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/scheduler.json")).unwrap();
    LambdaEvent::new(sample, Context::default())
}

#[tokio::test]
async fn onboarded_accounts_are_dispatched_and_unknown_ones_alerted_once() {
    let w = world();
    let report = handle(tick(), &w.ports, &w.settings)
        .await
        .expect("schedule ran");
    assert_eq!(report.accounts_listed, 2);
    assert_eq!(report.dispatched, vec![ManagedAccountId::new(ACCOUNT)]);
    assert_eq!(report.unknown, vec![ManagedAccountId::new("acc-new")]);
    let dispatched: Vec<_> = w
        .dispatcher
        .dispatched()
        .into_iter()
        .map(|r| r.managed_account_id)
        .collect();
    assert_eq!(
        dispatched,
        vec![ManagedAccountId::new(ACCOUNT)],
        "no sync request for the unknown account"
    );
    let sent = w.mailer.sent();
    assert_eq!(sent.len(), 1);
    match &sent[0] {
        Notification::UnknownManagedAccount {
            to,
            account,
            organization_name,
            ..
        } => {
            assert_eq!(to, &vec!["ops@operator.example".to_owned()]);
            assert_eq!(account.as_str(), "acc-new");
            assert_eq!(organization_name.as_deref(), Some("Newco <b>"));
        }
        other => panic!("unexpected email {other:?}"),
    }
}

#[tokio::test]
async fn an_unknown_account_is_alerted_at_most_once_every_three_days() {
    let w = world();
    handle(tick(), &w.ports, &w.settings).await.expect("day 0");
    w.clock.advance(Duration::days(2));
    let day2 = handle(tick(), &w.ports, &w.settings).await.expect("day 2");
    assert!(day2.alerted.is_empty(), "no second alert within 3 days");
    assert_eq!(day2.unknown.len(), 1, "still reported as unknown");
    w.clock.advance(Duration::days(1));
    let day3 = handle(tick(), &w.ports, &w.settings).await.expect("day 3");
    assert_eq!(day3.alerted, vec![ManagedAccountId::new("acc-new")]);
    assert_eq!(w.mailer.sent().len(), 2, "day 0 and day 3");
}

#[tokio::test]
async fn a_refused_dispatch_fails_the_tick_so_the_schedule_retries() {
    let w = world();
    w.dispatcher.refuse(&ACCOUNT.into());
    let err = handle(tick(), &w.ports, &w.settings)
        .await
        .expect_err("fails");
    assert_eq!(err.error_type, "TransientError");
    assert!(err.error_message.contains(ACCOUNT), "{}", err.error_message);
    assert_eq!(w.mailer.sent().len(), 1, "the alert still went out");
}

#[tokio::test]
async fn a_revoked_master_key_is_a_permanent_error_that_never_shows_the_key() {
    let w = world();
    w.telnyx.revoke(MASTER);
    let err = handle(tick(), &w.ports, &w.settings)
        .await
        .expect_err("fails");
    assert_eq!(err.error_type, "PermanentError");
    assert!(
        err.error_message.contains("listing managed accounts"),
        "{}",
        err.error_message
    );
    assert!(!err.error_message.contains(MASTER));
    assert!(w.dispatcher.dispatched().is_empty());
}
