//! Tests of the fakes' own knobs (injected failures, revoked keys, recording); the
//! store's behaviour is the contract suite's ([`crate::contract::store`]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::domain::{ManagedAccount, ManagedAccountId, RecordType, TelnyxSnapshot};
use crate::fixtures::*;
use crate::invocation::SyncRequest;
use crate::plan::Notification;
use crate::ports::{
    ApiKey, Clock, Dispatcher, EmailKind, Mailer, OutboxStore, RecordQuery, RecordStore, Secrets,
    TelnyxApi, TimeWindow,
};
use chrono::{DateTime, Duration, Utc};

fn t(h: i64) -> DateTime<Utc> {
    fixed_now() + Duration::hours(h)
}

fn key_problem(account: &str, raised_at: DateTime<Utc>) -> Notification {
    Notification::KeyProblem {
        to: vec!["ops@example.com".into()],
        account: account.into(),
        problem: "unauthorized (401)".into(),
        raised_at,
        repeat_every: crate::plan::RepeatEvery::DEFAULT,
    }
}

#[tokio::test]
async fn a_failed_admission_moves_no_throttle_and_queues_nothing() {
    let store = InMemoryStore::new();
    let acc = ManagedAccountId::new("acc-x");
    let alert = key_problem("acc-x", t(0));
    store.fail("admit_and_queue_alert");
    assert!(
        store
            .admit_and_queue_alert(EmailKind::KeyProblem, &acc, &alert, t(0), Duration::days(3))
            .await
            .is_err()
    );
    assert!(store.data().alerts.is_empty());
    assert!(store.data().outbox.is_empty());
    store.heal("admit_and_queue_alert");
    assert!(
        store
            .admit_and_queue_alert(EmailKind::KeyProblem, &acc, &alert, t(0), Duration::days(3))
            .await
            .unwrap()
    );
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
        .detail_records(&key, RecordQuery::new(RecordType::SipTrunking, window))
        .await
        .unwrap();
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    while let Some(page) = pages.next_page().await.unwrap() {
        assert_eq!(page.total_results, Some(3));
        sizes.push((page.number, page.records.len()));
        ids.extend(page.records.into_iter().map(|r| r.id.into_inner()));
    }
    assert_eq!(ids, vec!["r3", "r2", "r1"]);
    assert_eq!(sizes, vec![(1, 2), (2, 1)]);
    // A walk resumed at page 2 starts there.
    let resumed = RecordQuery {
        first_page: 2,
        ..RecordQuery::new(RecordType::SipTrunking, window)
    };
    let mut pages = telnyx.detail_records(&key, resumed).await.unwrap();
    let page = pages.next_page().await.unwrap().unwrap();
    assert_eq!((page.number, page.records[0].id.as_str()), (2, "r1"));
    let shape = crate::usage::shape::learn(
        &telnyx.usage_options(&key).await.unwrap(),
        RecordType::SipTrunking,
    )
    .unwrap();
    let rows = telnyx
        .usage_report(
            &key,
            &crate::usage::evidence::request(&shape, window, false),
        )
        .await
        .unwrap();
    let counted: Vec<_> = rows.iter().collect();
    assert_eq!(
        crate::usage::evidence::sum(&counted, "attempted"),
        rust_decimal::Decimal::from(3),
        "every leg is one attempt"
    );
}

#[tokio::test]
async fn a_revoked_key_is_refused_as_a_permanent_error() {
    let telnyx =
        InMemoryTelnyx::new("master").with_account(account(), "key-1", TelnyxSnapshot::default());
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
        repeat_every: crate::plan::RepeatEvery::DEFAULT,
    };
    assert_eq!(mailer.send(&n).await.unwrap(), "message-1");
    mailer.set_failing(true);
    assert!(mailer.send(&n).await.is_err());
    assert_eq!(mailer.sent().len(), 1);

    let d = RecordingDispatcher::new();
    d.refuse(&"b".into());
    let req = |a: &str| SyncRequest::for_account(a);
    let refused = d.dispatch(&[req("a"), req("b")]).await.unwrap();
    assert_eq!(refused, vec![req("b")]);
    assert_eq!(d.dispatched(), vec![req("a")]);

    let clock = ManualClock::new(t(0));
    clock.advance(Duration::hours(2));
    assert_eq!(clock.now(), t(2));
    assert_eq!(FixedClock(t(5)).now(), t(5));
}
