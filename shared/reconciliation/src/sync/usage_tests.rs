//! The usage report as the live API gives it, through whole runs on the in-memory fakes:
//! binary-double sums, no `count` anywhere, a report lagging its records, a report that
//! disagrees with a walk, an under-counting report, and the heal's bound.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::billing_world::*;
use super::*;
use crate::domain::RecordType;
use crate::fixtures::*;
use crate::plan::LogCode;
use crate::ports::{AuditVerdict, UsageStore};
use rust_decimal::Decimal;

fn messages(hours: &[i64]) -> Vec<crate::domain::DetailRecord> {
    hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            record(RecordType::Messaging, &format!("m-{i}"))
                .at(ago(*h))
                .build()
        })
        .collect()
}

#[tokio::test]
async fn binary_double_noise_in_telnyxs_sums_is_not_a_finding() {
    let w = World::new();
    // Six costs whose double sum is 0.23630199999999996, their decimal sum 0.236302.
    let costs = [
        "0.050065", "0.028490", "0.055427", "0.003906", "0.069257", "0.029157",
    ];
    w.add(costs.iter().enumerate().map(|(i, c)| {
        record(RecordType::SipTrunking, &format!("n-{i}"))
            .connection("conn-1")
            .cost(c)
            .at(ago(20 + i as i64))
            .build()
    }));
    let summary = w.run(1).await;
    let day = w
        .audits()
        .await
        .into_iter()
        .find(|d| d.record_type == RecordType::SipTrunking && d.stored.count == 6)
        .unwrap();
    assert_eq!(
        day.telnyx.cost.map(|c| c.to_string()).as_deref(),
        Some("0.23630199999999996")
    );
    assert_eq!(
        day.stored.cost,
        Some("0.236302".parse::<Decimal>().unwrap())
    );
    assert!(day.cost_compared);
    assert_eq!(day.verdict, AuditVerdict::Clean, "{:?}", summary.log);
    assert_eq!(summary.audit_totals().mismatched, 0);
}

#[tokio::test]
async fn a_report_without_count_imports_everything_skips_nothing_and_calls_nothing_clean_it_did_not_compare()
 {
    let w = World::new();
    w.telnyx.usage_without_count();
    w.add(calls("c", &[20, 30]));
    w.add(messages(&[21, 31]));
    let first = w.run(1).await;
    w.clock.advance(Duration::hours(1));
    let second = w.run(2).await;
    assert_eq!(w.store.data().records.len(), 4, "every record imported");
    assert!(first.skipped_types.is_empty(), "{:?}", first.skipped_types);
    // Later, only a type whose count a walk confirmed may be skipped: the call legs
    // (by `attempted`); messaging and every other type are walked.
    assert!(
        second
            .skipped_types
            .iter()
            .all(|t| [RecordType::SipTrunking, RecordType::CallControl].contains(t)),
        "{:?}",
        second.skipped_types
    );
    let audited: std::collections::BTreeSet<RecordType> =
        w.audits().await.iter().map(|d| d.record_type).collect();
    // Only the call legs keep a metric that counts them (`attempted`).
    assert_eq!(
        audited,
        [RecordType::SipTrunking, RecordType::CallControl].into()
    );
    assert!(
        second
            .not_auditable_lines()
            .iter()
            .any(|n| n.starts_with("messaging: ") && n.contains("`count`")),
        "{:?}",
        second.not_auditable_lines()
    );
}

#[tokio::test]
async fn a_messaging_report_lagging_four_hours_is_not_alerted_and_turns_clean_once_it_catches_up() {
    let w = World::new();
    // 03:00 on 2026-11-23: 2026-11-22 is settled for a type with the default two hours,
    // not for messaging (four).
    w.clock.set(ago(9));
    w.add(messages(&[16, 13]));
    w.telnyx
        .lag_usage_report(RecordType::Messaging, Some(ago(9) - Duration::hours(4)));
    let lagging = w.run(1).await;
    let day = |audits: Vec<crate::ports::AuditDay>| {
        audits
            .into_iter()
            .find(|d| d.record_type == RecordType::Messaging && d.day.to_string() == "2026-11-22")
            .unwrap()
    };
    let first = day(w.audits().await);
    assert_eq!((first.telnyx.count, first.stored.count), (1, 2));
    assert!(!first.settled && !first.is_finding(), "{first:?}");
    assert!(lagging.log.iter().any(|e| e.code == LogCode::AuditPending));
    assert!(!lagging.log.iter().any(|e| e.code == LogCode::AuditMismatch));
    assert_eq!(lagging.audit_totals().findings, 0);
    // Two hours later the report still lags four hours: it has caught up with that day.
    w.clock.advance(Duration::hours(2));
    w.telnyx
        .lag_usage_report(RecordType::Messaging, Some(ago(7) - Duration::hours(4)));
    let caught_up = w.run(2).await;
    assert_eq!(day(w.audits().await).verdict, AuditVerdict::Clean);
    assert_eq!(caught_up.audit_totals().findings, 0);
    assert_eq!(audit_alerts(&w), 0);
}

#[tokio::test]
async fn a_walk_finding_records_the_report_said_were_not_there_stops_the_report_deciding_skips() {
    let w = World::new();
    let confirmed = crate::ports::ConfirmedCount {
        product: "messaging".into(),
        metric: "count".into(),
        record_type: RecordType::Messaging,
        account: "another".into(),
        day: ago(48).date_naive(),
        records: 3,
        confirmed_at: ago(24),
    };
    w.store.confirm_count(&confirmed).await.unwrap();
    w.add(messages(&[20, 30]));
    // The report counts none of them.
    w.telnyx
        .lag_usage_report(RecordType::Messaging, Some(ago(100)));
    let first = w.run(1).await;
    assert_eq!(
        w.store.data().records.len(),
        2,
        "walked on its first window"
    );
    let finding = first
        .log
        .iter()
        .find(|e| e.code == LogCode::UsageReportDisagrees)
        .expect("the disagreement is a finding");
    assert!(
        finding.message.starts_with("messaging: "),
        "{}",
        finding.message
    );
    assert_eq!(first.usage_report_disagreements, 1);
    assert_eq!(w.store.distrusts(&ACCOUNT.into()).await.unwrap().len(), 1);
    // An hour later the report still says none: the type is walked anyway, and the
    // disagreement is not reported twice.
    w.clock.advance(Duration::hours(1));
    let second = w.run(2).await;
    assert!(!second.skipped_types.contains(&RecordType::Messaging));
    assert!(
        !second
            .log
            .iter()
            .any(|e| e.code == LogCode::UsageReportDisagrees)
    );
    // The report catches up: the audit is clean, the report is trusted again and
    // decides the next skip.
    w.telnyx.lag_usage_report(RecordType::Messaging, None);
    w.clock.advance(Duration::hours(1));
    w.run(3).await;
    assert!(w.store.distrusts(&ACCOUNT.into()).await.unwrap().is_empty());
    w.clock.advance(Duration::hours(1));
    let fourth = w.run(4).await;
    assert!(
        fourth.skipped_types.contains(&RecordType::Messaging),
        "{:?}",
        fourth.skipped_types
    );
}

#[tokio::test]
async fn stored_records_above_telnyxs_count_are_a_finding_at_once_and_never_deleted() {
    let w = World::new();
    w.add(calls("c", &[20, 30]));
    w.telnyx
        .undercount_usage(RecordType::SipTrunking, ago(20).date_naive());
    let summary = w.run(1).await;
    let day = w.mismatch().await;
    assert_eq!((day.telnyx.count, day.stored.count), (1, 2));
    assert!(
        day.rewalk.is_none(),
        "more stored than Telnyx counts: nothing to re-walk"
    );
    assert!(day.is_finding());
    assert_eq!(summary.audit_totals().findings, 1);
    assert_eq!(w.store.data().records.len(), 2, "never healed by deleting");
}

#[tokio::test]
async fn the_heal_rewalks_a_bounded_number_of_days_per_run_and_the_rest_on_the_next() {
    let mut w = World::new();
    w.settings.initial_lookback = Some(Duration::days(8));
    // Five settled days each short of one record no walk is ever served.
    for d in 1..=5 {
        w.telnyx.add_unserved(
            &ACCOUNT.into(),
            record(RecordType::SipTrunking, &format!("lost-{d}"))
                .connection("conn-1")
                .at(ago(24 * d + 1))
                .build(),
        );
    }
    let first = w.run(1).await;
    let rewalked =
        |audits: &[crate::ports::AuditDay]| audits.iter().filter(|d| d.rewalk.is_some()).count();
    assert_eq!(rewalked(&w.audits().await), audit_heal_bound());
    assert_eq!(first.audit_totals().findings, audit_heal_bound() as u64);
    w.clock.advance(Duration::minutes(15));
    let second = w.run(2).await;
    assert_eq!(rewalked(&w.audits().await), 5);
    assert_eq!(second.audit_totals().findings, 5);
}

fn audit_heal_bound() -> usize {
    super::audit::HEAL_DAYS_PER_RUN
}

#[tokio::test]
async fn the_audit_asks_telnyx_only_for_types_the_schedulers_report_shows_usage_of() {
    let w = World::new();
    w.add(calls("c", &[20, 30]));
    w.run(1).await;
    w.clock.advance(Duration::hours(1));
    let hint = crate::invocation::UsageHint {
        window: crate::ports::TimeWindow {
            from: ago(24 * 5),
            to: ago(-1),
        },
        shown: RecordType::ALL.to_vec(),
        checked: Vec::new(),
        with_usage: vec![RecordType::SipTrunking],
    };
    let request = SyncRequest {
        usage: Some(hint),
        ..SyncRequest::for_account(ACCOUNT)
    };
    let before = w.telnyx.calls().len();
    let summary = sync_account(
        &w.ports(),
        &w.settings,
        &request,
        RunContext::new(RunId::new("hinted")),
    )
    .await
    .unwrap();
    let asked: Vec<String> = w.telnyx.calls()[before..]
        .iter()
        .filter(|c| c.starts_with("usage_report"))
        .cloned()
        .collect();
    assert_eq!(asked, vec!["usage_report sip-trunking".to_owned()]);
    assert!(summary.audit_totals().clean > 0);
    assert_eq!(summary.audit_totals().mismatched, 0, "{:?}", summary.log);
}
