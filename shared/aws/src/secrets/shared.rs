//! Account keys kept together in [`SHARDS`] shared secrets (`{prefix}shared/keys-NN`),
//! so 3,000 accounts cost 16 secrets, not 3,000.
//!
//! A shared secret's value is `{"keys": {"<account id>": "<key>", ...}}`. Secrets
//! Manager has no conditional write, so a change is a compare-and-swap on the
//! `AWSCURRENT` label: read the current version, put the changed value as a new version
//! labelled [`PENDING_LABEL`] (AWSCURRENT stays where it is), then move AWSCURRENT to it
//! *from the version read* (`UpdateSecretVersionStage` with `RemoveFromVersionId`),
//! which Secrets Manager refuses when another writer moved it in between; the loser
//! reads again and reapplies its change on top of the winner's. Two `put-key`s on one
//! shard therefore both keep their key.

use super::{SecretsManagerKeys, malformed};
use crate::error::AwsError;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use reconciliation::domain::ManagedAccountId;
use reconciliation::ports::ApiKey;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// How many shared secrets hold the account keys. Fixed: an account's secret is a
/// function of its id alone. A secret holds at most 64 KB, about 500 keys; 16 hold
/// about 8,000 accounts (Telnyx's limit is 3,000 per manager).
pub const SHARDS: u32 = 16;
/// The label a new version carries until AWSCURRENT is moved to it (one label, moved
/// by every write, so labels never pile up).
pub const PENDING_LABEL: &str = "BILLING-SYNC-PENDING";
/// Attempts of one change when other writers keep winning the swap.
const ATTEMPTS: u32 = 8;

/// The shared secret that holds `account`'s key.
pub fn shard_secret_name(prefix: &str, account: &ManagedAccountId) -> String {
    let digest = Sha256::digest(account.as_str().as_bytes());
    let shard = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % SHARDS;
    format!("{prefix}shared/keys-{shard:02}")
}

/// The keys in a shared secret's value. The error is a fixed reason that never quotes
/// the value.
pub(super) fn parse(value: &str) -> Result<HashMap<String, ApiKey>, &'static str> {
    let parsed: serde_json::Value =
        serde_json::from_str(value).map_err(|_| "the shared value is not JSON")?;
    let keys = parsed
        .get("keys")
        .and_then(serde_json::Value::as_object)
        .ok_or("the shared value has no \"keys\" object")?;
    keys.iter()
        .map(|(account, key)| {
            let key = key
                .as_str()
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .ok_or("a key in the shared value is not a non-empty string")?;
            Ok((account.clone(), ApiKey::new(key)))
        })
        .collect()
}

fn serialize(keys: &HashMap<String, ApiKey>) -> String {
    let sorted: BTreeMap<&str, &str> = keys
        .iter()
        .map(|(account, key)| (account.as_str(), key.expose()))
        .collect();
    serde_json::json!({ "keys": sorted }).to_string()
}

/// The error of an account whose key is not in its shared secret: the same kind as a
/// missing secret of its own (`SecretNotFound`), so callers treat both alike.
pub(super) fn not_in_shard(name: &str, scope: &str) -> AwsError {
    AwsError::SecretNotFound {
        scope: scope.to_owned(),
        secret_name: name.to_owned(),
        source: "the shared secret holds no key for this account".into(),
    }
}

impl SecretsManagerKeys {
    /// Applies `change` to shared secret `name` (created when missing) until the swap
    /// holds; `change` returns false when it changes nothing (then nothing is written).
    /// Returns what the last `change` returned.
    pub(super) async fn change_shard(
        &self,
        name: &str,
        change: &(dyn Fn(&mut HashMap<String, ApiKey>) -> bool + Sync),
    ) -> Result<bool, AwsError> {
        let scope = "shared account keys";
        for attempt in 1..=ATTEMPTS {
            let (mut keys, version) = match self.current(name, scope).await {
                Ok((value, version)) => (
                    parse(value.expose_secret()).map_err(|r| malformed(name, scope, r))?,
                    Some(version),
                ),
                Err(AwsError::SecretNotFound { .. }) => (HashMap::new(), None),
                Err(e) => return Err(e),
            };
            if !change(&mut keys) {
                return Ok(false);
            }
            let value = serialize(&keys);
            let swapped = match version {
                None => self.create_secret(name, &value, None).await?,
                Some(version) => self.swap(name, &version, &value).await?,
            };
            self.forget(name);
            if swapped {
                return Ok(true);
            }
            tracing::debug!(
                secret_name = name,
                attempt,
                "another writer changed the shared secret first; reading it again"
            );
            let pause = rand::random_range(20..(60 * u64::from(attempt)));
            tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
        }
        Err(AwsError::TransactionConflict {
            operation: "UpdateSecretVersionStage",
            attempts: ATTEMPTS,
        })
    }

    /// Puts `value` as a new version of `name` and moves AWSCURRENT to it from
    /// `read_version`; false when AWSCURRENT had moved (another writer won).
    async fn swap(&self, name: &str, read_version: &str, value: &str) -> Result<bool, AwsError> {
        let put = self
            .client
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .version_stages(PENDING_LABEL)
            .send()
            .await
            .map_err(|e| AwsError::sdk("Secrets Manager", "PutSecretValue", e))?;
        let new_version = put.version_id.unwrap_or_default();
        match self
            .client
            .update_secret_version_stage()
            .secret_id(name)
            .version_stage("AWSCURRENT")
            .remove_from_version_id(read_version)
            .move_to_version_id(&new_version)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            // AWSCURRENT is no longer on the version read: someone else's write is current.
            Err(e) if e.code() == Some("InvalidParameterException") => Ok(false),
            Err(e) => Err(AwsError::sdk(
                "Secrets Manager",
                "UpdateSecretVersionStage",
                e,
            )),
        }
    }
}
