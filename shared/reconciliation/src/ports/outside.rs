//! The smaller ports: API keys in a secret store, sending an email, queueing a sync,
//! and the time.

use super::PortResult;
use super::telnyx::ApiKey;
use crate::domain::ManagedAccountId;
use crate::invocation::SyncRequest;
use crate::plan::Notification;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

/// API keys in a secret store.
#[async_trait]
pub trait Secrets: Send + Sync {
    /// The manager key that lists managed accounts.
    async fn master_key(&self) -> PortResult<ApiKey>;
    /// One managed account's own key.
    async fn account_key(&self, account: &ManagedAccountId) -> PortResult<ApiKey>;
}

/// Sends one email. Has no idempotency of its own: callers go through the outbox.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Returns the provider's message id.
    async fn send(&self, notification: &Notification) -> PortResult<String>;
}

/// Queues syncs on the account-sync queue.
#[async_trait]
pub trait Dispatcher: Send + Sync {
    /// Returns the requests that could not be queued.
    async fn dispatch(&self, requests: &[SyncRequest]) -> PortResult<Vec<SyncRequest>>;
    /// Queues one request, delivered no sooner than `delay` from now (a continuation).
    async fn dispatch_later(&self, request: &SyncRequest, delay: Duration) -> PortResult<()>;
}

/// The time, injectable.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
