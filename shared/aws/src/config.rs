//! The one `SdkConfig` every client is built from, loaded once at cold start.
//!
//! aws-sdk-rust retries 3 times by default but has **no operation timeout**: a hung
//! connection would hold the Lambda until its own timeout. We set both the per-attempt
//! and the whole-operation timeout explicitly. Endpoints come from the standard
//! variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_DYNAMODB`, `_SECRETS_MANAGER`,
//! `_SQS`, `_SESV2`), which aws-config reads itself.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use std::time::Duration;

/// Time to open a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One attempt of one call.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// One call, all retries included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts per call (the first one included), with the SDK's standard backoff.
pub const MAX_ATTEMPTS: u32 = 4;

/// The timeouts every client uses.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The retry policy every client uses (standard mode: exponential backoff with jitter,
/// throttling and transient errors retried).
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

/// Loads the SDK configuration from the environment (region, credentials, endpoints)
/// with explicit timeouts and retries. Call once at cold start and share the result.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeout_config())
        .retry_config(retry_config())
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_has_an_operation_and_an_attempt_timeout() {
        let t = timeout_config();
        assert_eq!(t.operation_timeout(), Some(OPERATION_TIMEOUT));
        assert_eq!(t.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert!(ATTEMPT_TIMEOUT < OPERATION_TIMEOUT);
        assert_eq!(retry_config().max_attempts(), MAX_ATTEMPTS);
    }
}
