//! The crate's error type: one enum, sources kept, classified once as transient
//! (throttling, 5xx, timeouts, dropped connections, unprocessed batch items, a
//! transaction that kept conflicting) or
//! permanent (validation, access denied, missing or malformed secret, corrupt item).
//!
//! Adapters convert it into [`PortError`] at the port boundary with a context naming
//! the account or entity — never a key or a secret value.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use reconciliation::{PortError, Transience};
use std::error::Error as StdError;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Error codes AWS services use for throttling and other retryable service-side conditions.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "TransactionConflictException",
    "TransactionInProgressException",
    "InternalServerError",
    "InternalServiceError",
    "InternalFailure",
    "ServiceUnavailable",
    "LimitExceededException",
];

/// Everything that can go wrong talking to AWS.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// An AWS API call failed (the SDK error, with the service's code, is the source).
    #[error("{service} {operation} failed ({code})")]
    Sdk {
        service: &'static str,
        operation: &'static str,
        /// The service's error code, or the failure kind (timeout, dispatch…).
        code: String,
        transient: bool,
        #[source]
        source: BoxError,
    },
    /// A batch call kept returning unprocessed items (throttling) after every attempt.
    #[error("{operation}: {remaining} item(s) still unprocessed after {attempts} attempts")]
    Unprocessed {
        operation: &'static str,
        attempts: u32,
        remaining: usize,
    },
    /// A transaction kept being cancelled by conflicting writes (or throttling) after
    /// every attempt; nothing of it was written.
    #[error("{operation} was cancelled by conflicting writes on all {attempts} attempts")]
    TransactionConflict {
        operation: &'static str,
        attempts: u32,
    },
    /// A stored item could not be read back into its type.
    #[error("stored item {what} could not be decoded")]
    Decode {
        what: String,
        #[source]
        source: BoxError,
    },
    /// A value could not be turned into an item or a message body.
    #[error("{what} could not be encoded")]
    Encode {
        what: String,
        #[source]
        source: BoxError,
    },
    /// An update targeted an item that does not exist.
    #[error("{what} does not exist")]
    NotFound { what: String },
    /// The secret holding a key does not exist.
    #[error("secret {secret_name} ({scope}) does not exist")]
    SecretNotFound {
        scope: String,
        secret_name: String,
        #[source]
        source: BoxError,
    },
    /// The function may not read the secret, or not decrypt it with its KMS key.
    #[error("access to secret {secret_name} ({scope}) was denied (reading it or decrypting it)")]
    SecretAccessDenied {
        scope: String,
        secret_name: String,
        #[source]
        source: BoxError,
    },
    /// The secret exists but cannot be read in its current state — typically it is
    /// scheduled for deletion (Secrets Manager's `InvalidRequestException`).
    #[error(
        "secret {secret_name} ({scope}) cannot be read in its current state (scheduled for deletion?): restore it or store the key again"
    )]
    SecretUnusable {
        scope: String,
        secret_name: String,
        #[source]
        source: BoxError,
    },
    /// The secret exists but holds no usable key. Never carries the value or a parser
    /// error that could quote it.
    #[error("secret {secret_name} ({scope}) is malformed: {reason}")]
    SecretMalformed {
        scope: String,
        secret_name: String,
        reason: &'static str,
    },
    /// An email template failed to render.
    #[error("email template {template} failed to render")]
    Template {
        template: String,
        #[source]
        source: minijinja::Error,
    },
    /// An email with no usable recipient.
    #[error("email {what} has no usable recipient")]
    NoRecipient { what: String },
}

impl AwsError {
    /// Wraps an SDK error, classifying it.
    pub fn sdk<E>(
        service: &'static str,
        operation: &'static str,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let (code, transient) = classify(&err);
        AwsError::Sdk {
            service,
            operation,
            code,
            transient,
            source: Box::new(err),
        }
    }

    /// True when retrying the same operation later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            AwsError::Sdk { transient, .. } => *transient,
            AwsError::Unprocessed { .. } | AwsError::TransactionConflict { .. } => true,
            AwsError::Decode { .. }
            | AwsError::Encode { .. }
            | AwsError::NotFound { .. }
            | AwsError::SecretNotFound { .. }
            | AwsError::SecretAccessDenied { .. }
            | AwsError::SecretUnusable { .. }
            | AwsError::SecretMalformed { .. }
            | AwsError::Template { .. }
            | AwsError::NoRecipient { .. } => false,
        }
    }

    /// The service error code, when this is an SDK error.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Sdk { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Converts into the port error, with `context` saying what was being done for whom.
    pub fn into_port(self, context: impl Into<String>) -> PortError {
        let transience = if self.is_transient() {
            Transience::Transient
        } else {
            Transience::Permanent
        };
        PortError::new(context, transience, self)
    }
}

/// The error code and whether a retry may help.
pub(crate) fn classify<E>(err: &SdkError<E, HttpResponse>) -> (String, bool)
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::TimeoutError(_) => ("timeout".to_owned(), true),
        SdkError::DispatchFailure(d) => ("dispatch failure".to_owned(), !d.is_user()),
        SdkError::ResponseError(_) => ("unreadable response".to_owned(), true),
        SdkError::ConstructionFailure(_) => ("request construction failed".to_owned(), false),
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().unwrap_or("unknown").to_owned();
            let transient =
                status >= 500 || status == 429 || RETRYABLE_CODES.contains(&code.as_str());
            (code, transient)
        }
        _ => ("unknown".to_owned(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(status: u16, code: &str) -> SdkError<PutItemError, HttpResponse> {
        let Ok(status) = StatusCode::try_from(status) else {
            panic!("valid status {status}")
        };
        let raw = HttpResponse::new(status, SdkBody::empty());
        SdkError::service_error(
            PutItemError::generic(ErrorMetadata::builder().code(code).build()),
            raw,
        )
    }

    #[test]
    fn throttling_server_errors_and_timeouts_are_transient_the_rest_permanent() {
        let transient = |e| AwsError::sdk("DynamoDB", "PutItem", e).is_transient();
        assert!(transient(service_error(400, "ThrottlingException")));
        assert!(transient(service_error(
            400,
            "ProvisionedThroughputExceededException"
        )));
        assert!(transient(service_error(503, "ServiceUnavailable")));
        assert!(transient(service_error(500, "Anything")));
        assert!(transient(SdkError::timeout_error("slow")));
        assert!(!transient(service_error(400, "ValidationException")));
        assert!(!transient(service_error(400, "AccessDeniedException")));
        assert!(!transient(service_error(400, "ResourceNotFoundException")));
        let err = AwsError::sdk(
            "DynamoDB",
            "PutItem",
            service_error(400, "ValidationException"),
        );
        assert_eq!(err.code(), Some("ValidationException"));
        assert_eq!(
            err.to_string(),
            "DynamoDB PutItem failed (ValidationException)"
        );
    }

    #[test]
    fn secret_errors_are_permanent_unprocessed_items_and_conflicts_transient() {
        let missing = AwsError::SecretMalformed {
            scope: "account acc-1".into(),
            secret_name: "p/accounts/acc-1".into(),
            reason: "empty",
        };
        assert!(!missing.is_transient());
        let unprocessed = AwsError::Unprocessed {
            operation: "BatchWriteItem",
            attempts: 8,
            remaining: 3,
        };
        assert!(unprocessed.is_transient());
        let port = unprocessed.into_port("writing detail records of account acc-1");
        assert!(port.is_transient());
        assert!(port.chain().contains("3 item(s) still unprocessed"));
        let conflicting = AwsError::TransactionConflict {
            operation: "TransactWriteItems",
            attempts: 8,
        };
        assert!(conflicting.is_transient());
        assert_eq!(
            conflicting.to_string(),
            "TransactWriteItems was cancelled by conflicting writes on all 8 attempts"
        );
    }
}
