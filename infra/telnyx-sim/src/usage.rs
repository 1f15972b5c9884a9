//! `GET /v2/usage_reports`: usage aggregated from the detail records by product and the
//! requested dimensions. An account key sees its own account; the master key with
//! `managed_accounts=true` sees every managed account, one row group per `user_id`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use crate::api::{QueryPairs, authenticate, rate_headers};
use crate::control::{RateScope, SimControl};
use crate::error::ApiError;
use crate::paging::{Page, PageRules};
use crate::record_types::RecordType;
use crate::store::{TimeWindow, ceil_ms};
use crate::world::Caller;

const USAGE: PageRules = PageRules {
    default_size: 20,
    max_size: 5000,
    clamp: false,
};

fn list_param(query: &[(String, String)], name: &str) -> Vec<String> {
    query
        .iter()
        .filter(|(k, _)| k == name || k.strip_suffix("[]") == Some(name))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn date_param(query: &[(String, String)], name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    match query.iter().find(|(k, _)| k == name) {
        None => Ok(None),
        Some((_, v)) => DateTime::parse_from_rfc3339(v)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                ApiError::bad_request(
                    "10015",
                    format!("{name} must be formatted YYYY-MM-DDTHH:mm:ssZ"),
                )
                .with_pointer(format!("/{name}"))
            }),
    }
}

/// A number from a row field that may be a number, a decimal string, a scientific
/// string, or empty.
fn decimal_of(value: Option<&Value>) -> Decimal {
    match value {
        Some(Value::Number(n)) => n.to_string().parse().unwrap_or_default(),
        Some(Value::String(s)) if s.contains(['e', 'E']) => {
            Decimal::from_scientific(s).unwrap_or_default()
        }
        Some(Value::String(s)) => s.parse().unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

pub(crate) async fn usage_reports(
    State(ctl): State<SimControl>,
    headers: HeaderMap,
    Query(query): QueryPairs,
) -> Response {
    let (caller, key) = match authenticate(&ctl, &headers) {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let rate = ctl.rate_check(&key, RateScope::UsageReports, Utc::now());
    let mut response = if rate.is_some_and(|r| !r.allowed) {
        ApiError::rate_limited().into_response()
    } else {
        match report(&ctl, caller, &query) {
            Ok(body) => Json(body).into_response(),
            Err(e) => e.into_response(),
        }
    };
    rate_headers(&mut response, rate);
    response
}

/// What one `/usage_reports` request asks for.
struct UsageQuery {
    /// Group rows by account (`managed_accounts=true` with the master key).
    across: bool,
    accounts: Vec<usize>,
    product: String,
    kind: RecordType,
    metrics: Vec<String>,
    dimensions: Vec<String>,
    window: TimeWindow,
}

fn parse_query(
    ctl: &SimControl,
    caller: Caller,
    query: &[(String, String)],
) -> Result<UsageQuery, ApiError> {
    let across = query
        .iter()
        .any(|(k, v)| k == "managed_accounts" && v == "true");
    let accounts: Vec<usize> = match (caller, across) {
        (Caller::Manager, true) => (0..ctl.world().accounts.len()).collect(),
        (Caller::Manager, false) => Vec::new(),
        (Caller::Account(_), true) => return Err(ApiError::forbidden()),
        (Caller::Account(i), false) => vec![i],
    };
    let product = query
        .iter()
        .find(|(k, _)| k == "product")
        .map(|(_, v)| v.clone())
        .ok_or_else(|| {
            ApiError::bad_request("10015", "product is required").with_pointer("/product")
        })?;
    let kind = RecordType::of_usage_product(&product).ok_or_else(|| {
        ApiError::bad_request("10003", format!("Product {product:?} is not available"))
            .with_pointer("/product")
    })?;
    let metrics = list_param(query, "metrics");
    let dimensions = list_param(query, "dimensions");
    if metrics.is_empty() || dimensions.is_empty() {
        return Err(ApiError::bad_request(
            "10015",
            "metrics and dimensions are required",
        ));
    }
    let start = date_param(query, "start_date")?;
    let end = date_param(query, "end_date")?;
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s || e - s > Duration::days(31) {
            return Err(ApiError::bad_request(
                "10015",
                "The maximum time range is 31 days and end_date must be after start_date",
            ));
        }
    }
    let window = TimeWindow {
        gte_ms: start.map(ceil_ms),
        lt_ms: end.map(ceil_ms),
    };
    Ok(UsageQuery {
        across,
        accounts,
        product,
        kind,
        metrics,
        dimensions,
        window,
    })
}

/// (user_id?, dimension values) → (row count, metric sums)
type Groups = BTreeMap<Vec<String>, (u64, Vec<Decimal>)>;

fn add_row(q: &UsageQuery, groups: &mut Groups, account_id: &str, row: &Value) {
    let mut key = Vec::with_capacity(q.dimensions.len() + 1);
    if q.across {
        key.push(account_id.to_owned());
    }
    for d in &q.dimensions {
        key.push(match row.get(d) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        });
    }
    let entry = groups
        .entry(key)
        .or_insert_with(|| (0, vec![Decimal::ZERO; q.metrics.len()]));
    entry.0 += 1;
    for (sum, m) in entry.1.iter_mut().zip(&q.metrics) {
        *sum += decimal_of(row.get(m));
    }
}

/// Every row the detail-records endpoint would serve for the query's accounts and
/// window, summed into groups.
fn aggregate(ctl: &SimControl, q: &UsageQuery) -> Groups {
    let mut groups = Groups::new();
    for &i in &q.accounts {
        let Some(account) = ctl.world().accounts.get(i) else {
            continue;
        };
        {
            let state = ctl.lock();
            if let Some(rows) = state.records.get(&(i, q.kind)) {
                for r in rows.iter() {
                    if r.time_ms.is_some_and(|t| q.window.contains(t))
                        || (r.time_ms.is_none() && q.window.is_unbounded())
                    {
                        add_row(q, &mut groups, &account.id, &r.row);
                    }
                }
            }
        }
        if let Some(g) = ctl.world().generators.get(i).and_then(Option::as_ref) {
            let count = g.count(q.kind, q.window);
            for rank in 0..count {
                if let Some(index) = g.nth_newest(q.kind, q.window, rank) {
                    add_row(q, &mut groups, &account.id, &g.row(q.kind, index, account));
                }
            }
        }
    }
    groups
}

fn report(ctl: &SimControl, caller: Caller, query: &[(String, String)]) -> Result<Value, ApiError> {
    let q = parse_query(ctl, caller, query)?;
    let page = Page::parse(query, USAGE)?;
    let items: Vec<Value> = aggregate(ctl, &q)
        .into_iter()
        .map(|(key, (count, sums))| {
            let mut obj = Map::new();
            obj.insert("product".into(), json!(q.product));
            let mut values = key.into_iter();
            if q.across {
                obj.insert("user_id".into(), json!(values.next()));
            }
            for (d, v) in q.dimensions.iter().zip(values) {
                obj.insert(d.clone(), json!(v));
            }
            for (m, sum) in q.metrics.iter().zip(sums) {
                let value = if m == "count" {
                    json!(count)
                } else {
                    json!(sum.to_f64().unwrap_or_default())
                };
                obj.insert(m.clone(), value);
            }
            Value::Object(obj)
        })
        .collect();
    Ok(page.body_of(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_in_every_drifted_spelling_sum_as_decimals() {
        let total: Decimal = [
            json!("1.666E-4"),
            json!("0.0042"),
            json!(0.01),
            json!(""),
            Value::Null,
        ]
        .iter()
        .map(|v| decimal_of(Some(v)))
        .sum();
        assert_eq!(total, "0.0143666".parse::<Decimal>().unwrap_or_default());
    }
}
