//! The real client keeps the `TelnyxApi` contract against the simulator (the same checks
//! the in-memory fake passes), and the fake's usage report offers what the simulator's
//! does: for every record type the product learns the same shape from both, so the
//! core's fast tests audit against the report the client meets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reconciliation::contract::telnyx::{CHECKS, ContractWorld, check_telnyx};
use reconciliation::domain::{RecordType, TelnyxSnapshot};
use reconciliation::fakes::InMemoryTelnyx;
use reconciliation::fixtures::managed_account;
use reconciliation::ports::TelnyxApi;
use reconciliation::usage::shape;
use support::*;

fn world() -> ContractWorld {
    ContractWorld::new(ACCOUNT_ID, ACCOUNT_KEY, MASTER_KEY, "KEYnobody_refused")
}

#[tokio::test]
async fn the_client_against_the_simulator_keeps_the_telnyx_contract() {
    let world = world();
    let mut scenario = ScenarioBuilder::new();
    for r in &world.records {
        scenario = scenario.detail_record(r.record_type.filter_name(), ContractWorld::row(r));
    }
    let sim = start(scenario.build()).await;
    let report = check_telnyx(&client(&sim), &world).await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.passed.len(), CHECKS.len());
}

#[tokio::test]
async fn the_fake_offers_every_type_the_usage_report_shape_the_simulator_offers() {
    let sim = start(ScenarioBuilder::new().build()).await;
    let real = TelnyxApi::usage_options(&client(&sim), &account_key())
        .await
        .unwrap();
    let fake = InMemoryTelnyx::new("master").with_account(
        managed_account("acct-1", "Acme"),
        "key-1",
        TelnyxSnapshot::default(),
    );
    let faked = fake
        .usage_options(&reconciliation::ports::ApiKey::new("key-1"))
        .await
        .unwrap();
    for &t in RecordType::ALL {
        assert_eq!(
            shape::learn(&faked, t).ok(),
            shape::learn(&real, t).ok(),
            "{t}"
        );
    }
}
