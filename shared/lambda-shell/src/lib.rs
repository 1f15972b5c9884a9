//! The shell every function shares at cold start: structured JSON logs for
//! CloudWatch, one `SdkConfig` (explicit timeouts) for every AWS client, and the
//! adapters built once and reused across warm invocations.

use aws_adapters::{
    config::load_sdk_config, email::SesMailer, queue::SqsDispatcher, secrets::SecretsManagerKeys,
    store::DynamoStore,
};
use aws_config::SdkConfig;
use lambda_runtime::Diagnostic;
use reconciliation::config::EnvReader;
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

/// Where the adapters point: the configuration both functions share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterConfig {
    pub table_name: String,
    /// Secrets Manager prefix (`<prefix>master`, `<prefix>accounts/<id>`).
    pub secret_prefix: String,
    pub telnyx_base_url: String,
    /// Verified SES identity emails come from.
    pub ses_sender: String,
}

impl AdapterConfig {
    /// Reads `TABLE_NAME`, `SECRET_PREFIX`, `TELNYX_BASE_URL` and `SES_SENDER`, recording
    /// every problem in `env`.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &mut EnvReader<F>) -> Self {
        Self {
            table_name: env.required("TABLE_NAME", "the DynamoDB table"),
            secret_prefix: env.or("SECRET_PREFIX", aws_adapters::secrets::DEFAULT_PREFIX),
            telnyx_base_url: env.url("TELNYX_BASE_URL", Some("https://api.telnyx.com/v2")),
            ses_sender: env.required("SES_SENDER", "the verified SES identity emails come from"),
        }
    }
}

impl Adapters {
    /// Builds every adapter once (endpoints from the standard `AWS_ENDPOINT_URL_*` variables).
    pub async fn build(config: &AdapterConfig) -> Result<Self, BuildError> {
        let sdk = load_sdk_config().await;
        Ok(Self {
            store: DynamoStore::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                config.table_name.clone(),
            ),
            secrets: SecretsManagerKeys::new(
                aws_sdk_secretsmanager::Client::new(&sdk),
                config.secret_prefix.clone(),
            ),
            mailer: SesMailer::new(aws_sdk_sesv2::Client::new(&sdk), &config.ses_sender)?,
            telnyx: TelnyxClient::new(ClientConfig::new(config.telnyx_base_url.clone()))?,
            sdk,
        })
    }

    /// The SQS fan-out to `queue_url`, on the same `SdkConfig`.
    pub fn dispatcher(&self, queue_url: &str) -> SqsDispatcher {
        SqsDispatcher::new(aws_sdk_sqs::Client::new(&self.sdk), queue_url)
    }
}

/// The Lambda error of a failed invocation: its type says whether a retry can help
/// (`TransientError` / `PermanentError`), its message is the whole cause chain.
pub fn diagnostic(error: &(dyn std::error::Error + 'static), transient: bool) -> Diagnostic {
    Diagnostic {
        error_type: if transient {
            "TransientError"
        } else {
            "PermanentError"
        }
        .to_owned(),
        error_message: reconciliation::error_chain(error),
    }
}
