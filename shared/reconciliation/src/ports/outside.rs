//! The smaller ports: API keys in a secret store (read by the functions, written by
//! the operator's CLI), sending an email, queueing a sync, and the time.

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

/// Storing API keys: the operator's side of [`Secrets`] (the functions only read).
/// Every write is visible to this instance's own reads at once; another process sees
/// it within its cache lifetime. Keys never appear in an error.
#[async_trait]
pub trait KeyStore: Secrets {
    /// Creates or replaces the manager key.
    async fn put_master_key(&self, key: &ApiKey) -> PortResult<()>;
    /// Creates or replaces each account's key. A storage that keeps several accounts'
    /// keys together never loses a key another writer stores at the same time.
    async fn put_account_keys(&self, keys: &[(ManagedAccountId, ApiKey)]) -> PortResult<()>;
    /// Removes an account's key; true when there was one (the other accounts' keys stay).
    async fn delete_account_key(&self, account: &ManagedAccountId) -> PortResult<bool>;
    /// Where an account's key is kept (a secret's name), for the operator's messages.
    fn account_key_location(&self, account: &ManagedAccountId) -> String;
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
