//! A local Lambda Runtime API: the three routes a runtime client uses (`next`,
//! `response`, `error`) plus `init/error`, one function per API.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, mpsc, oneshot};

/// One invocation handed to the function.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub payload: Value,
    /// Epoch milliseconds (`Lambda-Runtime-Deadline-Ms`).
    pub deadline_ms: u64,
}

/// How an invocation ended when it did not return a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The function reported an error (`/error`): its type and message.
    #[error("{error_type}: {error_message}")]
    Function {
        error_type: String,
        error_message: String,
    },
    /// No answer before the deadline (the sandbox is killed).
    #[error("task timed out after {0:?}")]
    TimedOut(Duration),
    /// The process went away before answering.
    #[error("the function process ended before answering")]
    Gone,
}

type Answer = Result<Value, InvokeError>;

#[derive(Default)]
struct Shared {
    waiting: HashMap<String, oneshot::Sender<Answer>>,
    /// When the function first asked for an invocation (its cold start is over).
    first_next: Option<std::time::Instant>,
    init_error: Option<String>,
}

#[derive(Clone)]
struct ApiState {
    queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>>,
    shared: Arc<Mutex<Shared>>,
    asked: Arc<Notify>,
}

/// The API server; invocations go in with [`RuntimeApi::invoke`].
pub struct RuntimeApi {
    addr: SocketAddr,
    sender: mpsc::UnboundedSender<Invocation>,
    shared: Arc<Mutex<Shared>>,
    asked: Arc<Notify>,
    server: tokio::task::JoinHandle<()>,
}

fn lock(m: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RuntimeApi {
    /// Starts the API on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let asked = Arc::new(Notify::new());
        let state = ApiState {
            queue: Arc::new(tokio::sync::Mutex::new(receiver)),
            shared: shared.clone(),
            asked: asked.clone(),
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(respond),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _served = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            sender,
            shared,
            asked,
            server,
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Hands `payload` to the function with `timeout` until its deadline and waits for
    /// the answer (a timeout when none comes in time).
    pub async fn invoke(&self, payload: Value, timeout: Duration) -> Answer {
        let request_id = uuid::Uuid::new_v4().to_string();
        let deadline = SystemTime::now() + timeout;
        let deadline_ms = deadline
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        let (tx, rx) = oneshot::channel();
        lock(&self.shared).waiting.insert(request_id.clone(), tx);
        let invocation = Invocation {
            request_id: request_id.clone(),
            payload,
            deadline_ms,
        };
        if self.sender.send(invocation).is_err() {
            return Err(InvokeError::Gone);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(InvokeError::Gone),
            Err(_) => {
                lock(&self.shared).waiting.remove(&request_id);
                Err(InvokeError::TimedOut(timeout))
            }
        }
    }

    /// Waits until the function asks for its first invocation (its init is done);
    /// the instant it did.
    pub async fn ready(&self) -> std::time::Instant {
        loop {
            let notified = self.asked.notified();
            if let Some(at) = lock(&self.shared).first_next {
                return at;
            }
            notified.await;
        }
    }

    /// What the function reported through `/init/error`, if anything.
    pub fn init_error(&self) -> Option<String> {
        lock(&self.shared).init_error.clone()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(state): State<ApiState>) -> Response {
    {
        let mut shared = lock(&state.shared);
        shared
            .first_next
            .get_or_insert_with(std::time::Instant::now);
    }
    state.asked.notify_waiters();
    let Some(invocation) = state.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let mut headers = HeaderMap::new();
    let header = |v: String| HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static(""));
    headers.insert(
        "lambda-runtime-aws-request-id",
        header(invocation.request_id),
    );
    headers.insert(
        "lambda-runtime-deadline-ms",
        header(invocation.deadline_ms.to_string()),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:local"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-00000000-000000000000000000000000;Sampled=0"),
    );
    (headers, invocation.payload.to_string()).into_response()
}

fn answer(state: &ApiState, id: &str, answer: Answer) -> StatusCode {
    match lock(&state.shared).waiting.remove(id) {
        Some(tx) => {
            let _delivered = tx.send(answer);
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn respond(State(state): State<ApiState>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    answer(&state, &id, Ok(value))
}

async fn error(State(state): State<ApiState>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let text = |k: &str| value[k].as_str().unwrap_or_default().to_owned();
    let error = InvokeError::Function {
        error_type: text("errorType"),
        error_message: text("errorMessage"),
    };
    answer(&state, &id, Err(error))
}

async fn init_error(State(state): State<ApiState>, body: Bytes) -> StatusCode {
    lock(&state.shared).init_error = Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}
