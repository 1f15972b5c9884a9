//! Writing keys (the `KeyStore` port, used by the operator's CLI): a secret is created
//! with the configured KMS key (`SecretsKmsKeyArn`) and tags, or given a new version
//! when it exists; a shared secret is changed through [`super::shared`]'s
//! compare-and-swap. Every write forgets the cached copy, so this instance reads what
//! it wrote; errors carry the secret's name and AWS's code, never a value.

use super::{KeyStorage, SecretsManagerKeys, master_secret_name};
use crate::error::AwsError;
use async_trait::async_trait;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::types::Tag;
use reconciliation::domain::ManagedAccountId;
use reconciliation::ports::{ApiKey, KeyStore, PortResult};
use std::collections::BTreeMap;

/// The tag every secret this product creates carries (`application`).
pub const APPLICATION_TAG: (&str, &str) = ("application", "telnyx-billing-sync");

/// What a secret gets when it is created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// A customer-managed KMS key (its ARN) to encrypt new secrets with; `None`: the
    /// AWS-managed key. (An existing secret keeps the key it was created with.)
    pub kms_key_id: Option<String>,
    /// Tags beside [`APPLICATION_TAG`] and the key's kind (`stack`, `owner`…).
    pub tags: Vec<(String, String)>,
}

impl SecretsManagerKeys {
    /// Creates secret `name` holding `value`, tagged with its kind (`master`, `account`,
    /// `shared`) and `account` when it holds one account's key; false when it already
    /// exists (nothing written).
    pub(super) async fn create_secret(
        &self,
        name: &str,
        value: &str,
        account: Option<&ManagedAccountId>,
    ) -> Result<bool, AwsError> {
        let kind = match (account, name.ends_with("master")) {
            (Some(_), _) => "account",
            (None, true) => "master",
            (None, false) => "shared",
        };
        let mut tags: BTreeMap<String, String> = self.write.tags.iter().cloned().collect();
        tags.insert(APPLICATION_TAG.0.into(), APPLICATION_TAG.1.into());
        tags.insert("key-kind".into(), kind.into());
        if let Some(account) = account {
            tags.insert("managed-account".into(), account.to_string());
        }
        let request = self
            .client
            .create_secret()
            .name(name)
            .secret_string(value)
            .description(format!(
                "Telnyx API key(s) for Telnyx Billing Sync ({kind})"
            ))
            .set_kms_key_id(self.write.kms_key_id.clone())
            .set_tags(Some(
                tags.into_iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ));
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ResourceExistsException") => Ok(false),
            Err(e) => Err(AwsError::sdk("Secrets Manager", "CreateSecret", e)),
        }
    }

    /// Creates secret `name` with `value`, or puts it as the new current version.
    async fn put_whole(
        &self,
        name: &str,
        value: &str,
        account: Option<&ManagedAccountId>,
    ) -> Result<(), AwsError> {
        if !self.create_secret(name, value, account).await? {
            self.client
                .put_secret_value()
                .secret_id(name)
                .secret_string(value)
                .send()
                .await
                .map_err(|e| AwsError::sdk("Secrets Manager", "PutSecretValue", e))?;
        }
        self.forget(name);
        Ok(())
    }

    /// Deletes secret `name` at once (no recovery window: the operator asked for the
    /// key to be gone); false when there was none.
    async fn delete_secret(&self, name: &str) -> Result<bool, AwsError> {
        // Asked first: a forced delete of a missing secret succeeds without saying so.
        match self.client.describe_secret().secret_id(name).send().await {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(false),
            Err(e) => return Err(AwsError::sdk("Secrets Manager", "DescribeSecret", e)),
        }
        let deleted = match self
            .client
            .delete_secret()
            .secret_id(name)
            .force_delete_without_recovery(true)
            .send()
            .await
        {
            Ok(_) => true,
            Err(e) if e.code() == Some("ResourceNotFoundException") => false,
            Err(e) => return Err(AwsError::sdk("Secrets Manager", "DeleteSecret", e)),
        };
        self.forget(name);
        Ok(deleted)
    }
}

#[async_trait]
impl KeyStore for SecretsManagerKeys {
    async fn put_master_key(&self, key: &ApiKey) -> PortResult<()> {
        let name = master_secret_name(&self.prefix);
        self.put_whole(&name, key.expose(), None)
            .await
            .map_err(|e| e.into_port(format!("storing the manager key in secret {name}")))
    }

    async fn put_account_keys(&self, keys: &[(ManagedAccountId, ApiKey)]) -> PortResult<()> {
        match self.storage {
            KeyStorage::PerAccount => {
                for (account, key) in keys {
                    let name = self.account_secret(account);
                    self.put_whole(&name, key.expose(), Some(account))
                        .await
                        .map_err(|e| {
                            e.into_port(format!(
                                "storing the key of account {account} in secret {name}"
                            ))
                        })?;
                }
            }
            KeyStorage::Shared => {
                // One change per shared secret, whatever the number of its keys.
                let mut by_secret: BTreeMap<String, Vec<&(ManagedAccountId, ApiKey)>> =
                    BTreeMap::new();
                for entry in keys {
                    by_secret
                        .entry(self.account_secret(&entry.0))
                        .or_default()
                        .push(entry);
                }
                for (name, entries) in by_secret {
                    let change = |stored: &mut std::collections::HashMap<String, ApiKey>| {
                        let mut changed = false;
                        for (account, key) in &entries {
                            let same = stored
                                .get(account.as_str())
                                .is_some_and(|k| k.expose() == key.expose());
                            if !same {
                                stored.insert(account.to_string(), key.clone());
                                changed = true;
                            }
                        }
                        changed
                    };
                    self.change_shard(&name, &change).await.map_err(|e| {
                        e.into_port(format!(
                            "storing {} key(s) in shared secret {name}",
                            entries.len()
                        ))
                    })?;
                }
            }
        }
        Ok(())
    }

    async fn delete_account_key(&self, account: &ManagedAccountId) -> PortResult<bool> {
        let name = self.account_secret(account);
        let deleted = match self.storage {
            KeyStorage::PerAccount => self.delete_secret(&name).await,
            KeyStorage::Shared => {
                let change = |stored: &mut std::collections::HashMap<String, ApiKey>| {
                    stored.remove(account.as_str()).is_some()
                };
                self.change_shard(&name, &change).await
            }
        };
        deleted.map_err(|e| {
            e.into_port(format!(
                "deleting the key of account {account} from secret {name}"
            ))
        })
    }

    fn account_key_location(&self, account: &ManagedAccountId) -> String {
        self.account_secret(account)
    }
}
