//! The `/v2` resources: managed accounts, billing groups, connections, outbound voice
//! profiles, phone numbers and detail records, with the live API's key scoping,
//! pagination limits, filter rules and rate limit.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::control::{RateScope, RateState, SimControl};
use crate::error::ApiError;
use crate::paging::{self, Page};
use crate::record_types::RecordType;
use crate::rows::{SplitMix, build_row, timestamp};
use crate::scenario::AccountSpec;
use crate::store::{RowList, TimeWindow, TypeRows, ceil_ms, merged_page};
use crate::world::Caller;

pub(crate) type QueryPairs = Query<Vec<(String, String)>>;

/// The bearer key of a request, if it has one.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, key) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(key.trim())
}

/// Resolves the caller; unknown, missing or revoked keys, and the keys of cancelled
/// accounts, get 401 10009.
pub(crate) fn authenticate(
    ctl: &SimControl,
    headers: &HeaderMap,
) -> Result<(Caller, String), ApiError> {
    let key = bearer(headers).ok_or_else(ApiError::unauthenticated)?;
    let world = ctl.world();
    let caller = world.caller(key).ok_or_else(ApiError::unauthenticated)?;
    if let Caller::Account(i) = caller {
        if world.accounts.get(i).is_none_or(|a| a.cancelled) {
            return Err(ApiError::unauthenticated());
        }
    }
    if !ctl.key_usable(key) {
        return Err(ApiError::unauthenticated());
    }
    Ok((caller, key.to_owned()))
}

/// Account resources need an account key: the master key lacks the permission (403).
fn account_caller(ctl: &SimControl, headers: &HeaderMap) -> Result<(usize, String), ApiError> {
    match authenticate(ctl, headers)? {
        (Caller::Account(i), key) => Ok((i, key)),
        (Caller::Manager, _) => Err(ApiError::forbidden()),
    }
}

fn account(ctl: &SimControl, index: usize) -> Result<&AccountSpec, ApiError> {
    ctl.world()
        .accounts
        .get(index)
        .ok_or_else(ApiError::unauthenticated)
}

fn query_value<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn list(
    query: &[(String, String)],
    rules: paging::PageRules,
    items: Vec<Value>,
) -> Result<Response, ApiError> {
    let page = Page::parse(query, rules)?;
    Ok(Json(page.body_of(items)).into_response())
}

fn respond(result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn managed_accounts(
    State(ctl): State<SimControl>,
    headers: HeaderMap,
    Query(query): QueryPairs,
) -> Response {
    respond((|| {
        let (caller, _) = authenticate(&ctl, &headers)?;
        if caller != Caller::Manager {
            return Err(ApiError::forbidden());
        }
        let world = ctl.world();
        let with_cancelled = query_value(&query, "include_cancelled_accounts") == Some("true");
        let items = world
            .accounts
            .iter()
            .filter(|a| with_cancelled || !a.cancelled)
            .map(|a| {
                json!({
                    "record_type": "managed_account",
                    "id": a.id,
                    "email": a.email,
                    "api_user": a.email,
                    "organization_name": a.organization_name,
                    "manager_account_id": world.manager_account_id,
                    "rollup_billing": a.rollup_billing,
                    "managed_account_allow_custom_pricing": false,
                    "created_at": timestamp(a.created_at),
                    "updated_at": timestamp(a.created_at),
                })
            })
            .collect();
        list(&query, paging::LIST, items)
    })())
}

pub(crate) async fn billing_groups(
    State(ctl): State<SimControl>,
    headers: HeaderMap,
    Query(query): QueryPairs,
) -> Response {
    respond((|| {
        let (i, _) = account_caller(&ctl, &headers)?;
        let a = account(&ctl, i)?;
        let items = a
            .billing_groups
            .iter()
            .map(|b| {
                json!({
                    "record_type": "billing_group",
                    "id": b.id,
                    "name": b.name,
                    "organization_id": a.id,
                    "created_at": timestamp(a.created_at),
                    "updated_at": timestamp(b.deleted_at.unwrap_or(a.created_at)),
                    "deleted_at": b.deleted_at.map(timestamp),
                })
            })
            .collect();
        list(&query, paging::LIST, items)
    })())
}

pub(crate) async fn connections(
    State(ctl): State<SimControl>,
    headers: HeaderMap,
    Query(query): QueryPairs,
) -> Response {
    respond((|| {
        let (i, _) = account_caller(&ctl, &headers)?;
        let a = account(&ctl, i)?;
        let items = a
            .connections
            .iter()
            .map(|c| {
                json!({
                    "record_type": c.record_type.as_str(),
                    "id": c.id,
                    "connection_name": c.connection_name,
                    "active": c.active,
                    "outbound_voice_profile_id": c.outbound_voice_profile_id,
                    "anchorsite_override": "Latency",
                    "webhook_api_version": "2",
                    "webhook_event_url": null,
                    "webhook_event_failover_url": "",
                    "tags": [],
                    "created_at": timestamp(a.created_at),
                    "updated_at": timestamp(a.created_at),
                })
            })
            .collect();
        list(&query, paging::CONNECTIONS, items)
    })())
}

pub(crate) async fn outbound_voice_profiles(
    State(ctl): State<SimControl>,
    headers: HeaderMap,
    Query(query): QueryPairs,
) -> Response {
    respond((|| {
        let (i, _) = account_caller(&ctl, &headers)?;
        let a = account(&ctl, i)?;
        let items = a
            .outbound_voice_profiles
            .iter()
            .map(|o| {
                let count = a
                    .connections
                    .iter()
                    .filter(|c| c.outbound_voice_profile_id.as_ref() == Some(&o.id))
                    .count();
                json!({
                    "record_type": "outbound_voice_profile",
                    "id": o.id,
                    "name": o.name,
                    "billing_group_id": o.billing_group_id,
                    "connections_count": count,
                    "enabled": true,
                    "traffic_type": "conversational",
                    "service_plan": "global",
                    "usage_payment_method": "rate-deck",
                    "concurrent_call_limit": null,
                    "daily_spend_limit_enabled": false,
                    "whitelisted_destinations": ["US", "CA"],
                    "tags": [],
                    "created_at": timestamp(a.created_at),
                    "updated_at": timestamp(a.created_at),
                })
            })
            .collect();
        list(&query, paging::LIST, items)
    })())
}

pub(crate) async fn phone_numbers(
    State(ctl): State<SimControl>,
    headers: HeaderMap,
    Query(query): QueryPairs,
) -> Response {
    respond((|| {
        let (i, _) = account_caller(&ctl, &headers)?;
        let a = account(&ctl, i)?;
        let by_connection = query_value(&query, "filter[connection_id]");
        let by_group = query_value(&query, "filter[billing_group_id]");
        let items = a
            .phone_numbers
            .iter()
            .filter(|n| by_connection.is_none_or(|c| n.connection_id.as_deref() == Some(c)))
            .filter(|n| match by_group {
                None => true,
                Some("null") => n.billing_group_id.is_none(),
                Some(g) => n.billing_group_id.as_deref() == Some(g),
            })
            .map(|n| {
                let connection_name = n
                    .connection_id
                    .as_ref()
                    .and_then(|c| a.connections.iter().find(|x| &x.id == c))
                    .map(|c| c.connection_name.clone());
                json!({
                    "record_type": "phone_number",
                    "id": n.id,
                    "phone_number": n.phone_number,
                    "status": n.status,
                    "connection_id": n.connection_id,
                    "connection_name": connection_name,
                    "billing_group_id": n.billing_group_id,
                    "messaging_profile_id": n.messaging_profile_id,
                    "phone_number_type": n.phone_number_type.as_deref().unwrap_or("local"),
                    "country_iso_alpha2": "US",
                    "emergency_enabled": false,
                    "deletion_lock_enabled": false,
                    "external_pin": null,
                    "tags": [],
                    "purchased_at": timestamp(a.created_at),
                    "created_at": timestamp(a.created_at),
                    "updated_at": timestamp(a.created_at),
                })
            })
            .collect();
        list(&query, paging::LIST, items)
    })())
}

/// What the detail-record filters of one request ask for.
struct DetailQuery {
    kind: RecordType,
    window: TimeWindow,
    /// A filter on a field the type does not filter on: the live API answers 200, no rows.
    matches_nothing: bool,
}

#[cfg(test)]
fn parse_detail_query(query: &[(String, String)]) -> Result<DetailQuery, ApiError> {
    parse_detail_query_on(query, |kind| kind.time_field().to_owned())
}

/// Parses the filters; `time_field` says which field each type's window filter is
/// honoured on (the table's, unless the simulator was told the records carry another).
fn parse_detail_query_on(
    query: &[(String, String)],
    time_field: impl Fn(RecordType) -> String,
) -> Result<DetailQuery, ApiError> {
    let types: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "filter[record_type]")
        .map(|(_, v)| v.as_str())
        .collect();
    let kind = match types.as_slice() {
        [] => {
            return Err(ApiError::bad_filter("filter[record_type] is required")
                .with_pointer("/filter/record_type"));
        }
        [one] if !one.contains(',') => one.parse::<RecordType>().map_err(|_| {
            ApiError::bad_filter(format!(
                "filter[record_type] {one:?} is not a valid record type"
            ))
            .with_pointer("/filter/record_type")
        })?,
        _ => {
            return Err(ApiError::bad_filter(
                "Only one filter[record_type] is allowed per request",
            )
            .with_pointer("/filter/record_type"));
        }
    };
    let mut window = TimeWindow::default();
    let mut matches_nothing = false;
    let honoured = time_field(kind);
    for (k, v) in query {
        let Some(inner) = k.strip_prefix("filter[") else {
            continue;
        };
        if k == "filter[record_type]" {
            continue;
        }
        // filter[<field>] or filter[<field>][<op>]
        let (field, op) = match inner.split_once("][") {
            Some((field, rest)) => (field, rest.strip_suffix(']').unwrap_or(rest)),
            None => (inner.strip_suffix(']').unwrap_or(inner), ""),
        };
        if field != honoured || !matches!(op, "gte" | "gt" | "lte" | "lt") {
            matches_nothing = true;
            continue;
        }
        let at = DateTime::parse_from_rfc3339(v)
            .map_err(|_| {
                ApiError::bad_filter(format!("{k} must be an ISO 8601 date-time"))
                    .with_pointer(format!("/filter/{field}/{op}"))
            })?
            .with_timezone(&Utc);
        let floor = at.timestamp_millis();
        match op {
            "gte" => {
                window.gte_ms = Some(window.gte_ms.map_or(ceil_ms(at), |g| g.max(ceil_ms(at))))
            }
            "gt" => window.gte_ms = Some(window.gte_ms.map_or(floor + 1, |g| g.max(floor + 1))),
            "lt" => window.lt_ms = Some(window.lt_ms.map_or(ceil_ms(at), |l| l.min(ceil_ms(at)))),
            _ => window.lt_ms = Some(window.lt_ms.map_or(floor + 1, |l| l.min(floor + 1))),
        }
    }
    Ok(DetailQuery {
        kind,
        window,
        matches_nothing,
    })
}

pub(crate) fn rate_headers(response: &mut Response, rate: Option<RateState>) {
    let Some(rate) = rate else { return };
    let headers = response.headers_mut();
    for (name, value) in [
        (
            "x-ratelimit-limit",
            format!("{}, {};w={}", rate.limit, rate.limit, rate.window_secs),
        ),
        ("x-ratelimit-remaining", rate.remaining.to_string()),
        ("x-ratelimit-reset", rate.reset_secs.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
}

/// `cost`/`rate` of a hidden-pricing account: absent on some rows, `""` on others.
fn hide_pricing(row: &mut Value, position: u64) {
    let Some(obj) = row.as_object_mut() else {
        return;
    };
    for field in ["cost", "rate"] {
        if position % 2 == 0 {
            obj.remove(field);
        } else if let Some(v) = obj.get_mut(field) {
            *v = json!("");
        }
    }
}

/// A record arriving at the top of the queried window while a client walks it.
fn arrive_mid_walk(ctl: &SimControl, index: usize, a: &AccountSpec, q: &DetailQuery) {
    let now = Utc::now();
    let at_ms = match q.window.lt_ms {
        Some(lt) => lt - 1,
        None => now.timestamp_millis(),
    };
    if q.window.gte_ms.is_some_and(|g| at_ms < g) {
        return;
    }
    let at = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap_or(now);
    let nanos = now.timestamp_nanos_opt().unwrap_or_default();
    let row = build_row(q.kind, at, u64::MAX, a, &mut SplitMix::new(nanos as u64));
    ctl.lock()
        .records
        .entry((index, q.kind))
        .or_default()
        .insert(q.kind, row);
}

pub(crate) async fn detail_records(
    State(ctl): State<SimControl>,
    headers: HeaderMap,
    Query(query): QueryPairs,
) -> Response {
    let (index, key) = match account_caller(&ctl, &headers) {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let rate = ctl.rate_check(&key, RateScope::DetailRecords, Utc::now());
    let mut response = if rate.is_some_and(|r| !r.allowed) {
        ApiError::rate_limited().into_response()
    } else {
        respond(detail_page(&ctl, index, &query))
    };
    rate_headers(&mut response, rate);
    response
}

fn detail_page(
    ctl: &SimControl,
    index: usize,
    query: &[(String, String)],
) -> Result<Response, ApiError> {
    let q = parse_detail_query_on(query, |kind| ctl.time_field(kind))?;
    let page = Page::parse(query, paging::DETAIL_RECORDS)?;
    let a = account(ctl, index)?;
    if q.matches_nothing {
        return Ok(Json(json!({"data": [], "meta": page.meta(0)})).into_response());
    }
    if page.number > 1 && ctl.take_page_shift("/v2/detail_records") {
        arrive_mid_walk(ctl, index, a, &q);
    }
    let generator = ctl.world().generators.get(index).and_then(Option::as_ref);
    let merged = {
        let state = ctl.lock();
        // A record is served only once its type's publication delay has passed.
        let window = match state.usage.records_delay.get(&q.kind) {
            Some(delay) => q
                .window
                .published_before((Utc::now() - *delay).timestamp_millis()),
            None => q.window,
        };
        let empty = RowList::default();
        let stored = state.records.get(&(index, q.kind)).unwrap_or(&empty);
        let rows = TypeRows {
            stored,
            generator,
            account: a,
            kind: q.kind,
        };
        merged_page(rows, window, page.offset(), page.size)
    };
    let mut rows = merged.rows;
    let carried = ctl.time_field(q.kind);
    if carried != q.kind.time_field() {
        for row in &mut rows {
            if let Some(obj) = row.as_object_mut() {
                if let Some(v) = obj.remove(q.kind.time_field()) {
                    obj.insert(carried.clone(), v);
                }
            }
        }
    }
    if a.hide_pricing {
        for (i, row) in rows.iter_mut().enumerate() {
            hide_pricing(row, page.offset() + i as u64);
        }
    }
    Ok(Json(json!({"data": rows, "meta": page.meta(merged.total)})).into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn a_comma_list_of_record_types_is_a_bad_request() {
        let err = parse_detail_query(&q(&[("filter[record_type]", "tts,stt")]))
            .err()
            .unwrap();
        assert_eq!(err.status.as_u16(), 400);
        assert_eq!(err.code, json!("10011"));
    }

    #[test]
    fn a_filter_on_the_wrong_time_field_matches_nothing() {
        let parsed = parse_detail_query(&q(&[
            ("filter[record_type]", "messaging"),
            ("filter[started_at][gte]", "2026-11-20T00:00:00Z"),
        ]))
        .ok()
        .unwrap();
        assert!(parsed.matches_nothing);
    }

    #[test]
    fn the_types_own_time_field_sets_the_window() {
        let parsed = parse_detail_query(&q(&[
            ("filter[record_type]", "amd"),
            ("filter[invoked_at][gte]", "2026-11-20T00:00:00Z"),
            ("filter[invoked_at][lt]", "2026-11-21T00:00:00.0005Z"),
        ]))
        .ok()
        .unwrap();
        assert!(!parsed.matches_nothing);
        let gte: DateTime<Utc> = "2026-11-20T00:00:00Z".parse().unwrap();
        assert_eq!(parsed.window.gte_ms, Some(gte.timestamp_millis()));
        assert_eq!(
            parsed.window.lt_ms,
            Some(gte.timestamp_millis() + 86_400_001)
        );
    }
}
