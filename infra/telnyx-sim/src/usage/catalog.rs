//! The simulator's own picture of `/usage_reports` products, written from what the live
//! API was measured to answer (docs/telnyx.md "Usage reports") and independently of the
//! product's tables on purpose:
//!
//! - products are **not** the detail-record filter names: `speech-to-text` and
//!   `text-to-speech` where records say `stt` and `tts`, `fax-api`, `verify-2fa`,
//!   `media-storage` (a hyphen where the filter has an underscore);
//! - some record types have **no product** (conference participants, SIPREC, embedding,
//!   inference speech to text) and some products feed on no record type the product
//!   reads (`cps`, `forking`, …);
//! - every product has its own dimensions and metrics, and **`count` is not
//!   universal**: `sip-trunking` and `call-control` offer `connected, cost, attempted,
//!   call_sec, completed, billed_sec`, `wireless` the data metrics of the spec's
//!   example; one product (`media-storage`) has no `date` dimension.
//!
//! A metric is the sum of the row field of the same name (`count` is the number of
//! rows); a field a row lacks adds nothing.

use crate::record_types::RecordType;

/// One product of the usage report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Product {
    pub name: &'static str,
    /// The record types whose rows the product sums.
    pub feeds: &'static [RecordType],
    pub dimensions: &'static [&'static str],
    pub metrics: &'static [&'static str],
}

const CALL_DIMENSIONS: &[&str] = &[
    "date",
    "currency",
    "connection_id",
    "billing_group_id",
    "direction",
    "country_iso",
];
const CALL_METRICS: &[&str] = &[
    "connected",
    "cost",
    "attempted",
    "call_sec",
    "completed",
    "billed_sec",
];
const AI_DIMENSIONS: &[&str] = &["date", "currency", "provider"];

const fn product(
    name: &'static str,
    feeds: &'static [RecordType],
    dimensions: &'static [&'static str],
    metrics: &'static [&'static str],
) -> Product {
    Product {
        name,
        feeds,
        dimensions,
        metrics,
    }
}

/// Every product `GET /usage_reports/options` lists, in the order it lists them.
pub(crate) const PRODUCTS: &[Product] = &[
    product(
        "sip-trunking",
        &[RecordType::SipTrunking],
        CALL_DIMENSIONS,
        CALL_METRICS,
    ),
    product(
        "messaging",
        &[RecordType::Messaging],
        &[
            "date",
            "currency",
            "direction",
            "country_iso",
            "product_name",
            "message_type",
        ],
        &["count", "parts", "cost", "customer_carrier_fee"],
    ),
    product(
        "call-control",
        &[RecordType::CallControl],
        CALL_DIMENSIONS,
        CALL_METRICS,
    ),
    product(
        "wireless",
        &[RecordType::Wireless],
        &["date", "mnc", "mcc", "sim_card_id", "sim_group_name"],
        &[
            "uplink_data_bytes",
            "downlink_data",
            "downlink_data_bytes",
            "uplink_data",
            "data_cost",
        ],
    ),
    product(
        "cloud-storage",
        &[],
        &["date", "bucket"],
        &["count", "cost", "bytes"],
    ),
    product(
        "inference",
        &[RecordType::Inference],
        AI_DIMENSIONS,
        &["count", "number_of_characters", "cost"],
    ),
    product(
        "verify-2fa",
        &[RecordType::Verify],
        &["date", "currency", "verify_channel_type"],
        &["count", "verify_usage_fee"],
    ),
    product(
        "fax-api",
        &[RecordType::Fax],
        &["date", "currency", "direction", "connection_id"],
        &["count", "call_sec", "billed_sec", "cost"],
    ),
    product(
        "webrtc",
        &[RecordType::Webrtc],
        &["date", "currency", "connection_id", "country_code"],
        &["count", "call_sec", "billed_sec", "cost"],
    ),
    product("cps", &[], &["date", "connection_id"], &["count", "cost"]),
    product(
        "conference",
        &[RecordType::Conference],
        &["date", "region", "connection_id"],
        &["count", "call_sec", "participant_call_sec"],
    ),
    product(
        "programmable-video",
        &[],
        &["date", "currency"],
        &["count", "participant_minutes", "cost"],
    ),
    product(
        "ai-voice-assistant",
        &[RecordType::AiVoiceAssistant],
        &["date", "currency"],
        &["count", "duration_sec", "billed_sec", "cost"],
    ),
    product(
        "call-control-features",
        &[],
        &["date", "feature"],
        &["count", "cost"],
    ),
    product(
        "customer-service-record",
        &[],
        &["date"],
        &["count", "cost"],
    ),
    product(
        "media-streaming",
        &[RecordType::MediaStreaming],
        &["date", "currency", "connection_id"],
        &["count", "billed_sec", "cost"],
    ),
    product(
        "noise-suppression",
        &[RecordType::NoiseSuppression],
        &["date", "currency"],
        &["count", "billed_sec", "cost"],
    ),
    product(
        "text-to-speech",
        &[RecordType::Tts],
        AI_DIMENSIONS,
        &["count", "number_of_characters", "cost"],
    ),
    product(
        "speech-to-text",
        &[RecordType::Stt],
        AI_DIMENSIONS,
        &["count", "duration_sec", "cost"],
    ),
    product(
        "recording",
        &[RecordType::Recording],
        &["date", "currency", "channels"],
        &["count", "recording_sec", "cost"],
    ),
    product(
        "forking",
        &[],
        &["date", "direction"],
        &["count", "cost", "billed_sec"],
    ),
    product(
        "media-storage",
        &[RecordType::MediaStorage],
        &["currency", "link_channel_type"],
        &["count", "cost"],
    ),
    product(
        "amd",
        &[RecordType::Amd],
        &["date", "currency", "feature"],
        &["count", "cost"],
    ),
];

/// The product named `name`.
pub(crate) fn find(name: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|p| p.name == name)
}

/// The product a record type's rows are summed under, if any.
pub(crate) fn product_of(kind: RecordType) -> Option<&'static Product> {
    PRODUCTS.iter().find(|p| p.feeds.contains(&kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_record_type_feeds_two_products_and_four_feed_none() {
        for kind in RecordType::ALL {
            let feeding = PRODUCTS.iter().filter(|p| p.feeds.contains(&kind)).count();
            assert!(feeding <= 1, "{kind} feeds {feeding} products");
        }
        let without: Vec<RecordType> = RecordType::ALL
            .into_iter()
            .filter(|k| product_of(*k).is_none())
            .collect();
        assert_eq!(
            without,
            vec![
                RecordType::ConferenceParticipant,
                RecordType::SiprecClient,
                RecordType::Embedding,
                RecordType::InferenceSpeechToText,
            ]
        );
    }

    #[test]
    fn products_are_named_as_telnyx_names_them_not_as_the_record_filters() {
        assert_eq!(
            product_of(RecordType::Stt).map(|p| p.name),
            Some("speech-to-text")
        );
        assert_eq!(
            product_of(RecordType::Tts).map(|p| p.name),
            Some("text-to-speech")
        );
        assert_eq!(
            product_of(RecordType::MediaStorage).map(|p| p.name),
            Some("media-storage")
        );
        assert_eq!(
            product_of(RecordType::Verify).map(|p| p.name),
            Some("verify-2fa")
        );
        let sip = find("sip-trunking").map(|p| p.metrics);
        assert!(sip.is_some_and(|m| !m.contains(&"count") && m.contains(&"attempted")));
        let wireless = find("wireless").map(|p| p.metrics);
        assert!(wireless.is_some_and(|m| !m.contains(&"count")));
    }
}
