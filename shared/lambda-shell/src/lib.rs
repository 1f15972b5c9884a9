//! The shell every function shares at cold start: structured JSON logs for
//! CloudWatch, one `SdkConfig` (explicit timeouts) for every AWS client, and the
//! adapters built once and reused across warm invocations.

use aws_adapters::{
    config::load_sdk_config, email::SesMailer, queue::SqsDispatcher, secrets::SecretsManagerKeys,
    store::DynamoStore,
};
use aws_config::SdkConfig;
use telnyx_client::{ClientConfig, TelnyxClient};

/// JSON logs on stdout (CloudWatch), one object per event with its span fields
/// (`account_id`, `run_id`…); level from `RUST_LOG` (default `info`). Idempotent.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _already_set = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .with_ansi(false)
        .without_time()
        .try_init();
}

/// Why the adapters could not be built (a cold-start failure).
pub type BuildError = Box<dyn std::error::Error + Send + Sync>;

/// The adapters both functions use, built from one `SdkConfig`.
pub struct Adapters {
    pub sdk: SdkConfig,
    pub store: DynamoStore,
    pub secrets: SecretsManagerKeys,
    pub mailer: SesMailer,
    pub telnyx: TelnyxClient,
}

/// Where the adapters point.
pub struct AdapterSettings<'a> {
    pub table_name: &'a str,
    pub secret_prefix: &'a str,
    pub ses_sender: &'a str,
    pub telnyx_base_url: &'a str,
}

impl Adapters {
    /// Builds every adapter once (endpoints from the standard `AWS_ENDPOINT_URL_*` variables).
    pub async fn build(settings: AdapterSettings<'_>) -> Result<Self, BuildError> {
        let sdk = load_sdk_config().await;
        Ok(Self {
            store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), settings.table_name),
            secrets: SecretsManagerKeys::new(
                aws_sdk_secretsmanager::Client::new(&sdk),
                settings.secret_prefix,
            ),
            mailer: SesMailer::new(aws_sdk_sesv2::Client::new(&sdk), settings.ses_sender)?,
            telnyx: TelnyxClient::new(ClientConfig::new(settings.telnyx_base_url))?,
            sdk,
        })
    }

    /// The SQS fan-out to `queue_url`, on the same `SdkConfig`.
    pub fn dispatcher(&self, queue_url: &str) -> SqsDispatcher {
        SqsDispatcher::new(aws_sdk_sqs::Client::new(&self.sdk), queue_url)
    }
}
