//! The shell every function shares at cold start: structured JSON logs for
//! CloudWatch, one `SdkConfig` (explicit timeouts) for every AWS client, and the core's
//! [`Ports`] built once from it and reused across warm invocations.

pub mod sync_config;

use aws_adapters::{
    config::load_sdk_config,
    email::SesMailer,
    queue::SqsDispatcher,
    secrets::{KeyStorage, SecretsManagerKeys},
    store::DynamoStore,
};
use lambda_runtime::Diagnostic;
use reconciliation::config::EnvReader;
use reconciliation::ports::{Ports, SystemClock};
use std::sync::Arc;
use telnyx_client::{ClientConfig, TelnyxClient};

/// JSON logs on stdout (CloudWatch), one object per event with its span fields
/// (`account_id`, `run_id`…) and an RFC 3339 timestamp; level from `RUST_LOG` (default
/// `info`). Idempotent.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _already_set = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .with_ansi(false)
        // RFC 3339 UTC (`"timestamp":"2026-11-23T12:00:00.123456Z"`): Lambda's JSON log
        // format and its level filtering read it.
        .with_timer(tracing_subscriber::fmt::time::SystemTime)
        .try_init();
}

/// Prints EMF metric lines on stdout, where CloudWatch Logs turns them into metrics
/// (one raw JSON object per line, beside the tracing lines). Only inside a Lambda
/// runtime (`AWS_LAMBDA_FUNCTION_NAME` set, as Lambda and `lambda-local` set it): the
/// handlers called in-process (the demo, the tests) print none.
pub fn emit_metrics(lines: &[reconciliation::metrics::MetricLine]) {
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_none() {
        return;
    }
    let now = chrono::Utc::now();
    for line in lines {
        println!("{}", line.to_json(now));
    }
}

/// Why the ports could not be built (a cold-start failure).
pub type BuildError = Box<dyn std::error::Error + Send + Sync>;

/// Where the ports point: the configuration both functions share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterConfig {
    pub table_name: String,
    /// Secrets Manager prefix (`<prefix>master`, `<prefix>accounts/<id>`).
    pub secret_prefix: String,
    /// One secret per account key, or the keys in a few shared secrets (`KEY_STORAGE`).
    pub key_storage: KeyStorage,
    pub telnyx_base_url: String,
    /// Verified SES identity emails come from.
    pub ses_sender: String,
    /// The account-sync queue (the scheduler's fan-out, a run's continuation).
    pub queue_url: String,
}

impl AdapterConfig {
    /// Reads `TABLE_NAME`, `SECRET_PREFIX`, `KEY_STORAGE`, `TELNYX_BASE_URL`,
    /// `SES_SENDER` and `QUEUE_URL`, recording every problem in `env`.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &mut EnvReader<F>) -> Self {
        let storage = env.or("KEY_STORAGE", "per-account");
        let key_storage = KeyStorage::parse(&storage).unwrap_or_else(|| {
            env.malformed("KEY_STORAGE", "expected per-account or shared");
            KeyStorage::default()
        });
        Self {
            table_name: env.required("TABLE_NAME", "the DynamoDB table"),
            secret_prefix: env.or("SECRET_PREFIX", aws_adapters::secrets::DEFAULT_PREFIX),
            key_storage,
            telnyx_base_url: env.url("TELNYX_BASE_URL", Some("https://api.telnyx.com/v2")),
            ses_sender: env.required("SES_SENDER", "the verified SES identity emails come from"),
            queue_url: env.url("QUEUE_URL", None),
        }
    }
}

/// Builds every port once (AWS endpoints from the standard `AWS_ENDPOINT_URL_*`
/// variables), on one `SdkConfig`.
pub async fn build_ports(config: &AdapterConfig) -> Result<Ports, BuildError> {
    let sdk = load_sdk_config().await;
    Ok(Ports {
        store: Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            config.table_name.clone(),
        )),
        secrets: Arc::new(
            SecretsManagerKeys::new(
                aws_sdk_secretsmanager::Client::new(&sdk),
                config.secret_prefix.clone(),
            )
            .with_storage(config.key_storage),
        ),
        mailer: Arc::new(SesMailer::new(
            aws_sdk_sesv2::Client::new(&sdk),
            &config.ses_sender,
        )?),
        telnyx: Arc::new(TelnyxClient::new(ClientConfig::new(
            config.telnyx_base_url.clone(),
        ))?),
        dispatcher: Arc::new(SqsDispatcher::new(
            aws_sdk_sqs::Client::new(&sdk),
            &config.queue_url,
        )),
        clock: Arc::new(SystemClock),
    })
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
