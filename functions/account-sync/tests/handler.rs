//! The account-sync handler on the in-memory fakes: both payload shapes, partial
//! batch failures, malformed payloads named precisely and writing nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use account_sync::handler::{Response, handle};
use lambda_runtime::{Context, LambdaEvent};
use reconciliation::domain::*;
use reconciliation::fakes::*;
use reconciliation::fixtures::*;
use reconciliation::ports::Ports;
use reconciliation::sync::SyncSettings;
use serde_json::{Value, json};
use std::sync::Arc;

const KEY: &str = "KEYacc1secret";

struct World {
    store: Arc<InMemoryStore>,
    telnyx: Arc<InMemoryTelnyx>,
    mailer: Arc<RecordingMailer>,
    ports: Ports,
    settings: SyncSettings,
}

fn world() -> World {
    let scenario = Scenario::wholesale()
        .billing_group("bg-a", "Customer A")
        .sip_connection("conn-1", "Main trunk", Some("bg-a"));
    let account = managed_account(ACCOUNT, "Acme Telecom");
    let telnyx = Arc::new(InMemoryTelnyx::new("master").with_account(
        account,
        KEY,
        scenario.snapshot.clone(),
    ));
    telnyx.add_records(
        &ACCOUNT.into(),
        [record(RecordType::SipTrunking, "cdr-1")
            .connection("conn-1")
            .build()],
    );
    let store = Arc::new(
        InMemoryStore::new()
            .with_onboarding(scenario.onboarding.clone())
            .with_state(scenario.state.clone()),
    );
    let mailer = Arc::new(RecordingMailer::new());
    let ports = Ports {
        telnyx: telnyx.clone(),
        secrets: Arc::new(InMemorySecrets::new().with_account_key(&ACCOUNT.into(), KEY)),
        store: store.clone(),
        mailer: mailer.clone(),
        dispatcher: Arc::new(RecordingDispatcher::new()),
        clock: Arc::new(FixedClock(fixed_now())),
    };
    let settings = SyncSettings {
        portal_url_template: PORTAL.into(),
        alert_to: vec!["ops@operator.example".into()],
        ..SyncSettings::default()
    };
    World {
        store,
        telnyx,
        mailer,
        ports,
        settings,
    }
}

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

fn sqs(bodies: &[&str]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| json!({"messageId": format!("msg-{i}"), "body": body, "eventSource": "aws:sqs"}))
        .collect();
    json!({ "Records": records })
}

fn failures(response: Response) -> Vec<String> {
    match response {
        Response::Batch(batch) => batch
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect(),
        Response::Run(_) => panic!("expected a batch response"),
    }
}

#[tokio::test]
async fn an_sqs_message_syncs_its_account_and_reports_no_failure() {
    let w = world();
    let body = format!(r#"{{"managed_account_id":"{ACCOUNT}"}}"#);
    let response = handle(event(sqs(&[&body])), &w.ports, &w.settings)
        .await
        .expect("handled");
    assert!(failures(response).is_empty());
    let data = w.store.data();
    assert_eq!(data.records.len(), 1, "the CDR is stored");
    assert!(
        data.state
            .customers
            .iter()
            .any(|c| c.company_name == "Customer A"),
        "customer created"
    );
    assert_eq!(w.mailer.sent().len(), 1, "one new-customer email");
}

#[tokio::test]
async fn the_sample_sqs_event_parses_and_names_an_unknown_account_without_retrying() {
    let w = world();
    let sample: Value =
        serde_json::from_str(include_str!("../../../events/account-sync-sqs.json")).unwrap();
    let response = handle(event(sample), &w.ports, &w.settings)
        .await
        .expect("handled");
    // The sample's account is not onboarded here: a permanent failure, acked, nothing written.
    assert!(failures(response).is_empty());
    assert!(w.store.data().records.is_empty());
}

#[tokio::test]
async fn a_malformed_message_body_is_returned_to_the_queue_and_writes_nothing() {
    let w = world();
    let before = w.store.data().business();
    let response = handle(
        event(sqs(&[r#"{"account":"acc-1"}"#, "not json"])),
        &w.ports,
        &w.settings,
    )
    .await
    .expect("handled");
    assert_eq!(failures(response), vec!["msg-0", "msg-1"]);
    assert_eq!(w.store.data().business(), before);
}

#[tokio::test]
async fn a_transient_failure_is_reported_for_redelivery_and_a_permanent_one_is_not() {
    let w = world();
    w.store.fail("put_detail_records");
    let ours = format!(r#"{{"managed_account_id":"{ACCOUNT}"}}"#);
    let unknown = r#"{"managed_account_id":"acc-unknown"}"#;
    let response = handle(event(sqs(&[&ours, unknown])), &w.ports, &w.settings)
        .await
        .expect("handled");
    assert_eq!(
        failures(response),
        vec!["msg-0"],
        "only the transient failure is redelivered"
    );
}

#[tokio::test]
async fn a_manual_dry_run_returns_the_plan_and_writes_nothing() {
    let w = world();
    let before = w.store.data().business();
    let response = handle(
        event(json!({"managed_account_id": ACCOUNT, "dry_run": true})),
        &w.ports,
        &w.settings,
    )
    .await
    .expect("handled");
    let Response::Run(summary) = response else {
        panic!("expected a run summary")
    };
    assert!(summary.dry_run);
    assert!(
        summary.plan.contains("Customer A"),
        "the diff names the new customer: {}",
        summary.plan
    );
    assert_eq!(
        w.store.data().business(),
        before,
        "a dry run writes nothing"
    );
    assert!(w.mailer.sent().is_empty());
}

#[tokio::test]
async fn a_manual_invoke_with_an_unknown_field_is_rejected_by_name_and_writes_nothing() {
    let w = world();
    let before = w.store.data().business();
    let err = handle(
        event(json!({"managed_account_id": ACCOUNT, "dryrun": true})),
        &w.ports,
        &w.settings,
    )
    .await
    .expect_err("rejected");
    assert_eq!(err.error_type, "InvalidPayload");
    assert!(
        err.error_message.contains("unknown field `dryrun`"),
        "{}",
        err.error_message
    );
    assert_eq!(w.store.data().business(), before);
    assert!(w.telnyx.calls().is_empty(), "Telnyx was not called");
}

#[tokio::test]
async fn a_manual_invoke_without_an_account_names_the_missing_field() {
    let w = world();
    let err = handle(event(json!({"dry_run": true})), &w.ports, &w.settings)
        .await
        .expect_err("rejected");
    assert!(
        err.error_message
            .contains("missing field `managed_account_id`"),
        "{}",
        err.error_message
    );
}

#[tokio::test]
async fn a_manual_invoke_for_an_unknown_account_is_a_permanent_error_naming_it() {
    let w = world();
    let err = handle(
        event(json!({"managed_account_id": "acc-nobody"})),
        &w.ports,
        &w.settings,
    )
    .await
    .expect_err("rejected");
    assert_eq!(err.error_type, "PermanentError");
    assert!(
        err.error_message.contains("acc-nobody"),
        "{}",
        err.error_message
    );
    assert!(w.store.data().records.is_empty());
}

#[tokio::test]
async fn a_revoked_key_fails_permanently_and_never_shows_the_key() {
    let w = world();
    w.telnyx.revoke(KEY);
    let err = handle(
        event(json!({"managed_account_id": ACCOUNT})),
        &w.ports,
        &w.settings,
    )
    .await
    .expect_err("fails");
    assert_eq!(err.error_type, "PermanentError");
    assert!(!err.error_message.contains(KEY), "{}", err.error_message);
    assert!(w.store.data().records.is_empty(), "no partial state");
}

#[tokio::test]
async fn a_backfill_window_in_the_future_is_refused_naming_backfill_from_before_telnyx_or_the_store_is_touched()
 {
    let w = world();
    let before = w.store.data();
    let err = handle(
        event(json!({
            "managed_account_id": ACCOUNT,
            "backfill_from": "2030-01-01T00:00:00Z",
            "backfill_to": "2030-01-02T00:00:00Z",
        })),
        &w.ports,
        &w.settings,
    )
    .await
    .expect_err("refused");
    assert_eq!(err.error_type, "InvalidPayload", "{}", err.error_message);
    assert!(
        err.error_message.contains("backfill_from") && err.error_message.contains("future"),
        "{}",
        err.error_message
    );
    assert!(
        w.telnyx.calls().is_empty(),
        "Telnyx was called: {:?}",
        w.telnyx.calls()
    );
    let after = w.store.data();
    assert!(after.run_logs.is_empty(), "a run log was written");
    assert_eq!(after.business(), before.business(), "nothing written");
    assert!(w.mailer.sent().is_empty());
}
