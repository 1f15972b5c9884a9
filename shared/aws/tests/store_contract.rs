//! The DynamoDB store keeps the same store contract as the in-memory fake
//! (`reconciliation::contract::store`), on DynamoDB Local through the real SDK client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use reconciliation::contract::store::{CHECKS, check_store};

#[tokio::test]
async fn the_dynamodb_store_keeps_the_store_contract() {
    let store = common::fresh_store().await;
    let report = check_store(&store).await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.passed.len(), CHECKS.len());
}
