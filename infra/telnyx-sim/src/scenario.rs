//! The scenario: the Telnyx world the simulator serves (a manager account, its managed
//! accounts with their billing groups, profiles, connections, numbers and detail records,
//! plus an optional volume generator per account), read from YAML or JSON.

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::record_types::RecordType;

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario file {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("scenario is not valid YAML/JSON for the expected shape")]
    Parse(#[source] serde_yaml::Error),
    #[error("scenario is inconsistent: {0}")]
    Invalid(String),
}

/// The whole simulated world.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub manager_account_id: String,
    /// The manager's key: lists managed accounts, reads aggregated usage, nothing else.
    pub master_key: String,
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
}

/// One managed account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    pub id: String,
    pub organization_name: String,
    pub email: String,
    pub api_key: String,
    /// Listed only with `include_cancelled_accounts=true`.
    #[serde(default)]
    pub cancelled: bool,
    /// `cost` and `rate` are absent or `""` on this account's detail records.
    #[serde(default)]
    pub hide_pricing: bool,
    #[serde(default)]
    pub rollup_billing: bool,
    #[serde(default = "default_created_at")]
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub billing_groups: Vec<BillingGroupSpec>,
    #[serde(default)]
    pub outbound_voice_profiles: Vec<OutboundVoiceProfileSpec>,
    #[serde(default)]
    pub connections: Vec<ConnectionSpec>,
    #[serde(default)]
    pub phone_numbers: Vec<PhoneNumberSpec>,
    #[serde(default)]
    pub detail_records: Vec<DetailRecordSpec>,
    #[serde(default)]
    pub generate: Option<GenerateSpec>,
}

impl AccountSpec {
    /// An account with nothing in it yet, for scenarios built in code.
    pub fn new(
        id: impl Into<String>,
        organization_name: impl Into<String>,
        email: impl Into<String>,
        api_key: impl Into<String>,
    ) -> AccountSpec {
        AccountSpec {
            id: id.into(),
            organization_name: organization_name.into(),
            email: email.into(),
            api_key: api_key.into(),
            cancelled: false,
            hide_pricing: false,
            rollup_billing: false,
            created_at: default_created_at(),
            billing_groups: Vec::new(),
            outbound_voice_profiles: Vec::new(),
            connections: Vec::new(),
            phone_numbers: Vec::new(),
            detail_records: Vec::new(),
            generate: None,
        }
    }
}

fn default_created_at() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap_or_default() // 2026-01-01
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingGroupSpec {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundVoiceProfileSpec {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub billing_group_id: Option<String>,
}

/// The kind of a connection, as `record_type` in `GET /connections`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    CredentialConnection,
    IpConnection,
    FqdnConnection,
    CallControlApplication,
    TexmlApplication,
    FaxApplication,
}

impl ConnectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionKind::CredentialConnection => "credential_connection",
            ConnectionKind::IpConnection => "ip_connection",
            ConnectionKind::FqdnConnection => "fqdn_connection",
            ConnectionKind::CallControlApplication => "call_control_application",
            ConnectionKind::TexmlApplication => "texml_application",
            ConnectionKind::FaxApplication => "fax_application",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionSpec {
    pub id: String,
    pub connection_name: String,
    pub record_type: ConnectionKind,
    #[serde(default = "default_true")]
    pub active: bool,
    #[serde(default)]
    pub outbound_voice_profile_id: Option<String>,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneNumberSpec {
    pub id: String,
    pub phone_number: String,
    #[serde(default = "default_status")]
    pub status: String,
    #[serde(default)]
    pub connection_id: Option<String>,
    #[serde(default)]
    pub billing_group_id: Option<String>,
    #[serde(default)]
    pub messaging_profile_id: Option<String>,
    #[serde(default)]
    pub phone_number_type: Option<String>,
}

fn default_status() -> String {
    "active".to_owned()
}

/// A raw detail record, served exactly as given (plus the response `record_type` when
/// the row has none), under the type it is filed as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetailRecordSpec {
    pub record_type: RecordType,
    pub row: serde_json::Value,
}

/// Records produced on the fly: record `i` (0-based, of `count`) has type
/// `record_types[i % record_types.len()]` and time `from + i * (to - from) / count`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateSpec {
    pub count: u64,
    pub record_types: Vec<RecordType>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[serde(default)]
    pub seed: u64,
}

impl Scenario {
    /// Parses a scenario from YAML (JSON is YAML too) and checks it is consistent.
    pub fn from_yaml_str(text: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = serde_yaml::from_str(text).map_err(ScenarioError::Parse)?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Reads and parses a scenario file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Scenario::from_yaml_str(&text)
    }

    /// Keys must be unique (a key names one account), and generators well formed.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let mut keys = HashSet::new();
        if self.master_key.is_empty() {
            return Err(ScenarioError::Invalid("master_key is empty".into()));
        }
        keys.insert(self.master_key.as_str());
        let mut ids = HashSet::new();
        for account in &self.accounts {
            if !ids.insert(account.id.as_str()) {
                return Err(ScenarioError::Invalid(format!(
                    "account id {} appears twice",
                    account.id
                )));
            }
            if account.api_key.is_empty() || !keys.insert(account.api_key.as_str()) {
                return Err(ScenarioError::Invalid(format!(
                    "account {} has an empty or duplicate api_key",
                    account.id
                )));
            }
            if let Some(generate) = &account.generate {
                if generate.count > 0 && generate.record_types.is_empty() {
                    return Err(ScenarioError::Invalid(format!(
                        "account {}: generate needs at least one record type",
                        account.id
                    )));
                }
                if generate.to <= generate.from {
                    return Err(ScenarioError::Invalid(format!(
                        "account {}: generate.to must be after generate.from",
                        account.id
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_reseller_scenario_loads() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/reseller.yaml");
        let scenario = Scenario::from_file(path).unwrap();
        assert_eq!(scenario.accounts.len(), 4);
        assert!(scenario.accounts.iter().any(|a| a.cancelled));
    }

    #[test]
    fn an_account_built_in_code_equals_its_minimal_yaml() {
        let yaml = "{id: a, organization_name: A, email: a@x, api_key: KEYa}";
        let parsed: AccountSpec = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(parsed, AccountSpec::new("a", "A", "a@x", "KEYa"));
    }

    #[test]
    fn a_key_shared_by_two_accounts_is_rejected() {
        let yaml = r#"
manager_account_id: m
master_key: KEYm
accounts:
  - {id: a, organization_name: A, email: a@x, api_key: KEYa}
  - {id: b, organization_name: B, email: b@x, api_key: KEYa}
"#;
        let err = Scenario::from_yaml_str(yaml).unwrap_err();
        assert!(matches!(err, ScenarioError::Invalid(_)), "{err:?}");
    }

    #[test]
    fn an_unknown_record_type_in_a_scenario_is_a_parse_error() {
        let yaml = r#"
manager_account_id: m
master_key: KEYm
accounts:
  - id: a
    organization_name: A
    email: a@x
    api_key: KEYa
    detail_records:
      - {record_type: webrtc_detail_record, row: {id: "1"}}
"#;
        assert!(matches!(
            Scenario::from_yaml_str(yaml),
            Err(ScenarioError::Parse(_))
        ));
    }
}
