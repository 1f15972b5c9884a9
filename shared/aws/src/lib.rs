//! AWS adapters of Telnyx Billing Sync: the outside world the pure core reaches
//! through its ports ([`reconciliation::ports`]).
//!
//! - [`config`]: the one `SdkConfig` built at cold start (timeouts, retries, endpoints).
//! - [`store`]: [`store::DynamoStore`], the single-table DynamoDB `Store` (key formats in
//!   [`store::keys`], the table documented in `infra/dynamodb-table.md`).
//! - [`secrets`]: [`secrets::SecretsManagerKeys`], Telnyx keys from Secrets Manager, cached.
//! - [`email`]: [`email::SesMailer`], the five emails rendered from minijinja templates, sent by
//!   SES v2 (through the core's outbox, `reconciliation::outbox::flush_outbox`).
//! - [`export`]: [`export::S3Sink`], an export written to S3 part by part (multipart upload).
//! - [`queue`]: [`queue::SqsDispatcher`], one SQS message per account to sync.
//! - [`error`]: [`AwsError`], classified transient or permanent, converted to `PortError` at the ports.
//! - `test_util` (feature `test-util`): a fresh table shaped exactly like `template.yaml`'s;
//!   `inject` (same feature): failures injected into a real SDK client's responses;
//!   `record` (same feature): the IAM actions a client's calls need, as they happen.

pub mod config;
pub mod email;
pub mod error;
pub mod export;
pub mod queue;
pub mod secrets;
pub mod store;

#[cfg(feature = "test-util")]
pub mod inject;
#[cfg(feature = "test-util")]
pub mod record;
#[cfg(feature = "test-util")]
pub mod test_util;

pub use error::AwsError;
