//! Telnyx keys from Secrets Manager (moto): both value shapes, the warm cache, and
//! errors that name the account and the secret without leaking the value.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_adapters::secrets::{SecretsManagerKeys, account_secret_name, master_secret_name};
use chrono::Duration;
use common::*;
use reconciliation::domain::ManagedAccountId;
use reconciliation::ports::Secrets;
use std::sync::Arc;

struct Fixture {
    client: aws_sdk_secretsmanager::Client,
    prefix: String,
}

impl Fixture {
    async fn new() -> Self {
        let client = aws_sdk_secretsmanager::Client::new(&sdk().await);
        let prefix = format!("test-{}/", uuid::Uuid::new_v4().simple());
        Self { client, prefix }
    }

    async fn put(&self, name: &str, value: &str) {
        self.client
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .expect("secret created");
    }

    async fn delete(&self, name: &str) {
        self.client
            .delete_secret()
            .secret_id(name)
            .force_delete_without_recovery(true)
            .send()
            .await
            .expect("secret deleted");
    }

    fn keys(&self) -> SecretsManagerKeys {
        SecretsManagerKeys::new(self.client.clone(), &self.prefix)
    }
}

#[tokio::test]
async fn a_plain_value_and_a_json_value_both_yield_the_key() {
    let f = Fixture::new().await;
    let plain = ManagedAccountId::new("acc-plain");
    let json = ManagedAccountId::new("acc-json");
    f.put(&account_secret_name(&f.prefix, &plain), "KEYplain123\n")
        .await;
    f.put(
        &account_secret_name(&f.prefix, &json),
        r#"{"api_key": "KEYjson456"}"#,
    )
    .await;
    f.put(&master_secret_name(&f.prefix), "KEYmaster789").await;
    let keys = f.keys();

    assert_eq!(
        keys.account_key(&plain).await.unwrap().expose(),
        "KEYplain123"
    );
    assert_eq!(
        keys.account_key(&json).await.unwrap().expose(),
        "KEYjson456"
    );
    assert_eq!(keys.master_key().await.unwrap().expose(), "KEYmaster789");
}

#[tokio::test]
async fn a_second_read_within_the_ttl_is_served_from_memory() {
    let f = Fixture::new().await;
    let acc = ManagedAccountId::new("acc-1");
    let name = account_secret_name(&f.prefix, &acc);
    f.put(&name, "KEYcached").await;
    let clock = Arc::new(TestClock::at(day0()));
    let keys = f
        .keys()
        .with_cache_ttl(Duration::minutes(5))
        .with_clock(clock.clone());

    assert_eq!(keys.account_key(&acc).await.unwrap().expose(), "KEYcached");
    // Gone from Secrets Manager: only the cache can answer now.
    f.delete(&name).await;
    clock.advance(Duration::minutes(4));
    assert_eq!(keys.account_key(&acc).await.unwrap().expose(), "KEYcached");

    // Past the TTL the secret is read again, and its absence shows.
    clock.advance(Duration::minutes(2));
    let err = keys.account_key(&acc).await.unwrap_err();
    assert!(err.chain().contains("does not exist"), "{}", err.chain());
}

#[tokio::test]
async fn a_missing_secret_is_a_permanent_error_naming_the_account_and_the_secret() {
    let f = Fixture::new().await;
    let acc = ManagedAccountId::new("acc-missing");

    let err = f.keys().account_key(&acc).await.unwrap_err();

    assert!(!err.is_transient());
    let chain = err.chain();
    assert!(chain.contains("account acc-missing"), "{chain}");
    assert!(
        chain.contains(&account_secret_name(&f.prefix, &acc)),
        "{chain}"
    );
    assert!(chain.contains("does not exist"), "{chain}");
}

#[tokio::test]
async fn a_malformed_value_is_reported_without_leaking_it() {
    let f = Fixture::new().await;
    let fake_key = "KEY0123FAKESECRETVALUE";
    let cases = [
        ("acc-wrong-member", format!(r#"{{"apikey": "{fake_key}"}}"#)),
        ("acc-broken-json", format!(r#"{{"api_key": "{fake_key}""#)),
        (
            "acc-not-a-string",
            format!(r#"{{"api_key": ["{fake_key}"]}}"#),
        ),
        ("acc-blank", "   ".to_owned()),
    ];
    for (account, value) in &cases {
        f.put(
            &account_secret_name(&f.prefix, &ManagedAccountId::new(*account)),
            value,
        )
        .await;
    }
    let keys = f.keys();

    for (account, _) in &cases {
        let acc = ManagedAccountId::new(*account);
        let err = keys.account_key(&acc).await.unwrap_err();
        assert!(!err.is_transient());
        let shown = [err.to_string(), format!("{err:?}"), err.chain()];
        for text in &shown {
            assert!(!text.contains(fake_key), "the value leaked: {text}");
        }
        assert!(err.chain().contains("malformed"), "{}", err.chain());
        assert!(
            err.chain().contains(&format!("account {account}")),
            "{}",
            err.chain()
        );
        assert!(
            err.chain().contains(&account_secret_name(&f.prefix, &acc)),
            "{}",
            err.chain()
        );
    }
}
