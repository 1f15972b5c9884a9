//! Storing keys (`KeyStore`) in Secrets Manager on moto, both storages: each keeps the
//! key-store contract (`reconciliation::contract::secrets`) that the in-memory fake
//! keeps, the shared storage with two writers racing on one shared secret; a writer
//! without the compare-and-swap loses keys in that race, so the check can fail; new
//! secrets carry the KMS key and tags asked for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use async_trait::async_trait;
use aws_adapters::secrets::{KeyStorage, SecretsManagerKeys, WriteOptions, shard_secret_name};
use chrono::Duration;
use reconciliation::contract::secrets::{CHECKS, RACE, check_key_store};
use reconciliation::domain::ManagedAccountId;
use reconciliation::ports::{ApiKey, KeyStore, PortResult, Secrets};

fn prefix() -> String {
    format!("keys-{}/", uuid::Uuid::new_v4().simple())
}

async fn writer(prefix: &str, storage: KeyStorage) -> SecretsManagerKeys {
    let client = aws_sdk_secretsmanager::Client::new(&common::sdk().await);
    SecretsManagerKeys::new(client, prefix).with_storage(storage)
}

/// Two fresh accounts whose keys share one shared secret.
fn same_shard_pair(prefix: &str) -> [ManagedAccountId; 2] {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let first = ManagedAccountId::new(format!("{tag}-0"));
    let shard = shard_secret_name(prefix, &first);
    let second = (1..)
        .map(|n| ManagedAccountId::new(format!("{tag}-{n}")))
        .find(|a| shard_secret_name(prefix, a) == shard)
        .expect("some account shares the shard");
    [first, second]
}

#[tokio::test]
async fn one_secret_per_account_keeps_the_key_store_contract() {
    let prefix = prefix();
    let (a, b) = (
        writer(&prefix, KeyStorage::PerAccount).await,
        writer(&prefix, KeyStorage::PerAccount).await,
    );
    let report = check_key_store(&a, &b, same_shard_pair(&prefix)).await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.passed.len(), CHECKS.len());
}

#[tokio::test]
async fn shared_secrets_keep_the_key_store_contract_with_two_writers_racing_on_one_shard() {
    let prefix = prefix();
    let (a, b) = (
        writer(&prefix, KeyStorage::Shared).await,
        writer(&prefix, KeyStorage::Shared).await,
    );
    let pair = same_shard_pair(&prefix);
    let report = check_key_store(&a, &b, pair.clone()).await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.passed.len(), CHECKS.len());
    // 40 keys of the contract's batch and the pair's: all in at most 16 secrets.
    let client = aws_sdk_secretsmanager::Client::new(&common::sdk().await);
    let listed = client
        .list_secrets()
        .filters(
            aws_sdk_secretsmanager::types::Filter::builder()
                .key(aws_sdk_secretsmanager::types::FilterNameStringType::Name)
                .values(&prefix)
                .build(),
        )
        .max_results(100)
        .send()
        .await
        .unwrap();
    let names: Vec<String> = listed
        .secret_list()
        .iter()
        .filter_map(|s| s.name().map(str::to_owned))
        .collect();
    assert!(
        names.len() <= 17
            && names
                .iter()
                .all(|n| n.starts_with(&format!("{prefix}shared/keys-")) || n.ends_with("master")),
        "{names:?}"
    );
}

/// A writer that changes a shared secret by read, modify, put: no compare-and-swap.
struct LastWriterWins {
    reader: SecretsManagerKeys,
    client: aws_sdk_secretsmanager::Client,
    prefix: String,
}

#[async_trait]
impl Secrets for LastWriterWins {
    async fn master_key(&self) -> PortResult<ApiKey> {
        self.reader.master_key().await
    }
    async fn account_key(&self, account: &ManagedAccountId) -> PortResult<ApiKey> {
        self.reader.account_key(account).await
    }
}

#[async_trait]
impl KeyStore for LastWriterWins {
    async fn put_master_key(&self, key: &ApiKey) -> PortResult<()> {
        self.reader.put_master_key(key).await
    }
    async fn put_account_keys(&self, keys: &[(ManagedAccountId, ApiKey)]) -> PortResult<()> {
        for (account, key) in keys {
            let name = shard_secret_name(&self.prefix, account);
            let current = self
                .client
                .get_secret_value()
                .secret_id(&name)
                .version_stage("AWSCURRENT")
                .send()
                .await;
            let mut value: serde_json::Value = match current {
                Ok(out) => serde_json::from_str(out.secret_string().unwrap_or("{}")).unwrap(),
                Err(_) => serde_json::json!({"keys": {}}),
            };
            // Another writer's change lands while this one holds its stale copy.
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            value["keys"][account.as_str()] = key.expose().into();
            let text = value.to_string();
            if self
                .client
                .create_secret()
                .name(&name)
                .secret_string(&text)
                .send()
                .await
                .is_err()
            {
                self.client
                    .put_secret_value()
                    .secret_id(&name)
                    .secret_string(&text)
                    .send()
                    .await
                    .unwrap();
            }
        }
        Ok(())
    }
    async fn delete_account_key(&self, account: &ManagedAccountId) -> PortResult<bool> {
        self.reader.delete_account_key(account).await
    }
    fn account_key_location(&self, account: &ManagedAccountId) -> String {
        self.reader.account_key_location(account)
    }
}

#[tokio::test]
async fn a_shared_writer_without_the_swap_loses_a_racing_writers_key_and_fails_the_race_check() {
    let prefix = prefix();
    let naive = || async {
        LastWriterWins {
            reader: writer(&prefix, KeyStorage::Shared)
                .await
                .with_cache_ttl(Duration::zero()),
            client: aws_sdk_secretsmanager::Client::new(&common::sdk().await),
            prefix: prefix.clone(),
        }
    };
    let (a, b) = (naive().await, naive().await);
    let report = check_key_store(&a, &b, same_shard_pair(&prefix)).await;
    assert!(report.violated(RACE), "{report}");
}

#[tokio::test]
async fn a_created_secret_carries_the_kms_key_and_the_tags_asked_for() {
    let prefix = prefix();
    let kms = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    for storage in [KeyStorage::PerAccount, KeyStorage::Shared] {
        let keys = writer(&prefix, storage)
            .await
            .with_write_options(WriteOptions {
                kms_key_id: Some(kms.into()),
                tags: vec![("stack".into(), "billing-prod".into())],
            });
        let account = ManagedAccountId::new(format!("kms-{}", uuid::Uuid::new_v4().simple()));
        keys.put_account_keys(&[(account.clone(), ApiKey::new("KEYtagged123"))])
            .await
            .unwrap();
        let client = aws_sdk_secretsmanager::Client::new(&common::sdk().await);
        let described = client
            .describe_secret()
            .secret_id(keys.account_key_location(&account))
            .send()
            .await
            .unwrap();
        assert_eq!(described.kms_key_id(), Some(kms), "{storage:?}");
        let tags: Vec<(String, String)> = described
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        for wanted in [
            ("application", "telnyx-billing-sync"),
            ("stack", "billing-prod"),
        ] {
            assert!(
                tags.contains(&(wanted.0.to_owned(), wanted.1.to_owned())),
                "{storage:?}: {tags:?}"
            );
        }
        let kind = if storage == KeyStorage::Shared {
            "shared"
        } else {
            "account"
        };
        assert!(
            tags.contains(&("key-kind".to_owned(), kind.to_owned())),
            "{tags:?}"
        );
        assert_eq!(
            keys.account_key(&account).await.unwrap().expose(),
            "KEYtagged123"
        );
    }
}
