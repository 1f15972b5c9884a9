//! [`InMemorySecrets`]: the manager key and account keys, in memory (both the
//! functions' reading side and the operator's writing side, [`KeyStore`]).

use super::lock;
use crate::domain::ManagedAccountId;
use crate::error::{PortError, Transience};
use crate::ports::{ApiKey, KeyStore, PortResult, Secrets};
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

#[async_trait]
impl KeyStore for InMemorySecrets {
    async fn put_master_key(&self, key: &ApiKey) -> PortResult<()> {
        *lock(&self.master) = Some(key.expose().to_owned());
        Ok(())
    }

    async fn put_account_keys(&self, keys: &[(ManagedAccountId, ApiKey)]) -> PortResult<()> {
        let mut accounts = lock(&self.accounts);
        for (account, key) in keys {
            accounts.insert(account.clone(), key.expose().to_owned());
        }
        Ok(())
    }

    async fn delete_account_key(&self, account: &ManagedAccountId) -> PortResult<bool> {
        Ok(lock(&self.accounts).remove(account).is_some())
    }

    fn account_key_location(&self, account: &ManagedAccountId) -> String {
        format!("memory:{account}")
    }
}
