//! Generated bad input against the real account-sync handler (on the local stack and
//! the simulator): at least 100 malformed manual payloads and SQS bodies — wrong
//! types, unknown fields, bad and reversed timestamps, unknown record types, unknown
//! accounts, empty and non-JSON bodies — each refused with an error that names the
//! field (or the account) at fault, and the table, the outbox and the sent emails
//! exactly as they were.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use aws_sdk_dynamodb::types::Select;
use integration_tests::e2e::*;
use lambda_runtime::{Context, LambdaEvent};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use reconciliation::invocation::SyncRequest;
use reconciliation::ports::OutboxStore;
use serde_json::{Value, json};

/// A malformed payload and what its error must name.
#[derive(Debug, Clone)]
struct Bad {
    payload: Value,
    names: String,
}

fn bad(payload: Value, names: &str) -> Bad {
    Bad {
        payload,
        names: names.to_owned(),
    }
}

/// A JSON value of any type but the one a field wants.
fn not_a_string() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        Just(json!([])),
        Just(json!({"a": 1})),
    ]
}

/// Text that is not an RFC 3339 instant.
fn not_an_instant() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z ]{1,12}",
        "20[0-9]{2}-1[3-9]-[0-9]{2}T00:00:00Z",
        "2026-02-3[0-1]T00:00:00Z",
        "2026-11-01",
        "2026-11-01T25:00:00Z",
        Just(String::new()),
    ]
}

/// One malformed manual payload (with a valid account id where the fault is elsewhere).
fn bad_payload() -> impl Strategy<Value = Bad> {
    let account = || Just(ACME.to_owned());
    prop_oneof![
        not_a_string().prop_map(|v| bad(json!({ "managed_account_id": v }), "managed_account_id")),
        Just(bad(json!({}), "managed_account_id")),
        (account(), "[a-z_]{3,12}")
            .prop_filter("an unknown field", |(_, f)| !SyncRequest::fields().contains(&f.as_str()))
            .prop_map(|(a, f)| {
                let names = f.clone();
                bad(json!({ "managed_account_id": a, f: true }), &names)
            }),
        (account(), not_an_instant()).prop_map(|(a, t)| bad(
            json!({ "managed_account_id": a, "backfill_from": t }),
            "backfill_from"
        )),
        (account(), not_an_instant()).prop_map(|(a, t)| bad(
            json!({ "managed_account_id": a, "backfill_from": "2026-11-01T00:00:00Z", "backfill_to": t }),
            "backfill_to"
        )),
        (account(), 1..400i64).prop_map(|(a, days)| {
            let to = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").unwrap();
            let from = to + chrono::Duration::days(days);
            bad(
                json!({ "managed_account_id": a, "backfill_from": from.to_rfc3339(), "backfill_to": to.to_rfc3339() }),
                "backfill_from",
            )
        }),
        (account(), "[a-z-]{2,14}")
            .prop_filter("not a record type", |(_, t)| t.parse::<reconciliation::domain::RecordType>().is_err())
            .prop_map(|(a, t)| bad(json!({ "managed_account_id": a, "record_types": [t] }), "record_types[0]")),
        (account(), not_a_string()).prop_map(|(a, v)| bad(
            json!({ "managed_account_id": a, "record_types": [v] }),
            "record_types[0]"
        )),
        account().prop_map(|a| bad(json!({ "managed_account_id": a, "record_types": [] }), "record_types")),
        account().prop_map(|a| bad(json!({ "managed_account_id": a, "record_types": "sip-trunking" }), "record_types")),
        (account(), not_a_string()).prop_filter("not a bool", |(_, v)| !v.is_boolean() && !v.is_null())
            .prop_map(|(a, v)| bad(json!({ "managed_account_id": a, "dry_run": v }), "dry_run")),
        "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}"
            .prop_map(|id| { let names = id.clone(); bad(json!({ "managed_account_id": id }), &names) }),
        not_a_string().prop_filter("not an object", |v| !v.is_object()).prop_map(|v| bad(v, "JSON object")),
    ]
}

/// One malformed SQS message body.
fn bad_body() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        Just((String::new(), "not JSON".to_owned())),
        "[a-z{}\\[\\]:, ]{1,20}"
            .prop_filter("not JSON", |s| serde_json::from_str::<Value>(s).is_err())
            .prop_map(|s| (s, "not JSON".to_owned())),
        bad_payload()
            .prop_filter("refused by the body parser too", |b| {
                // A queue body may carry fields a newer sender added (ignored, not
                // refused), and an unknown account is refused by the run, not the parser.
                SyncRequest::from_queue_body(&b.payload.to_string())
                    .and_then(|q| q.request.validate(chrono::Utc::now()))
                    .is_err()
            })
            .prop_map(|b| (b.payload.to_string(), b.names)),
    ]
}

fn generate<T: std::fmt::Debug>(strategy: impl Strategy<Value = T>, n: usize) -> Vec<T> {
    let mut runner = TestRunner::new(Config {
        rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
        ..Config::default()
    });
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("a value").current())
        .collect()
}

/// What must not change: every item of the table, the outbox, the emails sent to this
/// test's addresses.
async fn footprint(h: &Harness) -> (i32, usize, usize) {
    let ddb = aws_sdk_dynamodb::Client::new(&h.stack.sdk);
    let items = ddb
        .scan()
        .table_name(&h.names.table)
        .select(Select::Count)
        .send()
        .await
        .expect("scan")
        .count;
    let pending = h.store.pending_notifications().await.expect("outbox").len();
    let mut sent = 0;
    for address in [
        &h.names.alert_to,
        &h.names.operator_billing,
        &h.names.acme_billing,
    ] {
        sent += h.emails_to(address).await.len();
    }
    (items, pending, sent)
}

#[tokio::test]
async fn over_a_hundred_generated_bad_payloads_and_bodies_are_refused_by_name_and_change_nothing() {
    let h = Harness::start(Names::isolated(), Default::default()).await;
    h.onboard_sample_reseller().await;
    // A table with something in it: the sample reseller synced once.
    let good = account_sync::handler::handle(
        LambdaEvent::new(json!({ "managed_account_id": ACME }), Context::default()),
        &h.ports,
        &h.account_sync,
    )
    .await;
    assert!(good.is_ok(), "{good:?}");
    let before = footprint(&h).await;

    let payloads = generate(bad_payload(), 70);
    for case in &payloads {
        let answer = account_sync::handler::handle(
            LambdaEvent::new(case.payload.clone(), Context::default()),
            &h.ports,
            &h.account_sync,
        )
        .await;
        let Err(error) = answer else {
            panic!("accepted: {}", case.payload)
        };
        assert!(
            error.error_message.contains(&case.names),
            "{} → {:?} does not name {}",
            case.payload,
            error.error_message,
            case.names
        );
    }

    let bodies = generate(bad_body(), 40);
    for (i, (body, names)) in bodies.iter().enumerate() {
        let event = json!({"Records": [{
            "messageId": format!("m-{i}"),
            "receiptHandle": format!("r-{i}"),
            "body": body,
            "eventSource": "aws:sqs",
        }]});
        let answer = account_sync::handler::handle(
            LambdaEvent::new(event, Context::default()),
            &h.ports,
            &h.account_sync,
        )
        .await
        .expect("an SQS batch is always answered");
        let account_sync::handler::Response::Batch(batch) = answer else {
            panic!("a batch answer")
        };
        let failed: Vec<&str> = batch
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(
            failed,
            vec![format!("m-{i}").as_str()],
            "{body:?} is left for the DLQ"
        );
        let error = SyncRequest::from_queue_body(body)
            .and_then(|q| q.request.validate(chrono::Utc::now()).map(|()| q))
            .expect_err("the handler's own parser refuses it");
        assert!(
            error.to_string().contains(names.as_str()),
            "{body:?} → {error} does not name {names}"
        );
    }

    assert!(payloads.len() + bodies.len() >= 100);
    assert_eq!(
        footprint(&h).await,
        before,
        "table items, outbox, emails unchanged"
    );
    println!(
        "bad input tried: {} manual payloads, {} SQS bodies",
        payloads.len(),
        bodies.len()
    );
}
