//! The fake's usage report, as awkward as the live one (docs/telnyx.md "Usage reports")
//! and written apart from the product's own tables ([`crate::usage::shape`]) on
//! purpose: products named as Telnyx names them, four record types without one, `count`
//! missing from the call-leg products (each leg carries `attempted`) and from
//! `wireless`, no `date` for `media-storage`, a request for anything not offered
//! refused naming it, and sums as binary doubles. Switchable: no `count` anywhere, a
//! lagging report, an under-counted day.

use crate::domain::{DetailRecord, ManagedAccountId, RecordType};
use crate::error::{PortError, Transience};
use crate::ports::{UsageOptions, UsageProduct, UsageRequest, UsageRow};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::collections::BTreeMap;

/// One product: the record type it sums and its metrics by role (every other metric it
/// lists sums to zero).
pub(super) struct FakeProduct {
    pub name: &'static str,
    pub record_type: RecordType,
    /// The metric that counts records (`attempted` for call legs: one per leg).
    count: Option<&'static str>,
    /// The metric holding the billed quantity (the whole quantity goes in the first).
    quantity: &'static [&'static str],
    cost: Option<&'static str>,
    others: &'static [&'static str],
    by_date: bool,
}

const fn p(
    name: &'static str,
    record_type: RecordType,
    (count, quantity, cost): (
        Option<&'static str>,
        &'static [&'static str],
        Option<&'static str>,
    ),
    others: &'static [&'static str],
) -> FakeProduct {
    FakeProduct {
        name,
        record_type,
        count,
        quantity,
        cost,
        others,
        by_date: true,
    }
}

const CALL: &[&str] = &["connected", "call_sec", "completed"];

const PRODUCTS: &[FakeProduct] = &[
    p(
        "sip-trunking",
        RecordType::SipTrunking,
        (Some("attempted"), &["billed_sec"], Some("cost")),
        CALL,
    ),
    p(
        "call-control",
        RecordType::CallControl,
        (Some("attempted"), &["billed_sec"], Some("cost")),
        CALL,
    ),
    p(
        "conference",
        RecordType::Conference,
        (Some("count"), &["call_sec"], None),
        &[],
    ),
    p(
        "fax-api",
        RecordType::Fax,
        (Some("count"), &["billed_sec"], Some("cost")),
        &[],
    ),
    p(
        "webrtc",
        RecordType::Webrtc,
        (Some("count"), &["billed_sec"], Some("cost")),
        &[],
    ),
    p(
        "ai-voice-assistant",
        RecordType::AiVoiceAssistant,
        (Some("count"), &["billed_sec"], Some("cost")),
        &[],
    ),
    p(
        "messaging",
        RecordType::Messaging,
        (Some("count"), &["parts"], Some("cost")),
        &["customer_carrier_fee"],
    ),
    p(
        "wireless",
        RecordType::Wireless,
        (None, &["uplink_data", "downlink_data"], Some("data_cost")),
        &["uplink_data_bytes"],
    ),
    p(
        "recording",
        RecordType::Recording,
        (Some("count"), &[], Some("cost")),
        &["recording_sec"],
    ),
    p(
        "media-streaming",
        RecordType::MediaStreaming,
        (Some("count"), &["billed_sec"], Some("cost")),
        &[],
    ),
    FakeProduct {
        by_date: false,
        ..p(
            "media-storage",
            RecordType::MediaStorage,
            (Some("count"), &[], Some("cost")),
            &[],
        )
    },
    p(
        "amd",
        RecordType::Amd,
        (Some("count"), &[], Some("cost")),
        &[],
    ),
    p(
        "inference",
        RecordType::Inference,
        (Some("count"), &["number_of_characters"], Some("cost")),
        &[],
    ),
    p(
        "noise-suppression",
        RecordType::NoiseSuppression,
        (Some("count"), &["billed_sec"], Some("cost")),
        &[],
    ),
    p(
        "speech-to-text",
        RecordType::Stt,
        (Some("count"), &["duration_sec"], Some("cost")),
        &[],
    ),
    p(
        "text-to-speech",
        RecordType::Tts,
        (Some("count"), &["number_of_characters"], Some("cost")),
        &[],
    ),
    p(
        "verify-2fa",
        RecordType::Verify,
        (Some("count"), &[], Some("verify_usage_fee")),
        &[],
    ),
];

impl FakeProduct {
    fn metrics(&self, without_count: bool) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = self
            .count
            .filter(|c| !(without_count && *c == "count"))
            .into_iter()
            .collect();
        out.extend(self.quantity);
        out.extend(self.cost);
        out.extend(self.others);
        out
    }

    fn dimensions(&self) -> Vec<&'static str> {
        if self.by_date {
            vec!["date", "currency"]
        } else {
            vec!["currency"]
        }
    }
}

/// How the fake's report departs from the live-like one.
#[derive(Debug, Default)]
pub(super) struct FakeUsage {
    pub without_count: bool,
    /// Per type: records at or after this instant are not counted yet.
    pub lag: BTreeMap<RecordType, DateTime<Utc>>,
    /// (type, day): one record fewer counted.
    pub undercount: Vec<(RecordType, NaiveDate)>,
}

impl FakeUsage {
    /// The records of one type the report counts, of those it could.
    pub fn counted(&self, t: RecordType, mut records: Vec<DetailRecord>) -> Vec<DetailRecord> {
        if let Some(until) = self.lag.get(&t) {
            records.retain(|r| r.occurred_at < *until);
        }
        for (_, day) in self.undercount.iter().filter(|(u, _)| *u == t) {
            if let Some(i) = records
                .iter()
                .position(|r| r.occurred_at.date_naive() == *day)
            {
                records.remove(i);
            }
        }
        records
    }
}

/// `GET /usage_reports/options`.
pub(super) fn options(without_count: bool) -> UsageOptions {
    UsageOptions {
        products: PRODUCTS
            .iter()
            .map(|p| UsageProduct {
                product: p.name.to_owned(),
                dimensions: p.dimensions().iter().map(|d| (*d).to_owned()).collect(),
                metrics: p
                    .metrics(without_count)
                    .iter()
                    .map(|m| (*m).to_owned())
                    .collect(),
            })
            .collect(),
    }
}

fn invalid(detail: String) -> PortError {
    PortError::message(
        format!("usage report refused (400): {detail}"),
        Transience::Permanent,
    )
}

/// The product a request names, once every dimension and metric it asks for is offered.
pub(super) fn product(
    request: &UsageRequest,
    without_count: bool,
) -> Result<&'static FakeProduct, PortError> {
    let product = PRODUCTS
        .iter()
        .find(|p| p.name == request.product)
        .ok_or_else(|| invalid(format!("Product invalid value: {}", request.product)))?;
    let offered = product.metrics(without_count);
    if let Some(m) = request
        .metrics
        .iter()
        .find(|m| !offered.contains(&m.as_str()))
    {
        return Err(invalid(format!(
            "Metrics invalid values: {m} for {}",
            product.name
        )));
    }
    let dims = product.dimensions();
    if let Some(d) = request
        .dimensions
        .iter()
        .find(|d| !dims.contains(&d.as_str()))
    {
        return Err(invalid(format!(
            "Dimensions invalid values: {d} for {}",
            product.name
        )));
    }
    Ok(product)
}

/// A binary-double sum of decimals, read back as Telnyx's JSON number would be.
fn double_sum(values: impl Iterator<Item = Decimal>) -> Decimal {
    let sum: f64 = values.map(|v| v.to_f64().unwrap_or_default()).sum();
    format!("{sum}").parse().unwrap_or_default()
}

/// One account's rows: grouped by day when `date` is asked for.
pub(super) fn rows(
    product: &FakeProduct,
    request: &UsageRequest,
    account: Option<&ManagedAccountId>,
    records: &[DetailRecord],
) -> Vec<UsageRow> {
    let by_date = request.dimensions.iter().any(|d| d == "date");
    let mut groups: BTreeMap<Option<NaiveDate>, Vec<&DetailRecord>> = BTreeMap::new();
    for r in records {
        let day = by_date.then(|| r.occurred_at.date_naive());
        groups.entry(day).or_default().push(r);
    }
    groups
        .into_iter()
        .map(|(day, group)| {
            let metrics = request
                .metrics
                .iter()
                .map(|m| {
                    let value = if Some(m.as_str()) == product.count {
                        Decimal::from(group.len() as u64)
                    } else if product.quantity.first() == Some(&m.as_str()) {
                        double_sum(group.iter().filter_map(|r| r.billed_quantity))
                    } else if Some(m.as_str()) == product.cost {
                        double_sum(group.iter().filter_map(|r| r.cost))
                    } else {
                        Decimal::ZERO
                    };
                    (m.clone(), value)
                })
                .collect();
            UsageRow {
                account: account.cloned(),
                day,
                metrics,
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sums_come_back_as_binary_doubles() {
        let costs = [
            "0.050065", "0.028490", "0.055427", "0.003906", "0.069257", "0.029157",
        ];
        let sum = double_sum(costs.iter().map(|c| c.parse::<Decimal>().unwrap()));
        assert_eq!(sum.to_string(), "0.23630199999999996");
    }
}
