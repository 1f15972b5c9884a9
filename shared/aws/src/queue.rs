//! Fan-out of sync requests to SQS ([`SqsDispatcher`], the `Dispatcher` port).
//!
//! `SendMessageBatch` takes 10 entries per call; each body is one JSON
//! [`SyncRequest`]. A batch can partly fail: the failed entries' requests are returned
//! to the caller (never ignored). Batches go [`BATCHES_IN_FLIGHT`] at a time. A batch whose whole call fails contributes all its
//! requests to that list; only when every batch failed is the call an error.

use crate::error::AwsError;
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use chrono::Duration;
use futures::StreamExt;
use reconciliation::invocation::SyncRequest;
use reconciliation::ports::{Dispatcher, PortResult};

/// SendMessageBatch's entry limit.
pub const SQS_BATCH_SIZE: usize = 10;

/// Batches sent at once (3,000 accounts are 300 batches: one round trip each would
/// dominate a tick).
pub const BATCHES_IN_FLIGHT: usize = 8;

/// Sends sync requests to one queue.
#[derive(Debug, Clone)]
pub struct SqsDispatcher {
    client: Client,
    queue_url: String,
}

impl SqsDispatcher {
    /// A dispatcher to the queue at `queue_url`.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// A dispatcher to the queue named `queue_name` (its URL looked up once).
    pub async fn for_queue_name(client: Client, queue_name: &str) -> Result<Self, AwsError> {
        let out = client
            .get_queue_url()
            .queue_name(queue_name)
            .send()
            .await
            .map_err(|e| AwsError::sdk("SQS", "GetQueueUrl", e))?;
        let url = out.queue_url.ok_or_else(|| AwsError::NotFound {
            what: format!("URL of queue {queue_name}"),
        })?;
        Ok(Self::new(client, url))
    }

    /// The queue URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// [`Self::send_batch`], answering with its batch.
    async fn send_batch_of<'a>(
        &self,
        batch: &'a [SyncRequest],
    ) -> (&'a [SyncRequest], Result<Vec<usize>, AwsError>) {
        (batch, self.send_batch(batch).await)
    }

    /// Sends one batch; returns the positions (within `batch`) that failed.
    async fn send_batch(&self, batch: &[SyncRequest]) -> Result<Vec<usize>, AwsError> {
        let entries = batch
            .iter()
            .enumerate()
            .map(|(i, request)| {
                let body = serde_json::to_string(request).map_err(|e| AwsError::Encode {
                    what: format!("sync request of account {}", request.managed_account_id),
                    source: Box::new(e),
                })?;
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| AwsError::Encode {
                        what: "SendMessageBatch entry".to_owned(),
                        source: Box::new(e),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| AwsError::sdk("SQS", "SendMessageBatch", e))?;
        let mut failed = Vec::new();
        for entry in out.failed {
            let position = entry.id.parse::<usize>().ok().filter(|p| *p < batch.len());
            tracing::warn!(
                entry_id = %entry.id,
                code = %entry.code,
                sender_fault = entry.sender_fault,
                "SQS refused a sync request"
            );
            match position {
                Some(p) => failed.push(p),
                // An id we did not send: we cannot tell which request failed, so treat
                // the whole batch as failed rather than lose one silently.
                None => return Ok((0..batch.len()).collect()),
            }
        }
        Ok(failed)
    }
}

#[async_trait]
impl Dispatcher for SqsDispatcher {
    #[tracing::instrument(skip_all, fields(requests = requests.len()))]
    async fn dispatch(&self, requests: &[SyncRequest]) -> PortResult<Vec<SyncRequest>> {
        let mut failed = Vec::new();
        let mut first_error = None;
        let mut batches = 0usize;
        let mut failed_batches = 0usize;
        let sends: Vec<_> = requests
            .chunks(SQS_BATCH_SIZE)
            .map(|batch| self.send_batch_of(batch))
            .collect();
        let mut sent = futures::stream::iter(sends).buffered(BATCHES_IN_FLIGHT);
        while let Some((batch, result)) = sent.next().await {
            batches += 1;
            match result {
                Ok(positions) => failed.extend(positions.into_iter().map(|p| batch[p].clone())),
                Err(e) => {
                    tracing::warn!(error = %e, transient = e.is_transient(), "SendMessageBatch failed");
                    failed_batches += 1;
                    failed.extend(batch.iter().cloned());
                    first_error.get_or_insert(e);
                }
            }
        }
        if batches > 0 && failed_batches == batches {
            if let Some(e) = first_error {
                return Err(e.into_port(format!(
                    "queueing {} sync request(s) on {}",
                    requests.len(),
                    self.queue_url
                )));
            }
        }
        tracing::info!(
            queued = requests.len() - failed.len(),
            failed = failed.len(),
            "sync requests dispatched"
        );
        Ok(failed)
    }

    #[tracing::instrument(skip_all, fields(account_id = %request.managed_account_id))]
    async fn dispatch_later(&self, request: &SyncRequest, delay: Duration) -> PortResult<()> {
        let account = &request.managed_account_id;
        let context = || format!("queueing the continuation of account {account}");
        let body = serde_json::to_string(request).map_err(|e| {
            AwsError::Encode {
                what: format!("sync request of account {account}"),
                source: Box::new(e),
            }
            .into_port(context())
        })?;
        // SQS delays a message by at most 15 minutes.
        let seconds = delay.num_seconds().clamp(0, 900) as i32;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .delay_seconds(seconds)
            .send()
            .await
            .map_err(|e| AwsError::sdk("SQS", "SendMessage", e).into_port(context()))?;
        Ok(())
    }
}
