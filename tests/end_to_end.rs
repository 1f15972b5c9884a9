//! End to end on the local stack: scheduler → SQS → account-sync, through both
//! functions' real wiring, the real aws-sdk clients (DynamoDB Local, moto) and the
//! Telnyx simulator serving the sample reseller.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use account_sync::handler::Response;
use integration_tests::e2e::*;
use reconciliation::domain::ManagedAccountId;
use reconciliation::ports::StreamStore;
use serde_json::json;
use telnyx_sim::{Fault, FaultRule, SimOptions};

fn no_rate_limit() -> SimOptions {
    SimOptions {
        rate_limit_per_minute: None,
    }
}

fn batch_failures(response: &Response) -> usize {
    match response {
        Response::Batch(b) => b.batch_item_failures.len(),
        Response::Run(_) => panic!("expected a batch response"),
    }
}

#[tokio::test]
async fn a_scheduled_run_imports_every_record_once_mails_new_customers_and_a_second_run_changes_nothing()
 {
    let h = Harness::start(Names::isolated(), no_rate_limit()).await;
    h.onboard_sample_reseller().await;

    let report = h.tick().await.expect("scheduler tick");
    assert_eq!(report.accounts_listed, 3, "cancelled Delta is not listed");
    let mut dispatched = report.dispatched.clone();
    dispatched.sort();
    let mut onboarded = vec![ManagedAccountId::new(ACME), ManagedAccountId::new(BETA)];
    onboarded.sort();
    assert_eq!(dispatched, onboarded);
    assert_eq!(report.unknown, vec![ManagedAccountId::new(GAMMA)]);

    let runs = h.deliver_queue().await;
    assert_eq!(runs.len(), 2, "one invocation per onboarded account");
    assert!(
        runs.iter().all(|(_, r)| batch_failures(r) == 0),
        "no run failed"
    );

    assert_eq!(h.stored_records(ACME).await, sample_record_count(ACME));
    assert_eq!(h.stored_records(BETA).await, sample_record_count(BETA));
    assert_eq!(
        h.stored_records(GAMMA).await,
        0,
        "an unknown account's CDR is not imported"
    );

    let alert = h.emails_to(&h.names.alert_to).await;
    assert_eq!(alert.len(), 1, "one unknown-account alert: {alert:?}");
    assert!(
        alert[0]["subject"]
            .as_str()
            .unwrap_or_default()
            .contains("Gamma New Co"),
        "{}",
        alert[0]
    );
    let acme_mails = h.emails_to(&h.names.acme_billing).await;
    let subjects: Vec<&str> = acme_mails
        .iter()
        .filter_map(|m| m["subject"].as_str())
        .collect();
    assert_eq!(
        acme_mails.len(),
        2,
        "one email per Acme billing group customer: {subjects:?}"
    );
    assert!(
        subjects.iter().any(|s| s.contains("Acme Retail Customers")),
        "{subjects:?}"
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("Acme Wholesale Customers")),
        "{subjects:?}"
    );
    let beta_mails = h.emails_to(&h.names.operator_billing).await;
    assert_eq!(
        beta_mails.len(),
        1,
        "Beta (direct) gets its one customer in the operator department"
    );

    // A second schedule: no new alert (3-day throttle), no new record, no new email.
    let again = h.tick().await.expect("second tick");
    assert!(again.alerted.is_empty());
    let runs = h.deliver_queue().await;
    assert_eq!(runs.len(), 2);
    assert_eq!(h.stored_records(ACME).await, sample_record_count(ACME));
    assert_eq!(h.emails_to(&h.names.acme_billing).await.len(), 2);
    assert_eq!(h.emails_to(&h.names.alert_to).await.len(), 1);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn a_manual_dry_run_returns_the_plan_and_writes_nothing() {
    let h = Harness::start(Names::isolated(), no_rate_limit()).await;
    h.onboard_sample_reseller().await;
    let response = account_sync::handler::handle(
        lambda_runtime::LambdaEvent::new(
            json!({"managed_account_id": ACME, "dry_run": true}),
            Default::default(),
        ),
        &h.ports,
        &h.account_sync,
    )
    .await
    .expect("dry run");
    let Response::Run(summary) = response else {
        panic!("expected a run summary")
    };
    assert!(
        summary.plan.contains("Acme Retail Customers"),
        "{}",
        summary.plan
    );
    assert_eq!(h.stored_records(ACME).await, 0);
    assert!(h.emails_to(&h.names.acme_billing).await.is_empty());
}

#[tokio::test]
async fn a_key_revoked_in_telnyx_fails_the_run_writes_no_records_and_alerts_once() {
    let h = Harness::start(Names::isolated(), no_rate_limit()).await;
    h.onboard_sample_reseller().await;
    h.sim.control().revoke_key(ACME_KEY);
    h.tick().await.expect("tick");
    let runs = h.deliver_queue().await;
    assert_eq!(runs.len(), 2);
    assert!(
        runs.iter().all(|(_, r)| batch_failures(r) == 0),
        "a revoked key is permanent: not redelivered"
    );
    assert_eq!(h.stored_records(ACME).await, 0, "no partial state");
    assert_eq!(
        h.stored_records(BETA).await,
        sample_record_count(BETA),
        "other accounts are unaffected"
    );
    let alerts = h.emails_to(&h.names.alert_to).await;
    let key_alerts: Vec<_> = alerts
        .iter()
        .filter(|m| m["body"].as_str().unwrap_or_default().contains(ACME))
        .collect();
    assert_eq!(
        key_alerts.len(),
        1,
        "one key-problem alert for Acme: {alerts:?}"
    );
    let everything = serde_json::to_string(&alerts).unwrap_or_default();
    assert!(
        !everything.contains(ACME_KEY),
        "the key never reaches an email"
    );
}

#[tokio::test]
async fn a_malformed_telnyx_page_fails_the_run_and_leaves_no_partial_state() {
    let h = Harness::start(Names::isolated(), no_rate_limit()).await;
    h.onboard_sample_reseller().await;
    h.sim.control().add_fault(FaultRule {
        path_prefix: "/v2/detail_records".into(),
        times: 100,
        fault: Fault::MalformedJson,
    });
    let err = account_sync::handler::handle(
        lambda_runtime::LambdaEvent::new(json!({"managed_account_id": ACME}), Default::default()),
        &h.ports,
        &h.account_sync,
    )
    .await
    .expect_err("the run fails");
    assert!(
        err.error_message.contains("detail_records"),
        "names the endpoint: {}",
        err.error_message
    );
    assert_eq!(h.stored_records(ACME).await, 0);
    assert!(
        h.emails_to(&h.names.acme_billing).await.is_empty(),
        "no customer was created, so no email"
    );
}

#[tokio::test]
async fn telnyx_server_errors_are_retried_and_the_run_completes() {
    let h = Harness::start(Names::isolated(), no_rate_limit()).await;
    h.onboard_sample_reseller().await;
    h.sim.control().add_fault(FaultRule {
        path_prefix: "/v2/billing_groups".into(),
        times: 1,
        fault: Fault::Status(503),
    });
    h.sim.control().add_fault(FaultRule {
        path_prefix: "/v2/detail_records".into(),
        times: 2,
        fault: Fault::Status(500),
    });
    let response = account_sync::handler::handle(
        lambda_runtime::LambdaEvent::new(json!({"managed_account_id": BETA}), Default::default()),
        &h.ports,
        &h.account_sync,
    )
    .await
    .expect("the run succeeds after retries");
    assert!(matches!(response, Response::Run(_)));
    assert_eq!(h.stored_records(BETA).await, sample_record_count(BETA));
    assert_eq!(
        h.sim.control().count_status(503) + h.sim.control().count_status(500),
        3
    );
}

#[tokio::test]
async fn a_missing_account_secret_is_named_and_changes_nothing() {
    let h = Harness::start(Names::isolated(), no_rate_limit()).await;
    h.onboard_sample_reseller().await;
    let sm = aws_sdk_secretsmanager::Client::new(&h.stack.sdk);
    let name = aws_adapters::secrets::account_secret_name(&h.names.secret_prefix, &BETA.into());
    sm.delete_secret()
        .secret_id(&name)
        .force_delete_without_recovery(true)
        .send()
        .await
        .expect("delete secret");
    let err = account_sync::handler::handle(
        lambda_runtime::LambdaEvent::new(json!({"managed_account_id": BETA}), Default::default()),
        &h.ports,
        &h.account_sync,
    )
    .await
    .expect_err("fails");
    assert_eq!(err.error_type, "PermanentError");
    assert!(
        err.error_message.contains(BETA),
        "names the account: {}",
        err.error_message
    );
    assert_eq!(h.stored_records(BETA).await, 0);
}

async fn manual_sync(h: &Harness, account: &str) -> Result<Response, lambda_runtime::Diagnostic> {
    account_sync::handler::handle(
        lambda_runtime::LambdaEvent::new(
            json!({"managed_account_id": account}),
            Default::default(),
        ),
        &h.ports,
        &h.account_sync,
    )
    .await
}

#[tokio::test]
async fn a_rejected_request_fails_the_run_without_a_key_problem_alert() {
    let h = Harness::start(Names::isolated(), no_rate_limit()).await;
    h.onboard_sample_reseller().await;
    h.sim.control().add_fault(FaultRule {
        path_prefix: "/v2/phone_numbers".into(),
        times: 100,
        fault: Fault::Status(422),
    });
    let err = manual_sync(&h, ACME).await.expect_err("the run fails");
    assert_eq!(err.error_type, "PermanentError");
    assert!(
        err.error_message.contains("phone_numbers"),
        "{}",
        err.error_message
    );
    assert!(
        h.emails_to(&h.names.alert_to).await.is_empty(),
        "a rejected request is not the key's fault"
    );
    assert_eq!(h.stored_records(ACME).await, 0);
}

#[tokio::test]
async fn a_key_lacking_a_permission_is_alerted_naming_the_endpoint() {
    let h = Harness::start(Names::isolated(), no_rate_limit()).await;
    h.onboard_sample_reseller().await;
    h.sim.control().add_fault(FaultRule {
        path_prefix: "/v2/phone_numbers".into(),
        times: 100,
        fault: Fault::Status(403),
    });
    let err = manual_sync(&h, ACME).await.expect_err("the run fails");
    assert_eq!(err.error_type, "PermanentError");
    let alerts = h.emails_to(&h.names.alert_to).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let body = alerts[0]["body"].as_str().unwrap_or_default();
    assert!(
        body.contains(ACME) && body.contains("phone_numbers"),
        "names account and endpoint: {body}"
    );
    assert!(!body.contains(ACME_KEY));
}

#[tokio::test]
async fn a_type_carrying_another_time_field_is_found_imported_audited_clean_and_remembered() {
    use reconciliation::plan::LogCode;
    use reconciliation::ports::{AuditVerdict, BillingStore, RunLogStore};
    let h = Harness::start(Names::isolated(), no_rate_limit()).await;
    h.onboard_sample_reseller().await;
    h.sim.control().set_time_field("stt", "started_at").unwrap();
    h.tick().await.expect("tick");
    let runs = h.deliver_queue().await;
    assert!(runs.iter().all(|(_, r)| batch_failures(r) == 0));
    assert_eq!(
        h.stored_records(ACME).await,
        sample_record_count(ACME),
        "the stt records are imported too"
    );
    let acme = ManagedAccountId::new(ACME);
    let log = &h.store.run_logs(&acme, 1).await.unwrap()[0];
    let found = log
        .entries
        .iter()
        .find(|e| e.code == LogCode::TimeFieldDiscovered)
        .expect("the discovery is logged");
    assert!(found.message.contains("`started_at`"), "{}", found.message);
    let streams = h.store.streams(&acme).await.unwrap();
    let stt = streams
        .iter()
        .find(|s| s.record_type == reconciliation::domain::RecordType::Stt);
    assert_eq!(
        stt.and_then(|s| s.time_field.as_deref()),
        Some("started_at")
    );
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let audits = h.store.audit_days(&acme, day(1), day(30)).await.unwrap();
    let stt: Vec<_> = audits
        .iter()
        .filter(|d| d.record_type == reconciliation::domain::RecordType::Stt)
        .collect();
    assert!(!stt.is_empty());
    assert!(
        audits.iter().all(|d| d.verdict == AuditVerdict::Clean),
        "{:?}",
        audits
            .iter()
            .filter(|d| d.verdict != AuditVerdict::Clean)
            .collect::<Vec<_>>()
    );
    // The next run filters on the found field from the start: no new discovery.
    h.tick().await.expect("tick");
    h.deliver_queue().await;
    let log = &h.store.run_logs(&acme, 1).await.unwrap()[0];
    assert!(
        !log.entries
            .iter()
            .any(|e| e.code == LogCode::TimeFieldDiscovered),
        "{:?}",
        log.entries
    );
}

/// One manual run of Acme through the real handler; its summary.
async fn run_acme(h: &Harness) -> reconciliation::sync::RunSummary {
    let answer = account_sync::handler::handle(
        lambda_runtime::LambdaEvent::new(json!({"managed_account_id": ACME}), Default::default()),
        &h.ports,
        &h.account_sync,
    )
    .await
    .expect("the run answers");
    match answer {
        Response::Run(summary) => *summary,
        Response::Batch(_) => panic!("a manual invoke answers with its summary"),
    }
}

#[tokio::test]
async fn a_dropped_page_on_the_simulator_is_named_and_healed_by_a_rewalk_never_a_silence() {
    use reconciliation::plan::LogCode;
    use reconciliation::ports::{AuditVerdict, BillingStore};
    let h = Harness::start(Names::isolated(), no_rate_limit()).await;
    h.onboard_sample_reseller().await;
    // The first detail-record page Telnyx answers comes back empty (with its real
    // `meta`): Acme's sip-trunking walk, the first one, ends there.
    h.sim.control().add_fault(FaultRule {
        path_prefix: "/v2/detail_records".into(),
        times: 1,
        fault: Fault::EmptyPage,
    });
    let summary = run_acme(&h).await;
    assert!(
        summary
            .log
            .iter()
            .any(|e| e.code == LogCode::RecordTypeSilent && e.message.starts_with("sip-trunking")),
        "{:?}",
        summary.log
    );
    // The audit found the days short, re-walked them and stored what the page held.
    assert_eq!(h.stored_records(ACME).await, sample_record_count(ACME));
    let healed: Vec<_> = summary
        .log
        .iter()
        .filter(|e| e.code == LogCode::AuditHealed)
        .collect();
    assert!(
        !healed.is_empty() && healed.iter().all(|e| e.message.contains("sip-trunking")),
        "{:?}",
        summary.log
    );
    assert!(!summary.log.iter().any(|e| e.code == LogCode::AuditMismatch));
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let sip: Vec<_> = h
        .store
        .audit_days(&ACME.into(), day(1), day(30))
        .await
        .unwrap()
        .into_iter()
        .filter(|d| {
            d.record_type == reconciliation::domain::RecordType::SipTrunking && d.stored.count > 0
        })
        .collect();
    let stored: u64 = sip.iter().map(|d| d.stored.count).sum();
    assert_eq!(stored as usize, sample_records_of(ACME, "sip-trunking"));
    assert!(
        sip.iter()
            .all(|d| d.verdict == AuditVerdict::Clean && d.rewalk.is_some()),
        "{sip:?}"
    );
}

/// Two days ago at 01:00: a settled day (past every type's publication delay) whatever
/// the hour the test runs at, far behind the overlap every run re-reads.
fn two_days_ago() -> (chrono::NaiveDate, chrono::DateTime<chrono::Utc>) {
    let day = chrono::Utc::now().date_naive() - chrono::Duration::days(2);
    (day, day.and_hms_opt(1, 0, 0).unwrap().and_utc())
}

fn late_call(id: &str, at: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    json!({"id": id, "started_at": at.to_rfc3339(), "connection_id": "1684641123236054244", "attempted": 1, "billed_sec": 60, "cost": "0.0050", "currency": "USD"})
}

fn audit_emails(mails: &[serde_json::Value]) -> usize {
    mails
        .iter()
        .filter(|m| m["subject"].as_str().unwrap_or_default().contains("audit"))
        .count()
}

#[tokio::test]
async fn a_record_published_after_the_overlap_window_is_imported_by_the_heal_without_an_operator() {
    use reconciliation::plan::LogCode;
    let h = Harness::start(Names::isolated(), no_rate_limit()).await;
    h.onboard_sample_reseller().await;
    let first = run_acme(&h).await;
    assert_eq!(first.audit_totals().mismatched, 0, "{:?}", first.log);
    let (day, at) = two_days_ago();
    h.sim
        .control()
        .add_detail_record(ACME, "sip-trunking", late_call("late-past-overlap", at));
    let second = run_acme(&h).await;
    assert_eq!(
        h.stored_records(ACME).await,
        sample_record_count(ACME) + 1,
        "the heal's re-walk imported it"
    );
    let healed = second
        .log
        .iter()
        .find(|e| e.code == LogCode::AuditHealed)
        .unwrap_or_else(|| panic!("the heal is logged: {:?}", second.log));
    assert!(
        healed.message.contains(&day.to_string()),
        "{}",
        healed.message
    );
    assert_eq!(second.audit_totals().findings, 0);
    assert_eq!(audit_emails(&h.emails_to(&h.names.alert_to).await), 0);
}

#[tokio::test]
async fn a_record_hidden_from_every_rewalk_is_alerted_once_with_what_the_rewalk_found() {
    use reconciliation::plan::LogCode;
    let h = Harness::start(Names::isolated(), no_rate_limit()).await;
    h.onboard_sample_reseller().await;
    run_acme(&h).await;
    let (day, at) = two_days_ago();
    h.sim
        .control()
        .add_unserved_record(ACME, "sip-trunking", late_call("never-served", at));
    let second = run_acme(&h).await;
    let finding = second
        .log
        .iter()
        .find(|e| e.code == LogCode::AuditMismatch)
        .unwrap_or_else(|| panic!("a finding: {:?}", second.log));
    for part in [
        day.to_string().as_str(),
        "sip-trunking",
        "re-walked",
        "0 of them not stored before",
    ] {
        assert!(
            finding.message.contains(part),
            "{part}: {}",
            finding.message
        );
    }
    assert_eq!(second.audit_totals().findings, 1);
    assert_eq!(audit_emails(&h.emails_to(&h.names.alert_to).await), 1);
    let third = run_acme(&h).await;
    assert_eq!(third.audit_totals().findings, 1, "still a finding");
    assert_eq!(
        audit_emails(&h.emails_to(&h.names.alert_to).await),
        1,
        "alerted once"
    );
}

#[tokio::test]
async fn a_report_without_count_anywhere_imports_every_record_and_calls_nothing_clean_it_did_not_compare()
 {
    use reconciliation::domain::RecordType;
    use reconciliation::ports::{AuditVerdict, BillingStore};
    let h = Harness::start(Names::isolated(), no_rate_limit()).await;
    h.onboard_sample_reseller().await;
    h.sim.control().set_usage(telnyx_sim::UsageSettings {
        without_count: true,
        ..Default::default()
    });
    let summary = run_acme(&h).await;
    assert_eq!(h.stored_records(ACME).await, sample_record_count(ACME));
    assert!(
        summary.skipped_types.is_empty(),
        "{:?}",
        summary.skipped_types
    );
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let audited: std::collections::BTreeSet<RecordType> = h
        .store
        .audit_days(&ACME.into(), day(1), day(30))
        .await
        .unwrap()
        .iter()
        .filter(|d| d.verdict == AuditVerdict::Clean)
        .map(|d| d.record_type)
        .collect();
    assert_eq!(
        audited,
        [RecordType::SipTrunking, RecordType::CallControl].into(),
        "only the call legs keep a metric that counts them (`attempted`)"
    );
    assert_eq!(
        summary.not_auditable_lines().len(),
        RecordType::ALL.len() - 2,
        "{:?}",
        summary.not_auditable_lines()
    );
    assert!(
        summary
            .not_auditable_lines()
            .iter()
            .any(|n| n.starts_with("messaging: ") && n.contains("`count`")),
        "{:?}",
        summary.not_auditable_lines()
    );
}
