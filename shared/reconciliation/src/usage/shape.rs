//! Per record type, what the usage report can say of it: which product (named as Telnyx
//! names it, not as the detail-record filter), which metric counts its records, which
//! sum its billed quantity and cost — each taken only when `GET /usage_reports/options`
//! lists it. The candidate names are product knowledge
//! (docs/telnyx.md "Usage reports"); whether one exists is Telnyx's answer.

use crate::domain::RecordType;
use crate::ports::UsageOptions;

/// The products a type's usage may be reported under, most likely first.
pub fn product_candidates(t: RecordType) -> &'static [&'static str] {
    match t {
        RecordType::SipTrunking => &["sip-trunking"],
        RecordType::CallControl => &["call-control"],
        RecordType::Conference => &["conference"],
        RecordType::ConferenceParticipant => &["conference-participant"],
        RecordType::Fax => &["fax-api", "fax"],
        RecordType::Webrtc => &["webrtc"],
        RecordType::SiprecClient => &["siprec-client", "siprec"],
        RecordType::AiVoiceAssistant => &["ai-voice-assistant"],
        RecordType::Messaging => &["messaging"],
        RecordType::Wireless => &["wireless"],
        RecordType::Recording => &["recording"],
        RecordType::MediaStreaming => &["media-streaming"],
        RecordType::MediaStorage => &["media-storage", "media_storage"],
        RecordType::Amd => &["amd"],
        RecordType::Embedding => &["embedding"],
        RecordType::Inference => &["inference"],
        RecordType::InferenceSpeechToText => &["inference-speech-to-text"],
        RecordType::NoiseSuppression => &["noise-suppression"],
        // Measured on the live API: `speech-to-text` and `text-to-speech`.
        RecordType::Stt => &["speech-to-text", "stt"],
        RecordType::Tts => &["text-to-speech", "tts"],
        RecordType::Verify => &["verify-2fa", "verify"],
    }
}

/// The metrics that may count a type's records, most trusted first: `count`; for a call
/// leg, whose records each carry `attempted: 1`, also `attempted` (the live
/// `sip-trunking` product offers no `count`). Either must be confirmed against walked
/// records before it may say a type has none.
pub fn count_candidates(t: RecordType) -> &'static [&'static str] {
    match t {
        RecordType::SipTrunking | RecordType::CallControl => &["count", "attempted"],
        RecordType::Conference
        | RecordType::ConferenceParticipant
        | RecordType::Fax
        | RecordType::Webrtc
        | RecordType::SiprecClient
        | RecordType::AiVoiceAssistant
        | RecordType::Messaging
        | RecordType::Wireless
        | RecordType::Recording
        | RecordType::MediaStreaming
        | RecordType::MediaStorage
        | RecordType::Amd
        | RecordType::Embedding
        | RecordType::Inference
        | RecordType::InferenceSpeechToText
        | RecordType::NoiseSuppression
        | RecordType::Stt
        | RecordType::Tts
        | RecordType::Verify => &["count"],
    }
}

/// What the usage report offers for one record type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageShape {
    pub record_type: RecordType,
    pub product: String,
    /// The metric counting its records; `None`: the product lists none (not auditable).
    pub count: Option<String>,
    /// The metrics summing its billed quantity ([`RecordType::quantity_fields`]), when the
    /// product lists every one of them; empty: usage is not compared.
    pub quantity: Vec<String>,
    /// The metric holding its cost ([`RecordType::cost_field`], the field the record
    /// parser reads), when the product lists it.
    pub cost: Option<String>,
    /// The dimension asked for: `date` when the product offers it (every day of a range
    /// in one request), else its first.
    pub dimension: String,
}

impl UsageShape {
    /// True when one request gives every day of a range.
    pub fn by_date(&self) -> bool {
        self.dimension == "date"
    }

    /// Every metric worth asking for: count, quantity, cost.
    pub fn metrics(&self) -> Vec<String> {
        let mut out: Vec<String> = self.count.iter().cloned().collect();
        out.extend(self.quantity.iter().cloned());
        out.extend(self.cost.iter().cloned());
        out
    }

    /// Why the audit cannot prove this type complete, if it cannot.
    pub fn not_auditable(&self) -> Option<String> {
        match &self.count {
            Some(_) => None,
            None => Some(format!(
                "product `{}` lists no metric counting records (looked for {})",
                self.product,
                quoted(count_candidates(self.record_type))
            )),
        }
    }
}

/// `` `a`, `b` ``.
pub(crate) fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What `options` offer for `t`; `Err` says why no product covers it.
pub fn learn(options: &UsageOptions, t: RecordType) -> Result<UsageShape, String> {
    let product = product_candidates(t)
        .iter()
        .find_map(|name| options.product(name))
        .ok_or_else(|| {
            format!(
                "Telnyx's usage report lists no product for it (looked for {})",
                quoted(product_candidates(t))
            )
        })?;
    let offers = |m: &str| product.metrics.iter().any(|p| p == m);
    let quantity = t.quantity_fields();
    let dimension = if product.dimensions.iter().any(|d| d == "date") {
        "date".to_owned()
    } else {
        product
            .dimensions
            .first()
            .cloned()
            .ok_or_else(|| format!("product `{}` lists no dimension", product.product))?
    };
    Ok(UsageShape {
        record_type: t,
        product: product.product.clone(),
        count: count_candidates(t)
            .iter()
            .find(|m| offers(m))
            .map(|m| (*m).to_owned()),
        quantity: if !quantity.is_empty() && quantity.iter().all(|m| offers(m)) {
            quantity.iter().map(|m| (*m).to_owned()).collect()
        } else {
            Vec::new()
        },
        cost: offers(t.cost_field()).then(|| t.cost_field().to_owned()),
        dimension,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ports::UsageProduct;

    fn options(products: &[(&str, &[&str], &[&str])]) -> UsageOptions {
        UsageOptions {
            products: products
                .iter()
                .map(|(p, d, m)| UsageProduct {
                    product: (*p).to_owned(),
                    dimensions: d.iter().map(|s| (*s).to_owned()).collect(),
                    metrics: m.iter().map(|s| (*s).to_owned()).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn stt_is_learned_under_the_product_telnyx_names_speech_to_text() {
        let o = options(&[(
            "speech-to-text",
            &["date", "currency"],
            &["count", "duration_sec", "cost"],
        )]);
        let shape = learn(&o, RecordType::Stt).unwrap();
        assert_eq!(shape.product, "speech-to-text");
        assert_eq!(shape.count.as_deref(), Some("count"));
        assert_eq!(shape.quantity, ["duration_sec"]);
        assert_eq!(shape.cost.as_deref(), Some("cost"));
        assert!(shape.by_date());
        let tts = learn(&o, RecordType::Tts).unwrap_err();
        assert!(tts.contains("`text-to-speech`"), "{tts}");
    }

    #[test]
    fn sip_trunking_without_count_is_counted_by_attempted_and_wireless_by_nothing() {
        let o = options(&[
            (
                "sip-trunking",
                &["date", "currency", "direction"],
                &[
                    "connected",
                    "cost",
                    "attempted",
                    "call_sec",
                    "completed",
                    "billed_sec",
                ],
            ),
            (
                "wireless",
                &["mnc", "sim_card_id"],
                &[
                    "uplink_data_bytes",
                    "downlink_data",
                    "uplink_data",
                    "data_cost",
                ],
            ),
        ]);
        let sip = learn(&o, RecordType::SipTrunking).unwrap();
        assert_eq!(sip.count.as_deref(), Some("attempted"));
        assert_eq!(sip.quantity, ["billed_sec"]);
        let wireless = learn(&o, RecordType::Wireless).unwrap();
        assert_eq!(wireless.count, None);
        let reason = wireless.not_auditable().unwrap();
        assert!(
            reason.contains("`wireless`") && reason.contains("`count`"),
            "{reason}"
        );
        assert_eq!(wireless.quantity, ["uplink_data", "downlink_data"]);
        assert_eq!(wireless.cost.as_deref(), Some("data_cost"));
        assert_eq!(wireless.dimension, "mnc", "no `date`: the first dimension");
    }

    #[test]
    fn a_cost_the_product_lists_under_another_name_is_not_compared() {
        // verify records carry `verify_usage_fee`; a product summing `cost` is another reading.
        let o = options(&[("verify-2fa", &["date"], &["count", "cost"])]);
        let verify = learn(&o, RecordType::Verify).unwrap();
        assert_eq!(verify.cost, None);
        assert_eq!(verify.count.as_deref(), Some("count"));
    }

    #[test]
    fn every_type_has_a_product_candidate_and_a_count_candidate() {
        for &t in RecordType::ALL {
            assert!(!product_candidates(t).is_empty(), "{t}");
            assert_eq!(count_candidates(t).first(), Some(&"count"), "{t}");
        }
    }
}
