//! Telnyx API keys in AWS Secrets Manager ([`SecretsManagerKeys`]: the `Secrets` port
//! the functions read, and the `KeyStore` port the operator's CLI writes).
//!
//! Two storages ([`KeyStorage`], the template's `KeyStorage` parameter), one naming
//! convention (the IAM policies in `template.yaml` grant exactly these names):
//!
//! | key | per-account storage | shared storage |
//! |---|---|---|
//! | manager (master) key | `{prefix}master` | `{prefix}master` |
//! | one managed account's key | `{prefix}accounts/{managed_account_id}` | in `{prefix}shared/keys-{NN}`, `NN` = one of [`shared::SHARDS`] by a hash of the account id |
//!
//! with `prefix` defaulting to [`DEFAULT_PREFIX`] (`telnyx-billing-sync/`). A key's
//! secret string is either the key itself or JSON `{"api_key": "..."}` (surrounding
//! whitespace trimmed); a shared secret holds `{"keys": {"<account id>": "<key>", ...}}`
//! ([`shared`]: written with a compare-and-swap on the `AWSCURRENT` label, so two
//! writers never lose each other's key).
//!
//! Keys are cached in memory for [`DEFAULT_CACHE_TTL`] so warm invocations do not call
//! Secrets Manager every time, while a rotated key is picked up within minutes (a
//! shared secret is cached whole: one read serves every account it holds). Errors name
//! the account and the secret, never the value: a malformed value is described by a
//! fixed reason, not by a parser message that could quote it.

mod shared;
mod write;

pub use shared::{SHARDS, shard_secret_name};
pub use write::WriteOptions;

use crate::error::AwsError;
use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use chrono::{DateTime, Duration, Utc};
use reconciliation::domain::ManagedAccountId;
use reconciliation::ports::{ApiKey, Clock, PortResult, Secrets, SystemClock};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The default secret name prefix.
pub const DEFAULT_PREFIX: &str = "telnyx-billing-sync/";
/// How long a key read from Secrets Manager is reused.
pub const DEFAULT_CACHE_TTL: Duration = Duration::minutes(5);

/// The secret name of the manager key.
pub fn master_secret_name(prefix: &str) -> String {
    format!("{prefix}master")
}

/// The secret name of one managed account's key.
pub fn account_secret_name(prefix: &str, account: &ManagedAccountId) -> String {
    format!("{prefix}accounts/{account}")
}

/// Where account keys live: one secret each, or together in a few shared secrets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeyStorage {
    /// `{prefix}accounts/{id}`: one secret ($0.40 a month) per account.
    #[default]
    PerAccount,
    /// `{prefix}shared/keys-NN`: [`SHARDS`] secrets whatever the number of accounts.
    Shared,
}

impl KeyStorage {
    /// `per-account` or `shared` (the template parameter's and `KEY_STORAGE`'s values).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "per-account" => Some(Self::PerAccount),
            "shared" => Some(Self::Shared),
            _ => None,
        }
    }
}

/// What a cache entry holds: one key, or a shared secret's keys by account.
#[derive(Clone)]
enum Cached {
    Key(ApiKey),
    Shard(Arc<HashMap<String, ApiKey>>),
}

/// Keys in Secrets Manager, cached for a short time.
pub struct SecretsManagerKeys {
    client: Client,
    prefix: String,
    storage: KeyStorage,
    write: WriteOptions,
    ttl: Duration,
    clock: Arc<dyn Clock>,
    cache: Mutex<HashMap<String, (Cached, DateTime<Utc>)>>,
}

impl std::fmt::Debug for SecretsManagerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsManagerKeys")
            .field("prefix", &self.prefix)
            .field("storage", &self.storage)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SecretsManagerKeys {
    /// Keys under `prefix` (e.g. [`DEFAULT_PREFIX`]), one secret per account, cached for
    /// [`DEFAULT_CACHE_TTL`].
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
            storage: KeyStorage::PerAccount,
            write: WriteOptions::default(),
            ttl: DEFAULT_CACHE_TTL,
            clock: Arc::new(SystemClock),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces where account keys live.
    pub fn with_storage(mut self, storage: KeyStorage) -> Self {
        self.storage = storage;
        self
    }

    /// Replaces what a created secret gets (KMS key, tags).
    pub fn with_write_options(mut self, write: WriteOptions) -> Self {
        self.write = write;
        self
    }

    /// Replaces the cache lifetime.
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Replaces the clock the cache expires by.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The prefix secret names start with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Where account keys live.
    pub fn storage(&self) -> KeyStorage {
        self.storage
    }

    fn cached(&self, name: &str, now: DateTime<Utc>) -> Option<Cached> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(name)
            .filter(|(_, read_at)| now - *read_at < self.ttl)
            .map(|(value, _)| value.clone())
    }

    fn remember(&self, name: &str, value: Cached, now: DateTime<Utc>) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), (value, now));
    }

    /// Forgets a secret (after writing it: the next read sees what is stored).
    fn forget(&self, name: &str) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }

    /// The current value of secret `name` and its version id; `scope` says whose.
    async fn current(&self, name: &str, scope: &str) -> Result<(SecretString, String), AwsError> {
        // Asked by label: the shared secrets move AWSCURRENT themselves (compare-and-swap).
        let out = self
            .client
            .get_secret_value()
            .secret_id(name)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .map_err(|e| classify_get_error(e, name, scope))?;
        let version = out.version_id.clone().unwrap_or_default();
        let value = out
            .secret_string
            .map(SecretString::from)
            .ok_or_else(|| malformed(name, scope, "it holds no secret string"))?;
        Ok((value, version))
    }

    /// Reads (or reuses) the key in secret `name`; `scope` says whose key it is.
    async fn key(&self, name: &str, scope: &str) -> Result<ApiKey, AwsError> {
        let now = self.clock.now();
        if let Some(Cached::Key(key)) = self.cached(name, now) {
            tracing::debug!(secret_name = name, "API key served from cache");
            return Ok(key);
        }
        let (value, _) = self.current(name, scope).await?;
        let key = parse_secret_value(value.expose_secret())
            .map_err(|reason| malformed(name, scope, reason))?;
        self.remember(name, Cached::Key(key.clone()), now);
        tracing::debug!(secret_name = name, "API key read from Secrets Manager");
        Ok(key)
    }

    /// An account's key from its shared secret (read whole, or reused).
    async fn shared_key(&self, account: &ManagedAccountId) -> Result<ApiKey, AwsError> {
        let name = shard_secret_name(&self.prefix, account);
        let scope = format!("account {account}");
        let now = self.clock.now();
        let keys = match self.cached(&name, now) {
            Some(Cached::Shard(keys)) => keys,
            _ => {
                let (value, _) = self.current(&name, &scope).await?;
                let keys = Arc::new(
                    shared::parse(value.expose_secret())
                        .map_err(|reason| malformed(&name, &scope, reason))?,
                );
                self.remember(&name, Cached::Shard(keys.clone()), now);
                tracing::debug!(secret_name = %name, "shared key secret read from Secrets Manager");
                keys
            }
        };
        keys.get(account.as_str())
            .cloned()
            .ok_or_else(|| shared::not_in_shard(&name, &scope))
    }

    /// The secret an account's key is in.
    fn account_secret(&self, account: &ManagedAccountId) -> String {
        match self.storage {
            KeyStorage::PerAccount => account_secret_name(&self.prefix, account),
            KeyStorage::Shared => shard_secret_name(&self.prefix, account),
        }
    }
}

fn malformed(name: &str, scope: &str, reason: &'static str) -> AwsError {
    AwsError::SecretMalformed {
        scope: scope.to_owned(),
        secret_name: name.to_owned(),
        reason,
    }
}

fn classify_get_error(
    err: aws_sdk_secretsmanager::error::SdkError<
        GetSecretValueError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
    name: &str,
    scope: &str,
) -> AwsError {
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    let code = err.code().map(str::to_owned);
    let (scope, secret_name) = (scope.to_owned(), name.to_owned());
    match code.as_deref() {
        Some("ResourceNotFoundException") => AwsError::SecretNotFound {
            scope,
            secret_name,
            source: Box::new(err),
        },
        Some("AccessDeniedException" | "DecryptionFailure") => AwsError::SecretAccessDenied {
            scope,
            secret_name,
            source: Box::new(err),
        },
        // Not a permission problem: the secret's state (e.g. scheduled for deletion).
        Some("InvalidRequestException") => AwsError::SecretUnusable {
            scope,
            secret_name,
            source: Box::new(err),
        },
        _ => AwsError::sdk("Secrets Manager", "GetSecretValue", err),
    }
}

/// The key in a secret string: the trimmed string itself, or the `api_key` member of
/// a JSON object. The error is a fixed reason that never quotes the value.
pub fn parse_secret_value(value: &str) -> Result<ApiKey, &'static str> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err("the value is empty");
    }
    if trimmed.starts_with('{') {
        let parsed: serde_json::Value = serde_json::from_str(trimmed)
            .map_err(|_| "the value looks like JSON but does not parse")?;
        let key = parsed
            .get("api_key")
            .ok_or("the JSON value has no \"api_key\" member")?
            .as_str()
            .ok_or("the JSON \"api_key\" member is not a string")?
            .trim();
        if key.is_empty() {
            return Err("the JSON \"api_key\" member is empty");
        }
        return Ok(ApiKey::new(key));
    }
    if trimmed.chars().any(char::is_whitespace) {
        return Err("the value contains whitespace");
    }
    Ok(ApiKey::new(trimmed))
}

#[async_trait]
impl Secrets for SecretsManagerKeys {
    #[tracing::instrument(skip_all)]
    async fn master_key(&self) -> PortResult<ApiKey> {
        let name = master_secret_name(&self.prefix);
        self.key(&name, "the manager key")
            .await
            .map_err(|e| e.into_port(format!("reading the manager key from secret {name}")))
    }

    #[tracing::instrument(skip_all, fields(account_id = %account))]
    async fn account_key(&self, account: &ManagedAccountId) -> PortResult<ApiKey> {
        let name = self.account_secret(account);
        let read = match self.storage {
            KeyStorage::PerAccount => self.key(&name, &format!("account {account}")).await,
            KeyStorage::Shared => self.shared_key(account).await,
        };
        read.map_err(|e| {
            e.into_port(format!(
                "reading the key of account {account} from secret {name}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_json_values_both_yield_the_key() {
        assert_eq!(
            parse_secret_value(" KEY123 \n").map(|k| k.expose().to_owned()),
            Ok("KEY123".to_owned())
        );
        assert_eq!(
            parse_secret_value(r#"{"api_key": "KEY456", "note": "x"}"#)
                .map(|k| k.expose().to_owned()),
            Ok("KEY456".to_owned())
        );
    }

    #[test]
    fn malformed_values_are_described_without_quoting_them() {
        for bad in [
            "",
            "  ",
            r#"{"apikey": "KEYSECRET"}"#,
            r#"{"api_key": 5}"#,
            "{KEYSECRET",
            "KEY SECRET",
        ] {
            let reason = parse_secret_value(bad).err();
            assert!(reason.is_some(), "{bad:?} should be refused");
            assert!(!reason.unwrap_or_default().contains("SECRET"));
        }
    }

    #[test]
    fn secret_names_follow_the_prefix_convention() {
        assert_eq!(
            master_secret_name(DEFAULT_PREFIX),
            "telnyx-billing-sync/master"
        );
        assert_eq!(
            account_secret_name(DEFAULT_PREFIX, &ManagedAccountId::new("acc-1")),
            "telnyx-billing-sync/accounts/acc-1"
        );
    }
}
