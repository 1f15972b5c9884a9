//! The scheduler handler on the in-memory fakes: fan-out to onboarded accounts,
//! throttled digests for unknown ones, offboarded and unlisted accounts left alone,
//! failures surfaced for the schedule's retry.

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
    store: Arc<InMemoryStore>,
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
    let store = Arc::new(
        InMemoryStore::new()
            .with_onboarding(scenario.onboarding)
            .with_state(scenario.state),
    );
    let ports = Ports {
        telnyx: telnyx.clone(),
        secrets: Arc::new(InMemorySecrets::new().with_master_key(MASTER)),
        store: store.clone(),
        mailer: mailer.clone(),
        dispatcher: dispatcher.clone(),
        clock: clock.clone(),
    };
    World {
        telnyx,
        store,
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
        Notification::UnknownAccounts { to, accounts, .. } => {
            assert_eq!(to, &vec!["ops@operator.example".to_owned()]);
            assert_eq!(accounts.len(), 1);
            assert_eq!(accounts[0].account.as_str(), "acc-new");
            assert_eq!(accounts[0].organization_name.as_deref(), Some("Newco <b>"));
        }
        other => panic!("unexpected email {other:?}"),
    }
}

/// The accounts each digest the mailer sent names.
fn digests(w: &World) -> Vec<Vec<String>> {
    w.mailer
        .sent()
        .into_iter()
        .filter_map(|n| match n {
            Notification::UnknownAccounts { accounts, .. } => Some(
                accounts
                    .into_iter()
                    .map(|a| a.account.into_inner())
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

fn add_unknown(w: &World, ids: impl IntoIterator<Item = String>) {
    for id in ids {
        w.telnyx
            .add_account(account(&id, &format!("Org {id}")), &format!("KEY{id}"));
    }
}

#[tokio::test]
async fn many_unknown_accounts_make_one_digest_per_tick_and_each_is_named_once_per_interval() {
    let w = world();
    add_unknown(&w, (0..40).map(|n| format!("acc-u{n:02}")));
    let first = handle(tick(), &w.ports, &w.settings).await.expect("tick");
    assert_eq!(first.unknown.len(), 41);
    assert_eq!(first.alerted.len(), 41);
    let sent = digests(&w);
    assert_eq!(sent.len(), 1, "one email for all of them");
    assert_eq!(sent[0].len(), 41);

    // Fifteen minutes later one more appears: the next digest names only it.
    w.clock.advance(Duration::minutes(15));
    add_unknown(&w, ["acc-late".to_owned()]);
    let second = handle(tick(), &w.ports, &w.settings).await.expect("tick");
    assert_eq!(second.unknown.len(), 42);
    assert_eq!(second.alerted, vec![ManagedAccountId::new("acc-late")]);
    assert_eq!(
        digests(&w),
        vec![sent[0].clone(), vec!["acc-late".to_owned()]]
    );

    // Nothing new: no email at all.
    w.clock.advance(Duration::minutes(15));
    handle(tick(), &w.ports, &w.settings).await.expect("tick");
    assert_eq!(digests(&w).len(), 2);
}

#[tokio::test]
async fn an_offboarded_account_is_neither_synced_nor_reported_and_onboarding_again_brings_it_back()
{
    use reconciliation::ports::OnboardingStore;
    let w = world();
    let onboarding = w.store.onboarding(&ACCOUNT.into()).await.unwrap().unwrap();
    w.store
        .offboard(&ACCOUNT.into(), fixed_now())
        .await
        .unwrap();
    let report = handle(tick(), &w.ports, &w.settings).await.expect("tick");
    assert!(
        w.dispatcher.dispatched().is_empty(),
        "an offboarded account is not synced"
    );
    assert_eq!(report.offboarded, vec![ManagedAccountId::new(ACCOUNT)]);
    assert_eq!(
        report.unknown,
        vec![ManagedAccountId::new("acc-new")],
        "nor reported as unknown"
    );
    assert_eq!(digests(&w), vec![vec!["acc-new".to_owned()]]);

    w.store.put_onboarding(&onboarding).await.unwrap();
    w.clock.advance(Duration::minutes(15));
    let report = handle(tick(), &w.ports, &w.settings).await.expect("tick");
    assert_eq!(report.dispatched, vec![ManagedAccountId::new(ACCOUNT)]);
    assert!(report.offboarded.is_empty());
}

#[tokio::test]
async fn an_onboarded_account_telnyx_no_longer_lists_is_not_synced_and_named_once_in_the_tick_log()
{
    use reconciliation::ports::OnboardingStore;
    let w = world();
    let mut gone = w.store.onboarding(&ACCOUNT.into()).await.unwrap().unwrap();
    gone.account = ManagedAccountId::new("acc-cancelled");
    w.store.put_onboarding(&gone).await.unwrap();
    let report = handle(tick(), &w.ports, &w.settings).await.expect("tick");
    assert_eq!(
        report.onboarded_not_listed,
        vec![ManagedAccountId::new("acc-cancelled")]
    );
    let dispatched: Vec<String> = w
        .dispatcher
        .dispatched()
        .into_iter()
        .map(|r| r.managed_account_id.into_inner())
        .collect();
    assert_eq!(
        dispatched,
        vec![ACCOUNT.to_owned()],
        "the unlisted account is not queued"
    );
    let logs = w.store.data().run_logs;
    let entries: Vec<_> = logs.iter().flat_map(|l| l.entries.clone()).collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].code.as_str(), "ACCOUNTS_NOT_LISTED");
    assert!(
        entries[0].message.contains("acc-cancelled"),
        "{}",
        entries[0].message
    );
    assert!(
        entries[0].message.contains("billing-admin offboard"),
        "{}",
        entries[0].message
    );
    assert_eq!(logs[0].counts["onboarded_not_listed"], 1);
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
