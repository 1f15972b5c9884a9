//! Telnyx keys from Secrets Manager (moto): both value shapes, the warm cache, and
//! errors that name the account and the secret without leaking the value.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_adapters::secrets::{SecretsManagerKeys, account_secret_name, master_secret_name};
use chrono::Duration;
use common::inject::*;
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

    /// Keys read through a client whose GetSecretValue answers are replaced by `inject`.
    async fn keys_with(&self, inject: Inject) -> SecretsManagerKeys {
        SecretsManagerKeys::new(secrets_manager_with(inject).await, &self.prefix)
    }
}

const FAKE_KEY: &str = "KEY0123FAKESECRETVALUE";

/// The error's Display, Debug and whole source chain never hold the key.
fn assert_no_key(err: &reconciliation::PortError) {
    for text in [err.to_string(), format!("{err:?}"), err.chain()] {
        assert!(!text.contains(FAKE_KEY), "the value leaked: {text}");
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
    let fake_key = FAKE_KEY;
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

#[tokio::test]
async fn access_denied_is_a_permanent_error_naming_the_account_and_secret_never_the_value() {
    let f = Fixture::new().await;
    let acc = ManagedAccountId::new("acc-denied");
    let name = account_secret_name(&f.prefix, &acc);
    f.put(&name, FAKE_KEY).await;
    // moto grants everything; IAM's refusal is injected on the real client.
    let inject = Inject::new("GetSecretValue", usize::MAX, |_| {
        aws_error(
            400,
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/account-sync is not authorized to perform: secretsmanager:GetSecretValue",
        )
    });
    let calls = inject.calls();
    let keys = f.keys_with(inject).await;

    let err = keys.account_key(&acc).await.unwrap_err();

    assert_eq!(calls.replaced(), 1, "a refusal is not retried");
    assert!(!err.is_transient());
    let chain = err.chain();
    assert!(
        chain.contains(&format!(
            "reading the key of account acc-denied from secret {name}: access to secret {name} (account acc-denied) was denied"
        )),
        "{chain}"
    );
    assert!(chain.contains("AccessDeniedException"), "{chain}");
    assert_no_key(&err);

    let master = master_secret_name(&f.prefix);
    f.put(&master, FAKE_KEY).await;
    let err = keys.master_key().await.unwrap_err();
    assert!(!err.is_transient());
    assert!(
        err.chain().contains(&format!(
            "access to secret {master} (the manager key) was denied"
        )),
        "{}",
        err.chain()
    );
    assert_no_key(&err);
}

#[tokio::test]
async fn a_secret_that_cannot_be_decrypted_is_reported_as_denied() {
    let f = Fixture::new().await;
    let acc = ManagedAccountId::new("acc-kms");
    let name = account_secret_name(&f.prefix, &acc);
    f.put(&name, FAKE_KEY).await;
    let inject = Inject::new("GetSecretValue", usize::MAX, |_| {
        aws_error(
            400,
            "DecryptionFailure",
            "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
        )
    });

    let err = f
        .keys_with(inject)
        .await
        .account_key(&acc)
        .await
        .unwrap_err();

    assert!(!err.is_transient());
    assert!(
        err.chain().contains(&format!(
            "access to secret {name} (account acc-kms) was denied"
        )),
        "{}",
        err.chain()
    );
    assert_no_key(&err);
}

#[tokio::test]
async fn a_secret_scheduled_for_deletion_is_reported_as_unusable_not_as_denied() {
    let f = Fixture::new().await;
    let acc = ManagedAccountId::new("acc-deleting");
    let name = account_secret_name(&f.prefix, &acc);
    f.put(&name, FAKE_KEY).await;
    // Deleted with a recovery window: Secrets Manager (and moto) answer GetSecretValue
    // with InvalidRequestException until it is restored or the window ends.
    f.client
        .delete_secret()
        .secret_id(&name)
        .recovery_window_in_days(7)
        .send()
        .await
        .expect("secret scheduled for deletion");

    let err = f.keys().account_key(&acc).await.unwrap_err();

    assert!(!err.is_transient());
    let chain = err.chain();
    assert!(chain.contains("InvalidRequestException"), "{chain}");
    assert!(
        chain.contains(&format!(
            "secret {name} (account acc-deleting) cannot be read in its current state (scheduled for deletion?)"
        )),
        "{chain}"
    );
    assert!(!chain.contains("denied"), "{chain}");
    assert_no_key(&err);
}
