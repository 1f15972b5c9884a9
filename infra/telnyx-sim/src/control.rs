//! Steering a running simulator from a test: injected faults, revoked keys, the rate
//! limit, late-arriving records, and the log of every request served. `SimControl` is
//! the in-process handle; the `/_sim/*` HTTP endpoints (see `server`) call the same code.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::record_types::RecordType;
use crate::scenario::Scenario;
use crate::store::RowList;
use crate::world::World;

/// A misbehaviour to inject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Fault {
    /// Answer with this status and a Telnyx error body (429 gets code 10011, no Retry-After).
    Status(u16),
    /// Answer normally after this delay (JSON: milliseconds).
    Delay(#[serde(with = "duration_ms")] Duration),
    /// Send the status, headers and part of the body, then drop the connection.
    CutBody,
    /// Answer 200 with a truncated, invalid JSON body.
    MalformedJson,
    /// The key of the matching request serves this many requests (the matching one
    /// included), then is revoked: every later request with it gets 401 10009.
    RevokeKeyAfter(u32),
    /// On a detail-records request for page 2 or later, a new record arrives at the top
    /// of the queried window before the page is computed: every later page shifts by
    /// one, so the last row of the previous page comes back as the first row of this one
    /// (and the new record itself is only seen by a later walk).
    DuplicateAcrossPages,
    /// Answer normally but without the page's `meta` block: the client can only walk by
    /// the row count (a page shorter than asked is the last).
    WithoutMeta,
    /// Answer 200 with `"data": []` and the page's real `meta` (which may promise more
    /// pages): an empty page ends a walk whatever `meta` says.
    EmptyPage,
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// When to inject a fault: the next `times` requests whose path starts with
/// `path_prefix` (`""` matches every request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    #[serde(default)]
    pub path_prefix: String,
    #[serde(default = "one")]
    pub times: u32,
    pub fault: Fault,
}

fn one() -> u32 {
    1
}

/// How the usage report (and the records it counts) depart from the plain live-like
/// behaviour. The default is the live-like report: products as Telnyx names them, `count`
/// only where the live API offers it, sums as binary doubles, no delay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageSettings {
    /// No product offers a `count` metric (as the live `sip-trunking` product, everywhere).
    #[serde(default)]
    pub without_count: bool,
    /// Per record type, how long after a record's time the usage report counts it (a
    /// report that lags its records).
    #[serde(default, with = "seconds_map")]
    pub report_delay: BTreeMap<RecordType, chrono::Duration>,
    /// Per record type, how long after a record's time `/detail_records` serves it (a
    /// publication delay, as Telnyx's "the last 4 hours may not appear yet").
    #[serde(default, with = "seconds_map")]
    pub records_delay: BTreeMap<RecordType, chrono::Duration>,
    /// Days on which the report counts one record of a type fewer than it serves.
    #[serde(default)]
    pub undercount: Vec<Undercount>,
}

/// The report under-counts one record of `record_type` on `day`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undercount {
    pub record_type: RecordType,
    pub day: NaiveDate,
}

/// Delays as JSON numbers of seconds, keyed by the type's filter spelling.
mod seconds_map {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::record_types::RecordType;

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<RecordType, chrono::Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        map.iter()
            .map(|(k, d)| (*k, d.num_seconds()))
            .collect::<BTreeMap<RecordType, i64>>()
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<RecordType, chrono::Duration>, D::Error> {
        Ok(BTreeMap::<RecordType, i64>::deserialize(d)?
            .into_iter()
            .map(|(k, secs)| (k, chrono::Duration::seconds(secs)))
            .collect())
    }
}

/// One request the simulator answered (control endpoints excluded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub status: u16,
    pub at: DateTime<Utc>,
}

/// What one key did in one fixed rate-limit window of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateWindowCount {
    /// The window's first instant (UTC, a multiple of its length since the epoch).
    pub starts_at: DateTime<Utc>,
    /// The window's length: 60 on `/v2/detail_records`, 1 on `/v2/usage_reports`.
    pub window_secs: i64,
    pub limit: u32,
    /// Requests counted in the window and answered normally.
    pub served: u32,
    /// Requests counted in the window and answered 429.
    pub throttled: u32,
}

/// Measured on the live API: 5 requests a second on `/usage_reports`.
const USAGE_REPORTS_PER_SECOND: u32 = 5;

/// The endpoints that are rate limited, each with its own fixed window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RateScope {
    /// The configured limit per UTC minute.
    DetailRecords,
    /// 5 a second, whenever rate limiting is on.
    UsageReports,
}

/// The result of counting a request against its key's rate-limit window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateState {
    pub limit: u32,
    pub window_secs: i64,
    pub remaining: u32,
    pub reset_secs: i64,
    pub allowed: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Mutable {
    faults: Vec<FaultRule>,
    revoked: HashSet<String>,
    /// (key, path): the key lacks the permission to read that endpoint (403).
    denied: HashSet<(String, String)>,
    revoke_countdown: HashMap<String, u32>,
    rate_limit: Option<u32>,
    /// (key, endpoint) → (window number since the epoch, requests counted in it)
    windows: HashMap<(String, RateScope), (i64, u32)>,
    /// Every window ever counted: (key, endpoint, window number) → its counts.
    window_log: HashMap<(String, RateScope, i64), RateWindowCount>,
    requests: Vec<RecordedRequest>,
    pub records: HashMap<(usize, RecordType), RowList>,
    /// Types whose rows carry their time in another field than the table's.
    time_fields: HashMap<RecordType, String>,
    pub usage: UsageSettings,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub world: World,
    state: Mutex<Mutable>,
}

/// The handle to steer a running simulator; cheap to clone.
#[derive(Debug, Clone)]
pub struct SimControl(pub(crate) Arc<Shared>);

impl SimControl {
    pub(crate) fn new(scenario: Scenario, rate_limit: Option<u32>) -> SimControl {
        let mut records: HashMap<(usize, RecordType), RowList> = HashMap::new();
        for (i, account) in scenario.accounts.iter().enumerate() {
            for spec in &account.detail_records {
                records
                    .entry((i, spec.record_type))
                    .or_default()
                    .insert(spec.record_type, spec.row.clone());
            }
        }
        let state = Mutable {
            rate_limit,
            records,
            ..Mutable::default()
        };
        SimControl(Arc::new(Shared {
            world: World::new(scenario),
            state: Mutex::new(state),
        }))
    }

    /// Makes the rows of `record_type` (a `filter[record_type]` spelling) carry their
    /// time in `field` instead of the type's own field: the window filter is honoured
    /// on `field` only, so a client filtering on the table's field gets 200 and no rows
    /// (as the live API answers a filter on a field the type does not have). The usage
    /// report is unchanged.
    pub fn set_time_field(&self, record_type: &str, field: &str) -> Result<(), String> {
        let kind: RecordType = record_type.parse().map_err(|e| format!("{e}"))?;
        self.lock().time_fields.insert(kind, field.to_owned());
        Ok(())
    }

    /// The field `kind`'s rows carry their time in.
    pub(crate) fn time_field(&self, kind: RecordType) -> String {
        self.lock()
            .time_fields
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| kind.time_field().to_owned())
    }

    pub(crate) fn world(&self) -> &World {
        &self.0.world
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Mutable> {
        // A panic elsewhere must not take the whole simulator down with it.
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a fault rule; rules are tried in the order they were added.
    pub fn add_fault(&self, rule: FaultRule) {
        if rule.times > 0 {
            self.lock().faults.push(rule);
        }
    }

    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// From now on the key gets 401 code 10009.
    pub fn revoke_key(&self, key: &str) {
        self.lock().revoked.insert(key.to_owned());
    }

    /// The key works again (an operator replaced a revoked key with the same value, for
    /// tests that need the account to recover).
    pub fn restore_key(&self, key: &str) {
        let mut state = self.lock();
        state.revoked.remove(key);
        state.revoke_countdown.remove(key);
    }

    /// From now on the key gets 403 on `path` (e.g. `/v2/phone_numbers`), as a key
    /// created without that permission does; other endpoints still answer it.
    pub fn deny_endpoint(&self, key: &str, path: &str) {
        self.lock().denied.insert((key.to_owned(), path.to_owned()));
    }

    /// Whether the key was denied `path`.
    pub(crate) fn is_denied(&self, key: &str, path: &str) -> bool {
        self.lock()
            .denied
            .contains(&(key.to_owned(), path.to_owned()))
    }

    /// Requests per key per UTC minute on `/v2/detail_records`; `None` switches rate
    /// limiting off (the 5-a-second limit of `/v2/usage_reports` too).
    pub fn set_rate_limit(&self, per_minute: Option<u32>) {
        let mut state = self.lock();
        state.rate_limit = per_minute;
        state.windows.clear();
    }

    /// Every request served so far, oldest first (control endpoints excluded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// The rate-limit windows `key` used on `path` (`/v2/detail_records` or
    /// `/v2/usage_reports`), oldest first, as the limiter counted them (so a request is
    /// in the window the limit was checked in, whatever its log time). Empty for other
    /// paths or when rate limiting was off.
    pub fn rate_windows(&self, key: &str, path: &str) -> Vec<RateWindowCount> {
        let scope = match path {
            "/v2/detail_records" => RateScope::DetailRecords,
            "/v2/usage_reports" => RateScope::UsageReports,
            _ => return Vec::new(),
        };
        let mut windows: Vec<RateWindowCount> = self
            .lock()
            .window_log
            .iter()
            .filter(|((k, s, _), _)| k == key && *s == scope)
            .map(|(_, count)| *count)
            .collect();
        windows.sort_by_key(|w| w.starts_at);
        windows
    }

    /// How many requests were answered with `status`.
    pub fn count_status(&self, status: u16) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.status == status)
            .count()
    }

    /// Makes a record visible from now on (a late arrival). `record_type` is the filter
    /// spelling (`sip-trunking`); an unknown account or type is ignored with a warning.
    pub fn add_detail_record(&self, account_id: &str, record_type: &str, row: Value) {
        if let Err(e) = self.try_add_detail_record(account_id, record_type, row) {
            tracing::warn!(account_id, record_type, error = %e, "detail record not added");
        }
    }

    pub(crate) fn try_add_detail_record(
        &self,
        account_id: &str,
        record_type: &str,
        row: Value,
    ) -> Result<(), String> {
        self.insert_record(account_id, record_type, row, false)
    }

    fn insert_record(
        &self,
        account_id: &str,
        record_type: &str,
        row: Value,
        unserved: bool,
    ) -> Result<(), String> {
        let kind: RecordType = record_type.parse().map_err(|e| format!("{e}"))?;
        let index = self
            .world()
            .account_index(account_id)
            .ok_or_else(|| format!("unknown account {account_id:?}"))?;
        if !row.is_object() {
            return Err("row must be a JSON object".into());
        }
        let mut state = self.lock();
        let rows = state.records.entry((index, kind)).or_default();
        if unserved {
            rows.insert_unserved(kind, row);
        } else {
            rows.insert(kind, row);
        }
        Ok(())
    }

    /// Counts `row` in the usage report without ever serving it from `/detail_records`
    /// (a record Telnyx bills but no walk can find). Same arguments as
    /// [`SimControl::add_detail_record`].
    pub fn add_unserved_record(&self, account_id: &str, record_type: &str, row: Value) {
        if let Err(e) = self.insert_record(account_id, record_type, row, true) {
            tracing::warn!(account_id, record_type, error = %e, "unserved record not added");
        }
    }

    /// How the usage report and record publication behave from now on.
    pub fn set_usage(&self, settings: UsageSettings) {
        self.lock().usage = settings;
    }

    /// The usage settings in force.
    pub fn usage(&self) -> UsageSettings {
        self.lock().usage.clone()
    }

    /// Takes one use of the first matching fault (page-shift faults excluded).
    pub(crate) fn take_fault(&self, path: &str) -> Option<Fault> {
        take(&mut self.lock().faults, |r| {
            r.fault != Fault::DuplicateAcrossPages && path.starts_with(&r.path_prefix)
        })
    }

    /// Takes one use of a matching page-shift fault, if any.
    pub(crate) fn take_page_shift(&self, path: &str) -> bool {
        take(&mut self.lock().faults, |r| {
            r.fault == Fault::DuplicateAcrossPages && path.starts_with(&r.path_prefix)
        })
        .is_some()
    }

    pub(crate) fn schedule_revocation(&self, key: &str, after: u32) {
        self.lock().revoke_countdown.insert(key.to_owned(), after);
    }

    /// Whether the key may be used for this request; counts it down when a revocation
    /// is scheduled.
    pub(crate) fn key_usable(&self, key: &str) -> bool {
        let mut state = self.lock();
        if state.revoked.contains(key) {
            return false;
        }
        match state.revoke_countdown.get_mut(key) {
            Some(0) => {
                state.revoke_countdown.remove(key);
                state.revoked.insert(key.to_owned());
                false
            }
            Some(n) => {
                *n -= 1;
                true
            }
            None => true,
        }
    }

    /// Counts one request of `key` in the current fixed window of `scope`; `None` when
    /// rate limiting is off.
    pub(crate) fn rate_check(
        &self,
        key: &str,
        scope: RateScope,
        now: DateTime<Utc>,
    ) -> Option<RateState> {
        let mut state = self.lock();
        let per_minute = state.rate_limit?;
        let (limit, window_secs) = match scope {
            RateScope::DetailRecords => (per_minute, 60),
            RateScope::UsageReports => (USAGE_REPORTS_PER_SECOND, 1),
        };
        let window = now.timestamp().div_euclid(window_secs);
        let entry = state
            .windows
            .entry((key.to_owned(), scope))
            .or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        let used = entry.1;
        let allowed = used <= limit;
        let log = state
            .window_log
            .entry((key.to_owned(), scope, window))
            .or_insert(RateWindowCount {
                starts_at: DateTime::<Utc>::from_timestamp(window * window_secs, 0)
                    .unwrap_or_default(),
                window_secs,
                limit,
                served: 0,
                throttled: 0,
            });
        if allowed {
            log.served += 1;
        } else {
            log.throttled += 1;
        }
        Some(RateState {
            limit,
            window_secs,
            remaining: limit.saturating_sub(used),
            reset_secs: window_secs - now.timestamp().rem_euclid(window_secs),
            allowed,
        })
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        self.lock().requests.push(request);
    }
}

fn take(rules: &mut Vec<FaultRule>, matches: impl Fn(&FaultRule) -> bool) -> Option<Fault> {
    let i = rules.iter().position(|r| r.times > 0 && matches(r))?;
    let rule = rules.get_mut(i)?;
    rule.times -= 1;
    let fault = rule.fault.clone();
    if rule.times == 0 {
        rules.remove(i);
    }
    Some(fault)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn usage_reports_allow_five_requests_a_second_per_key() {
        let control = SimControl::new(Scenario::default(), Some(40));
        let t0: DateTime<Utc> = "2026-11-23T10:00:50Z".parse().unwrap();
        let check = |key, t| control.rate_check(key, RateScope::UsageReports, t).unwrap();
        for _ in 0..5 {
            assert!(check("k", t0).allowed);
        }
        assert!(!check("k", t0).allowed);
        assert!(check("other", t0).allowed);
        assert!(check("k", "2026-11-23T10:00:51Z".parse().unwrap()).allowed);
    }

    #[test]
    fn faults_serialize_as_tagged_json() {
        let rule = FaultRule {
            path_prefix: "/v2/detail_records".into(),
            times: 2,
            fault: Fault::Delay(Duration::from_millis(1500)),
        };
        let json = serde_json::to_value(&rule).unwrap();
        assert_eq!(
            json["fault"],
            serde_json::json!({"kind": "delay", "value": 1500})
        );
        let back: FaultRule = serde_json::from_value(json).unwrap();
        assert_eq!(back, rule);
        let cut: Fault = serde_json::from_str(r#"{"kind":"cut_body"}"#).unwrap();
        assert_eq!(cut, Fault::CutBody);
    }

    #[test]
    fn a_fault_rule_is_used_up_after_its_times() {
        let control = SimControl::new(Scenario::default(), None);
        control.add_fault(FaultRule {
            path_prefix: "/v2/connections".into(),
            times: 2,
            fault: Fault::Status(503),
        });
        assert_eq!(control.take_fault("/v2/billing_groups"), None);
        assert_eq!(
            control.take_fault("/v2/connections"),
            Some(Fault::Status(503))
        );
        assert_eq!(
            control.take_fault("/v2/connections"),
            Some(Fault::Status(503))
        );
        assert_eq!(control.take_fault("/v2/connections"), None);
    }

    #[test]
    fn every_rate_window_is_kept_with_its_served_and_throttled_counts() {
        let control = SimControl::new(Scenario::default(), Some(2));
        let t0: DateTime<Utc> = "2026-11-23T10:00:50Z".parse().unwrap();
        for _ in 0..3 {
            control.rate_check("k", RateScope::DetailRecords, t0);
        }
        control.rate_check(
            "k",
            RateScope::DetailRecords,
            "2026-11-23T10:01:00Z".parse().unwrap(),
        );
        control.rate_check("other", RateScope::DetailRecords, t0);

        let windows = control.rate_windows("k", "/v2/detail_records");

        let counts: Vec<_> = windows
            .iter()
            .map(|w| (w.starts_at.to_rfc3339(), w.served, w.throttled))
            .collect();
        assert_eq!(
            counts,
            [
                ("2026-11-23T10:00:00+00:00".to_owned(), 2, 1),
                ("2026-11-23T10:01:00+00:00".to_owned(), 1, 0)
            ]
        );
        assert_eq!(windows[0].limit, 2);
        assert_eq!(windows[0].window_secs, 60);
        assert!(control.rate_windows("k", "/v2/usage_reports").is_empty());
    }

    #[test]
    fn the_rate_window_resets_at_the_next_utc_minute() {
        let control = SimControl::new(Scenario::default(), Some(2));
        let t0: DateTime<Utc> = "2026-11-23T10:00:50Z".parse().unwrap();
        let check = |t| {
            control
                .rate_check("k", RateScope::DetailRecords, t)
                .unwrap()
        };
        assert!(check(t0).allowed);
        assert!(check(t0).allowed);
        let third = check(t0);
        assert!(!third.allowed);
        assert_eq!(third.reset_secs, 10);
        let next = check("2026-11-23T10:01:00Z".parse().unwrap());
        assert!(next.allowed);
        assert_eq!(next.remaining, 1);
    }
}
