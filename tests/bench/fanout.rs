//! `fanout_3000_accounts_sec`: one scheduler tick (the release binary) over 3,000
//! onboarded managed accounts: list them, read the usage report for the hints, check
//! the leases, queue 3,000 sync requests. DynamoDB Local, Secrets Manager (moto) and
//! the simulator are real; the queue is [`NullQueue`], because moto's SQS alone needs
//! `moto_send_3000_messages_sec` for the same messages (a plain SendMessageBatch loop,
//! measured in the same run).

use crate::null_queue::NullQueue;
use crate::world::{World, scenario};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use serde_json::json;
use std::time::{Duration, Instant};

pub async fn run(accounts: usize) -> Vec<(String, String)> {
    let world = World::start(scenario(accounts, |_| None), None).await;
    world.onboard(accounts).await;
    let queue = NullQueue::start().await;
    let mut function = world
        .function("scheduler", &[("AWS_ENDPOINT_URL_SQS", &queue.endpoint)])
        .await;
    let started = Instant::now();
    let report = function.invoke(json!({}), Duration::from_secs(300)).await;
    let secs = started.elapsed().as_secs_f64();
    crate::world::show_log(&function);
    let report = report.expect("the tick answers");
    let dispatched = report["dispatched"].as_array().map_or(0, Vec::len);
    assert_eq!(dispatched, accounts, "{report}");
    assert_eq!(
        queue.accepted(),
        accounts as u64,
        "every request reached the queue"
    );
    function.stop().await;
    let moto = moto_send(&world, accounts).await;
    vec![
        ("fanout_accounts".into(), accounts.to_string()),
        ("fanout_3000_accounts_sec".into(), format!("{secs:.1}")),
        (
            "fanout_usage_types_checked".into(),
            report["usage_checked"].to_string(),
        ),
        ("moto_send_3000_messages_sec".into(), format!("{moto:.1}")),
    ]
}

/// The same number of messages, of about the same size, sent to the world's moto
/// queue by a plain loop: what moto alone costs.
async fn moto_send(world: &World, messages: usize) -> f64 {
    let sqs = aws_sdk_sqs::Client::new(&world.stack.sdk);
    let checked = vec!["sip-trunking"; 18];
    let body = json!({"managed_account_id": crate::world::account_id(0),
                      "usage": {"window": {"from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
                                "checked": checked, "with_usage": []}})
    .to_string();
    let started = Instant::now();
    for batch in 0..messages.div_ceil(10) {
        let entries = (0..10.min(messages - batch * 10))
            .map(|i| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&body)
                    .build()
                    .expect("entry")
            })
            .collect();
        sqs.send_message_batch()
            .queue_url(&world.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .expect("SendMessageBatch to moto");
    }
    started.elapsed().as_secs_f64()
}
