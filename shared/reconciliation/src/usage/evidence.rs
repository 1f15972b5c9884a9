//! What a usage report says of one record type in one window, and whether that is
//! **positive evidence** of no records: only a count metric confirmed against walked
//! records, answering zero, is. A metric the product lacks, an unconfirmed count, an
//! unknown product or a report that cannot be read prove nothing: the type is walked.

use super::catalog::UsageCatalog;
use super::shape::UsageShape;
use crate::domain::{ManagedAccountId, RecordType};
use crate::ports::{ApiKey, Ports, TimeWindow, UsageRequest, UsageRow};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::collections::BTreeMap;

/// What a report says of one type in one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// A confirmed count of zero: the type has no record there.
    NoRecords,
    /// The report shows usage: records exist (as many as its count metric says, when the
    /// product has one).
    Records { count: Option<u64> },
    /// Nothing can be concluded, and why.
    Unknown(String),
}

/// The pieces of `window` the usage report can be asked for (at most 31 days each).
pub fn report_chunks(window: TimeWindow) -> Vec<TimeWindow> {
    let most = chrono::Duration::days(31);
    let mut out = Vec::new();
    let mut from = window.from;
    while from < window.to {
        let to = (from + most).min(window.to);
        out.push(TimeWindow { from, to });
        from = to;
    }
    out
}

/// The request for `shape`'s metrics over `window`.
pub fn request(shape: &UsageShape, window: TimeWindow, across_accounts: bool) -> UsageRequest {
    UsageRequest {
        product: shape.product.clone(),
        dimensions: vec![shape.dimension.clone()],
        metrics: shape.metrics(),
        window,
        across_accounts,
    }
}

/// The sum of `metric` over `rows`.
pub fn sum(rows: &[&UsageRow], metric: &str) -> Decimal {
    rows.iter().filter_map(|r| r.metrics.get(metric)).sum()
}

/// A count metric's sum as a number of records (a double sum of ones is exact).
pub fn records(value: Decimal) -> u64 {
    value.round().to_u64().unwrap_or_default()
}

/// A row with any metric other than zero: usage (a credit counts too).
fn shows_usage(row: &UsageRow) -> bool {
    row.metrics.values().any(|v| !v.is_zero())
}

/// What `rows` (one type's report over a window) say.
fn judge(rows: &[&UsageRow], shape: &UsageShape, trusted: bool) -> Evidence {
    let trusted = trusted && shape.count.is_some();
    let count = shape.count.as_deref().map(|m| records(sum(rows, m)));
    let usage = rows.iter().any(|r| shows_usage(r));
    match (usage, trusted, &shape.count) {
        (true, _, _) => Evidence::Records { count },
        (false, true, _) => Evidence::NoRecords,
        (false, false, Some(metric)) => Evidence::Unknown(format!(
            "`{metric}` of `{}` is not yet confirmed to count records",
            shape.product
        )),
        (false, false, None) => Evidence::Unknown(shape.not_auditable().unwrap_or_default()),
    }
}

/// Combines the evidence of consecutive chunks of one window.
fn combine(a: Evidence, b: Evidence) -> Evidence {
    match (a, b) {
        (Evidence::Records { count: x }, Evidence::Records { count: y }) => Evidence::Records {
            count: x.zip(y).map(|(x, y)| x + y),
        },
        (r @ Evidence::Records { .. }, _) | (_, r @ Evidence::Records { .. }) => r,
        (u @ Evidence::Unknown(_), _) | (_, u @ Evidence::Unknown(_)) => u,
        (Evidence::NoRecords, Evidence::NoRecords) => Evidence::NoRecords,
    }
}

/// What the account's own report (its `key`) says of `t` in `window`.
pub async fn of_account(
    ports: &Ports,
    key: &ApiKey,
    catalog: &UsageCatalog,
    t: RecordType,
    window: TimeWindow,
) -> Evidence {
    let Some(shape) = catalog.shape(t) else {
        return Evidence::Unknown(
            catalog
                .auditable(t)
                .err()
                .map(|n| n.reason)
                .unwrap_or_default(),
        );
    };
    let trusted = catalog.trusted_count(t).is_some();
    let mut evidence = Evidence::NoRecords;
    for chunk in report_chunks(window) {
        let rows = match ports
            .telnyx
            .usage_report(key, &request(shape, chunk, false))
            .await
        {
            Ok(rows) => rows,
            Err(e) => return Evidence::Unknown(format!("the report was not read: {}", e.chain())),
        };
        let rows: Vec<&UsageRow> = rows.iter().collect();
        evidence = combine(evidence, judge(&rows, shape, trusted));
        if matches!(evidence, Evidence::Records { count: None }) {
            break;
        }
    }
    evidence
}

/// What the manager key's report across every managed account said of one type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcrossAccounts {
    /// The type's count metric is confirmed: an account without usage has none.
    pub trusted: bool,
    /// Per account with usage, the records counted (at least 1 where only a usage or
    /// cost metric shows it).
    pub with_usage: BTreeMap<ManagedAccountId, u64>,
}

/// What the manager key's report across every managed account says of `t` in
/// `window` (`None` for a type without product).
pub async fn across_accounts(
    ports: &Ports,
    master: &ApiKey,
    catalog: &UsageCatalog,
    t: RecordType,
    window: TimeWindow,
) -> Result<Option<AcrossAccounts>, String> {
    let Some(shape) = catalog.shape(t) else {
        return Ok(None);
    };
    let mut seen = AcrossAccounts {
        trusted: catalog.trusted_count(t).is_some(),
        with_usage: BTreeMap::new(),
    };
    for chunk in report_chunks(window) {
        let rows = ports
            .telnyx
            .usage_report(master, &request(shape, chunk, true))
            .await
            .map_err(|e| e.chain())?;
        for row in rows {
            let Some(account) = row.account.clone() else {
                continue;
            };
            if !shows_usage(&row) {
                continue;
            }
            let n = shape
                .count
                .as_deref()
                .and_then(|m| row.metrics.get(m).copied())
                .map(records)
                .unwrap_or(0);
            *seen.with_usage.entry(account).or_default() += n.max(1);
        }
    }
    Ok(Some(seen))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ports::{UsageOptions, UsageProduct};

    fn shape(metrics: &[&str]) -> UsageShape {
        let options = UsageOptions {
            products: vec![UsageProduct {
                product: "sip-trunking".into(),
                dimensions: vec!["date".into()],
                metrics: metrics.iter().map(|m| (*m).to_owned()).collect(),
            }],
        };
        super::super::shape::learn(&options, RecordType::SipTrunking).unwrap()
    }

    fn row(metrics: &[(&str, &str)]) -> UsageRow {
        UsageRow {
            metrics: metrics
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.parse().unwrap()))
                .collect(),
            ..UsageRow::default()
        }
    }

    #[test]
    fn only_a_confirmed_count_of_zero_is_evidence_of_no_records() {
        let s = shape(&["attempted", "billed_sec", "cost"]);
        assert_eq!(judge(&[], &s, true), Evidence::NoRecords);
        assert!(
            matches!(judge(&[], &s, false), Evidence::Unknown(why) if why.contains("not yet confirmed"))
        );
        let without_count = shape(&["billed_sec", "cost"]);
        assert!(matches!(
            judge(&[], &without_count, true),
            Evidence::Unknown(_)
        ));
    }

    #[test]
    fn any_metric_above_zero_is_evidence_of_records() {
        let s = shape(&["billed_sec", "cost"]);
        let r = row(&[("billed_sec", "60.0"), ("cost", "0")]);
        assert_eq!(judge(&[&r], &s, false), Evidence::Records { count: None });
        let counted = shape(&["attempted", "billed_sec"]);
        let r = row(&[("attempted", "3.0"), ("billed_sec", "0")]);
        assert_eq!(
            judge(&[&r], &counted, false),
            Evidence::Records { count: Some(3) }
        );
    }

    #[test]
    fn chunks_combine_records_over_nothing_and_doubt_over_proof() {
        let some = Evidence::Records { count: Some(2) };
        let unknown = Evidence::Unknown("x".into());
        assert_eq!(combine(Evidence::NoRecords, some.clone()), some);
        assert_eq!(combine(Evidence::NoRecords, unknown.clone()), unknown);
        assert_eq!(
            combine(some.clone(), Evidence::Records { count: Some(3) }),
            Evidence::Records { count: Some(5) }
        );
        assert_eq!(combine(unknown, some.clone()), some);
    }
}
