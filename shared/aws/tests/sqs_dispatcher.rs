//! Fan-out through SQS (moto): batches of 10, every request arrives, failures returned.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_adapters::queue::SqsDispatcher;
use common::*;
use reconciliation::domain::ManagedAccountId;
use reconciliation::invocation::SyncRequest;
use reconciliation::ports::Dispatcher;
use std::collections::BTreeSet;

fn request(i: usize) -> SyncRequest {
    SyncRequest {
        backfill_from: (i == 7).then(day0),
        ..SyncRequest::for_account(ManagedAccountId::new(format!("acc-{i:02}")))
    }
}

#[tokio::test]
async fn a_batch_of_23_requests_arrives_as_23_messages() {
    let client = aws_sdk_sqs::Client::new(&sdk().await);
    let name = aws_adapters::test_util::unique_name("sync");
    client
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap();
    let dispatcher = SqsDispatcher::for_queue_name(client.clone(), &name)
        .await
        .unwrap();
    let requests: Vec<_> = (0..23).map(request).collect();

    let failed = dispatcher.dispatch(&requests).await.unwrap();

    assert!(failed.is_empty(), "{failed:?}");
    let mut received = Vec::new();
    for _ in 0..20 {
        let out = client
            .receive_message()
            .queue_url(dispatcher.queue_url())
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            received.push(serde_json::from_str::<SyncRequest>(m.body().unwrap()).unwrap());
        }
        if received.len() >= 23 {
            break;
        }
    }
    assert_eq!(received.len(), 23);
    let got: BTreeSet<_> = received
        .iter()
        .map(|r| r.managed_account_id.to_string())
        .collect();
    let sent: BTreeSet<_> = requests
        .iter()
        .map(|r| r.managed_account_id.to_string())
        .collect();
    assert_eq!(got, sent);
    assert!(
        received.contains(&request(7)),
        "the backfill window survives the trip"
    );
}

#[tokio::test]
async fn dispatching_to_a_missing_queue_is_an_error_not_a_silent_success() {
    let client = aws_sdk_sqs::Client::new(&sdk().await);
    let url = client
        .create_queue()
        .queue_name(aws_adapters::test_util::unique_name("gone"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    client.delete_queue().queue_url(&url).send().await.unwrap();
    let dispatcher = SqsDispatcher::new(client, url);

    let result = dispatcher
        .dispatch(&(0..3).map(request).collect::<Vec<_>>())
        .await;

    let err = result.unwrap_err();
    assert!(err.chain().contains("SendMessageBatch"), "{}", err.chain());
}
