//! BatchWriteItem stand-ins for the failures DynamoDB Local never produces, injected
//! through the store's `BatchWriteItems` seam.

use async_trait::async_trait;
use aws_adapters::AwsError;
use aws_adapters::store::RetryPolicy;
use aws_adapters::store::records::{BatchWriteItems, SdkBatchWriter};
use aws_sdk_dynamodb::types::WriteRequest;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A retry policy with millisecond backoffs.
pub fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: std::time::Duration::from_millis(5),
        max_delay: std::time::Duration::from_millis(20),
    }
}

/// Never processes anything: every item comes back unprocessed, every time.
pub struct AlwaysThrottled;

#[async_trait]
impl BatchWriteItems for AlwaysThrottled {
    async fn batch_write(
        &self,
        _: &str,
        requests: Vec<WriteRequest>,
    ) -> Result<Vec<WriteRequest>, AwsError> {
        Ok(requests)
    }
}

/// Forwards to DynamoDB, but fails the second call permanently.
pub struct FailsSecondBatch {
    real: SdkBatchWriter,
    calls: AtomicUsize,
}

impl FailsSecondBatch {
    pub fn new(client: aws_sdk_dynamodb::Client) -> Self {
        Self {
            real: SdkBatchWriter::new(client),
            calls: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl BatchWriteItems for FailsSecondBatch {
    async fn batch_write(
        &self,
        table: &str,
        requests: Vec<WriteRequest>,
    ) -> Result<Vec<WriteRequest>, AwsError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 1 {
            return Err(AwsError::NotFound {
                what: "injected: the second batch fails".into(),
            });
        }
        self.real.batch_write(table, requests).await
    }
}
