//! The streaming import on the in-memory fakes: windows larger than one invocation,
//! runs killed anywhere, two workers at once, slices sized from Telnyx's totals, the
//! usage report sparing requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::domain::RecordType;
use crate::fakes::*;
use crate::fixtures::*;
use crate::invocation::UsageHint;
use crate::ports::{Clock, LeaseStore, RunOutcome, TimeWindow};
use std::collections::BTreeSet;
use std::sync::Arc;

const KEY: &str = "key-stream";

/// Reseller Acme with one trunk; `n` sip-trunking records spread over the last 20 hours
/// (one a minute plus a second each, so no two share an instant), newest first in ids.
struct World {
    telnyx: Arc<InMemoryTelnyx>,
    store: Arc<InMemoryStore>,
    mailer: Arc<RecordingMailer>,
    dispatcher: Arc<RecordingDispatcher>,
    clock: Arc<ManualClock>,
    settings: SyncSettings,
}

fn ids(n: usize) -> BTreeSet<String> {
    (0..n).map(|i| format!("cdr-{i:06}")).collect()
}

impl World {
    fn new(n: usize) -> Self {
        let scenario = Scenario::wholesale()
            .billing_group("bg-a", "Customer A")
            .sip_connection("conn-1", "Main trunk", Some("bg-a"));
        let telnyx = InMemoryTelnyx::new("master").with_account(
            managed_account(ACCOUNT, "Acme"),
            KEY,
            scenario.snapshot.clone(),
        );
        telnyx.add_records(
            &ACCOUNT.into(),
            (0..n).map(|i| {
                record(RecordType::SipTrunking, &format!("cdr-{i:06}"))
                    .connection("conn-1")
                    .at(fixed_now() - Duration::seconds(61 * (i as i64 + 1)))
                    .build()
            }),
        );
        Self {
            telnyx: Arc::new(telnyx),
            store: Arc::new(
                InMemoryStore::new()
                    .with_onboarding(scenario.onboarding.clone())
                    .with_state(scenario.state.clone()),
            ),
            mailer: Arc::new(RecordingMailer::new()),
            dispatcher: Arc::new(RecordingDispatcher::new()),
            clock: Arc::new(ManualClock::new(fixed_now())),
            settings: SyncSettings {
                portal_url_template: PORTAL.into(),
                initial_lookback: Some(Duration::days(1)),
                ..SyncSettings::default()
            },
        }
    }

    fn ports(&self) -> Ports {
        Ports {
            telnyx: self.telnyx.clone(),
            secrets: Arc::new(
                InMemorySecrets::new()
                    .with_master_key("master")
                    .with_account_key(&ACCOUNT.into(), KEY),
            ),
            store: self.store.clone(),
            mailer: self.mailer.clone(),
            dispatcher: self.dispatcher.clone(),
            clock: self.clock.clone(),
        }
    }

    async fn run(&self, request: &SyncRequest, ctx: RunContext) -> Result<RunSummary, SyncError> {
        sync_account(&self.ports(), &self.settings, request, ctx).await
    }

    fn stored_ids(&self) -> BTreeSet<String> {
        self.store
            .data()
            .records
            .keys()
            .map(|(_, _, id)| id.as_str().to_owned())
            .collect()
    }

    /// Pages of sip-trunking records requested so far.
    fn detail_pages_requested(&self) -> usize {
        self.telnyx
            .calls()
            .iter()
            .filter(|c| c.starts_with("detail_records sip-trunking page "))
            .count()
    }
}

/// An invocation that has `seconds` of work before its deadline margin, on a clock that
/// moves one second each time it is read.
fn invocation(w: &World, n: usize, seconds: i64) -> RunContext {
    let deadline = w.clock.now() + w.settings.deadline_margin + Duration::seconds(seconds);
    RunContext::until(RunId::new(format!("inv-{n}")), deadline)
}

#[tokio::test]
async fn a_window_one_invocation_cannot_fetch_finishes_over_continuations_with_every_record_once() {
    let w = World::new(1_000);
    w.clock.tick_by(Duration::seconds(1));
    let mut request = SyncRequest::for_account(ACCOUNT);
    let mut invocations = 0;
    loop {
        invocations += 1;
        let summary = w
            .run(&request, invocation(&w, invocations, 12))
            .await
            .unwrap();
        // Like the queue: the continuation arrives once the delay is over.
        w.clock.advance(Duration::seconds(5));
        match w.dispatcher.take_later().pop() {
            Some(next) => {
                assert!(
                    matches!(
                        summary.outcome,
                        RunOutcome::Partial {
                            continued: true,
                            ..
                        }
                    ),
                    "{:?}",
                    summary.outcome
                );
                assert_eq!(next.continuation as usize, invocations);
                request = next;
            }
            None => {
                assert_eq!(summary.outcome, RunOutcome::Complete);
                break;
            }
        }
        assert!(invocations < 50, "no progress");
    }
    assert!(invocations >= 3, "only {invocations} invocations");
    assert_eq!(w.stored_ids(), ids(1_000), "every record, once");
    let data = w.store.data();
    let first_run = data.run_logs.iter().map(|l| l.started_at).min().unwrap();
    assert_eq!(
        data.watermarks()[&(ACCOUNT.into(), RecordType::SipTrunking)],
        first_run,
        "the window the first run opened, whole"
    );
    assert!(data.cursors().is_empty(), "the window is done");
    assert_eq!(data.run_logs.len(), invocations, "a run log per invocation");
    assert!(data.leases.is_empty(), "every lease given back");
    // Pages were not read twice: the checkpoint moved with every page.
    let pages = w.detail_pages_requested();
    assert!(
        pages <= 1_000usize.div_ceil(50) + invocations,
        "{pages} pages"
    );
    assert_eq!(w.mailer.sent().len(), 1, "one new-customer email");
}

#[tokio::test]
async fn a_run_killed_after_any_page_or_mid_batch_resumes_and_stores_every_record_once() {
    // 7 pages of 50 (the last one short): killed in the middle of every page's batch.
    for kill_at in 0..7 {
        let w = World::new(320);
        w.store.hang_on_write_after(kill_at);
        let killed = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            w.run(
                &SyncRequest::for_account(ACCOUNT),
                RunContext::new(RunId::new("killed")),
            ),
        )
        .await;
        assert!(killed.is_err(), "run {kill_at} was not killed");
        let page = 50.min(320 - kill_at * 50);
        let half_stored = w.stored_ids().len();
        assert_eq!(
            half_stored,
            kill_at * 50 + page / 2,
            "kill at {kill_at}: half a batch stored"
        );
        // The killed run's lease expires; the next run resumes from its checkpoint.
        w.clock.advance(Duration::minutes(16));
        let pages_before = w.detail_pages_requested();
        let rerun = w
            .run(
                &SyncRequest::for_account(ACCOUNT),
                RunContext::new(RunId::new("rerun")),
            )
            .await
            .unwrap();
        assert_eq!(rerun.outcome, RunOutcome::Complete);
        assert_eq!(w.stored_ids(), ids(320), "kill at {kill_at}");
        let data = w.store.data();
        assert_eq!(data.records.len(), 320, "none doubled");
        assert_eq!(
            data.state.customers.len(),
            2,
            "reseller and one customer, once"
        );
        assert_eq!(w.mailer.sent().len(), 1, "one email");
        let reread = w.detail_pages_requested() - pages_before;
        assert!(
            reread <= 7 - kill_at,
            "kill at {kill_at}: {reread} pages read again"
        );
    }
}

#[tokio::test]
async fn two_workers_started_at_once_walk_once_and_the_second_exits_cleanly() {
    let w = World::new(120);
    let request = SyncRequest::for_account(ACCOUNT);
    let (a, b) = tokio::join!(
        w.run(&request, RunContext::new(RunId::new("worker-a"))),
        w.run(&request, RunContext::new(RunId::new("worker-b")))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let outcomes = [&a.outcome, &b.outcome];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| ***o == RunOutcome::Complete)
            .count(),
        1
    );
    let skipped = outcomes
        .iter()
        .find_map(|o| match o {
            RunOutcome::Skipped { held_by } => Some(held_by.clone()),
            _ => None,
        })
        .expect("one worker skipped");
    assert!(skipped.starts_with("worker-"));
    assert_eq!(w.stored_ids(), ids(120));
    assert_eq!(a.records.written + b.records.written, 120);
    assert_eq!(
        w.store.data().run_logs.len(),
        1,
        "the skipped worker leaves no run log"
    );

    // The same as one worker alone.
    let alone = World::new(120);
    alone
        .run(&request, RunContext::new(RunId::new("worker-a")))
        .await
        .unwrap();
    assert_eq!(alone.store.data().business(), w.store.data().business());
}

#[tokio::test]
async fn a_lease_held_by_a_live_run_makes_a_new_run_do_nothing() {
    let w = World::new(10);
    let holder = RunId::new("still-running");
    let until = fixed_now() + Duration::minutes(5);
    w.store
        .acquire_lease(&ACCOUNT.into(), &holder, fixed_now(), until)
        .await
        .unwrap();
    let summary = w
        .run(
            &SyncRequest::for_account(ACCOUNT),
            RunContext::new(RunId::new("late")),
        )
        .await
        .unwrap();
    assert_eq!(
        summary.outcome,
        RunOutcome::Skipped {
            held_by: "still-running".into()
        }
    );
    assert!(w.stored_ids().is_empty());
    assert!(w.telnyx.calls().is_empty(), "Telnyx was not called");
}

#[tokio::test]
async fn a_big_window_is_walked_in_slices_sized_from_telnyx_totals() {
    let mut w = World::new(12_000);
    w.settings.initial_lookback = Some(Duration::days(10));
    let summary = w
        .run(
            &SyncRequest::for_account(ACCOUNT),
            RunContext::new(RunId::new("big")),
        )
        .await
        .unwrap();
    assert_eq!(summary.outcome, RunOutcome::Complete);
    assert_eq!(w.stored_ids().len(), 12_000);
    let pages = w.detail_pages_requested();
    let needed = 12_000usize.div_ceil(50);
    // One probe of the whole window, and each slice's last page may be short.
    assert!(
        pages <= needed + needed / 20,
        "{pages} pages for {needed} pages of records"
    );
    assert!(pages > needed, "the window was sliced ({pages} pages)");
    // No walk reached deep page numbers: slices stay small.
    let deepest = w
        .telnyx
        .calls()
        .iter()
        .filter_map(|c| c.rsplit(' ').next()?.parse::<u32>().ok())
        .max()
        .unwrap();
    assert!(deepest <= 2 * 2_500 / 50, "page {deepest} requested");
}

/// The types whose detail records were requested since call `from`.
fn walked_since(w: &World, from: usize) -> BTreeSet<String> {
    w.telnyx.calls()[from..]
        .iter()
        .filter(|c| c.starts_with("detail_records") && !c.contains(" page "))
        .map(|c| c.trim_start_matches("detail_records ").to_owned())
        .collect()
}

/// Another account's audit confirmed `metric` of `product` as a record count.
fn confirmed(w: &World, product: &str, metric: &str, t: RecordType) {
    let c = crate::ports::ConfirmedCount {
        product: product.into(),
        metric: metric.into(),
        record_type: t,
        account: "another".into(),
        day: fixed_now().date_naive(),
        records: 4,
        confirmed_at: fixed_now(),
    };
    futures::executor::block_on(crate::ports::UsageStore::confirm_count(&*w.store, &c)).unwrap();
}

#[tokio::test]
async fn only_a_confirmed_count_of_zero_skips_a_type_and_only_until_its_full_walk_is_due() {
    let w = World::new(5);
    let regular = SyncRequest::for_account(ACCOUNT);
    let run = |n: &str| w.run(&regular, RunContext::new(RunId::new(n)));
    run("first").await.unwrap();
    assert_eq!(
        walked_since(&w, 0).len(),
        RecordType::ALL.len(),
        "nothing confirmed: every type walked"
    );
    confirmed(&w, "fax-api", "count", RecordType::Fax);
    confirmed(&w, "text-to-speech", "count", RecordType::Tts);
    confirmed(&w, "messaging", "count", RecordType::Messaging);
    w.telnyx.fail_usage_report(RecordType::Messaging);
    w.clock.advance(Duration::hours(2));
    let before = w.telnyx.calls().len();
    let second = run("second").await.unwrap();
    let walked = walked_since(&w, before);
    assert!(
        !walked.contains("fax") && !walked.contains("tts"),
        "a confirmed zero skips: {walked:?}"
    );
    assert!(walked.contains("messaging"), "a failed report walks");
    assert!(walked.contains("sip-trunking"), "records walk");
    assert!(
        walked.contains("call-control") && walked.contains("embedding"),
        "an unconfirmed count and a type without product walk"
    );
    assert_eq!(second.skipped_types, vec![RecordType::Fax, RecordType::Tts]);
    // A day later their last walk is too old: walked whatever the report says.
    w.clock.advance(Duration::hours(23));
    let before = w.telnyx.calls().len();
    run("third").await.unwrap();
    let walked = walked_since(&w, before);
    assert!(
        walked.contains("fax") && walked.contains("tts"),
        "{walked:?}"
    );
}

#[tokio::test]
async fn the_schedulers_usage_hint_spares_the_accounts_own_reports() {
    let w = World::new(5);
    w.run(
        &SyncRequest::for_account(ACCOUNT),
        RunContext::new(RunId::new("first")),
    )
    .await
    .unwrap();
    w.clock.advance(Duration::hours(1));
    let hint = UsageHint {
        window: TimeWindow {
            from: fixed_now() - Duration::days(2),
            to: fixed_now(),
        },
        shown: RecordType::ALL.to_vec(),
        checked: RecordType::ALL.to_vec(),
        with_usage: vec![RecordType::SipTrunking],
    };
    let request = SyncRequest {
        usage: Some(hint),
        ..SyncRequest::for_account(ACCOUNT)
    };
    let before = w.telnyx.calls().len();
    let summary = w
        .run(&request, RunContext::new(RunId::new("r")))
        .await
        .unwrap();
    let calls = &w.telnyx.calls()[before..];
    assert!(
        !calls.iter().any(|c| c.starts_with("usage_report")),
        "{calls:?}"
    );
    assert_eq!(
        walked_since(&w, before),
        BTreeSet::from(["sip-trunking".to_owned()])
    );
    assert_eq!(summary.skipped_types.len(), RecordType::ALL.len() - 1);
    assert_eq!(w.stored_ids(), ids(5));
}

#[tokio::test]
async fn a_manual_backfill_walks_only_its_record_types_in_its_own_stream() {
    let w = World::new(60);
    w.telnyx.add_records(
        &ACCOUNT.into(),
        [record(RecordType::Messaging, "msg-1")
            .at(fixed_now() - Duration::hours(30))
            .build()],
    );
    let request = SyncRequest::for_account(ACCOUNT)
        .with_backfill(fixed_now() - Duration::days(3), None)
        .with_record_types(vec![RecordType::Messaging]);
    let summary = w
        .run(&request, RunContext::new(RunId::new("b")))
        .await
        .unwrap();
    assert_eq!(summary.records.written, 1);
    assert_eq!(w.stored_ids(), BTreeSet::from(["msg-1".to_owned()]));
    let data = w.store.data();
    assert!(
        data.watermarks().is_empty(),
        "not contiguous with any watermark"
    );
    assert!(data.cursors().is_empty());
    assert!(
        w.telnyx.calls().iter().all(|c| !c.contains("sip-trunking")),
        "only messaging was read"
    );
}

#[tokio::test]
async fn a_record_arriving_mid_walk_repeats_a_row_on_the_next_page_and_counts_once() {
    let w = World::new(120);
    let late = record(RecordType::SipTrunking, "cdr-late")
        .connection("conn-1")
        .at(fixed_now() - Duration::seconds(30))
        .build();
    w.telnyx.arrive_on_page(2, &ACCOUNT.into(), late);
    let summary = w
        .run(
            &SyncRequest::for_account(ACCOUNT),
            RunContext::new(RunId::new("r")),
        )
        .await
        .unwrap();
    assert_eq!(summary.records.written, 120, "{summary:?}");
    // The row pushed onto page 2 is dropped by the Telnyx port (the one place a walk's
    // repeats are removed), never written twice, and the import log says so.
    assert_eq!(summary.records.duplicates, 0, "{summary:?}");
    let repeated = summary
        .log
        .iter()
        .find(|e| e.code == crate::plan::LogCode::DuplicateDetailRecords)
        .map(|e| e.message.clone());
    assert!(
        repeated
            .as_deref()
            .is_some_and(|m| m.starts_with("1 detail record(s)")),
        "{repeated:?}"
    );
    assert_eq!(
        w.stored_ids(),
        ids(120),
        "the late one waits for the next walk"
    );
    let next = w
        .run(
            &SyncRequest::for_account(ACCOUNT),
            RunContext::new(RunId::new("r2")),
        )
        .await
        .unwrap();
    assert_eq!(
        next.records.written, 1,
        "the next run finds the late record"
    );
}

#[tokio::test]
async fn records_a_finished_backfill_stored_are_duplicates_to_the_regular_run_that_covers_them() {
    let w = World::new(60);
    let backfill = SyncRequest::for_account(ACCOUNT)
        .with_backfill(
            fixed_now() - Duration::days(2),
            Some(fixed_now() - Duration::minutes(30)),
        )
        .with_record_types(vec![RecordType::SipTrunking]);
    let first = w
        .run(&backfill, RunContext::new(RunId::new("b")))
        .await
        .unwrap();
    assert_eq!(first.records.written, 31, "{first:?}");
    assert!(w.store.data().watermarks().is_empty(), "not contiguous");
    let regular = w
        .run(
            &SyncRequest::for_account(ACCOUNT),
            RunContext::new(RunId::new("r")),
        )
        .await
        .unwrap();
    assert_eq!(regular.records.written, 29, "{regular:?}");
    assert_eq!(
        regular.records.duplicates, 31,
        "the backfill's records, found stored"
    );
    assert_eq!(w.stored_ids(), ids(60));
}

#[tokio::test]
async fn the_schedulers_hint_names_only_types_whose_count_a_walk_confirmed() {
    // Records over the last 25 hours: yesterday is a complete day with records.
    let mut w = World::new(1_500);
    // The first window opens at the start of the month (22 days before `now`), far
    // beyond the scheduler's 24-hour lookback.
    w.settings.initial_lookback = None;
    let settings = crate::schedule::ScheduleSettings::new(vec!["ops@example.com".into()]);
    crate::schedule::run_schedule(&w.ports(), &settings)
        .await
        .unwrap();
    let request = w.dispatcher.dispatched().pop().expect("a request queued");
    let hint = request.usage.clone().expect("with the usage hint");
    assert!(hint.window.from <= t_month_start(), "{hint:?}");
    assert!(hint.checked.is_empty(), "nothing confirmed yet: {hint:?}");
    assert_eq!(
        hint.shown.len(),
        17,
        "every type with a product was read: {hint:?}"
    );
    let summary = w
        .run(&request, RunContext::new(RunId::new("r")))
        .await
        .unwrap();
    assert_eq!(w.stored_ids(), ids(1_500), "{summary:?}");
    // The audit of yesterday confirmed that `attempted` counts sip-trunking legs.
    w.clock.advance(Duration::minutes(15));
    crate::schedule::run_schedule(&w.ports(), &settings)
        .await
        .unwrap();
    let hint = w
        .dispatcher
        .dispatched()
        .pop()
        .and_then(|r| r.usage)
        .expect("with the usage hint");
    assert_eq!(hint.checked, vec![RecordType::SipTrunking]);
    assert_eq!(hint.with_usage, vec![RecordType::SipTrunking]);
}

fn t_month_start() -> chrono::DateTime<chrono::Utc> {
    "2026-11-01T00:00:00Z".parse().unwrap()
}
