//! `GET /usage_reports` and `GET /usage_reports/options`: Telnyx's aggregated usage, the
//! second witness the audit compares imported detail records with, and what it offers.
//!
//! Rows are free-form objects; the client splits each into the requested metrics
//! (exact decimals, read from the JSON text: a binary-double sum such as
//! `2.0573360000000003` is kept digit for digit) and everything else as dimensions
//! (text). The options list each product with its dimensions and metrics.

use crate::error::TelnyxError;
use crate::flex;
use crate::records::PageMeta;
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};

/// The endpoint usage reports come from.
pub const USAGE_REPORTS: &str = "/usage_reports";
/// The endpoint listing the products, dimensions and metrics usage reports offer.
pub const USAGE_REPORT_OPTIONS: &str = "/usage_reports/options";

/// One product as the options list it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UsageProductOptions {
    pub product: String,
    #[serde(default, rename = "product_dimensions")]
    pub dimensions: Vec<String>,
    #[serde(default, rename = "product_metrics")]
    pub metrics: Vec<String>,
}

#[derive(Deserialize)]
struct OptionsPage {
    data: Option<Vec<UsageProductOptions>>,
}

/// Parses the options body: every product with its dimensions and metrics.
pub(crate) fn parse_usage_options(body: &[u8]) -> Result<Vec<UsageProductOptions>, TelnyxError> {
    let page: OptionsPage = serde_json::from_slice(body)
        .map_err(|e| TelnyxError::from_json(USAGE_REPORT_OPTIONS, 1, e))?;
    page.data
        .ok_or_else(|| TelnyxError::no_data(USAGE_REPORT_OPTIONS, 1))
}

/// What to aggregate. `dimensions` and `metrics` are sent comma-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReportQuery {
    /// Telnyx product, e.g. `messaging`, `wireless`, `sip-trunking`.
    pub product: String,
    /// Breakdown, e.g. `["direction", "currency"]`.
    pub dimensions: Vec<String>,
    /// Values, e.g. `["cost", "billed_sec"]`.
    pub metrics: Vec<String>,
    /// Window start (Telnyx allows at most 31 days).
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    /// Aggregate over every managed account of the (manager) key.
    pub managed_accounts: bool,
}

impl UsageReportQuery {
    /// The query parameters, without paging.
    pub(crate) fn params(&self) -> Vec<(String, String)> {
        let mut q = vec![
            ("product".to_owned(), self.product.clone()),
            ("dimensions".to_owned(), self.dimensions.join(",")),
            ("metrics".to_owned(), self.metrics.join(",")),
        ];
        let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        if let Some(t) = &self.start_date {
            q.push(("start_date".to_owned(), time(t)));
        }
        if let Some(t) = &self.end_date {
            q.push(("end_date".to_owned(), time(t)));
        }
        if self.managed_accounts {
            q.push(("managed_accounts".to_owned(), "true".to_owned()));
        }
        q
    }
}

/// One aggregate row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageReportRow {
    /// Every non-metric field as text (`direction`, `currency`, `product`, `user_id`…).
    pub dimensions: BTreeMap<String, String>,
    /// The requested metrics present on the row, exact.
    pub metrics: BTreeMap<String, Decimal>,
}

#[derive(Deserialize)]
struct WirePage<'a> {
    #[serde(borrow)]
    data: Option<Vec<HashMap<String, &'a RawValue>>>,
    #[serde(default)]
    meta: Option<PageMeta>,
}

/// Parses one `/usage_reports` page into rows.
pub(crate) fn parse_usage_page(
    body: &[u8],
    metrics: &[String],
    page: u32,
) -> Result<(Vec<UsageReportRow>, Option<PageMeta>), TelnyxError> {
    let malformed = |detail: String| TelnyxError::MalformedBody {
        endpoint: USAGE_REPORTS,
        page,
        detail,
        source: None,
    };
    let text =
        std::str::from_utf8(body).map_err(|e| TelnyxError::from_utf8(USAGE_REPORTS, page, e))?;
    let wire: WirePage<'_> =
        serde_json::from_str(text).map_err(|e| TelnyxError::from_json(USAGE_REPORTS, page, e))?;
    let data = wire
        .data
        .ok_or_else(|| TelnyxError::no_data(USAGE_REPORTS, page))?;
    let mut rows = Vec::with_capacity(data.len());
    for object in data {
        let mut row = UsageReportRow::default();
        for (name, raw) in object {
            if metrics.contains(&name) {
                if let Some(value) =
                    flex::decimal(Some(raw)).map_err(|e| malformed(format!("`{name}`: {e}")))?
                {
                    row.metrics.insert(name, value);
                }
            } else if let Some(value) = flex::text(Some(raw)).map_err(malformed)? {
                row.dimensions.insert(name, value.into_owned());
            }
        }
        rows.push(row);
    }
    Ok((rows, wire.meta))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn usage_rows_split_exact_metrics_from_text_dimensions() {
        let body = br#"{"data":[{"cost":0.012,"count":8,"country_iso":"LC","direction":"outbound","parts":12,"product":"messaging","billed":"1.5E-3"}],"meta":{"page_number":1,"total_pages":1}}"#;
        let metrics = vec!["cost".to_owned(), "parts".to_owned(), "billed".to_owned()];
        let (rows, meta) = parse_usage_page(body, &metrics, 1).unwrap();
        assert_eq!(meta.and_then(|m| m.total_pages), Some(1));
        let row = &rows[0];
        assert_eq!(row.metrics["cost"], Decimal::from_str("0.012").unwrap());
        assert_eq!(row.metrics["parts"], Decimal::from(12));
        assert_eq!(row.metrics["billed"], Decimal::from_str("0.0015").unwrap());
        assert_eq!(row.dimensions["direction"], "outbound");
        assert_eq!(row.dimensions["count"], "8");
    }

    #[test]
    fn options_list_products_with_their_dimensions_and_metrics() {
        let body = br#"{"data":[{"product":"wireless","product_dimensions":["mnc","sim_card_id"],"product_metrics":["uplink_data","data_cost"],"record_types":[]},{"product":"cps"}]}"#;
        let products = parse_usage_options(body).unwrap();
        assert_eq!(products[0].product, "wireless");
        assert_eq!(products[0].metrics, ["uplink_data", "data_cost"]);
        assert_eq!(products[0].dimensions, ["mnc", "sim_card_id"]);
        assert!(products[1].metrics.is_empty());
        let without_data = parse_usage_options(br#"{"errors":[]}"#).unwrap_err();
        assert!(
            without_data.to_string().contains("/usage_reports/options"),
            "{without_data}"
        );
    }

    #[test]
    fn query_sends_lists_comma_separated() {
        let q = UsageReportQuery {
            product: "messaging".into(),
            dimensions: vec!["direction".into(), "currency".into()],
            metrics: vec!["cost".into()],
            start_date: "2026-01-01T00:00:00Z".parse().ok(),
            end_date: None,
            managed_accounts: true,
        };
        let params = q.params();
        assert!(params.contains(&("dimensions".to_owned(), "direction,currency".to_owned())));
        assert!(params.contains(&("start_date".to_owned(), "2026-01-01T00:00:00Z".to_owned())));
        assert!(params.contains(&("managed_accounts".to_owned(), "true".to_owned())));
    }
}
