//! Scenario tests of a whole sync run on the in-memory fakes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::domain::ManagedAccount;
use crate::domain::RecordType;
use crate::error::error_chain;
use crate::fakes::*;
use crate::fixtures::record;
use crate::fixtures::*;
use crate::plan::LogCode;
use crate::plan::Notification;
use crate::ports::RunOutcome;
use chrono::Duration;
use std::sync::Arc;

const KEY: &str = "key-acc-1";

struct World {
    scenario: Scenario,
    telnyx: Arc<InMemoryTelnyx>,
    secrets: Arc<InMemorySecrets>,
    store: Arc<InMemoryStore>,
    mailer: Arc<RecordingMailer>,
    clock: Arc<ManualClock>,
    settings: SyncSettings,
}

impl World {
    /// Reseller Acme, one billing group, one trunk with a number, three records.
    fn new() -> Self {
        let scenario = Scenario::wholesale()
            .billing_group("bg-a", "Customer A")
            .sip_connection("conn-1", "Main trunk", Some("bg-a"))
            .number("num-1", "+13125550100", Some("conn-1"), None);
        let account = ManagedAccount {
            email: Some("owner@acme.example".into()),
            ..managed_account(ACCOUNT, "Acme Telecom")
        };
        let telnyx =
            InMemoryTelnyx::new("master").with_account(account, KEY, scenario.snapshot.clone());
        telnyx.add_records(
            &ACCOUNT.into(),
            [
                record(RecordType::SipTrunking, "cdr-1")
                    .connection("conn-1")
                    .build(),
                record(RecordType::Messaging, "msg-1")
                    .outbound("+13125550100", "+14155550000")
                    .build(),
                record(RecordType::Tts, "tts-1").build(),
            ],
        );
        Self {
            telnyx: Arc::new(telnyx),
            secrets: Arc::new(InMemorySecrets::new().with_account_key(&ACCOUNT.into(), KEY)),
            store: Arc::new(
                InMemoryStore::new()
                    .with_onboarding(scenario.onboarding.clone())
                    .with_state(scenario.state.clone()),
            ),
            mailer: Arc::new(RecordingMailer::new()),
            clock: Arc::new(ManualClock::new(fixed_now())),
            settings: SyncSettings {
                portal_url_template: PORTAL.into(),
                alert_to: vec!["ops@operator.example".into()],
                initial_lookback: Some(Duration::days(1)),
                ..SyncSettings::default()
            },
            scenario,
        }
    }

    async fn sync(&self, request: &SyncRequest) -> Result<RunSummary, SyncError> {
        let ports = Ports {
            telnyx: self.telnyx.clone(),
            secrets: self.secrets.clone(),
            store: self.store.clone(),
            mailer: self.mailer.clone(),
            dispatcher: Arc::new(RecordingDispatcher::new()),
            clock: self.clock.clone(),
        };
        sync_account(
            &ports,
            &self.settings,
            request,
            RunContext::new(RunId::new("run-1")),
        )
        .await
    }
}

fn request() -> SyncRequest {
    SyncRequest::for_account(ACCOUNT)
}

#[tokio::test]
async fn a_first_run_creates_the_customer_stores_every_record_and_sends_one_email() {
    let w = World::new();
    let summary = w.sync(&request()).await.unwrap();
    let data = w.store.data();
    let customer = w.scenario.customer_of_group("bg-a");
    assert!(data.state.customers.iter().any(|c| c.id == customer));
    assert_eq!(summary.records.written, 3);
    assert_eq!(data.records.len(), 3);
    assert_eq!(summary.unmatched_records(), 1);
    let sent = w.mailer.sent();
    assert_eq!(sent.len(), 1);
    assert!(
        matches!(&sent[0], Notification::NewCustomer { customer_id, .. } if *customer_id == customer)
    );
    // No count metric is confirmed yet, so no report proves a type empty: every type
    // is walked on the first run and its watermark moves to the end of the window.
    let walked = RecordType::ALL.to_vec();
    assert_eq!(
        data.watermarks()
            .keys()
            .map(|(_, t)| *t)
            .collect::<Vec<_>>(),
        walked
    );
    assert!(data.watermarks().values().all(|w| *w == fixed_now()));
    assert_eq!(
        summary.skipped_types.len(),
        RecordType::ALL.len() - walked.len()
    );
    let requested: Vec<String> = w
        .telnyx
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("detail_records") && !c.contains("page"))
        .collect();
    assert_eq!(requested.len(), walked.len(), "{requested:?}");
    let log = data.run_logs.last().unwrap();
    assert_eq!(log.outcome, RunOutcome::Complete);
    assert_eq!(log.counts["records_written"], 3);
    assert!(
        log.entries
            .iter()
            .any(|e| e.code == LogCode::UnmatchedDetailRecords)
    );
}

#[tokio::test]
async fn a_second_run_writes_nothing_and_sends_nothing() {
    let w = World::new();
    w.sync(&request()).await.unwrap();
    let after_first = w.store.data().business();
    let second = w.sync(&request()).await.unwrap();
    assert_eq!(second.actions, 0);
    assert_eq!(second.applied.created, 0);
    assert_eq!(second.records.written, 0);
    assert_eq!(second.records.duplicates, 3);
    assert_eq!(second.emails.sent, 0);
    assert_eq!(w.mailer.sent().len(), 1);
    assert_eq!(w.store.data().business(), after_first);
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_returns_the_rendered_plan() {
    let w = World::new();
    let before = w.store.data();
    let summary = w
        .sync(&SyncRequest {
            dry_run: true,
            ..request()
        })
        .await
        .unwrap();
    assert!(summary.dry_run);
    assert!(
        summary.plan.contains("+ customer \"Customer A\""),
        "{}",
        summary.plan
    );
    assert!(
        summary.plan.contains("= 3 detail record(s)"),
        "{}",
        summary.plan
    );
    let after = w.store.data();
    assert_eq!(after.business(), before.business());
    assert!(after.run_logs.is_empty());
    assert!(w.mailer.sent().is_empty());
}

#[tokio::test]
async fn an_unknown_account_is_named_and_changes_nothing() {
    let w = World::new();
    let before = w.store.data();
    let err = w
        .sync(&SyncRequest {
            managed_account_id: "acc-nobody".into(),
            ..request()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::UnknownAccount(_)));
    assert!(err.to_string().contains("acc-nobody"), "{err}");
    assert!(!err.is_transient());
    assert!(w.telnyx.calls().is_empty());
    let after = w.store.data();
    assert_eq!(after.business(), before.business());
    assert!(after.run_logs.is_empty());
}

#[tokio::test]
async fn a_key_refused_at_the_configuration_fails_the_run_and_writes_nothing() {
    let w = World::new();
    let before = w.store.data();
    w.telnyx.revoke(KEY);
    let err = w.sync(&request()).await.unwrap_err();
    assert!(matches!(err, SyncError::Telnyx { .. }), "{err:?}");
    assert!(!err.is_transient());
    let after = w.store.data();
    assert_eq!(after.business().state, before.business().state);
    assert!(after.records.is_empty());
    assert!(after.watermarks().is_empty());
    assert!(after.cursors().is_empty());
    assert!(after.leases.is_empty(), "the lease is given back");
    let log = after.run_logs.last().unwrap();
    let RunOutcome::Failed { error } = &log.outcome else {
        panic!("run log should say failed: {log:?}");
    };
    assert!(error.contains("401"), "{error}");
    assert!(!error.contains(KEY), "the key never reaches a log");
    // The operator hears about it once (throttled), and no customer email goes out.
    let sent = w.mailer.sent();
    assert_eq!(sent.len(), 1);
    assert!(matches!(sent[0], Notification::KeyProblem { .. }));
    w.sync(&request()).await.unwrap_err();
    assert_eq!(w.mailer.sent().len(), 1, "alert throttled");
}

#[tokio::test]
async fn a_key_revoked_mid_walk_fails_the_run_keeping_only_what_is_stored_whole() {
    let w = World::new();
    // The snapshot, the usage options, then the first type's usage report, walk and page
    // succeed.
    w.telnyx.revoke_after(KEY, 5);
    let err = w.sync(&request()).await.unwrap_err();
    assert!(matches!(err, SyncError::Telnyx { .. }), "{err:?}");
    assert!(!err.is_transient());
    let data = w.store.data();
    // What is stored is whole: the structure, the first type's record and watermark.
    assert_eq!(data.records.len(), 1);
    assert_eq!(data.watermarks().len(), 1);
    assert!(
        data.records
            .keys()
            .all(|(_, t, _)| *t == RecordType::SipTrunking)
    );
    assert!(matches!(
        data.run_logs.last().unwrap().outcome,
        RunOutcome::Failed { .. }
    ));
    assert_eq!(
        w.mailer
            .sent()
            .iter()
            .filter(|n| matches!(n, Notification::KeyProblem { .. }))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_watermark_moves_only_after_its_records_are_durably_written() {
    let w = World::new();
    w.store.fail("put_detail_records");
    let err = w.sync(&request()).await.unwrap_err();
    assert!(err.is_transient());
    assert!(w.store.data().watermarks().is_empty());
    assert!(w.store.data().records.is_empty());

    w.store.heal("put_detail_records");
    let summary = w.sync(&request()).await.unwrap();
    assert_eq!(summary.records.written, 3);
    assert_eq!(
        w.store.data().watermarks().len(),
        RecordType::ALL.len(),
        "one per type walked: no count is confirmed yet"
    );
}

#[tokio::test]
async fn a_late_record_inside_the_overlap_window_is_imported_on_the_next_run_exactly_once() {
    let w = World::new();
    w.sync(&request()).await.unwrap();
    // Published after the first run, stamped an hour before it.
    w.telnyx.add_records(
        &ACCOUNT.into(),
        [record(RecordType::SipTrunking, "late-1")
            .connection("conn-1")
            .at(fixed_now() - Duration::hours(1))
            .build()],
    );
    w.clock.advance(Duration::minutes(15));
    let summary = w.sync(&request()).await.unwrap();
    assert_eq!(summary.records.written, 1);
    assert_eq!(
        summary.records.duplicates, 3,
        "the overlap re-reads, never re-stores"
    );
    let data = w.store.data();
    assert_eq!(data.records.len(), 4);
    assert!(
        data.watermarks()
            .values()
            .all(|t| *t == fixed_now() + Duration::minutes(15))
    );
}

#[tokio::test]
async fn a_backfill_rereads_an_older_window_and_duplicates_nothing() {
    let w = World::new();
    let old = fixed_now() - Duration::days(3);
    w.telnyx.add_records(
        &ACCOUNT.into(),
        [record(RecordType::SipTrunking, "old-1")
            .connection("conn-1")
            .at(old)
            .build()],
    );
    let first = w.sync(&request()).await.unwrap();
    assert_eq!(
        first.records.written, 3,
        "older than the first run's lookback"
    );
    let backfill = w
        .sync(&SyncRequest {
            backfill_from: Some(old - Duration::hours(1)),
            ..request()
        })
        .await
        .unwrap();
    assert_eq!(backfill.records.written, 1);
    assert_eq!(backfill.records.duplicates, 3);
    assert_eq!(w.store.data().records.len(), 4);
}

#[tokio::test]
async fn a_backfill_not_contiguous_with_the_watermark_does_not_move_it() {
    let w = World::new();
    let from = fixed_now() - Duration::days(10);
    w.sync(&SyncRequest {
        backfill_from: Some(from),
        backfill_to: Some(from + Duration::days(1)),
        ..request()
    })
    .await
    .unwrap();
    assert!(w.store.data().watermarks().is_empty());
}

#[tokio::test]
async fn an_empty_or_half_backfill_window_is_rejected_before_anything_is_read() {
    let w = World::new();
    let bad = [
        SyncRequest {
            backfill_from: Some(fixed_now()),
            backfill_to: Some(fixed_now() - Duration::hours(1)),
            ..request()
        },
        SyncRequest {
            backfill_to: Some(fixed_now()),
            ..request()
        },
    ];
    for r in bad {
        let err = w.sync(&r).await.unwrap_err();
        assert!(matches!(err, SyncError::InvalidRequest(_)), "{err:?}");
        assert!(!err.is_transient());
    }
    assert!(w.telnyx.calls().is_empty());
    assert!(w.store.data().run_logs.is_empty());
}

#[tokio::test]
async fn a_missing_secret_fails_permanently_naming_the_account() {
    let w = World::new();
    w.secrets.remove_account_key(&ACCOUNT.into());
    let err = w.sync(&request()).await.unwrap_err();
    assert!(matches!(err, SyncError::Secret { .. }));
    assert!(!err.is_transient());
    assert!(error_chain(&err).contains(ACCOUNT), "{}", error_chain(&err));
    assert!(w.telnyx.calls().is_empty());
    assert!(w.store.data().state.customers.len() == 1);
}

#[tokio::test]
async fn a_failed_email_stays_queued_and_goes_out_on_the_next_run() {
    let w = World::new();
    w.mailer.set_failing(true);
    let first = w.sync(&request()).await.unwrap();
    assert_eq!(first.emails.failed, 1);
    w.mailer.set_failing(false);
    w.clock.advance(Duration::minutes(15));
    let second = w.sync(&request()).await.unwrap();
    assert_eq!(second.emails.sent, 1);
    assert_eq!(w.mailer.sent().len(), 1);
}

#[tokio::test]
async fn two_concurrent_runs_converge_and_send_one_email() {
    let w = World::new();
    let req = request();
    let (a, b) = tokio::join!(w.sync(&req), w.sync(&req));
    let (a, b) = (a.unwrap(), b.unwrap());
    // Both planned from the same state (the fakes interleave at each read)...
    assert!(a.plan.contains("+ customer") && b.plan.contains("+ customer"));
    // ...yet only the writer that created the customer queued its email.
    assert_eq!(a.records.written + b.records.written, 3);
    assert_eq!(
        a.applied.notifications_queued + b.applied.notifications_queued,
        1
    );
    assert_eq!(w.mailer.sent().len(), 1);
    let data = w.store.data();
    assert_eq!(data.records.len(), 3);
    let customers = data
        .state
        .customers
        .iter()
        .filter(|c| c.id == w.scenario.customer_of_group("bg-a"))
        .count();
    assert_eq!(customers, 1);
}
