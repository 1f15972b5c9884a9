//! The HTTP server: the `/v2` routes behind a layer that injects faults and records every
//! request, and the `/_sim/*` control endpoints that drive the simulator from outside
//! (end-to-end tests against the binary).

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::Value;

use crate::api::{self, bearer};
use crate::control::{Fault, FaultRule, RecordedRequest, SimControl, UsageSettings};
use crate::error::ApiError;
use crate::usage;

pub(crate) fn router(ctl: SimControl) -> Router {
    let v2 = Router::new()
        .route("/v2/managed_accounts", get(api::managed_accounts))
        .route("/v2/billing_groups", get(api::billing_groups))
        .route("/v2/connections", get(api::connections))
        .route(
            "/v2/outbound_voice_profiles",
            get(api::outbound_voice_profiles),
        )
        .route("/v2/phone_numbers", get(api::phone_numbers))
        .route("/v2/detail_records", get(api::detail_records))
        .route("/v2/usage_reports", get(usage::usage_reports))
        .route(
            "/v2/usage_reports/options",
            get(usage::usage_report_options),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(ctl.clone(), faults_and_log));
    let control = Router::new()
        .route("/_sim/faults", post(add_fault).delete(clear_faults))
        .route("/_sim/revoke", post(revoke))
        .route("/_sim/rate_limit", post(rate_limit))
        .route("/_sim/requests", get(requests))
        .route("/_sim/detail_records", post(add_detail_record))
        .route("/_sim/usage", post(set_usage).get(usage_settings));
    control.merge(v2).with_state(ctl)
}

async fn not_found(request: Request) -> Response {
    ApiError::not_found(format!("No route matches {}", request.uri().path())).into_response()
}

async fn method_not_allowed(request: Request) -> Response {
    ApiError::method_not_allowed(format!(
        "{} is not allowed on {}",
        request.method(),
        request.uri().path()
    ))
    .into_response()
}

/// Refuses an endpoint the key was denied (403), else applies the first matching
/// fault; then logs the request with the status it got.
async fn faults_and_log(State(ctl): State<SimControl>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = Query::<Vec<(String, String)>>::try_from_uri(request.uri())
        .map(|q| q.0)
        .unwrap_or_default();
    let denied = bearer(request.headers()).is_some_and(|key| ctl.is_denied(key, &path));
    let fault = if denied { None } else { ctl.take_fault(&path) };
    let response = match fault {
        _ if denied => ApiError::forbidden().into_response(),
        Some(Fault::Status(code)) => ApiError::server(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        )
        .into_response(),
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Some(Fault::RevokeKeyAfter(n)) => {
            if let Some(key) = bearer(request.headers()) {
                ctl.schedule_revocation(key, n);
            }
            next.run(request).await
        }
        Some(Fault::CutBody) => cut_body(next.run(request).await).await,
        Some(Fault::MalformedJson) => malformed(next.run(request).await).await,
        Some(Fault::WithoutMeta) => {
            rewrite_page(next.run(request).await, |page| {
                page.remove("meta");
            })
            .await
        }
        Some(Fault::EmptyPage) => {
            rewrite_page(next.run(request).await, |page| {
                page.insert("data".to_owned(), Value::Array(Vec::new()));
            })
            .await
        }
        Some(Fault::DuplicateAcrossPages) | None => next.run(request).await,
    };
    ctl.record(RecordedRequest {
        method,
        path,
        query,
        status: response.status().as_u16(),
        at: Utc::now(),
    });
    response
}

async fn body_bytes(body: Body) -> Bytes {
    axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default()
}

/// Headers and the first half of the body go out, then the connection is dropped; the
/// announced Content-Length stays the full one so the client knows it was cut.
async fn cut_body(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = body_bytes(body).await;
    let full = bytes.len();
    let first = bytes.slice(..full / 2);
    let head = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(first) });
    // A pause lets hyper flush the headers and the first half before the error
    // aborts the connection; without it both would be dropped with the write buffer.
    let tail = futures::stream::once(async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection cut by the simulator",
        ))
    });
    let mut response = Response::from_parts(parts, Body::from_stream(head.chain(tail)));
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full));
    response
}

/// A successful JSON page changed by `edit`; anything else (an error, a body that is
/// not a JSON object) goes out unchanged.
async fn rewrite_page(
    response: Response,
    edit: impl FnOnce(&mut serde_json::Map<String, Value>),
) -> Response {
    if !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = body_bytes(body).await;
    let body = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut page)) => {
            edit(&mut page);
            Body::from(Value::Object(page).to_string())
        }
        _ => Body::from(bytes),
    };
    let mut response = Response::from_parts(parts, body);
    // The length changed: let hyper compute it again.
    response.headers_mut().remove(header::CONTENT_LENGTH);
    response
}

/// A 200 whose JSON body stops half way.
async fn malformed(response: Response) -> Response {
    let bytes = body_bytes(response.into_body()).await;
    let mut text = bytes.slice(..bytes.len() / 2).to_vec();
    if text.is_empty() {
        text = b"{\"data\":[{\"id\":".to_vec();
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        text,
    )
        .into_response()
}

async fn add_fault(State(ctl): State<SimControl>, Json(rule): Json<FaultRule>) -> StatusCode {
    ctl.add_fault(rule);
    StatusCode::NO_CONTENT
}

async fn clear_faults(State(ctl): State<SimControl>) -> StatusCode {
    ctl.clear_faults();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct RevokeBody {
    key: String,
}

async fn revoke(State(ctl): State<SimControl>, Json(body): Json<RevokeBody>) -> StatusCode {
    ctl.revoke_key(&body.key);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct RateLimitBody {
    per_minute: Option<u32>,
}

async fn rate_limit(State(ctl): State<SimControl>, Json(body): Json<RateLimitBody>) -> StatusCode {
    ctl.set_rate_limit(body.per_minute);
    StatusCode::NO_CONTENT
}

async fn requests(State(ctl): State<SimControl>) -> Json<Vec<RecordedRequest>> {
    Json(ctl.requests())
}

#[derive(Deserialize)]
struct LateRecord {
    account_id: String,
    record_type: String,
    row: Value,
}

async fn add_detail_record(
    State(ctl): State<SimControl>,
    Json(body): Json<LateRecord>,
) -> Response {
    match ctl.try_add_detail_record(&body.account_id, &body.record_type, body.row) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

async fn set_usage(
    State(ctl): State<SimControl>,
    Json(settings): Json<UsageSettings>,
) -> StatusCode {
    ctl.set_usage(settings);
    StatusCode::NO_CONTENT
}

async fn usage_settings(State(ctl): State<SimControl>) -> Json<UsageSettings> {
    Json(ctl.usage())
}
