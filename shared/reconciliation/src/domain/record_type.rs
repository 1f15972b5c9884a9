//! The 21 Telnyx detail-record types, the time field each one is filtered by, and the
//! 20 service types they map to (docs/mapping-rules.md "Service types"; the time fields:
//! docs/telnyx.md "Time fields").
//!
//! The time-field table is product logic: Telnyx answers a filter on a field the type
//! does not have with 200 and zero rows, so a wrong entry silently imports nothing.

use serde::{Deserialize, Serialize};

/// A detail-record type as `filter[record_type]` spells it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::VariantArray,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
)]
#[serde(into = "&'static str", try_from = "String")]
#[strum(parse_err_ty = UnknownRecordType, parse_err_fn = UnknownRecordType::from)]
pub enum RecordType {
    #[strum(serialize = "sip-trunking")]
    SipTrunking,
    #[strum(serialize = "call-control")]
    CallControl,
    #[strum(serialize = "conference")]
    Conference,
    #[strum(serialize = "conference-participant")]
    ConferenceParticipant,
    #[strum(serialize = "fax")]
    Fax,
    #[strum(serialize = "webrtc")]
    Webrtc,
    #[strum(serialize = "siprec-client")]
    SiprecClient,
    #[strum(serialize = "ai-voice-assistant")]
    AiVoiceAssistant,
    #[strum(serialize = "messaging")]
    Messaging,
    #[strum(serialize = "wireless")]
    Wireless,
    #[strum(serialize = "recording")]
    Recording,
    #[strum(serialize = "media-streaming")]
    MediaStreaming,
    #[strum(serialize = "media_storage")]
    MediaStorage,
    #[strum(serialize = "amd")]
    Amd,
    #[strum(serialize = "embedding")]
    Embedding,
    #[strum(serialize = "inference")]
    Inference,
    #[strum(serialize = "inference-speech-to-text")]
    InferenceSpeechToText,
    #[strum(serialize = "noise-suppression")]
    NoiseSuppression,
    #[strum(serialize = "stt")]
    Stt,
    #[strum(serialize = "tts")]
    Tts,
    #[strum(serialize = "verify")]
    Verify,
}

impl RecordType {
    /// Every record type, in declaration order (the order a run fetches them in). The
    /// compiler keeps it complete (`strum::VariantArray`).
    pub const ALL: &'static [RecordType] = <RecordType as strum::VariantArray>::VARIANTS;

    /// The value of `filter[record_type]`.
    pub fn filter_name(self) -> &'static str {
        self.into()
    }

    /// The time field this type is windowed by (`filter[<field>][gte]` / `[lt]`).
    ///
    /// Call legs use `started_at`; messaging and AI types `created_at`; speech to text
    /// `start_time`; conference participants `joined_at`; AMD `invoked_at`.
    pub fn time_field(self) -> &'static str {
        match self {
            RecordType::SipTrunking
            | RecordType::CallControl
            | RecordType::Conference
            | RecordType::Fax
            | RecordType::Webrtc
            | RecordType::SiprecClient
            | RecordType::Recording
            | RecordType::MediaStreaming => "started_at",
            RecordType::ConferenceParticipant => "joined_at",
            RecordType::Amd => "invoked_at",
            RecordType::Stt => "start_time",
            RecordType::AiVoiceAssistant
            | RecordType::Messaging
            | RecordType::Wireless
            | RecordType::MediaStorage
            | RecordType::Embedding
            | RecordType::Inference
            | RecordType::InferenceSpeechToText
            | RecordType::NoiseSuppression
            | RecordType::Tts
            | RecordType::Verify => "created_at",
        }
    }

    /// True for the types whose records may name only the call they belong to (a call
    /// session or leg id, no connection): AI, media and conference-participant records.
    /// While none of them shows usage, a run writes no call-session links.
    pub fn names_its_call(self) -> bool {
        match self {
            RecordType::ConferenceParticipant
            | RecordType::AiVoiceAssistant
            | RecordType::Recording
            | RecordType::MediaStreaming
            | RecordType::Embedding
            | RecordType::Inference
            | RecordType::InferenceSpeechToText
            | RecordType::NoiseSuppression
            | RecordType::Stt
            | RecordType::Tts => true,
            RecordType::SipTrunking
            | RecordType::CallControl
            | RecordType::Conference
            | RecordType::Fax
            | RecordType::Webrtc
            | RecordType::SiprecClient
            | RecordType::Messaging
            | RecordType::Wireless
            | RecordType::MediaStorage
            | RecordType::Amd
            | RecordType::Verify => false,
        }
    }

    /// How this type's billed quantity is measured
    /// ([`crate::domain::DetailRecord::billed_quantity`]): which fields sum to it, and
    /// its unit. One row per type, tested against the client's quantity rules.
    pub fn quantity(self) -> Quantity {
        match self {
            RecordType::SipTrunking
            | RecordType::CallControl
            | RecordType::ConferenceParticipant
            | RecordType::Fax
            | RecordType::Webrtc
            | RecordType::SiprecClient
            | RecordType::MediaStreaming
            | RecordType::AiVoiceAssistant
            | RecordType::InferenceSpeechToText
            | RecordType::NoiseSuppression => Quantity::BilledSeconds,
            RecordType::Conference => Quantity::CallSeconds,
            RecordType::Messaging => Quantity::Parts,
            RecordType::Tts | RecordType::Embedding | RecordType::Inference => Quantity::Characters,
            RecordType::Stt => Quantity::DurationSeconds,
            RecordType::Wireless => Quantity::Bytes,
            RecordType::Recording
            | RecordType::MediaStorage
            | RecordType::Amd
            | RecordType::Verify => Quantity::PerRecord,
        }
    }

    /// The record fields whose sum is this type's billed quantity, and the usage-report
    /// metrics of the same names the audit compares with it; empty for a type billed
    /// per record.
    pub fn quantity_fields(self) -> &'static [&'static str] {
        self.quantity().fields()
    }

    /// What one unit of [`RecordType::quantity_fields`] (and of a record's billed
    /// quantity) is, for invoices.
    pub fn quantity_unit(self) -> &'static str {
        self.quantity().unit()
    }

    /// The one field a record of this type carries its cost in: `data_cost` for
    /// wireless, `verify_usage_fee` for verify, `cost` for the rest. The record parser
    /// reads a record's cost from it and the audit asks the usage report for the metric
    /// of the same name: one type, one reading.
    pub fn cost(self) -> CostField {
        match self {
            RecordType::Wireless => CostField::DataCost,
            RecordType::Verify => CostField::VerifyUsageFee,
            RecordType::SipTrunking
            | RecordType::CallControl
            | RecordType::Conference
            | RecordType::ConferenceParticipant
            | RecordType::Fax
            | RecordType::Webrtc
            | RecordType::SiprecClient
            | RecordType::AiVoiceAssistant
            | RecordType::Messaging
            | RecordType::Recording
            | RecordType::MediaStreaming
            | RecordType::MediaStorage
            | RecordType::Amd
            | RecordType::Embedding
            | RecordType::Inference
            | RecordType::InferenceSpeechToText
            | RecordType::NoiseSuppression
            | RecordType::Stt
            | RecordType::Tts => CostField::Cost,
        }
    }

    /// The name of [`RecordType::cost`]'s field (and usage-report metric).
    pub fn cost_field(self) -> &'static str {
        self.cost().into()
    }

    /// The service type usage of this record type bills as.
    pub fn service_type(self) -> ServiceTypeName {
        match self {
            RecordType::SipTrunking => ServiceTypeName::SipTrunking,
            RecordType::CallControl => ServiceTypeName::CallControl,
            RecordType::Conference | RecordType::ConferenceParticipant => {
                ServiceTypeName::Conference
            }
            RecordType::Fax => ServiceTypeName::Fax,
            RecordType::Webrtc => ServiceTypeName::Webrtc,
            RecordType::SiprecClient => ServiceTypeName::SiprecClient,
            RecordType::AiVoiceAssistant => ServiceTypeName::AiVoiceAssistant,
            RecordType::Messaging => ServiceTypeName::Messaging,
            RecordType::Wireless => ServiceTypeName::Wireless,
            RecordType::Recording => ServiceTypeName::Recording,
            RecordType::MediaStreaming => ServiceTypeName::MediaStreaming,
            RecordType::MediaStorage => ServiceTypeName::MediaStorage,
            RecordType::Amd => ServiceTypeName::Amd,
            RecordType::Embedding => ServiceTypeName::Embedding,
            RecordType::Inference => ServiceTypeName::Inference,
            RecordType::InferenceSpeechToText => ServiceTypeName::SpeechToText,
            RecordType::NoiseSuppression => ServiceTypeName::NoiseSuppression,
            RecordType::Stt => ServiceTypeName::Stt,
            RecordType::Tts => ServiceTypeName::Tts,
            RecordType::Verify => ServiceTypeName::Verify,
        }
    }
}

/// How a record type's billed quantity is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Call legs and per-second AI usage: `billed_sec`.
    BilledSeconds,
    /// Conferences: `call_sec`.
    CallSeconds,
    /// Messages: `parts`.
    Parts,
    /// Text-to-speech, embedding, inference: `number_of_characters`.
    Characters,
    /// Speech-to-text: `duration_sec`.
    DurationSeconds,
    /// Wireless: `uplink_data` + `downlink_data`.
    Bytes,
    /// Billed per record: no quantity field.
    PerRecord,
}

impl Quantity {
    /// The record fields (and usage-report metrics) whose sum is the quantity.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Quantity::BilledSeconds => &["billed_sec"],
            Quantity::CallSeconds => &["call_sec"],
            Quantity::Parts => &["parts"],
            Quantity::Characters => &["number_of_characters"],
            Quantity::DurationSeconds => &["duration_sec"],
            Quantity::Bytes => &["uplink_data", "downlink_data"],
            Quantity::PerRecord => &[],
        }
    }

    /// What one unit is, for invoices: `seconds`, `parts`, `characters`, `bytes`, or
    /// `records`.
    pub fn unit(self) -> &'static str {
        match self {
            Quantity::BilledSeconds | Quantity::CallSeconds | Quantity::DurationSeconds => {
                "seconds"
            }
            Quantity::Parts => "parts",
            Quantity::Characters => "characters",
            Quantity::Bytes => "bytes",
            Quantity::PerRecord => "records",
        }
    }
}

/// The field a record carries its cost in, named as Telnyx names it (and as the usage
/// report names the metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum CostField {
    Cost,
    DataCost,
    VerifyUsageFee,
}

/// Time fields a detail record may carry, most likely first: where a run looks when a
/// type's own field ([`RecordType::time_field`]) returns nothing while Telnyx reports
/// usage.
pub const TIME_FIELD_CANDIDATES: &[&str] = &[
    "started_at",
    "created_at",
    "start_time",
    "joined_at",
    "invoked_at",
    "sent_at",
    "answered_at",
    "finished_at",
    "ended_at",
    "end_time",
    "completed_at",
    "left_at",
    "closed_at",
    "updated_at",
];

/// An unknown `filter[record_type]` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown detail record type {0:?}")]
pub struct UnknownRecordType(pub String);

impl From<&str> for UnknownRecordType {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl TryFrom<String> for RecordType {
    type Error = UnknownRecordType;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// The billing category of a service type, named as the service-type table spells it
/// (`Voice`, `SMS`, `Media`, `AI`, `Security`); also its stored (serde) form.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::Display,
)]
pub enum Category {
    Voice,
    #[serde(rename = "SMS")]
    #[strum(serialize = "SMS")]
    Sms,
    Media,
    #[serde(rename = "AI")]
    #[strum(serialize = "AI")]
    Ai,
    Security,
}

impl Category {
    /// The category's name (`Voice`, `SMS`, `Media`, `AI`, `Security`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One of the 20 service types (docs/mapping-rules.md "Service types"). Created on
/// first use in each department. Declared in that table's order: the order is product
/// logic (a number takes its connection's *first* type, rule 10, and `Ord` follows
/// declaration order).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::VariantArray,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
)]
#[serde(into = "&'static str", try_from = "String")]
#[strum(parse_err_ty = UnknownServiceType, parse_err_fn = UnknownServiceType::from)]
pub enum ServiceTypeName {
    #[strum(serialize = "SIP Trunking")]
    SipTrunking,
    #[strum(serialize = "Call Control")]
    CallControl,
    #[strum(serialize = "Conference")]
    Conference,
    #[strum(serialize = "Fax")]
    Fax,
    #[strum(serialize = "WebRTC")]
    Webrtc,
    #[strum(serialize = "SIPREC Client")]
    SiprecClient,
    #[strum(serialize = "AI Voice Assistant")]
    AiVoiceAssistant,
    #[strum(serialize = "Messaging")]
    Messaging,
    #[strum(serialize = "Wireless")]
    Wireless,
    #[strum(serialize = "Recording")]
    Recording,
    #[strum(serialize = "Media Streaming")]
    MediaStreaming,
    #[strum(serialize = "Media Storage")]
    MediaStorage,
    #[strum(serialize = "AMD (Answering Machine Detection)")]
    Amd,
    #[strum(serialize = "Embedding")]
    Embedding,
    #[strum(serialize = "Inference")]
    Inference,
    #[strum(serialize = "Speech to Text")]
    SpeechToText,
    #[strum(serialize = "Noise Suppression")]
    NoiseSuppression,
    #[strum(serialize = "STT (Speech to Text)")]
    Stt,
    #[strum(serialize = "TTS (Text to Speech)")]
    Tts,
    #[strum(serialize = "Verify")]
    Verify,
}

impl ServiceTypeName {
    /// The 20 service types in the service-type table's order (kept complete by the
    /// compiler).
    pub const ALL: &'static [ServiceTypeName] = <ServiceTypeName as strum::VariantArray>::VARIANTS;

    /// The display name, exactly as the operator's setup guide spells it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The billing category of the type (the service-type table's).
    pub fn category(self) -> Category {
        match self {
            ServiceTypeName::SipTrunking
            | ServiceTypeName::CallControl
            | ServiceTypeName::Conference
            | ServiceTypeName::Fax
            | ServiceTypeName::Webrtc
            | ServiceTypeName::SiprecClient
            | ServiceTypeName::AiVoiceAssistant
            | ServiceTypeName::Wireless => Category::Voice,
            ServiceTypeName::Messaging => Category::Sms,
            ServiceTypeName::Recording
            | ServiceTypeName::MediaStreaming
            | ServiceTypeName::MediaStorage => Category::Media,
            ServiceTypeName::Amd
            | ServiceTypeName::Embedding
            | ServiceTypeName::Inference
            | ServiceTypeName::SpeechToText
            | ServiceTypeName::NoiseSuppression
            | ServiceTypeName::Stt
            | ServiceTypeName::Tts => Category::Ai,
            ServiceTypeName::Verify => Category::Security,
        }
    }

    /// The record types whose usage bills as this service type.
    pub fn record_types(self) -> Vec<RecordType> {
        RecordType::ALL
            .iter()
            .copied()
            .filter(|t| t.service_type() == self)
            .collect()
    }
}

/// An unknown service type display name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown service type {0:?}")]
pub struct UnknownServiceType(pub String);

impl From<&str> for UnknownServiceType {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl TryFrom<String> for ServiceTypeName {
    type Error = UnknownServiceType;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_type_round_trips_through_its_filter_name() {
        for &t in RecordType::ALL {
            assert_eq!(t.filter_name().parse::<RecordType>(), Ok(t));
        }
        assert!("sip_trunking".parse::<RecordType>().is_err());
    }

    #[test]
    fn names_read_write_and_refuse_as_the_tables_spell_them() {
        for &t in RecordType::ALL {
            assert_eq!(t.to_string(), t.filter_name());
            let json = serde_json::to_string(&t).unwrap_or_default();
            assert_eq!(json, format!("{:?}", t.filter_name()));
        }
        for &s in ServiceTypeName::ALL {
            assert_eq!(s.to_string().parse::<ServiceTypeName>(), Ok(s));
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(
            ServiceTypeName::Amd.to_string(),
            "AMD (Answering Machine Detection)"
        );
        assert_eq!(
            "sip_trunking"
                .parse::<RecordType>()
                .err()
                .map(|e| e.to_string()),
            Some("unknown detail record type \"sip_trunking\"".to_owned())
        );
        assert_eq!(
            "Voip"
                .parse::<ServiceTypeName>()
                .err()
                .map(|e| e.to_string()),
            Some("unknown service type \"Voip\"".to_owned())
        );
        for (c, name) in [
            (Category::Sms, "SMS"),
            (Category::Ai, "AI"),
            (Category::Voice, "Voice"),
        ] {
            assert_eq!(c.to_string(), name);
            assert_eq!(
                serde_json::to_string(&c).unwrap_or_default(),
                format!("{name:?}")
            );
        }
    }

    #[test]
    fn every_quantity_has_its_unit_and_every_cost_field_its_telnyx_name() {
        assert_eq!(
            RecordType::Wireless.quantity_fields(),
            ["uplink_data", "downlink_data"]
        );
        assert_eq!(RecordType::Wireless.quantity_unit(), "bytes");
        assert_eq!(RecordType::Conference.quantity_unit(), "seconds");
        assert_eq!(RecordType::Verify.quantity_unit(), "records");
        assert_eq!(RecordType::Tts.quantity_unit(), "characters");
        assert_eq!(RecordType::Wireless.cost_field(), "data_cost");
        assert_eq!(RecordType::Verify.cost_field(), "verify_usage_fee");
        assert_eq!(RecordType::Messaging.cost_field(), "cost");
    }

    #[test]
    fn there_are_twenty_service_types_each_fed_by_at_least_one_record_type() {
        for s in ServiceTypeName::ALL {
            assert!(!s.record_types().is_empty(), "{s} has no record type");
        }
        let conference = ServiceTypeName::Conference.record_types();
        assert_eq!(
            conference,
            vec![RecordType::Conference, RecordType::ConferenceParticipant]
        );
    }

    #[test]
    fn time_fields_follow_the_live_api() {
        assert_eq!(RecordType::SipTrunking.time_field(), "started_at");
        assert_eq!(RecordType::Messaging.time_field(), "created_at");
        assert_eq!(RecordType::Tts.time_field(), "created_at");
        assert_eq!(RecordType::Stt.time_field(), "start_time");
        assert_eq!(RecordType::ConferenceParticipant.time_field(), "joined_at");
        assert_eq!(RecordType::Amd.time_field(), "invoked_at");
    }

    /// The table of docs/mapping-rules.md "Service types", copied row by row as literal
    /// strings: name, category, `filter[record_type]`s.
    const DESIGN_TABLE: [(&str, &str, &[&str]); 20] = [
        ("SIP Trunking", "Voice", &["sip-trunking"]),
        ("Call Control", "Voice", &["call-control"]),
        (
            "Conference",
            "Voice",
            &["conference", "conference-participant"],
        ),
        ("Fax", "Voice", &["fax"]),
        ("WebRTC", "Voice", &["webrtc"]),
        ("SIPREC Client", "Voice", &["siprec-client"]),
        ("AI Voice Assistant", "Voice", &["ai-voice-assistant"]),
        ("Messaging", "SMS", &["messaging"]),
        ("Wireless", "Voice", &["wireless"]),
        ("Recording", "Media", &["recording"]),
        ("Media Streaming", "Media", &["media-streaming"]),
        ("Media Storage", "Media", &["media_storage"]),
        ("AMD (Answering Machine Detection)", "AI", &["amd"]),
        ("Embedding", "AI", &["embedding"]),
        ("Inference", "AI", &["inference"]),
        ("Speech to Text", "AI", &["inference-speech-to-text"]),
        ("Noise Suppression", "AI", &["noise-suppression"]),
        ("STT (Speech to Text)", "AI", &["stt"]),
        ("TTS (Text to Speech)", "AI", &["tts"]),
        ("Verify", "Security", &["verify"]),
    ];

    #[test]
    fn the_service_types_match_the_design_table_row_by_row() {
        // Same rows, same order (the order a number's "first type" is taken in).
        let names: Vec<&str> = ServiceTypeName::ALL.iter().map(|t| t.as_str()).collect();
        let table: Vec<&str> = DESIGN_TABLE.iter().map(|row| row.0).collect();
        assert_eq!(names, table);
        for (name, category, record_types) in DESIGN_TABLE {
            let t: ServiceTypeName = name.parse().unwrap();
            assert_eq!(t.as_str(), name);
            assert_eq!(t.category().as_str(), category, "{name}");
            // The stored spelling of the category is the table's too.
            assert_eq!(
                serde_json::to_value(t.category()).unwrap(),
                serde_json::json!(category),
                "{name}"
            );
            let filters: Vec<&str> = t.record_types().iter().map(|r| r.filter_name()).collect();
            assert_eq!(filters, record_types, "{name}");
            for filter in record_types {
                let r: RecordType = filter.parse().unwrap();
                assert_eq!(r.service_type(), t, "{filter}");
            }
        }
        // Every record type is fed into exactly one row.
        let mut from_table: Vec<&str> = DESIGN_TABLE
            .iter()
            .flat_map(|row| row.2.iter().copied())
            .collect();
        from_table.sort_unstable();
        let mut all: Vec<&str> = RecordType::ALL.iter().map(|r| r.filter_name()).collect();
        all.sort_unstable();
        assert_eq!(from_table, all);
    }
}
