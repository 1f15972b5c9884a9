//! Telnyx's error body, `{"errors":[{"code","title","detail","source"?,"meta"?}]}`, with
//! the live API's inconsistency kept: `code` is a string on most endpoints and a JSON
//! number on others (404, 422 here).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error response as Telnyx sends it.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: Value,
    pub title: &'static str,
    pub detail: String,
    pub pointer: Option<String>,
    /// The query parameter at fault (`source.parameter`), as the usage report names it.
    pub parameter: Option<&'static str>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        code: Value,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code,
            title,
            detail: detail.into(),
            pointer: None,
            parameter: None,
        }
    }

    pub(crate) fn with_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }

    pub(crate) fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            json!("10009"),
            "Authentication failed",
            "The API key supplied is missing, invalid or has been revoked.",
        )
    }

    pub(crate) fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            json!("10010"),
            "Authorization failed",
            "You do not have permission to perform the requested action on the specified resource.",
        )
    }

    /// The detail-records 400 (missing, repeated or unknown `filter[record_type]`, bad filter value).
    pub(crate) fn bad_filter(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            json!("10011"),
            "Bad Request",
            detail,
        )
    }

    /// 429 with the same code as the 400 above, as measured on the live API.
    pub(crate) fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            json!("10011"),
            "Too many requests",
            "You have exceeded the number of requests allowed for this endpoint. Please wait and try again.",
        )
    }

    /// Invalid parameter: the code is a number here, like on the live API.
    pub(crate) fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!(10015),
            "Invalid parameter",
            detail,
        )
    }

    pub(crate) fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, json!(code), "Bad Request", detail)
    }

    /// The usage report's 400 naming the invalid parameter, as measured live: title
    /// `Metrics invalid values` (or `Dimensions invalid values`, `Product invalid value`),
    /// detail listing what is available, `source.parameter` naming the parameter.
    pub(crate) fn invalid_usage_parameter(
        title: &'static str,
        parameter: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, json!("10003"), title, detail);
        e.pointer = Some("/title".to_owned());
        e.parameter = Some(parameter);
        e
    }

    pub(crate) fn not_found(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            json!(10005),
            "Resource not found",
            detail,
        )
    }

    pub(crate) fn method_not_allowed(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            json!("10006"),
            "Method not allowed",
            detail,
        )
    }

    /// A server-side failure injected by a fault.
    pub(crate) fn server(status: StatusCode) -> Self {
        let title = match status.as_u16() {
            429 => return Self::rate_limited(),
            502 => "Bad gateway",
            503 => "Service unavailable",
            504 => "Gateway timeout",
            _ => "Unexpected error",
        };
        Self::new(
            status,
            json!("10007"),
            title,
            "An unexpected error occurred. Please try again later.",
        )
    }

    pub(crate) fn body(&self) -> Value {
        let mut error = json!({
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
            "meta": {"url": format!("https://developers.telnyx.com/docs/overview/errors/{}", code_text(&self.code))},
        });
        if let Some(pointer) = &self.pointer {
            error["source"] = json!({ "pointer": pointer });
            if let Some(parameter) = self.parameter {
                error["source"]["parameter"] = json!(parameter);
            }
        }
        json!({ "errors": [error] })
    }
}

fn code_text(code: &Value) -> String {
    match code {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}
