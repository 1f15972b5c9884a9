//! The sums behind one `/usage_reports` answer: every row of the product's record types
//! for the query's accounts and window — the rows `/detail_records` serves, plus rows
//! counted but never served — grouped by `user_id` (across accounts) and the dimensions
//! asked for (`date` is the row's UTC day), each metric summed **as a binary double**, as
//! Telnyx sums them (`2.0573360000000003` where the decimal sum is `2.057336`).
//!
//! A type's report delay hides its rows younger than the delay; an under-counted day
//! leaves one row of that type and day out.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::UsageQuery;
use crate::control::SimControl;
use crate::record_types::RecordType;
use crate::store::TimeWindow;

/// One group's row count and metric sums (in the query's metric order).
struct Group {
    count: u64,
    sums: Vec<f64>,
}

/// (user_id?, dimension values) → group.
type Groups = BTreeMap<Vec<String>, Group>;

/// A metric value of a row as a double: a number, a decimal or scientific string; an
/// empty or missing field adds nothing.
fn double(value: Option<&Value>) -> f64 {
    match value {
        Some(Value::Number(n)) => n.as_f64().unwrap_or_default(),
        Some(Value::String(s)) => s.trim().parse().unwrap_or_default(),
        _ => 0.0,
    }
}

/// The row's UTC day, as the `date` dimension spells it.
fn day_of(time_ms: Option<i64>) -> String {
    time_ms
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .map(|t| t.date_naive().to_string())
        .unwrap_or_default()
}

fn add_row(
    q: &UsageQuery,
    groups: &mut Groups,
    account_id: &str,
    row: &Value,
    time_ms: Option<i64>,
) {
    let mut key = Vec::with_capacity(q.dimensions.len() + 1);
    if q.across {
        key.push(account_id.to_owned());
    }
    for d in &q.dimensions {
        key.push(match (d.as_str(), row.get(d)) {
            ("date", _) => day_of(time_ms),
            (_, Some(Value::String(s))) => s.clone(),
            (_, Some(Value::Null) | None) => String::new(),
            (_, Some(other)) => other.to_string(),
        });
    }
    let group = groups.entry(key).or_insert_with(|| Group {
        count: 0,
        sums: vec![0.0; q.metrics.len()],
    });
    group.count += 1;
    for (sum, m) in group.sums.iter_mut().zip(&q.metrics) {
        *sum += double(row.get(m));
    }
}

/// The rows of one account and type the report counts in `window`, oldest first, with
/// their times.
fn counted_rows(
    ctl: &SimControl,
    index: usize,
    kind: RecordType,
    window: TimeWindow,
) -> Vec<(Option<i64>, Value)> {
    let mut out: Vec<(Option<i64>, Value)> = Vec::new();
    if let Some(rows) = ctl.lock().records.get(&(index, kind)) {
        for r in rows.iter() {
            let inside = match r.time_ms {
                Some(t) => window.contains(t),
                None => window.is_unbounded(),
            };
            if inside {
                out.push((r.time_ms, r.row.clone()));
            }
        }
    }
    let world = ctl.world();
    if let (Some(g), Some(account)) = (
        world.generators.get(index).and_then(Option::as_ref),
        world.accounts.get(index),
    ) {
        for rank in 0..g.count(kind, window) {
            if let Some(i) = g.nth_newest(kind, window, rank) {
                let row = g.row(kind, i, account);
                let time = crate::store::row_time_ms(&row, kind);
                out.push((time, row));
            }
        }
    }
    out.sort_by_key(|(t, _)| *t);
    out
}

/// The report's rows for `q`, each with `product`, `user_id` (across accounts), the
/// dimensions and the metrics (`count` an integer, every other sum a double).
pub(crate) fn rows(ctl: &SimControl, q: &UsageQuery) -> Vec<Value> {
    let settings = ctl.usage();
    let now = Utc::now();
    let mut groups = Groups::new();
    for &i in &q.accounts {
        let Some(account) = ctl.world().accounts.get(i) else {
            continue;
        };
        for &kind in q.product.feeds {
            let window = match settings.report_delay.get(&kind) {
                Some(delay) => q.window.published_before((now - *delay).timestamp_millis()),
                None => q.window,
            };
            let mut left_out: Vec<String> = settings
                .undercount
                .iter()
                .filter(|u| u.record_type == kind)
                .map(|u| u.day.to_string())
                .collect();
            for (time, row) in counted_rows(ctl, i, kind, window) {
                let day = day_of(time);
                if let Some(at) = left_out.iter().position(|d| *d == day) {
                    left_out.remove(at);
                    continue;
                }
                add_row(q, &mut groups, &account.id, &row, time);
            }
        }
    }
    groups
        .into_iter()
        .map(|(key, group)| {
            let mut obj = Map::new();
            obj.insert("product".into(), json!(q.product.name));
            let mut values = key.into_iter();
            if q.across {
                obj.insert("user_id".into(), json!(values.next()));
            }
            for (d, v) in q.dimensions.iter().zip(values) {
                obj.insert(d.clone(), json!(v));
            }
            for (m, sum) in q.metrics.iter().zip(group.sums) {
                let value = if m == "count" {
                    json!(group.count)
                } else {
                    json!(sum)
                };
                obj.insert(m.clone(), value);
            }
            Value::Object(obj)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_in_every_drifted_spelling_sum_as_doubles() {
        let values = [
            json!("1.666E-4"),
            json!("0.0042"),
            json!(0.01),
            json!(""),
            Value::Null,
        ];
        let total: f64 = values.iter().map(|v| double(Some(v))).sum();
        assert!((total - 0.0143666).abs() < 1e-12, "{total}");
    }

    #[test]
    fn a_sum_of_decimal_costs_carries_binary_noise_as_telnyx_sends_it() {
        // Six costs whose decimal sum is 0.236302: summed as doubles, the JSON number
        // is not the decimal one.
        let costs = [
            "0.050065", "0.028490", "0.055427", "0.003906", "0.069257", "0.029157",
        ];
        let total = costs
            .iter()
            .fold(0.0, |sum, c| sum + double(Some(&json!(c))));
        assert_eq!(json!(total).to_string(), "0.23630199999999996");
    }
}
