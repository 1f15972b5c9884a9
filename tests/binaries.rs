//! The function binaries as Lambda runs them: started under a local Runtime API
//! (`lambda-local`) with their environment, `main.rs`, `Config::from_env` and the
//! runtime loop included. A good event, a malformed one, a missing variable; the one
//! summary line and the EMF metric lines they print.

#![allow(clippy::expect_used)]

use integration_tests::e2e::*;
use lambda_local::{Function, FunctionError, InvokeError, function::binary};
use serde_json::{Value, json};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(120);

/// The environment `template.yaml` gives both functions, on the harness's resources.
fn env(h: &Harness) -> Vec<(String, String)> {
    h.function_env()
}

/// The EMF lines a function printed (JSON objects with `_aws`), each checked against
/// the rules CloudWatch applies: namespace and timestamp, every declared metric a number
/// at the root, every dimension a string at the root.
fn metric_lines(f: &Function) -> Vec<Value> {
    let lines: Vec<Value> = f
        .lines()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    for line in &lines {
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "TelnyxBillingSync", "{line}");
        assert!(line["_aws"]["Timestamp"].is_i64(), "{line}");
        let metrics = directive["Metrics"].as_array().expect("Metrics");
        assert!(!metrics.is_empty(), "{line}");
        for m in metrics {
            let name = m["Name"].as_str().expect("a metric name");
            assert!(line[name].is_number(), "{name} is not a number in {line}");
        }
        for set in directive["Dimensions"].as_array().expect("Dimensions") {
            for d in set.as_array().expect("a dimension set") {
                let d = d.as_str().expect("a dimension name");
                assert!(line[d].is_string(), "dimension {d} missing in {line}");
            }
        }
    }
    lines
}

fn count_lines(f: &Function, message: &str) -> usize {
    f.lines()
        .iter()
        .filter(|l| l.contains(&format!("\"message\":\"{message}\"")))
        .count()
}

#[tokio::test]
async fn each_binary_refuses_to_start_without_a_variable_and_names_it() {
    let h = Harness::start(Names::isolated(), Default::default()).await;
    for name in ["account-sync", "scheduler"] {
        let env: Vec<_> = env(&h)
            .into_iter()
            .filter(|(k, _)| k != "TABLE_NAME")
            .collect();
        match Function::start(&binary(name), &env).await {
            Err(FunctionError::InitFailed { output, .. }) => {
                assert!(output.contains("TABLE_NAME"), "{name}: {output}")
            }
            Err(other) => panic!("{name}: {other}"),
            Ok(_) => panic!("{name} started without TABLE_NAME"),
        }
    }
}

#[tokio::test]
async fn account_sync_imports_on_a_good_invoke_prints_one_summary_and_its_metrics_and_names_a_bad_field()
 {
    let h = Harness::start(Names::isolated(), Default::default()).await;
    h.onboard_sample_reseller().await;
    let mut f = Function::start(&binary("account-sync"), &env(&h))
        .await
        .expect("account-sync starts");

    let answer = f
        .invoke(json!({"managed_account_id": ACME}), TIMEOUT)
        .await
        .expect("a good invoke answers");
    let expected = sample_record_count(ACME) as u64;
    assert_eq!(answer["records"]["written"], json!(expected), "{answer}");
    assert_eq!(count_lines(&f, "sync run finished"), 1, "one summary line");
    let metrics = metric_lines(&f);
    let run = metrics
        .iter()
        .find(|m| m.get("RecordsImported").is_some())
        .expect("the run's metric line");
    assert_eq!(run["RecordsImported"], json!(expected as f64));
    assert_eq!(run["AccountId"], ACME);
    assert_eq!(run["Outcome"], "complete");
    assert_eq!(
        run["CustomersCreated"],
        json!(2.0),
        "Acme's two billing groups"
    );
    // 10 from connections and numbers, plus tts and stt on the connections of the calls
    // their sessions name (linked through the call, not by a connection of their own).
    assert_eq!(run["ServicesCreated"], json!(12.0), "{run}");
    assert_eq!(run["TwinsCreated"], json!(12.0), "one twin per service");
    assert_eq!(run["RecordsLinkedBySession"], json!(3.0), "{run}");
    assert_eq!(
        run["AttributionRate"],
        json!(57.9),
        "22 of 38 records attributed"
    );
    let read: f64 = metrics
        .iter()
        .filter(|m| m.get("RecordType").is_some())
        .filter_map(|m| m["RecordsRead"].as_f64())
        .sum();
    assert_eq!(read, expected as f64, "a first run reads each record once");

    let refused = f
        .invoke(json!({"managed_account_id": ACME, "dryrun": true}), TIMEOUT)
        .await;
    match refused {
        Err(InvokeError::Function { error_message, .. }) => {
            assert!(error_message.contains("dryrun"), "{error_message}")
        }
        other => panic!("a misspelt field was accepted: {other:?}"),
    }
    assert_eq!(
        h.stored_records(ACME).await,
        expected as usize,
        "nothing more written"
    );
    f.stop().await;
}

#[tokio::test]
async fn the_scheduler_binary_fans_out_and_counts_its_tick() {
    let h = Harness::start(Names::isolated(), Default::default()).await;
    h.onboard_sample_reseller().await;
    let mut f = Function::start(&binary("scheduler"), &env(&h))
        .await
        .expect("scheduler starts");
    let report = f
        .invoke(json!({}), TIMEOUT)
        .await
        .expect("the tick answers");
    assert_eq!(
        report["dispatched"].as_array().map(Vec::len),
        Some(2),
        "{report}"
    );
    assert_eq!(count_lines(&f, "schedule run finished"), 1);
    let tick = metric_lines(&f).pop().expect("the tick's metric line");
    assert_eq!(tick["Function"], "scheduler");
    assert_eq!(tick["AccountsDispatched"], json!(2.0));
    assert_eq!(tick["AccountsUnknown"], json!(1.0));
    f.stop().await;
}

/// The sample scenario with Acme also generating `per_type` records of each of the 21
/// types over the sample's first three days.
fn acme_generating(per_type: u64, seed: u64) -> telnyx_sim::Scenario {
    let mut scenario =
        telnyx_sim::Scenario::from_file(sample_scenario_path()).expect("sample scenario");
    for account in scenario.accounts.iter_mut().filter(|a| a.id == ACME) {
        account.generate = Some(telnyx_sim::scenario::GenerateSpec {
            count: per_type * telnyx_sim::RecordType::ALL.len() as u64,
            record_types: telnyx_sim::RecordType::ALL.to_vec(),
            from: sample_records_start(),
            to: sample_records_start() + chrono::Duration::days(3),
            seed,
        });
    }
    scenario
}

/// The SQS hop and continuations on the real binary: a busy account (Acme with 2,310
/// more records: at least 63 pages of 50, Telnyx's rate limit at 30 detail-record
/// requests a UTC minute, so at most 60 in an invocation that spans a minute's end)
/// cannot finish in one 15-second invocation; each invocation stops at its deadline,
/// queues its continuation, and the event source delivers it, deletes what was
/// acknowledged, until the account is done: every record stored once.
#[tokio::test]
async fn a_busy_account_continues_through_the_queue_until_every_record_is_stored_once() {
    use lambda_local::SqsEventSource;
    use reconciliation::ports::{RunLogStore, RunOutcome};
    let per_type = 110;
    let scenario = acme_generating(per_type, 5);
    let h = Harness::start_with(
        Names::isolated(),
        scenario,
        telnyx_sim::SimOptions {
            rate_limit_per_minute: Some(30),
        },
    )
    .await;
    h.onboard_sample_reseller().await;
    let mut env = env(&h);
    env.extend(
        [
            ("DEADLINE_MARGIN_SECONDS", "5"),
            ("CONTINUATION_DELAY_SECONDS", "1"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let mut f = Function::start(&binary("account-sync"), &env)
        .await
        .expect("account-sync starts");
    h.tick().await.expect("the tick queues Acme and Beta");
    let source = SqsEventSource::new(
        aws_sdk_sqs::Client::new(&h.stack.sdk),
        h.queue_url.clone(),
        Duration::from_secs(15),
    );
    let deliveries = source
        .drain(&mut f, Duration::from_secs(5))
        .await
        .expect("the queue is read");
    let acme: Vec<Value> = deliveries
        .iter()
        .map(|d| serde_json::from_str::<Value>(&d.body).expect("a JSON body"))
        .filter(|b| b["managed_account_id"] == ACME)
        .collect();
    assert!(acme.len() >= 2, "Acme needed continuations: {acme:?}");
    assert!(
        acme.iter().any(|b| b["continuation"].as_u64() >= Some(1)),
        "{acme:?}"
    );
    assert!(
        deliveries.iter().all(|d| d.deleted),
        "every invocation was acknowledged"
    );
    let expected = sample_record_count(ACME) + (per_type as usize) * 21;
    assert_eq!(h.stored_records(ACME).await, expected);
    assert_eq!(h.stored_records(BETA).await, sample_record_count(BETA));
    let logs = h.store.run_logs(&ACME.into(), 20).await.expect("run logs");
    assert!(
        logs.iter().any(|l| matches!(
            l.outcome,
            RunOutcome::Partial {
                continued: true,
                ..
            }
        )),
        "{:?}",
        logs.iter().map(|l| &l.outcome).collect::<Vec<_>>()
    );
    assert_eq!(
        logs[0].outcome,
        RunOutcome::Complete,
        "the last run finished"
    );
    let written: u64 = logs
        .iter()
        .filter_map(|l| l.counts.get("records_written"))
        .sum();
    assert_eq!(written as usize, expected, "each record written once");
    f.stop().await;
}

/// The acceptance of "usage truth" on the real binaries: the simulator's live-like usage
/// report (products named as Telnyx names them, `count` missing where the live API lacks
/// it, binary-double sums), Acme with records of all 21 types. One tick and the queue:
/// every record stored once, no finding, no audit email, every auditable type proven
/// clean, every other type named with its reason.
#[tokio::test]
async fn a_clean_import_of_all_21_types_on_the_live_like_report_has_no_finding_and_no_alert() {
    use lambda_local::SqsEventSource;
    use reconciliation::domain::RecordType;
    use reconciliation::plan::{LogCode, Severity};
    use reconciliation::ports::{AuditVerdict, BillingStore, RunLogStore};
    let per_type = 10;
    let scenario = acme_generating(per_type, 9);
    let h = Harness::start_with(
        Names::isolated(),
        scenario,
        telnyx_sim::SimOptions {
            rate_limit_per_minute: None,
        },
    )
    .await;
    h.onboard_sample_reseller().await;
    let mut scheduler = Function::start(&binary("scheduler"), &env(&h))
        .await
        .expect("scheduler starts");
    scheduler.invoke(json!({}), TIMEOUT).await.expect("a tick");
    scheduler.stop().await;
    let mut sync = Function::start(&binary("account-sync"), &env(&h))
        .await
        .expect("account-sync starts");
    let source = SqsEventSource::new(
        aws_sdk_sqs::Client::new(&h.stack.sdk),
        h.queue_url.clone(),
        Duration::from_secs(60),
    );
    source
        .drain(&mut sync, Duration::from_secs(5))
        .await
        .expect("the queue is read");
    sync.stop().await;

    let expected = sample_record_count(ACME) + (per_type as usize) * 21;
    assert_eq!(h.stored_records(ACME).await, expected, "every record once");
    let log = &h.store.run_logs(&ACME.into(), 1).await.expect("run logs")[0];
    let warnings: Vec<_> = log
        .entries
        .iter()
        .filter(|e| {
            e.severity != Severity::Info
                && [
                    LogCode::AuditMismatch,
                    LogCode::UsageReportDisagrees,
                    LogCode::RecordTypeSilent,
                    LogCode::TimeFieldDiscovered,
                ]
                .contains(&e.code)
        })
        .collect();
    assert!(warnings.is_empty(), "no finding: {warnings:?}");
    assert_eq!(log.counts.get("audit_findings"), Some(&0));
    assert_eq!(log.counts.get("records_written"), Some(&(expected as u64)));
    let audit_mails = h
        .emails_to(&h.names.alert_to)
        .await
        .iter()
        .filter(|m| m["subject"].as_str().unwrap_or_default().contains("audit"))
        .count();
    assert_eq!(audit_mails, 0, "no audit email on a clean import");

    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).expect("a day");
    let verdicts = h
        .store
        .audit_days(&ACME.into(), day(1), day(30))
        .await
        .expect("verdicts");
    let not_auditable = [
        RecordType::ConferenceParticipant,
        RecordType::SiprecClient,
        RecordType::Wireless,
        RecordType::Embedding,
        RecordType::InferenceSpeechToText,
    ];
    for &t in RecordType::ALL {
        let mine: Vec<_> = verdicts.iter().filter(|d| d.record_type == t).collect();
        if not_auditable.contains(&t) {
            assert!(mine.is_empty(), "{t} is never called clean: {mine:?}");
            let named = log
                .entries
                .iter()
                .find(|e| e.code == LogCode::AuditNotAuditable)
                .expect("the types not auditable are named");
            assert!(
                named.message.contains(&format!("{t} (")),
                "{t}: {}",
                named.message
            );
        } else {
            assert!(
                mine.iter().any(|d| d.stored.count > 0)
                    && mine.iter().all(|d| d.verdict == AuditVerdict::Clean),
                "{t}: {mine:?}"
            );
        }
    }
}
