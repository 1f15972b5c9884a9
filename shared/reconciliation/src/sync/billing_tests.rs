//! Billing truth through whole runs on the in-memory fakes: the completeness audit
//! (clean, a dropped page, a late record past the overlap, a wrong time field, hidden
//! pricing), attribution through call sessions (also when the call arrives later), and
//! the invoices against a brute-force sum under reruns and two workers at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::billing::rollup::{Level, Sums, invoice};
use crate::domain::{MatchedBy, RecordType};
use crate::fixtures::*;
use crate::plan::LogCode;
use crate::ports::{AuditVerdict, BillingStore};
use rust_decimal::Decimal;

use super::billing_world::*;

#[tokio::test]
async fn a_complete_window_audits_clean_and_every_day_is_recorded() {
    let w = World::new();
    // 2026-11-21 and 2026-11-22 are the whole days of the first run's window.
    w.add(calls("c", &[20, 30, 40, 50]));
    let summary = w.run(1).await;
    assert_eq!(summary.audit_totals().mismatched, 0, "{:?}", summary.log);
    let audits = w.audits().await;
    let sip: Vec<_> = audits
        .iter()
        .filter(|d| d.record_type == RecordType::SipTrunking)
        .collect();
    assert_eq!(sip.len(), 2, "{sip:?}");
    assert!(
        sip.iter()
            .all(|d| d.verdict == AuditVerdict::Clean && d.settled)
    );
    assert_eq!(sip.iter().map(|d| d.stored.count).sum::<u64>(), 4);
    // A type the report offers no product for is never recorded as clean.
    assert!(
        !audits
            .iter()
            .any(|d| d.record_type == RecordType::Embedding)
    );
    assert!(summary.log.iter().any(|e| e.code == LogCode::AuditClean));
    let not_auditable = summary
        .log
        .iter()
        .find(|e| e.code == LogCode::AuditNotAuditable)
        .expect("the types without product or count are named");
    assert!(
        not_auditable.message.contains("embedding (")
            && not_auditable.message.contains("lists no product"),
        "{}",
        not_auditable.message
    );
    assert!(
        summary
            .not_auditable_lines()
            .iter()
            .any(|n| n.starts_with("wireless: ") && n.contains("no metric counting")),
        "{:?}",
        summary.not_auditable_lines()
    );
}

#[tokio::test]
async fn a_recheck_of_settled_clean_days_asks_telnyx_but_does_not_read_the_table_again() {
    let w = World::new();
    w.add(calls("c", &[20, 30, 40, 50]));
    assert_eq!(w.run(1).await.audit_totals().mismatched, 0);
    let written = w.audits().await;
    // The next run rechecks 2026-11-21 and -22 (settled, clean) without the table.
    w.clock.advance(Duration::minutes(15));
    w.store.fail("billed_page");
    let again = w.run(2).await;
    assert!(again.audit_totals().clean > 0, "{:?}", again.log);
    assert_eq!(again.audit_totals().mismatched, 0);
    assert_eq!(
        w.audits().await,
        written,
        "an agreeing recheck rewrites nothing"
    );
}

#[tokio::test]
async fn a_record_hidden_from_every_rewalk_is_alerted_once_saying_what_the_rewalk_found() {
    let w = World::new();
    w.add(calls("c", &[20, 30]));
    w.telnyx.add_unserved(
        &ACCOUNT.into(),
        record(RecordType::SipTrunking, "lost")
            .connection("conn-1")
            .at(ago(22))
            .build(),
    );
    let summary = w.run(1).await;
    assert_eq!(summary.audit_totals().mismatched, 1, "{:?}", summary.log);
    assert_eq!(summary.audit_totals().findings, 1, "a finding");
    let finding = summary
        .log
        .iter()
        .find(|e| e.code == LogCode::AuditMismatch)
        .expect("a finding");
    for part in [
        "2026-11-22",
        "sip-trunking (`attempted`)",
        "counts 3 record(s)",
        "the stored sip-trunking records 2 record(s)",
        "re-walked",
        "Telnyx served 2 record(s), 0 of them not stored before",
    ] {
        assert!(
            finding.message.contains(part),
            "{part}: {}",
            finding.message
        );
    }
    let day = w.mismatch().await;
    let rewalk = day
        .rewalk
        .clone()
        .expect("the day was re-walked before the alert");
    assert_eq!((rewalk.read, rewalk.stored), (2, 0));
    assert_eq!(audit_alerts(&w), 1);
    // The next run finds it again, re-walks nothing more and does not alert twice.
    w.clock.advance(Duration::minutes(15));
    let again = w.run(2).await;
    assert_eq!(again.audit_totals().findings, 1);
    assert_eq!(
        again
            .fetched
            .get(&RecordType::SipTrunking)
            .copied()
            .unwrap_or(0),
        0,
        "no second re-walk of the day (its records lie outside the regular window)"
    );
    assert_eq!(audit_alerts(&w), 1);
}

#[tokio::test]
async fn a_missing_record_without_usage_or_cost_is_still_a_mismatch_by_its_count() {
    let w = World::new();
    w.add(calls("c", &[20, 30]));
    // An unanswered call: nothing billed, nothing charged; only its count tells.
    w.telnyx.add_unserved(
        &ACCOUNT.into(),
        record(RecordType::SipTrunking, "unanswered")
            .connection("conn-1")
            .billed("0")
            .cost("0")
            .at(ago(22))
            .build(),
    );
    let summary = w.run(1).await;
    assert_eq!(summary.audit_totals().mismatched, 1, "{:?}", summary.log);
    let day = w.mismatch().await;
    assert_eq!((day.telnyx.count, day.stored.count), (3, 2));
    assert_eq!(day.telnyx.quantity, day.stored.quantity, "usage agrees");
}

#[tokio::test]
async fn a_record_published_after_the_overlap_is_imported_by_the_heal_without_an_alert() {
    let w = World::new();
    w.add(calls("c", &[20, 30]));
    assert_eq!(w.run(1).await.audit_totals().mismatched, 0);
    // A record of 2026-11-22 published a day later: no walk re-reads that far back.
    w.clock.advance(Duration::hours(24));
    w.add([record(RecordType::SipTrunking, "late")
        .connection("conn-1")
        .at(ago(21))
        .build()]);
    let summary = w.run(2).await;
    assert_eq!(w.store.data().records.len(), 3, "the heal imported it");
    assert_eq!(summary.audit_totals().healed, 1, "{:?}", summary.log);
    assert_eq!(summary.audit_totals().findings, 0);
    let healed = summary
        .log
        .iter()
        .find(|e| e.code == LogCode::AuditHealed)
        .expect("the heal is logged");
    assert!(healed.message.contains("2026-11-22"), "{}", healed.message);
    assert!(!summary.log.iter().any(|e| e.code == LogCode::AuditMismatch));
    let day = w
        .audits()
        .await
        .into_iter()
        .find(|d| d.record_type == RecordType::SipTrunking && d.day.to_string() == "2026-11-22")
        .unwrap();
    assert_eq!(day.verdict, AuditVerdict::Clean);
    assert_eq!(day.stored.count, 3);
    assert_eq!(day.rewalk.map(|r| (r.read, r.stored)), Some((3, 1)));
    assert_eq!(
        audit_alerts(&w),
        0,
        "nobody is told about what the heal closed"
    );
}

#[tokio::test]
async fn a_type_whose_records_carry_another_time_field_is_found_imported_and_audits_clean() {
    let w = World::new();
    w.telnyx.set_time_field(RecordType::Stt, "started_at");
    w.add((0..3).map(|i| {
        record(RecordType::Stt, &format!("stt-{i}"))
            .connection("conn-1")
            .at(ago(20 + i))
            .build()
    }));
    let summary = w.run(1).await;
    assert!(
        summary
            .log
            .iter()
            .any(|e| e.code == LogCode::TimeFieldDiscovered
                && e.message.contains("`start_time`")
                && e.message.contains("`started_at`")),
        "{:?}",
        summary.log
    );
    let stt = w
        .store
        .data()
        .records
        .keys()
        .filter(|(_, t, _)| *t == RecordType::Stt)
        .count();
    assert_eq!(stt, 3);
    assert_eq!(summary.audit_totals().mismatched, 0, "{:?}", summary.log);
    let found = w.store.data().streams[&(ACCOUNT.into(), RecordType::Stt)]
        .time_field
        .clone();
    assert_eq!(found.as_deref(), Some("started_at"));
}

#[tokio::test]
async fn a_type_the_report_does_not_cover_is_checked_against_its_newest_rows_on_its_first_window() {
    let w = World::new();
    w.telnyx.set_time_field(RecordType::Embedding, "started_at");
    w.add((0..2).map(|i| {
        record(RecordType::Embedding, &format!("em-{i}"))
            .at(ago(20 + i))
            .build()
    }));
    let summary = w.run(1).await;
    let found = summary
        .log
        .iter()
        .find(|e| e.code == LogCode::TimeFieldDiscovered)
        .expect("found through its newest rows");
    assert!(
        found.message.contains("newest records lie in the window"),
        "{}",
        found.message
    );
    let stored = w.store.data().records;
    assert_eq!(
        stored
            .keys()
            .filter(|(_, t, _)| *t == RecordType::Embedding)
            .count(),
        2
    );
    // An uncovered type that is simply empty is not reported, and its next window is
    // not probed again.
    let calls = w.telnyx.calls().len();
    w.clock.advance(Duration::minutes(15));
    let again = w.run(2).await;
    assert!(
        !again
            .log
            .iter()
            .any(|e| e.code == LogCode::TimeFieldDiscovered || e.code == LogCode::RecordTypeSilent),
        "{:?}",
        again.log
    );
    let newest = w.telnyx.calls()[calls..]
        .iter()
        .filter(|c| c.starts_with("newest_rows"))
        .count();
    assert_eq!(newest, 0, "no probe once the type has a watermark");
}

#[tokio::test]
async fn hidden_pricing_audits_on_usage_not_cost() {
    let w = World::new();
    w.add((0..2).map(|i| {
        record(RecordType::SipTrunking, &format!("h-{i}"))
            .connection("conn-1")
            .hidden_pricing()
            .at(ago(20 + i))
            .build()
    }));
    let summary = w.run(1).await;
    assert_eq!(summary.audit_totals().mismatched, 0);
    let day = w
        .audits()
        .await
        .into_iter()
        .find(|d| d.record_type == RecordType::SipTrunking && d.stored.count > 0)
        .unwrap();
    assert!(!day.cost_compared);
    assert_eq!(day.stored.hidden_pricing, 2);
    assert_eq!(day.stored.quantity, Some(Decimal::from(120)));
}

#[tokio::test]
async fn an_ai_record_is_linked_through_its_call_session_now_or_when_its_call_arrives() {
    let w = World::new();
    w.add(calls("call", &[20]).into_iter().map(|mut r| {
        r.sessions = vec!["sess-1".into()];
        r
    }));
    w.add([
        record(RecordType::Tts, "tts-1")
            .session("sess-1")
            .at(ago(19))
            .build(),
        record(RecordType::Tts, "tts-2")
            .session("sess-2")
            .at(ago(19))
            .build(),
    ]);
    let first = w.run(1).await;
    assert_eq!(first.tally.session, 1, "tts-1 is linked through sess-1");
    assert_eq!(first.tally.unmatched, 1, "tts-2's call has not arrived");
    let rate = first.attribution_rate().unwrap();
    assert!((rate - 200.0 / 3.0).abs() < 1e-9, "{rate}");
    let data = w.store.data();
    let tts2 = data
        .records
        .values()
        .find(|r| r.record.id.as_str() == "tts-2")
        .unwrap();
    assert_eq!(tts2.matched_by, MatchedBy::Unmatched);
    assert_eq!(data.orphans.len(), 1);
    let counts = &data.run_logs.last().unwrap().counts;
    assert_eq!(counts["records_attributed"], 2, "{counts:?}");
    assert_eq!(counts["records_linked_by_session"], 1, "{counts:?}");
    assert_eq!(counts["records_unmatched"], 1, "{counts:?}");

    // Its call arrives (published late, inside the overlap): the next run links it.
    w.clock.advance(Duration::minutes(15));
    let mut late = calls("late-call", &[1]);
    late[0].sessions = vec!["sess-2".into()];
    w.add(late);
    let second = w.run(2).await;
    assert_eq!(second.records_relinked, 1, "{:?}", second.log);
    let data = w.store.data();
    let tts2 = data
        .records
        .values()
        .find(|r| r.record.id.as_str() == "tts-2")
        .unwrap();
    assert_eq!(tts2.matched_by, MatchedBy::Session);
    assert!(tts2.end_customer.is_some());
    assert!(data.orphans.is_empty());
    // Linking again changes nothing.
    assert!(!w.store.reattribute(tts2).await.unwrap());
}

/// The month's sums by brute force, written out here, independently of `Sums::add`:
/// every stored record of the month once, its billed quantity under its type's unit
/// (1 for a type billed per record), its cost under its currency, or counted as
/// without a price.
fn brute_total<'r>(
    records: impl IntoIterator<Item = &'r crate::domain::StoredDetailRecord>,
    month: chrono::DateTime<chrono::Utc>,
) -> Sums {
    use chrono::Datelike;
    let mut sums = Sums::default();
    for r in records {
        let t = r.record.occurred_at;
        if (t.year(), t.month()) != (month.year(), month.month()) {
            continue;
        }
        sums.records += 1;
        *sums
            .records_by_type
            .entry(r.record.record_type)
            .or_default() += 1;
        let unit = r.record.record_type.quantity_unit().to_owned();
        let q = if unit == "records" {
            Decimal::ONE
        } else {
            r.record.billed_quantity.unwrap_or_default()
        };
        *sums.quantity.entry(unit).or_default() += q;
        match (r.record.cost, &r.record.currency) {
            (Some(c), Some(currency)) => *sums.cost.entry(currency.clone()).or_default() += c,
            (Some(c), None) => *sums.cost.entry("USD".into()).or_default() += c,
            (None, _) => sums.hidden_pricing += 1,
        }
    }
    sums
}

/// A generated month of records: types, costs, hidden pricing, unmatched numbers.
fn generated(seed: u64, n: usize) -> Vec<crate::domain::DetailRecord> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let types = [
        RecordType::SipTrunking,
        RecordType::Messaging,
        RecordType::Tts,
        RecordType::Wireless,
        RecordType::Verify,
    ];
    (0..n)
        .map(|i| {
            let t = types[(next() % types.len() as u64) as usize];
            let mut b = record(t, &format!("g{seed}-{i}"))
                .at(ago(1 + (next() % 60) as i64))
                .cost(&format!("0.{:04}", next() % 10_000));
            if next() % 4 != 0 && t != RecordType::Tts {
                b = b.connection("conn-1");
            }
            // Records of one group of five share a call session: a tts record without
            // a connection is linked through a call of its group, when there is one.
            b = b.session(&format!("s{seed}-{}", i / 5));
            if next() % 5 == 0 {
                b = b.hidden_pricing();
            }
            b.build()
        })
        .collect()
}

#[tokio::test]
async fn both_invoices_equal_a_brute_force_sum_after_a_kill_a_rerun_and_two_workers() {
    for seed in 1..=3u64 {
        let w = World::new();
        w.add(generated(seed, 120));
        // A run killed in the middle of a batch (half of it stored)…
        w.store.hang_on_write_after(2);
        let killed = tokio::time::timeout(std::time::Duration::from_millis(300), w.run(0)).await;
        assert!(
            killed.is_err(),
            "seed {seed}: the first run hangs and is killed"
        );
        assert!(
            !w.store.data().records.is_empty(),
            "it stored part of the month"
        );
        // …then, once its lease has lapsed, two workers at once (one gets the lease),
        // then a rerun.
        w.clock.advance(Duration::minutes(16));
        let (a, b) = futures::join!(w.run(1), w.run(2));
        assert!(
            matches!(a.outcome, RunOutcome::Complete) || matches!(b.outcome, RunOutcome::Complete)
        );
        w.clock.advance(Duration::minutes(20));
        w.run(3).await;
        let stored = w.store.data().records;
        assert!(
            stored.values().any(|r| r.matched_by == MatchedBy::Session),
            "seed {seed}: some records are linked through their call"
        );
        let month = fixed_now();
        let expected = brute_total(stored.values(), month);
        assert_eq!(expected.records, stored.len() as u64);
        for level in [Level::Reseller, Level::Customer] {
            let inv = invoice(&*w.store, &w.scenario.onboarding, month, level)
                .await
                .unwrap();
            assert_eq!(inv.total, expected, "seed {seed} level {level}");
            let lines: u64 = inv.lines.iter().map(|l| l.sums.records).sum();
            assert_eq!(lines, stored.len() as u64);
        }
    }
}
