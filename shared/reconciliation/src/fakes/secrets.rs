//! [`InMemorySecrets`]: the manager key and account keys, in memory.

use super::lock;
use crate::domain::ManagedAccountId;
use crate::error::{PortError, Transience};
use crate::ports::{ApiKey, PortResult, Secrets};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// An in-memory [`Secrets`]: a missing key is a permanent error naming the account.
#[derive(Debug, Default)]
pub struct InMemorySecrets {
    master: Mutex<Option<String>>,
    accounts: Mutex<BTreeMap<ManagedAccountId, String>>,
}

impl InMemorySecrets {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with_master_key(self, key: &str) -> Self {
        *lock(&self.master) = Some(key.to_owned());
        self
    }
    pub fn with_account_key(self, account: &ManagedAccountId, key: &str) -> Self {
        lock(&self.accounts).insert(account.clone(), key.to_owned());
        self
    }
    pub fn remove_account_key(&self, account: &ManagedAccountId) {
        lock(&self.accounts).remove(account);
    }
}

#[async_trait]
impl Secrets for InMemorySecrets {
    async fn master_key(&self) -> PortResult<ApiKey> {
        lock(&self.master)
            .clone()
            .map(ApiKey::new)
            .ok_or_else(|| PortError::message("no master key secret", Transience::Permanent))
    }

    async fn account_key(&self, account: &ManagedAccountId) -> PortResult<ApiKey> {
        lock(&self.accounts)
            .get(account)
            .cloned()
            .map(ApiKey::new)
            .ok_or_else(|| {
                PortError::message(
                    format!("no API key secret for account {account}"),
                    Transience::Permanent,
                )
            })
    }
}
