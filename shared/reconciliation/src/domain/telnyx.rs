//! The Telnyx side, normalized: what the Telnyx client hands the core.
//!
//! Wire quirks (ids as numbers, 0/1 flags, scientific-notation costs, `uuid` vs `id`)
//! are resolved by the client; these types hold clean values plus, for detail
//! records, the row's JSON text exactly as received ([`RawRecord`]).

use super::ids::*;
use super::record_type::RecordType;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::fmt;

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
    /// The call session and leg ids the record names (`telnyx_session_id`,
    /// `call_session_id`, `telnyx_leg_id`, `call_leg_id`): how an AI or media record
    /// without a connection is linked to the call it belongs to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<String>,
    /// The record exactly as Telnyx returned it: the row's JSON text, byte for byte
    /// (key order, number spelling such as `0.0125` or `1.666E-4`, unknown fields).
    /// Left out of serialized forms when it is `null` (unknown).
    #[serde(default, skip_serializing_if = "RawRecord::is_null")]
    pub raw: RawRecord,
}

/// A JSON value kept as the exact text it arrived as (a detail record's row). Nothing
/// is re-encoded: numbers keep their digits (no trip through `f64`), keys keep their
/// order. Two `RawRecord`s are equal when their texts are.
///
/// Serialized with serde_json it is written out verbatim (as JSON, not as a string).
/// [`RawRecord::default`] is `null`, meaning "no row known".
#[derive(Clone)]
pub struct RawRecord(Box<RawValue>);

impl RawRecord {
    /// Wraps JSON text after checking it is exactly one JSON value (surrounding
    /// whitespace is dropped).
    pub fn from_json(text: impl Into<String>) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text.into()).map(RawRecord)
    }

    /// Copies a value borrowed from a larger document (a row of a response page).
    pub fn from_raw(raw: &RawValue) -> Self {
        RawRecord(raw.to_owned())
    }

    /// The compact JSON text of a value built in code (fixtures, tools). A `Value`
    /// always serializes; the `null` fallback only keeps this infallible.
    pub fn from_value(value: &serde_json::Value) -> Self {
        serde_json::value::to_raw_value(value)
            .map(RawRecord)
            .unwrap_or_default()
    }

    /// `null`: no row known.
    pub fn null() -> Self {
        Self::default()
    }

    /// True for the JSON `null`.
    pub fn is_null(&self) -> bool {
        self.as_str() == "null"
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The text as a [`RawValue`].
    pub fn as_raw_value(&self) -> &RawValue {
        &self.0
    }

    /// The verbatim text of the top-level field `name` of an object (e.g. `0.0125` or
    /// `"USD"`, quotes included), or `None` when absent or when this is not an object.
    /// Parses the object on every call: for inspection, not for hot paths.
    pub fn field(&self, name: &str) -> Option<&str> {
        let object: std::collections::HashMap<std::borrow::Cow<'_, str>, &RawValue> =
            serde_json::from_str(self.as_str()).ok()?;
        object.get(name).map(|v| v.get())
    }

    /// The value as a `serde_json::Value` (numbers as serde_json reads them).
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(self.as_str())
    }
}

impl Default for RawRecord {
    fn default() -> Self {
        RawRecord(RawValue::NULL.to_owned())
    }
}

impl PartialEq for RawRecord {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RawRecord {}

impl fmt::Debug for RawRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawRecord").field(&self.as_str()).finish()
    }
}

impl fmt::Display for RawRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RawRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(RawRecord)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_record_keeps_the_text_it_was_given_and_compares_by_it() {
        let text = r#"{"id":"w","data_cost":0.0125,"big":12345678901234567890123,"a":1}"#;
        let raw = RawRecord::from_json(text).unwrap();
        assert_eq!(raw.as_str(), text);
        assert_eq!(raw.field("data_cost"), Some("0.0125"));
        assert_eq!(raw.field("big"), Some("12345678901234567890123"));
        assert_eq!(raw.field("missing"), None);
        let reordered = RawRecord::from_json(r#"{"a":1,"id":"w"}"#).unwrap();
        assert_ne!(raw, reordered);
        assert_eq!(raw, RawRecord::from_json(text.to_owned()).unwrap());
        assert!(RawRecord::from_json("{\"id\":").is_err());
    }

    #[test]
    fn a_record_serializes_its_raw_row_verbatim_and_reads_it_back() {
        let raw = RawRecord::from_json(r#"{"uuid":"m","cost":"1.666E-4","n":0.10}"#).unwrap();
        let record = DetailRecord {
            record_type: RecordType::Messaging,
            id: DetailRecordId::new("m"),
            occurred_at: "2026-11-20T00:00:00Z".parse().unwrap(),
            connection_id: None,
            billing_group_id: None,
            cli: None,
            cld: None,
            direction: None,
            cost: None,
            rate: None,
            currency: None,
            billed_quantity: None,
            sessions: Vec::new(),
            raw: raw.clone(),
        };
        let json = serde_json::to_string(&record).unwrap();
        assert!(
            json.contains(r#""raw":{"uuid":"m","cost":"1.666E-4","n":0.10}"#),
            "{json}"
        );
        let back: DetailRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, record);

        let unknown = DetailRecord {
            raw: RawRecord::null(),
            ..record
        };
        let json = serde_json::to_string(&unknown).unwrap();
        assert!(!json.contains("\"raw\""), "{json}");
        let back: DetailRecord = serde_json::from_str(&json).unwrap();
        assert!(back.raw.is_null());
    }
}
