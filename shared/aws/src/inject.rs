//! Failures the local stand-ins cannot produce (a transaction conflict, access denied,
//! unprocessed keys…), injected into the real aws-sdk client talking to the real local
//! service: an interceptor replaces the HTTP response of the first N calls of one
//! operation, so everything else (serialisation, error parsing, the SDK's retry
//! classification, our code) runs as in production.
//!
//! A replaced *write* is first turned into a harmless read (`neutralize`), so nothing
//! lands on the service: a cancelled transaction writes nothing, and neither must the
//! injected one.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Builds the replacement (status, JSON body) from the request body.
type Responder = Box<dyn Fn(&[u8]) -> (u16, String) + Send + Sync>;

/// The response decided for this attempt (set before signing, used before
/// deserialization).
#[derive(Debug, Clone)]
struct Replacement(Option<(u16, String)>);

impl Storable for Replacement {
    type Storer = StoreReplace<Self>;
}

/// Replaces the responses of the first `times` calls of `operation`.
pub struct Inject {
    operation: &'static str,
    times: usize,
    /// `x-amz-target` of a harmless operation the request is rewritten to.
    neutralize: Option<&'static str>,
    respond: Responder,
    calls: Arc<AtomicUsize>,
    replaced: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Inject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inject")
            .field("operation", &self.operation)
            .field("times", &self.times)
            .finish_non_exhaustive()
    }
}

/// Counters a test reads after the calls.
#[derive(Debug, Clone)]
pub struct Calls {
    calls: Arc<AtomicUsize>,
    replaced: Arc<AtomicUsize>,
}

impl Calls {
    /// Calls of the operation (attempts, replaced or not).
    pub fn seen(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    /// Calls whose response was replaced.
    pub fn replaced(&self) -> usize {
        self.replaced.load(Ordering::SeqCst)
    }
}

impl Inject {
    /// Replaces the first `times` responses of `operation` (`usize::MAX`: all of them)
    /// with what `respond` builds from the request body.
    pub fn new(
        operation: &'static str,
        times: usize,
        respond: impl Fn(&[u8]) -> (u16, String) + Send + Sync + 'static,
    ) -> Self {
        Self {
            operation,
            times,
            neutralize: None,
            respond: Box::new(respond),
            calls: Arc::default(),
            replaced: Arc::default(),
        }
    }

    /// A DynamoDB write whose response is replaced is sent as `DescribeLimits` instead,
    /// so it changes nothing on the service.
    pub fn neutralized(mut self) -> Self {
        self.neutralize = Some("DynamoDB_20120810.DescribeLimits");
        self
    }

    /// The counters of this interceptor.
    pub fn calls(&self) -> Calls {
        Calls {
            calls: self.calls.clone(),
            replaced: self.replaced.clone(),
        }
    }
}

impl Intercept for Inject {
    fn name(&self) -> &'static str {
        "Inject"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let ours = cfg
            .load::<Metadata>()
            .is_some_and(|m| m.name() == self.operation);
        let mut replacement = None;
        if ours {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if n < self.times {
                self.replaced.fetch_add(1, Ordering::SeqCst);
                let body = context.request().body().bytes().unwrap_or_default();
                replacement = Some((self.respond)(body));
                if let Some(target) = self.neutralize {
                    let request = context.request_mut();
                    request.headers_mut().insert("x-amz-target", target);
                    request.headers_mut().insert("content-length", "2");
                    *request.body_mut() = SdkBody::from("{}");
                }
            }
        }
        cfg.interceptor_state().store_put(Replacement(replacement));
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Replacement(Some((status, body)))) = cfg.load::<Replacement>().cloned() {
            let mut response =
                HttpResponse::new(StatusCode::try_from(status)?, SdkBody::from(body));
            response
                .headers_mut()
                .insert("content-type", "application/x-amz-json-1.0");
            *context.response_mut() = response;
        }
        Ok(())
    }
}

/// A DynamoDB `TransactionCanceledException` with these per-item reasons.
pub fn transaction_cancelled(reasons: &[&str]) -> (u16, String) {
    let listed = reasons.join(", ");
    let reasons: Vec<serde_json::Value> = reasons
        .iter()
        .map(|code| serde_json::json!({ "Code": code, "Message": format!("injected {code}") }))
        .collect();
    (
        400,
        serde_json::json!({
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{listed}]"),
            "CancellationReasons": reasons,
        })
        .to_string(),
    )
}

/// An AWS JSON-protocol error with this code.
pub fn aws_error(status: u16, code: &str, message: &str) -> (u16, String) {
    (
        status,
        serde_json::json!({ "__type": code, "message": message, "Message": message }).to_string(),
    )
}

/// A DynamoDB client on `sdk` with `inject` installed.
pub fn dynamodb_client(sdk: &aws_config::SdkConfig, inject: Inject) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(sdk)
        .interceptor(inject)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A Secrets Manager client on `sdk` with `inject` installed.
pub fn secrets_manager_client(
    sdk: &aws_config::SdkConfig,
    inject: Inject,
) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::config::Builder::from(sdk)
        .interceptor(inject)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// An SES v2 client on `sdk` with `inject` installed.
pub fn sesv2_client(sdk: &aws_config::SdkConfig, inject: Inject) -> aws_sdk_sesv2::Client {
    let config = aws_sdk_sesv2::config::Builder::from(sdk)
        .interceptor(inject)
        .build();
    aws_sdk_sesv2::Client::from_conf(config)
}
