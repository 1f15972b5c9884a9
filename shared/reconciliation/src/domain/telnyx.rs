//! The Telnyx side, normalized: what the Telnyx client hands the core.
//!
//! Wire quirks (ids as numbers, 0/1 flags, scientific-notation costs, `uuid` vs `id`)
//! are resolved by the client; these types hold clean values plus, for detail
//! records, the raw JSON as received.

use super::ids::*;
use super::record_type::RecordType;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A managed account as the master key lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedAccount {
    pub id: ManagedAccountId,
    pub email: Option<String>,
    pub organization_name: Option<String>,
    pub manager_account_id: Option<String>,
    pub rollup_billing: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A Telnyx billing group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingGroup {
    pub id: BillingGroupId,
    pub name: String,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// What kind of connection this is (from the `record_type` of `GET /connections`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ConnectionKind {
    /// `credential_connection`
    Credential,
    /// `ip_connection`
    Ip,
    /// `fqdn_connection`
    Fqdn,
    /// `call_control_application`
    CallControlApplication,
    /// `texml_application`
    TexmlApplication,
    /// `fax_application`
    FaxApplication,
    /// Anything else, kept verbatim.
    Other(String),
}

impl ConnectionKind {
    /// Parses the `record_type` of a connection list row.
    pub fn from_record_type(s: &str) -> Self {
        match s {
            "credential_connection" => ConnectionKind::Credential,
            "ip_connection" => ConnectionKind::Ip,
            "fqdn_connection" => ConnectionKind::Fqdn,
            "call_control_application" => ConnectionKind::CallControlApplication,
            "texml_application" => ConnectionKind::TexmlApplication,
            "fax_application" => ConnectionKind::FaxApplication,
            other => ConnectionKind::Other(other.to_owned()),
        }
    }
}

/// A connection of any kind (`GET /connections`). It has no billing group of its
/// own: it reaches one through its outbound voice profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub id: ConnectionId,
    pub name: String,
    pub kind: ConnectionKind,
    pub active: bool,
    pub outbound_voice_profile_id: Option<OutboundVoiceProfileId>,
}

/// An outbound voice profile: the link from a connection to a billing group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundVoiceProfile {
    pub id: OutboundVoiceProfileId,
    pub name: String,
    pub billing_group_id: Option<BillingGroupId>,
}

/// A phone number resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumber {
    pub id: PhoneNumberId,
    /// E.164, e.g. `+13125550100`.
    pub phone_number: String,
    pub status: Option<String>,
    pub connection_id: Option<ConnectionId>,
    pub billing_group_id: Option<BillingGroupId>,
    pub messaging_profile_id: Option<MessagingProfileId>,
    pub phone_number_type: Option<String>,
}

/// Everything the product reads about one account's configuration in one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelnyxSnapshot {
    pub billing_groups: Vec<BillingGroup>,
    pub connections: Vec<Connection>,
    pub outbound_voice_profiles: Vec<OutboundVoiceProfile>,
    pub phone_numbers: Vec<PhoneNumber>,
}

/// Call direction of a record, where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    Inbound,
    Outbound,
}

/// One detail record (CDR), normalized. Keyed by `(record_type, id)` within an account:
/// `record_type` is the type that was *queried*, not the response's spelling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetailRecord {
    pub record_type: RecordType,
    pub id: DetailRecordId,
    /// The value of the type's time field ([`RecordType::time_field`]).
    pub occurred_at: DateTime<Utc>,
    pub connection_id: Option<ConnectionId>,
    /// Verbatim: can be a billing group uuid or an unrelated number (seen as `60`).
    pub billing_group_id: Option<String>,
    pub cli: Option<String>,
    pub cld: Option<String>,
    pub direction: Option<Direction>,
    /// Exact; `None` when pricing is hidden from the managed account.
    pub cost: Option<Decimal>,
    pub rate: Option<Decimal>,
    pub currency: Option<String>,
    /// Billed quantity where the type has one (`billed_sec`, `parts`, characters…).
    pub billed_quantity: Option<Decimal>,
    /// The record exactly as Telnyx returned it.
    pub raw: serde_json::Value,
}

impl DetailRecord {
    /// The record's identity within its account.
    pub fn key(&self) -> (RecordType, &DetailRecordId) {
        (self.record_type, &self.id)
    }
}
