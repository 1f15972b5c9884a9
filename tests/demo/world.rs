//! The demo's world: the sample reseller (`infra/telnyx-sim/scenarios/reseller.yaml`)
//! grown into something realistic. Acme (wholesale, two billing groups and a
//! connection with none) and Beta (direct, pricing hidden) get a few thousand
//! generated records over every one of the 21 record types; Epsilon (direct) is
//! onboarded with a key Telnyx then revokes; Gamma stays not onboarded.

use chrono::Duration;
use integration_tests::e2e::*;
use telnyx_sim::scenario::{AccountSpec, BillingGroupSpec, GenerateSpec};
use telnyx_sim::{RecordType, Scenario};

pub const EPSILON: &str = "7b8c9d0e-1f20-4a3b-9c4d-5e6f7a8b9c0d";
pub const EPSILON_KEY: &str = "KEY0123EPSILON9D74656C6E79782E636F6D_ZXBzaWxvbg";
pub const EPSILON_DEPT: &str = "dept-epsilon";
/// Generated records per type: Acme, Beta.
pub const ACME_PER_TYPE: u64 = 100;
pub const BETA_PER_TYPE: u64 = 20;

fn generate(per_type: u64, seed: u64) -> GenerateSpec {
    let from = sample_records_start();
    GenerateSpec {
        count: per_type * RecordType::ALL.len() as u64,
        record_types: RecordType::ALL.to_vec(),
        from,
        to: from + Duration::days(9),
        seed,
    }
}

/// The demo's scenario.
pub fn scenario() -> Result<Scenario, telnyx_sim::ScenarioError> {
    let mut scenario = Scenario::from_file(sample_scenario_path())?;
    for account in &mut scenario.accounts {
        if account.id == ACME {
            account.generate = Some(generate(ACME_PER_TYPE, 11));
        } else if account.id == BETA {
            account.generate = Some(generate(BETA_PER_TYPE, 12));
        }
    }
    let mut epsilon =
        AccountSpec::new(EPSILON, "Epsilon Media", "noc@epsilon.example", EPSILON_KEY);
    epsilon.billing_groups.push(BillingGroupSpec {
        id: "c3d4e5f6-0718-4293-a4b5-c6d7e8f90a1b".into(),
        name: "Epsilon Media".into(),
        deleted_at: None,
    });
    scenario.accounts.push(epsilon);
    Ok(scenario)
}
