//! The error every port returns, classified once as transient or permanent.
//!
//! Adapters keep their own `thiserror` enums (with sources) and convert into
//! [`PortError`] at the port boundary, stating whether a retry can help.

use std::error::Error as StdError;

/// Whether retrying the same operation later can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transience {
    /// Throttling, a 5xx, a timeout, a dropped connection: retry with backoff.
    Transient,
    /// Bad input, a revoked key, a missing secret: retrying changes nothing.
    Permanent,
}

/// Telnyx refused the API key itself, as opposed to the request: the operator must act
/// on the key (a "key problem" alert), not on the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRefusal {
    /// 401: the key is missing, wrong or revoked.
    Unauthorized,
    /// 403: the key lacks a permission for the endpoint.
    Forbidden,
}

/// An error from a port, with its source chain kept and its transience decided by the adapter.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct PortError {
    context: String,
    transience: Transience,
    key_refusal: Option<KeyRefusal>,
    past_deadline: bool,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl PortError {
    /// Wraps an adapter error. `context` says what was being done (never a secret).
    pub fn new(
        context: impl Into<String>,
        transience: Transience,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self {
            context: context.into(),
            transience,
            key_refusal: None,
            past_deadline: false,
            source: Some(Box::new(source)),
        }
    }

    /// An error with no underlying source (e.g. a validation failure found by the adapter).
    pub fn message(context: impl Into<String>, transience: Transience) -> Self {
        Self {
            context: context.into(),
            transience,
            key_refusal: None,
            past_deadline: false,
            source: None,
        }
    }

    /// Marks the error as Telnyx refusing the key (set by the Telnyx adapter on 401/403).
    pub fn with_key_refusal(mut self, refusal: KeyRefusal) -> Self {
        self.key_refusal = Some(refusal);
        self
    }

    /// Marks the error as "not done because the caller's deadline would pass" (nothing
    /// was lost: the work was not started, or its result was not used).
    pub fn past_deadline(mut self) -> Self {
        self.past_deadline = true;
        self
    }

    /// Whether the operation stopped for the caller's deadline, not for a fault.
    pub fn is_past_deadline(&self) -> bool {
        self.past_deadline
    }

    /// Whether Telnyx refused the key itself.
    pub fn key_refusal(&self) -> Option<KeyRefusal> {
        self.key_refusal
    }

    /// True when a retry may succeed.
    pub fn is_transient(&self) -> bool {
        self.transience == Transience::Transient
    }

    pub fn transience(&self) -> Transience {
        self.transience
    }

    /// The full cause chain on one line, for logs and run-log entries.
    pub fn chain(&self) -> String {
        error_chain(self)
    }
}

/// An error and all its sources on one line (`outer: cause: root cause`), for logs,
/// run logs and Lambda error messages. Adapters never put a secret in an error.
pub fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut out = error.to_string();
    let mut cur = error.source();
    while let Some(e) = cur {
        let text = e.to_string();
        // thiserror's `#[error(transparent)]` repeats the source's text: print it once.
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = e.source();
    }
    out
}
