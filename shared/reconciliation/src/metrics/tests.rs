//! The EMF lines: valid for CloudWatch, and saying what the run did.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::domain::RunId;
use crate::fixtures::fixed_now;
use crate::plan::LogCode;
use crate::ports::{ApplyReport, RecordWriteReport};
use crate::{KeyRefusal, PortError, Transience};

fn summary() -> RunSummary {
    let mut s = RunSummary::skipped(&"acc-1".into(), &RunId::new("run-1"), &RunId::new("x"));
    s.outcome = RunOutcome::Partial {
        remaining: vec!["sip-trunking ...".into()],
        continued: true,
    };
    s.fetched = BTreeMap::from([
        (crate::domain::RecordType::SipTrunking, 3),
        (crate::domain::RecordType::Messaging, 1),
    ]);
    s.records = RecordWriteReport {
        written: 4,
        duplicates: 2,
        raw_trimmed: 0,
    };
    s.tally = crate::plan::RecordTally {
        connection: 2,
        session: 1,
        unmatched: 1,
        ..Default::default()
    };
    s.records_relinked = 2;
    s.audit = Some(crate::billing::audit::AuditTotals {
        days: 7,
        clean: 5,
        mismatched: 2,
        findings: 1,
        healed: 3,
    });
    s.not_auditable = ["wireless", "embedding"]
        .map(|t| crate::usage::NotAuditable {
            record_type: t.parse().unwrap(),
            reason: "no count".into(),
        })
        .to_vec();
    s.usage_report_disagreements = 1;
    s.applied = ApplyReport {
        created: 5,
        already_existed: 0,
        updated: 0,
        notifications_queued: 1,
        customers_created: 2,
        services_created: 2,
        twins_created: 1,
    };
    s.log = vec![
        LogEntry::new(LogCode::UnmatchedDetailRecords, "one".into()),
        LogEntry::new(LogCode::NoBillingGroup, "two".into()),
        LogEntry::new(LogCode::NoBillingGroup, "three".into()),
        LogEntry::new(LogCode::ServiceReactivated, "info only".into()),
    ];
    s
}

/// Checks the EMF rules CloudWatch applies: every declared metric is a number at the
/// root, every dimension of every set a string at the root.
fn assert_valid_emf(line: &Value) {
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], NAMESPACE);
    assert!(line["_aws"]["Timestamp"].is_i64());
    for m in directive["Metrics"].as_array().unwrap() {
        let name = m["Name"].as_str().unwrap();
        assert!(line[name].is_number(), "{name} is not a number in {line}");
    }
    for set in directive["Dimensions"].as_array().unwrap() {
        for d in set.as_array().unwrap() {
            let d = d.as_str().unwrap();
            assert!(line[d].is_string(), "dimension {d} missing in {line}");
            assert_ne!(d, "AccountId", "the account is never a dimension");
        }
    }
}

#[test]
fn a_runs_line_is_valid_emf_and_carries_its_figures() {
    let telnyx = RequestCounts {
        requests: 9,
        throttled: 1,
    };
    let lines = sync_run(&summary(), 1_234, telnyx);
    let run = lines[0].to_json(fixed_now());
    assert_valid_emf(&run);
    assert_eq!(run["Outcome"], "partial");
    assert_eq!(run["AccountId"], "acc-1");
    assert_eq!(run["RunId"], "run-1");
    assert_eq!(run["RecordsImported"], 4.0);
    assert_eq!(run["RecordsDuplicate"], 2.0);
    assert_eq!(run["AttributionRate"], 75.0);
    assert_eq!(run["RecordsLinkedBySession"], 1.0);
    assert_eq!(run["RecordsRelinked"], 2.0);
    assert_eq!(run["AuditDaysClean"], 5.0);
    assert_eq!(run["AuditDaysMismatched"], 2.0);
    assert_eq!(run["AuditMismatchesSettled"], 1.0);
    assert_eq!(run["AuditDaysHealed"], 3.0);
    assert_eq!(run["AuditTypesNotAuditable"], 2.0);
    assert_eq!(run["UsageReportDisagreements"], 1.0);
    assert_eq!(run["EntitiesCreated"], 5.0);
    assert_eq!(run["CustomersCreated"], 2.0);
    assert_eq!(run["ServicesCreated"], 2.0);
    assert_eq!(run["TwinsCreated"], 1.0);
    assert_eq!(run["Warnings"], 1.0);
    assert_eq!(run["Errors"], 2.0);
    assert_eq!(run["TelnyxRequests"], 9.0);
    assert_eq!(run["TelnyxThrottled"], 1.0);
    assert_eq!(run["DurationMs"], 1234.0);
    assert_eq!(
        run["_aws"]["Timestamp"].as_i64(),
        Some(fixed_now().timestamp_millis())
    );
}

#[test]
fn warnings_and_errors_are_counted_by_code_and_info_entries_are_not() {
    let lines = sync_run(&summary(), 0, RequestCounts::default());
    let by_code: BTreeMap<String, f64> = lines[1..]
        .iter()
        .map(|l| l.to_json(fixed_now()))
        .inspect(assert_valid_emf)
        .filter(|j| j.get("Code").is_some())
        .map(|j| {
            (
                j["Code"].as_str().unwrap().to_owned(),
                j["ImportLogEntries"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_code,
        BTreeMap::from([
            ("NO_BILLING_GROUP".to_owned(), 2.0),
            ("UNMATCHED_DETAIL_RECORDS".to_owned(), 1.0)
        ])
    );
}

#[test]
fn records_read_are_counted_per_record_type() {
    let lines = sync_run(&summary(), 0, RequestCounts::default());
    let by_type: BTreeMap<String, f64> = lines
        .iter()
        .map(|l| l.to_json(fixed_now()))
        .filter(|j| j.get("RecordType").is_some())
        .inspect(assert_valid_emf)
        .map(|j| {
            (
                j["RecordType"].as_str().unwrap().to_owned(),
                j["RecordsRead"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_type,
        BTreeMap::from([
            ("messaging".to_owned(), 1.0),
            ("sip-trunking".to_owned(), 3.0)
        ])
    );
}

#[test]
fn a_run_without_records_is_fully_attributed() {
    let empty = RunSummary::skipped(&"a".into(), &RunId::new("r"), &RunId::new("x"));
    assert_eq!(attribution_rate(&empty), 100.0);
    let run = sync_run(&empty, 0, RequestCounts::default())[0].to_json(fixed_now());
    assert_eq!(run["Outcome"], "skipped");
}

fn telnyx_error(source: PortError) -> SyncError {
    SyncError::Telnyx {
        account: "acc-1".into(),
        what: "billing groups".into(),
        source,
    }
}

#[test]
fn a_refused_key_fails_the_run_and_counts_as_a_key_problem() {
    let refused = telnyx_error(
        PortError::message("unauthorized (401)", Transience::Permanent)
            .with_key_refusal(KeyRefusal::Unauthorized),
    );
    let account = "acc-1".into();
    let line = sync_failure(&account, "run-1", &refused, 10, RequestCounts::default())
        .to_json(fixed_now());
    assert_valid_emf(&line);
    assert_eq!(line["Outcome"], "failed");
    assert_eq!(line["KeyProblems"], 1.0);
    let throttled = telnyx_error(PortError::message("429", Transience::Transient));
    let line = sync_failure(&account, "run-1", &throttled, 10, RequestCounts::default())
        .to_json(fixed_now());
    assert_eq!(line["KeyProblems"], 0.0);
}

#[test]
fn the_schedulers_tick_counts_accounts_and_a_failed_tick_says_so() {
    let report = ScheduleReport {
        accounts_listed: 3,
        dispatched: vec!["a".into(), "b".into()],
        unknown: vec!["c".into()],
        alerted: vec!["c".into()],
        offboarded: vec!["d".into()],
        onboarded_not_listed: vec!["e".into(), "f".into()],
        emails: crate::outbox::FlushReport {
            failed: 2,
            ..Default::default()
        },
        ..ScheduleReport::default()
    };
    let tick = schedule_tick(Some(&report), false, 50).to_json(fixed_now());
    assert_valid_emf(&tick);
    assert_eq!(tick["Outcome"], "complete");
    assert_eq!(tick["AccountsListed"], 3.0);
    assert_eq!(tick["AccountsDispatched"], 2.0);
    assert_eq!(tick["AccountsUnknown"], 1.0);
    assert_eq!(tick["AccountsAlerted"], 1.0);
    assert_eq!(tick["AccountsOffboarded"], 1.0);
    assert_eq!(tick["AccountsNotListed"], 2.0);
    assert_eq!(
        tick["EmailsFailed"], 2.0,
        "the alarm on unsendable emails reads it"
    );
    let failed = schedule_tick(None, true, 5).to_json(fixed_now());
    assert_valid_emf(&failed);
    assert_eq!(failed["Outcome"], "failed");
    assert_eq!(failed["KeyProblems"], 1.0);
}
