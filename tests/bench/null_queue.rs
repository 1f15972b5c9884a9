//! A queue that accepts every `SendMessageBatch` at once (SQS's JSON protocol), for the
//! fan-out figure: moto's SQS slows down with every message it holds (measured beside
//! it, `moto_send_3000_messages_sec`), so on moto a 3,000-message tick measures moto.
//! It counts what it accepted, so the bench can check nothing was dropped.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The running stand-in.
pub struct NullQueue {
    pub endpoint: String,
    accepted: Arc<AtomicU64>,
}

impl NullQueue {
    pub async fn start() -> Self {
        let accepted = Arc::new(AtomicU64::new(0));
        let counter = accepted.clone();
        let app = Router::new().route(
            "/",
            post(move |headers: HeaderMap, body: Bytes| {
                let counter = counter.clone();
                async move { answer(&headers, &body, &counter) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("null queue binds");
        let addr = listener.local_addr().expect("address");
        let listener = listener.tap_io(|tcp| {
            let _nodelay = tcp.set_nodelay(true);
        });
        tokio::spawn(async move {
            let _served = axum::serve(listener, app).await;
        });
        Self {
            endpoint: format!("http://{addr}"),
            accepted,
        }
    }

    /// Messages accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

fn answer(headers: &HeaderMap, body: &[u8], accepted: &AtomicU64) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let request: Value = serde_json::from_slice(body).unwrap_or_default();
    let reply = match target {
        "AmazonSQS.SendMessageBatch" => {
            let entries = request["Entries"].as_array().cloned().unwrap_or_default();
            accepted.fetch_add(entries.len() as u64, Ordering::SeqCst);
            let successful: Vec<Value> = entries
                .iter()
                .map(|e| {
                    json!({"Id": e["Id"], "MessageId": uuid::Uuid::new_v4().to_string(),
                           "MD5OfMessageBody": "00000000000000000000000000000000"})
                })
                .collect();
            json!({"Successful": successful, "Failed": []})
        }
        "AmazonSQS.SendMessage" => {
            accepted.fetch_add(1, Ordering::SeqCst);
            json!({"MessageId": uuid::Uuid::new_v4().to_string(),
                   "MD5OfMessageBody": "00000000000000000000000000000000"})
        }
        other => {
            let error =
                json!({"__type": "InvalidAction", "message": format!("not served: {other}")});
            return (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, JSON)],
                error.to_string(),
            )
                .into_response();
        }
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, JSON)],
        reply.to_string(),
    )
        .into_response()
}

const JSON: &str = "application/x-amz-json-1.0";
