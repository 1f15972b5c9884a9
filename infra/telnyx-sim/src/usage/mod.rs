//! `GET /v2/usage_reports` and `GET /v2/usage_reports/options`, as awkward as the live
//! API (docs/telnyx.md "Usage reports"):
//!
//! - [`catalog`]: the products, each with its own dimensions and metrics, named as
//!   Telnyx names them (not as the detail-record filters), `count` only where the live
//!   API offers it;
//! - an unknown product, dimension or metric is a 400 naming which, with what is
//!   available in its detail (`Metrics invalid values`);
//! - [`aggregate`]: sums over the same rows `/detail_records` serves (plus rows counted
//!   but never served), in binary floating point as Telnyx sums them, per `date` and the
//!   other dimensions asked for; an account key sees its own account, the master key
//!   with `managed_accounts=true` every managed account (one group per `user_id`).
//!
//! [`crate::UsageSettings`] switch the departures tests need: no `count` anywhere, a
//! report lagging its records per type, a day under-counted.

mod aggregate;
pub(crate) mod catalog;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::api::{QueryPairs, authenticate, rate_headers};
use crate::control::{RateScope, SimControl, UsageSettings};
use crate::error::ApiError;
use crate::paging::{Page, PageRules};
use crate::store::{TimeWindow, ceil_ms};
use crate::world::Caller;
use catalog::Product;

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

/// The metrics a product offers under `settings` (no `count` when it is switched off).
fn metrics_of(product: &Product, settings: &UsageSettings) -> Vec<&'static str> {
    product
        .metrics
        .iter()
        .copied()
        .filter(|m| !(settings.without_count && *m == "count"))
        .collect()
}

/// The product a query names, or the live API's 400 listing the available ones.
fn product_param(value: &str) -> Result<&'static Product, ApiError> {
    catalog::find(value).ok_or_else(|| {
        let names: Vec<&str> = catalog::PRODUCTS.iter().map(|p| p.name).collect();
        ApiError::invalid_usage_parameter(
            "Product invalid value",
            "product",
            format!("Available products: {}.", names.join(",")),
        )
    })
}

/// Authenticates and rate-limits a usage request, then answers it with `body`.
fn answer(
    ctl: &SimControl,
    headers: &HeaderMap,
    body: impl FnOnce(Caller) -> Result<Value, ApiError>,
) -> Response {
    let (caller, key) = match authenticate(ctl, headers) {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let rate = ctl.rate_check(&key, RateScope::UsageReports, Utc::now());
    let mut response = if rate.is_some_and(|r| !r.allowed) {
        ApiError::rate_limited().into_response()
    } else {
        match body(caller) {
            Ok(body) => Json(body).into_response(),
            Err(e) => e.into_response(),
        }
    };
    rate_headers(&mut response, rate);
    response
}

pub(crate) async fn usage_reports(
    State(ctl): State<SimControl>,
    headers: HeaderMap,
    Query(query): QueryPairs,
) -> Response {
    answer(&ctl, &headers, |caller| report(&ctl, caller, &query))
}

/// `GET /v2/usage_reports/options[?product=]`: every product (or the one asked for)
/// with its dimensions and metrics.
pub(crate) async fn usage_report_options(
    State(ctl): State<SimControl>,
    headers: HeaderMap,
    Query(query): QueryPairs,
) -> Response {
    answer(&ctl, &headers, |_| {
        let settings = ctl.usage();
        let products: Vec<&Product> = match query.iter().find(|(k, _)| k == "product") {
            Some((_, name)) => vec![product_param(name)?],
            None => catalog::PRODUCTS.iter().collect(),
        };
        let data: Vec<Value> = products
            .into_iter()
            .map(|p| {
                json!({
                    "product": p.name,
                    "product_dimensions": p.dimensions,
                    "product_metrics": metrics_of(p, &settings),
                    "record_types": [],
                })
            })
            .collect();
        Ok(json!({ "data": data }))
    })
}

/// What one `/usage_reports` request asks for, validated against the catalog.
pub(crate) struct UsageQuery {
    /// Group rows by account (`managed_accounts=true` with the master key).
    pub across: bool,
    pub accounts: Vec<usize>,
    pub product: &'static Product,
    pub metrics: Vec<String>,
    pub dimensions: Vec<String>,
    pub window: TimeWindow,
}

/// Names every value of `asked` the product does not offer, as the live API does.
fn check_offered(
    asked: &[String],
    offered: &[&str],
    product: &str,
    (title, parameter, what): (&'static str, &'static str, &str),
) -> Result<(), ApiError> {
    if asked.iter().all(|a| offered.contains(&a.as_str())) {
        return Ok(());
    }
    Err(ApiError::invalid_usage_parameter(
        title,
        parameter,
        format!(
            "Available {what} values for {product}: {}.",
            offered.join(",")
        ),
    ))
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
    let product = product_param(&product)?;
    let metrics = list_param(query, "metrics");
    let dimensions = list_param(query, "dimensions");
    if metrics.is_empty() || dimensions.is_empty() {
        return Err(ApiError::bad_request(
            "10015",
            "metrics and dimensions are required",
        ));
    }
    check_offered(
        &dimensions,
        product.dimensions,
        product.name,
        ("Dimensions invalid values", "dimensions", "dimensions"),
    )?;
    check_offered(
        &metrics,
        &metrics_of(product, &ctl.usage()),
        product.name,
        ("Metrics invalid values", "metrics", "metrics"),
    )?;
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
    Ok(UsageQuery {
        across,
        accounts,
        product,
        metrics,
        dimensions,
        window: TimeWindow {
            gte_ms: start.map(ceil_ms),
            lt_ms: end.map(ceil_ms),
        },
    })
}

fn report(ctl: &SimControl, caller: Caller, query: &[(String, String)]) -> Result<Value, ApiError> {
    let q = parse_query(ctl, caller, query)?;
    let page = Page::parse(query, USAGE)?;
    Ok(page.body_of(aggregate::rows(ctl, &q)))
}
