//! No API key anywhere: both function binaries run a day of the sample reseller under
//! the local Runtime API at debug log level — a tick, the fan-out through the queue, a
//! sync whose key Telnyx refuses on one endpoint, a revoked account key, a revoked
//! manager key, a misspelt payload — and then every log line they printed, every
//! error they answered, every item of the table (run logs, outbox, records included),
//! every email sent and every message left on the queue is searched for the manager
//! key and both account keys, whole and in part.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::e2e::*;
use lambda_local::{Function, InvokeError, function::binary};
use serde_json::json;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(120);

/// Every item of a table, as text.
async fn table_text(h: &Harness) -> Vec<String> {
    let ddb = aws_sdk_dynamodb::Client::new(&h.stack.sdk);
    let mut out = Vec::new();
    let mut start: Option<std::collections::HashMap<String, AttributeValue>> = None;
    loop {
        let page = ddb
            .scan()
            .table_name(&h.names.table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in page.items.unwrap_or_default() {
            // `raw_gz` is gzipped: searched after inflating it.
            let mut text = format!("{item:?}");
            if let Some(AttributeValue::B(blob)) = item.get("raw_gz") {
                use std::io::Read;
                let mut raw = String::new();
                flate2::read::GzDecoder::new(blob.as_ref())
                    .read_to_string(&mut raw)
                    .expect("raw_gz inflates");
                text.push_str(&raw);
            }
            out.push(text);
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return out;
        }
    }
}

fn error_text(answer: Result<serde_json::Value, InvokeError>) -> String {
    match answer {
        Ok(v) => v.to_string(),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn no_key_reaches_a_log_line_an_error_an_item_an_email_or_a_message() {
    let h = Harness::start(Names::isolated(), Default::default()).await;
    h.onboard_sample_reseller().await;
    let mut env = h.function_env();
    env.retain(|(k, _)| k != "RUST_LOG");
    env.push(("RUST_LOG".into(), "debug".into()));
    let mut scheduler = Function::start(&binary("scheduler"), &env)
        .await
        .expect("scheduler");
    let mut sync = Function::start(&binary("account-sync"), &env)
        .await
        .expect("account-sync");
    let queue = lambda_local::SqsEventSource::new(
        aws_sdk_sqs::Client::new(&h.stack.sdk),
        &h.queue_url,
        TIMEOUT,
    );
    let mut answers = Vec::new();

    answers.push(error_text(scheduler.invoke(json!({}), TIMEOUT).await));
    let delivered = queue
        .drain(&mut sync, Duration::from_secs(2))
        .await
        .expect("queue");
    assert_eq!(delivered.len(), 2, "Acme and Beta queued and synced");

    h.sim.control().deny_endpoint(BETA_KEY, "/v2/phone_numbers");
    answers.push(error_text(
        sync.invoke(json!({"managed_account_id": BETA}), TIMEOUT)
            .await,
    ));
    h.sim.control().revoke_key(ACME_KEY);
    answers.push(error_text(
        sync.invoke(json!({"managed_account_id": ACME}), TIMEOUT)
            .await,
    ));
    answers.push(error_text(
        sync.invoke(
            json!({"managed_account_id": ACME, "api_key": ACME_KEY}),
            TIMEOUT,
        )
        .await,
    ));
    h.sim.control().revoke_key(MASTER_KEY);
    answers.push(error_text(scheduler.invoke(json!({}), TIMEOUT).await));
    assert!(
        answers
            .iter()
            .filter(|a| a.contains("401") || a.contains("403"))
            .count()
            >= 2,
        "the refusals happened: {answers:?}"
    );

    let mut texts: Vec<(String, String)> = Vec::new();
    let lines = scheduler.lines().len() + sync.lines().len();
    for line in scheduler.lines().into_iter().chain(sync.lines()) {
        texts.push(("log line".into(), line));
    }
    // The misspelt payload carried a key on purpose: its refusal must not echo it.
    for a in &answers {
        texts.push(("answer".into(), a.clone()));
    }
    let items = table_text(&h).await;
    let item_count = items.len();
    texts.extend(items.into_iter().map(|i| ("table item".into(), i)));
    let mut emails = 0;
    for address in [
        &h.names.alert_to,
        &h.names.operator_billing,
        &h.names.acme_billing,
    ] {
        for email in h.emails_to(address).await {
            emails += 1;
            texts.push(("email".into(), email.to_string()));
        }
    }
    assert!(
        emails >= 3,
        "new-customer and alert emails went out: {emails}"
    );
    let left = aws_sdk_sqs::Client::new(&h.stack.sdk)
        .receive_message()
        .queue_url(&h.queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive");
    for m in left.messages.unwrap_or_default() {
        texts.push(("queue message".into(), m.body.unwrap_or_default()));
    }

    for key in [MASTER_KEY, ACME_KEY, BETA_KEY] {
        // A key's distinctive tail (after its shared `KEY0123…` prefix) is enough to leak it.
        let tail = &key[key.len() - 16..];
        for (what, text) in &texts {
            assert!(!text.contains(tail), "a {what} carries a key: {text}");
        }
    }
    println!(
        "secret scan: {lines} log lines, {} answers, {item_count} table items, {emails} emails",
        answers.len()
    );
    scheduler.stop().await;
    sync.stop().await;
}
