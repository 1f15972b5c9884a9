//! An SQS event source, as Lambda's: receive one message, deliver it as an SQS event
//! (batch size 1), delete it when the function acknowledged it (no batch item failure),
//! leave it on the queue otherwise (it is redelivered when its visibility ends).

use crate::function::Function;
use crate::runtime::InvokeError;
use aws_sdk_sqs::Client;
use serde_json::{Value, json};
use std::time::Duration;

/// What became of one delivered message.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub body: String,
    /// The function's answer (a batch response), or how it failed.
    pub answer: Result<Value, InvokeError>,
    /// Deleted from the queue (acknowledged).
    pub deleted: bool,
}

/// Delivers the messages of one queue to one function.
pub struct SqsEventSource {
    client: Client,
    queue_url: String,
    /// The function's timeout (each invocation's deadline).
    pub timeout: Duration,
    /// How long a received message stays invisible (Lambda sets it from the queue).
    pub visibility: Duration,
}

impl SqsEventSource {
    pub fn new(client: Client, queue_url: impl Into<String>, timeout: Duration) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            timeout,
            visibility: timeout * 6,
        }
    }

    /// Receives one message (waiting up to `wait`) and delivers it; `None` when the
    /// queue had none.
    pub async fn deliver_one(
        &self,
        function: &mut Function,
        wait: Duration,
    ) -> Result<Option<Delivery>, aws_sdk_sqs::Error> {
        let received = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(1)
            .visibility_timeout(self.visibility.as_secs() as i32)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .send()
            .await?;
        let Some(message) = received.messages.and_then(|m| m.into_iter().next()) else {
            return Ok(None);
        };
        let body = message.body.clone().unwrap_or_default();
        let event = json!({
            "Records": [{
                "messageId": message.message_id,
                "receiptHandle": message.receipt_handle,
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:local",
                "awsRegion": "us-east-1",
            }]
        });
        let answer = function.invoke(event, self.timeout).await;
        let acknowledged =
            matches!(&answer, Ok(v) if v["batchItemFailures"].as_array().is_none_or(Vec::is_empty));
        if acknowledged {
            if let Some(handle) = message.receipt_handle {
                self.client
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await?;
            }
        }
        Ok(Some(Delivery {
            body,
            answer,
            deleted: acknowledged,
        }))
    }

    /// Delivers until the queue stays empty for `idle` (continuations arrive after their
    /// delay); returns every delivery.
    pub async fn drain(
        &self,
        function: &mut Function,
        idle: Duration,
    ) -> Result<Vec<Delivery>, aws_sdk_sqs::Error> {
        let mut out = Vec::new();
        while let Some(d) = self.deliver_one(function, idle).await? {
            out.push(d);
        }
        Ok(out)
    }
}
