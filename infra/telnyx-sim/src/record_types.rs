//! The simulator's own table of the 21 detail-record types: how each is spelled in
//! `filter[record_type]`, how the live API spells it back in the row's `record_type`,
//! which time field the type is filtered and ordered by, and which field identifies a row.
//!
//! This table is written independently of the product's own table on purpose: a test
//! of the client against the simulator then checks one table against the other.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A detail-record type, named by its `filter[record_type]` spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RecordType {
    #[serde(rename = "sip-trunking")]
    SipTrunking,
    #[serde(rename = "call-control")]
    CallControl,
    #[serde(rename = "conference")]
    Conference,
    #[serde(rename = "conference-participant")]
    ConferenceParticipant,
    #[serde(rename = "fax")]
    Fax,
    #[serde(rename = "webrtc")]
    Webrtc,
    #[serde(rename = "siprec-client")]
    SiprecClient,
    #[serde(rename = "recording")]
    Recording,
    #[serde(rename = "media-streaming")]
    MediaStreaming,
    #[serde(rename = "ai-voice-assistant")]
    AiVoiceAssistant,
    #[serde(rename = "amd")]
    Amd,
    #[serde(rename = "stt")]
    Stt,
    #[serde(rename = "tts")]
    Tts,
    #[serde(rename = "embedding")]
    Embedding,
    #[serde(rename = "inference")]
    Inference,
    #[serde(rename = "inference-speech-to-text")]
    InferenceSpeechToText,
    #[serde(rename = "noise-suppression")]
    NoiseSuppression,
    #[serde(rename = "messaging")]
    Messaging,
    #[serde(rename = "wireless")]
    Wireless,
    #[serde(rename = "media_storage")]
    MediaStorage,
    #[serde(rename = "verify")]
    Verify,
}

/// One row of the table.
struct Spec {
    filter: &'static str,
    response: &'static str,
    time_field: &'static str,
    id_field: &'static str,
}

const fn spec(
    filter: &'static str,
    response: &'static str,
    time_field: &'static str,
    id_field: &'static str,
) -> Spec {
    Spec {
        filter,
        response,
        time_field,
        id_field,
    }
}

/// The table: type, then its filter spelling, response spelling, time field, id field.
const TABLE: [(RecordType, Spec); 21] = [
    (
        RecordType::SipTrunking,
        spec(
            "sip-trunking",
            "sip_trunking_detail_record",
            "started_at",
            "id",
        ),
    ),
    (
        RecordType::CallControl,
        spec(
            "call-control",
            "call_control_detail_record",
            "started_at",
            "telnyx_leg_id",
        ),
    ),
    (
        RecordType::Conference,
        spec("conference", "conference_detail_record", "started_at", "id"),
    ),
    (
        RecordType::ConferenceParticipant,
        spec(
            "conference-participant",
            "conference_participant_detail_record",
            "joined_at",
            "id",
        ),
    ),
    (
        RecordType::Fax,
        spec("fax", "fax_detail_record", "started_at", "id"),
    ),
    (
        RecordType::Webrtc,
        spec("webrtc", "webrtc_detail_record", "started_at", "id"),
    ),
    (
        RecordType::SiprecClient,
        spec(
            "siprec-client",
            "siprec_client_detail_record",
            "started_at",
            "id",
        ),
    ),
    (
        RecordType::Recording,
        spec(
            "recording",
            "recording_detail_record",
            "started_at",
            "telnyx_session_id",
        ),
    ),
    (
        RecordType::MediaStreaming,
        spec(
            "media-streaming",
            "media_streaming_detail_record",
            "started_at",
            "id",
        ),
    ),
    (
        RecordType::AiVoiceAssistant,
        spec(
            "ai-voice-assistant",
            "ai_voice_assistant_detail_record",
            "created_at",
            "conversation_id",
        ),
    ),
    (
        RecordType::Amd,
        spec("amd", "amd_detail_record", "invoked_at", "id"),
    ),
    (
        RecordType::Stt,
        spec("stt", "stt_detail_record", "start_time", "call_leg_id"),
    ),
    (
        RecordType::Tts,
        spec("tts", "tts_detail_record", "created_at", "call_leg_id"),
    ),
    (
        RecordType::Embedding,
        spec(
            "embedding",
            "embedding_detail_record",
            "created_at",
            "call_leg_id",
        ),
    ),
    (
        RecordType::Inference,
        spec(
            "inference",
            "inference_detail_record",
            "created_at",
            "call_leg_id",
        ),
    ),
    (
        RecordType::InferenceSpeechToText,
        spec(
            "inference-speech-to-text",
            "inference_speech_to_text_detail_record",
            "created_at",
            "id",
        ),
    ),
    (
        RecordType::NoiseSuppression,
        spec(
            "noise-suppression",
            "noise_suppression_detail_record",
            "created_at",
            "id",
        ),
    ),
    (
        RecordType::Messaging,
        spec("messaging", "message_detail_record", "created_at", "uuid"),
    ),
    (
        RecordType::Wireless,
        spec("wireless", "sim_card_usage", "created_at", "id"),
    ),
    (
        RecordType::MediaStorage,
        spec("media_storage", "media_storage", "created_at", "id"),
    ),
    (
        RecordType::Verify,
        spec("verify", "verification_detail_record", "created_at", "id"),
    ),
];

impl RecordType {
    /// Every type, in a stable order.
    pub const ALL: [RecordType; 21] = [
        RecordType::SipTrunking,
        RecordType::CallControl,
        RecordType::Conference,
        RecordType::ConferenceParticipant,
        RecordType::Fax,
        RecordType::Webrtc,
        RecordType::SiprecClient,
        RecordType::Recording,
        RecordType::MediaStreaming,
        RecordType::AiVoiceAssistant,
        RecordType::Amd,
        RecordType::Stt,
        RecordType::Tts,
        RecordType::Embedding,
        RecordType::Inference,
        RecordType::InferenceSpeechToText,
        RecordType::NoiseSuppression,
        RecordType::Messaging,
        RecordType::Wireless,
        RecordType::MediaStorage,
        RecordType::Verify,
    ];

    fn spec(self) -> &'static Spec {
        TABLE
            .iter()
            .find(|(t, _)| *t == self)
            .map(|(_, spec)| spec)
            .unwrap_or(&TABLE[0].1)
    }

    /// The `filter[record_type]` spelling, e.g. `sip-trunking`.
    pub fn filter_name(self) -> &'static str {
        self.spec().filter
    }

    /// The `record_type` value the rows carry, e.g. `webrtc_detail_record`.
    pub fn response_name(self) -> &'static str {
        self.spec().response
    }

    /// The only field `filter[<field>][gte|lt]` is honoured on, and the ordering field.
    pub fn time_field(self) -> &'static str {
        self.spec().time_field
    }

    /// The field that identifies a row of this type (`uuid` for messaging).
    pub fn id_field(self) -> &'static str {
        self.spec().id_field
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.filter_name())
    }
}

/// The text is not one of the 21 `filter[record_type]` spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown detail record type {0:?}")]
pub struct UnknownRecordType(pub String);

impl FromStr for RecordType {
    type Err = UnknownRecordType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RecordType::ALL
            .into_iter()
            .find(|t| t.filter_name() == s)
            .ok_or_else(|| UnknownRecordType(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_spelling_parses_back_to_its_type() {
        for t in RecordType::ALL {
            assert_eq!(t.filter_name().parse::<RecordType>(), Ok(t));
        }
    }

    #[test]
    fn the_response_spelling_is_not_accepted_as_a_filter() {
        assert!("webrtc_detail_record".parse::<RecordType>().is_err());
    }

    #[test]
    fn time_fields_follow_the_live_api() {
        assert_eq!(RecordType::ConferenceParticipant.time_field(), "joined_at");
        assert_eq!(RecordType::Amd.time_field(), "invoked_at");
        assert_eq!(RecordType::Stt.time_field(), "start_time");
        assert_eq!(RecordType::Tts.time_field(), "created_at");
        assert_eq!(RecordType::Webrtc.time_field(), "started_at");
    }
}
