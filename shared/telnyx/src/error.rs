//! The client's one error type, classified once as transient or permanent.
//!
//! Every variant names the endpoint and page that failed; none carries the API key
//! (the key is only ever put in the `Authorization` header). Telnyx's error body
//! `{"errors":[{"code","title","detail"}]}` is parsed into [`ApiErrorDetail`], with
//! `code` accepted as a string or a number.

use crate::flex::FlexString;
use reconciliation::domain::RecordType;
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// The first entry of Telnyx's `errors` array, as far as it was readable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiErrorDetail {
    /// Telnyx's error code (`"10009"`, sent as a string or a number).
    pub code: Option<String>,
    pub title: Option<String>,
    pub detail: Option<String>,
}

impl ApiErrorDetail {
    /// Reads Telnyx's error body; an unreadable body gives an empty detail.
    pub fn from_body(body: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct Body {
            #[serde(default)]
            errors: Vec<Entry>,
        }
        #[derive(Deserialize)]
        struct Entry {
            code: Option<FlexString>,
            title: Option<String>,
            detail: Option<String>,
        }
        serde_json::from_slice::<Body>(body)
            .ok()
            .and_then(|b| b.errors.into_iter().next())
            .map(|e| ApiErrorDetail {
                code: e.code.and_then(FlexString::non_empty),
                title: e.title,
                detail: e.detail,
            })
            .unwrap_or_default()
    }
}

impl fmt::Display for ApiErrorDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(code) = &self.code {
            parts.push(format!("code {code}"));
        }
        if let Some(title) = &self.title {
            parts.push(title.clone());
        }
        if let Some(detail) = &self.detail {
            parts.push(detail.clone());
        }
        if parts.is_empty() {
            f.write_str("no error body")
        } else {
            f.write_str(&parts.join(": "))
        }
    }
}

/// What went wrong talking to Telnyx. `endpoint` is the path (`/detail_records`) and
/// `page` the page number requested.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelnyxError {
    /// 401: the key is missing, wrong or revoked. Never retried.
    #[error(
        "GET {endpoint} page {page}: unauthorized (401), the API key is missing or revoked ({api})"
    )]
    Unauthorized {
        endpoint: &'static str,
        page: u32,
        api: ApiErrorDetail,
    },
    /// 403: the key may not read this endpoint (e.g. the master key on an account resource).
    #[error("GET {endpoint} page {page}: forbidden (403), the key may not read {endpoint} ({api})")]
    Forbidden {
        endpoint: &'static str,
        page: u32,
        api: ApiErrorDetail,
    },
    /// 404.
    #[error("GET {endpoint} page {page}: not found (404) ({api})")]
    NotFound {
        endpoint: &'static str,
        page: u32,
        api: ApiErrorDetail,
    },
    /// 400 or 422: the request itself is wrong; `api.detail` says why.
    #[error("GET {endpoint} page {page}: invalid request ({status}) ({api})")]
    InvalidRequest {
        endpoint: &'static str,
        page: u32,
        status: u16,
        api: ApiErrorDetail,
    },
    /// 429 after the retries were spent.
    #[error("GET {endpoint} page {page}: rate limited (429){}", reset_text(*.reset))]
    RateLimited {
        endpoint: &'static str,
        page: u32,
        /// `x-ratelimit-reset`, when the response carried it.
        reset: Option<Duration>,
    },
    /// A 5xx after the retries were spent.
    #[error("GET {endpoint} page {page}: Telnyx server error ({status}) ({api})")]
    Server {
        endpoint: &'static str,
        page: u32,
        status: u16,
        api: ApiErrorDetail,
    },
    /// Any other non-success status (3xx, 405, 409…). Never retried.
    #[error("GET {endpoint} page {page}: unexpected status {status} ({api})")]
    UnexpectedStatus {
        endpoint: &'static str,
        page: u32,
        status: u16,
        api: ApiErrorDetail,
    },
    /// No complete response within the configured timeout.
    #[error("GET {endpoint} page {page}: timed out")]
    Timeout {
        endpoint: &'static str,
        page: u32,
        #[source]
        source: reqwest::Error,
    },
    /// Connection refused or reset, a body cut short of its `Content-Length`, and other
    /// transport failures.
    #[error("GET {endpoint} page {page}: transport error")]
    Transport {
        endpoint: &'static str,
        page: u32,
        #[source]
        source: reqwest::Error,
    },
    /// A 200 whose body (complete as far as HTTP framing goes) is not the expected JSON
    /// page, e.g. a document that stops half way. Not retried: a transfer cut short is
    /// caught by HTTP framing and reported as [`TelnyxError::Transport`] instead.
    /// `source` is the parser's error (with its line and column) when there is one.
    #[error("GET {endpoint} page {page}: malformed response body: {detail}")]
    MalformedBody {
        endpoint: &'static str,
        page: u32,
        detail: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// One detail record lacks a usable identity or time, or has unreadable money.
    /// `source` is the JSON error when the row itself could not be read.
    #[error(
        "GET {endpoint} page {page}: malformed {record_type} record: field `{field}`: {detail}"
    )]
    MalformedRecord {
        endpoint: &'static str,
        page: u32,
        record_type: RecordType,
        field: &'static str,
        detail: String,
        #[source]
        source: Option<serde_json::Error>,
    },
    /// The caller's deadline would pass before the page could be had (waiting for the
    /// rate limit, or the request itself): nothing of that page was used.
    #[error("GET {endpoint} page {page}: not requested, the run's deadline is too near")]
    DeadlineReached { endpoint: &'static str, page: u32 },
    /// The walk reached the configured page cap with pages still left: the result
    /// would be incomplete, so it is an error (narrow the window or raise the cap).
    #[error("GET {endpoint}: page cap of {cap} pages reached with more pages left")]
    PageCapReached { endpoint: &'static str, cap: u32 },
    /// The client could not be built or a request URL formed (bad base URL, TLS setup);
    /// `source` is the URL parser's or the HTTP stack's error.
    #[error("invalid Telnyx client configuration: {detail}")]
    Config {
        detail: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
}

fn reset_text(reset: Option<Duration>) -> String {
    match reset {
        Some(d) => format!(", window resets in {}s", d.as_secs()),
        None => String::new(),
    }
}

impl TelnyxError {
    /// True when the same request can succeed later: throttling, 5xx, timeouts,
    /// dropped or cut connections. 4xx, malformed bodies and configuration are permanent.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TelnyxError::RateLimited { .. }
                | TelnyxError::Server { .. }
                | TelnyxError::Timeout { .. }
                | TelnyxError::Transport { .. }
                | TelnyxError::DeadlineReached { .. }
        )
    }

    /// The HTTP status behind this error, if a response arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            TelnyxError::Unauthorized { .. } => Some(401),
            TelnyxError::Forbidden { .. } => Some(403),
            TelnyxError::NotFound { .. } => Some(404),
            TelnyxError::RateLimited { .. } => Some(429),
            TelnyxError::InvalidRequest { status, .. }
            | TelnyxError::Server { status, .. }
            | TelnyxError::UnexpectedStatus { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Builds the error for a non-success response.
    pub(crate) fn from_status(
        endpoint: &'static str,
        page: u32,
        status: u16,
        body: &[u8],
        reset: Option<Duration>,
    ) -> Self {
        let api = ApiErrorDetail::from_body(body);
        match status {
            401 => TelnyxError::Unauthorized {
                endpoint,
                page,
                api,
            },
            403 => TelnyxError::Forbidden {
                endpoint,
                page,
                api,
            },
            404 => TelnyxError::NotFound {
                endpoint,
                page,
                api,
            },
            // Telnyx uses code 10011 both for a bad filter (400) and for throttling (429):
            // classify by status, never by code.
            429 => TelnyxError::RateLimited {
                endpoint,
                page,
                reset,
            },
            400 | 422 => TelnyxError::InvalidRequest {
                endpoint,
                page,
                status,
                api,
            },
            500..=599 => TelnyxError::Server {
                endpoint,
                page,
                status,
                api,
            },
            _ => TelnyxError::UnexpectedStatus {
                endpoint,
                page,
                status,
                api,
            },
        }
    }

    /// Classifies a reqwest failure (timeout versus other transport trouble).
    pub(crate) fn from_reqwest(endpoint: &'static str, page: u32, source: reqwest::Error) -> Self {
        // The key travels only in a header, never in the URL, so the reqwest error
        // (whose message shows the URL) is safe to keep as the source.
        if source.is_timeout() {
            TelnyxError::Timeout {
                endpoint,
                page,
                source,
            }
        } else {
            TelnyxError::Transport {
                endpoint,
                page,
                source,
            }
        }
    }

    /// A 200 body that is not the JSON page expected; the parser's error is kept as the
    /// source and summarized in `detail`.
    pub(crate) fn from_json(endpoint: &'static str, page: u32, e: serde_json::Error) -> Self {
        use serde_json::error::Category;
        let detail = match e.classify() {
            Category::Eof => "the JSON document stops before its end",
            Category::Syntax => "not valid JSON",
            Category::Data => "JSON of an unexpected shape",
            Category::Io => "unreadable",
        };
        TelnyxError::MalformedBody {
            endpoint,
            page,
            detail: detail.to_owned(),
            source: Some(Box::new(e)),
        }
    }

    /// A 200 body that is not UTF-8 text.
    pub(crate) fn from_utf8(endpoint: &'static str, page: u32, e: std::str::Utf8Error) -> Self {
        TelnyxError::MalformedBody {
            endpoint,
            page,
            detail: "the body is not UTF-8 text".to_owned(),
            source: Some(Box::new(e)),
        }
    }

    /// A 200 body that is a JSON page without its `data` array.
    pub(crate) fn no_data(endpoint: &'static str, page: u32) -> Self {
        TelnyxError::MalformedBody {
            endpoint,
            page,
            detail: "no `data` array".to_owned(),
            source: None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn error_code_is_read_whether_string_or_number() {
        let s = ApiErrorDetail::from_body(
            br#"{"errors":[{"code":"10009","title":"Authentication failed","detail":"bad key"}]}"#,
        );
        let n = ApiErrorDetail::from_body(
            br#"{"errors":[{"code":10009,"title":"Authentication failed"}]}"#,
        );
        assert_eq!(s.code.as_deref(), Some("10009"));
        assert_eq!(s.detail.as_deref(), Some("bad key"));
        assert_eq!(n.code.as_deref(), Some("10009"));
        assert_eq!(
            ApiErrorDetail::from_body(b"<html>"),
            ApiErrorDetail::default()
        );
    }

    #[test]
    fn statuses_map_to_variants_by_status_not_by_code() {
        let body = br#"{"errors":[{"code":"10011","title":"Too many requests"}]}"#;
        let throttled = TelnyxError::from_status("/detail_records", 2, 429, body, None);
        assert!(matches!(throttled, TelnyxError::RateLimited { .. }));
        assert!(throttled.is_transient());
        let bad = TelnyxError::from_status("/detail_records", 1, 400, body, None);
        assert!(matches!(
            bad,
            TelnyxError::InvalidRequest { status: 400, .. }
        ));
        assert!(!bad.is_transient());
        assert!(TelnyxError::from_status("/x", 1, 503, b"", None).is_transient());
        assert!(!TelnyxError::from_status("/x", 1, 401, b"", None).is_transient());
        assert!(!TelnyxError::from_status("/x", 1, 403, b"", None).is_transient());
        assert!(!TelnyxError::from_status("/x", 1, 404, b"", None).is_transient());
        assert!(!TelnyxError::from_status("/x", 1, 422, b"", None).is_transient());
    }

    #[test]
    fn invalid_request_message_carries_telnyx_detail_and_code() {
        let body = br#"{"errors":[{"code":"10011","title":"Invalid filter","detail":"filter[record_type] is required"}]}"#;
        let e = TelnyxError::from_status("/detail_records", 1, 400, body, None);
        let text = e.to_string();
        assert!(text.contains("/detail_records"), "{text}");
        assert!(text.contains("10011"), "{text}");
        assert!(text.contains("filter[record_type] is required"), "{text}");
    }

    #[test]
    fn a_malformed_body_keeps_the_parser_error_as_its_source() {
        let json = serde_json::from_str::<serde_json::Value>(r#"{"data":[{"id":"#).unwrap_err();
        let e = TelnyxError::from_json("/detail_records", 3, json);
        assert_eq!(
            e.to_string(),
            "GET /detail_records page 3: malformed response body: the JSON document stops before its end"
        );
        let source = std::error::Error::source(&e).unwrap();
        assert!(source.is::<serde_json::Error>(), "{source:?}");
        assert!(source.to_string().contains("line 1 column"), "{source}");
        let chain = reconciliation::error_chain(&e);
        assert!(chain.ends_with(&source.to_string()), "{chain}");
    }

    #[test]
    fn forbidden_names_the_endpoint() {
        let e = TelnyxError::from_status("/billing_groups", 1, 403, b"", None);
        assert!(
            e.to_string().contains("may not read /billing_groups"),
            "{e}"
        );
    }
}
