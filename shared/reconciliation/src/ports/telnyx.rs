//! The Telnyx API, as the product reads it.

use super::PortResult;
use crate::domain::{DetailRecord, ManagedAccount, RecordType, TelnyxSnapshot};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A Telnyx API key. `Debug` and `Display` are redacted; only adapters that put it on
/// the wire call [`ApiKey::expose`].
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(SecretString::from(key.into()))
    }
    /// The key itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// A half-open time window `[from, to)` over a record type's time field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Detail records streamed page by page (a long history never sits in memory).
#[async_trait]
pub trait RecordPages: Send {
    /// The next page, or `None` when the walk is over.
    async fn next_page(&mut self) -> PortResult<Option<Vec<DetailRecord>>>;
}

/// The Telnyx API, as the product reads it.
#[async_trait]
pub trait TelnyxApi: Send + Sync {
    /// Managed accounts of the manager (master) key.
    async fn managed_accounts(
        &self,
        master_key: &ApiKey,
        include_cancelled: bool,
    ) -> PortResult<Vec<ManagedAccount>>;

    /// Billing groups, connections, outbound voice profiles and phone numbers of one account.
    async fn snapshot(&self, key: &ApiKey) -> PortResult<TelnyxSnapshot>;

    /// Detail records of one type whose time field lies in `window`, page by page.
    async fn detail_records(
        &self,
        key: &ApiKey,
        record_type: RecordType,
        window: TimeWindow,
    ) -> PortResult<Box<dyn RecordPages>>;
}
