//! Shared fixtures for the client tests: scenario builders, a simulator per test, and a
//! client configured for fast retries.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use reconciliation::domain::{DetailRecord, RecordType};
use reconciliation::ports::{ApiKey, TimeWindow};
use serde_json::{Value, json};
use std::time::Duration;
use telnyx_client::{ClientConfig, TelnyxClient, TelnyxError};
use telnyx_sim::{RunningSim, Scenario, SimOptions};

pub const MASTER_KEY: &str = "KEYMASTER_0000_sim_manager_secret";
pub const ACCOUNT_ID: &str = "acct-1";
pub const ACCOUNT_KEY: &str = "KEYACCOUNT_1111_sim_account_secret";

/// A one-account scenario under construction.
pub struct ScenarioBuilder {
    account: Value,
    extra_accounts: Vec<Value>,
}

impl ScenarioBuilder {
    pub fn new() -> Self {
        Self {
            account: json!({
                "id": ACCOUNT_ID,
                "organization_name": "Acme Reseller",
                "email": "ops@acme.example",
                "api_key": ACCOUNT_KEY,
                "created_at": "2026-01-05T10:00:00Z",
            }),
            extra_accounts: Vec::new(),
        }
    }

    fn push(mut self, list: &str, item: Value) -> Self {
        let entry = self.account.as_object_mut().unwrap();
        entry
            .entry(list)
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .unwrap()
            .push(item);
        self
    }

    pub fn set(mut self, field: &str, value: Value) -> Self {
        self.account[field] = value;
        self
    }

    pub fn billing_group(self, id: &str, name: &str) -> Self {
        self.push("billing_groups", json!({"id": id, "name": name}))
    }

    pub fn item(self, list: &str, item: Value) -> Self {
        self.push(list, item)
    }

    /// `n` phone numbers, `+1312555` + index.
    pub fn phone_numbers(mut self, n: usize) -> Self {
        for i in 0..n {
            self = self.push(
                "phone_numbers",
                json!({"id": format!("pn-{i}"), "phone_number": format!("+1312555{i:04}")}),
            );
        }
        self
    }

    pub fn detail_record(self, record_type: &str, row: Value) -> Self {
        self.push(
            "detail_records",
            json!({"record_type": record_type, "row": row}),
        )
    }

    /// `count` generated records of `record_type` spread over `[from, to)`.
    pub fn generate(mut self, count: u64, record_type: &str, from: &str, to: &str) -> Self {
        self.account["generate"] = json!({
            "count": count,
            "record_types": [record_type],
            "from": from,
            "to": to,
            "seed": 7,
        });
        self
    }

    pub fn other_account(mut self, account: Value) -> Self {
        self.extra_accounts.push(account);
        self
    }

    pub fn build(self) -> Scenario {
        let mut accounts = vec![self.account];
        accounts.extend(self.extra_accounts);
        let doc = json!({
            "manager_account_id": "mgr-1",
            "master_key": MASTER_KEY,
            "accounts": accounts,
        });
        Scenario::from_yaml_str(&doc.to_string()).unwrap()
    }
}

/// Starts the simulator with the rate limit off (tests about the limit turn it on).
pub async fn start(scenario: Scenario) -> RunningSim {
    start_with_limit(scenario, None).await
}

pub async fn start_with_limit(scenario: Scenario, per_minute: Option<u32>) -> RunningSim {
    telnyx_sim::start(
        scenario,
        SimOptions {
            rate_limit_per_minute: per_minute,
        },
    )
    .await
    .unwrap()
}

/// Fast retries and a short timeout, pointed at the simulator.
pub fn config(sim: &RunningSim) -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        max_retries: 3,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        rate_limit_margin: Duration::from_millis(150),
        ..ClientConfig::new(sim.base_url())
    }
}

pub fn client(sim: &RunningSim) -> TelnyxClient {
    TelnyxClient::new(config(sim)).unwrap()
}

pub fn account_key() -> ApiKey {
    ApiKey::new(ACCOUNT_KEY)
}

pub fn master_key() -> ApiKey {
    ApiKey::new(MASTER_KEY)
}

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

pub fn window(from: &str, to: &str) -> TimeWindow {
    TimeWindow {
        from: at(from),
        to: at(to),
    }
}

/// Walks every page; returns the pages' sizes and all records.
pub async fn walk(
    client: &TelnyxClient,
    record_type: RecordType,
    window: TimeWindow,
) -> Result<(Vec<usize>, Vec<DetailRecord>), TelnyxError> {
    let mut pages = client.detail_record_pages(&account_key(), record_type, window);
    let mut sizes = Vec::new();
    let mut all = Vec::new();
    while let Some(page) = pages.next_page().await? {
        sizes.push(page.len());
        all.extend(page);
    }
    Ok((sizes, all))
}

/// Requests the simulator served on `path` (e.g. `/v2/detail_records`).
pub fn requests_to(sim: &RunningSim, path: &str) -> Vec<telnyx_sim::RecordedRequest> {
    sim.control()
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .collect()
}

pub fn query_value<'a>(request: &'a telnyx_sim::RecordedRequest, name: &str) -> Option<&'a str> {
    request
        .query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
