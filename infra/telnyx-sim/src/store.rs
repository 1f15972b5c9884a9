//! Where detail records live and how a filtered, newest-first page of them is computed:
//! the scenario's (and late-arriving) rows kept sorted, merged with the volume
//! generator's rows, which are never materialized — counts and page positions are
//! derived by index arithmetic, so a page deep inside a million records costs the same
//! as the first one.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::record_types::RecordType;
use crate::rows::{SplitMix, build_row};
use crate::scenario::{AccountSpec, GenerateSpec};

/// A time filter in whole milliseconds: `gte <= t < lt`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimeWindow {
    pub gte_ms: Option<i64>,
    pub lt_ms: Option<i64>,
}

impl TimeWindow {
    pub(crate) fn is_unbounded(&self) -> bool {
        self.gte_ms.is_none() && self.lt_ms.is_none()
    }

    pub(crate) fn contains(&self, t: i64) -> bool {
        self.gte_ms.is_none_or(|g| t >= g) && self.lt_ms.is_none_or(|l| t < l)
    }

    /// The same window without anything at or after `end_ms` (what is not published yet).
    pub(crate) fn published_before(self, end_ms: i64) -> TimeWindow {
        TimeWindow {
            gte_ms: self.gte_ms,
            lt_ms: Some(self.lt_ms.map_or(end_ms, |l| l.min(end_ms))),
        }
    }

    /// The same window further restricted to `t > after`.
    fn newer_than(self, after: i64) -> TimeWindow {
        let gte = after + 1;
        TimeWindow {
            gte_ms: Some(self.gte_ms.map_or(gte, |g| g.max(gte))),
            lt_ms: self.lt_ms,
        }
    }
}

/// Smallest whole millisecond at or after `t`.
pub(crate) fn ceil_ms(t: DateTime<Utc>) -> i64 {
    let ms = t.timestamp_millis();
    if t.timestamp_subsec_nanos() % 1_000_000 == 0 {
        ms
    } else {
        ms + 1
    }
}

/// Reads a row's time field, when it is an RFC 3339 string.
pub(crate) fn row_time_ms(row: &Value, kind: RecordType) -> Option<i64> {
    row.get(kind.time_field())
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc).timestamp_millis())
}

/// The volume generator of one account. Record `i` has type `types[i % types.len()]`
/// (duplicates in the scenario's list are ignored) and time
/// `from + floor(i * span / count)` milliseconds, so times never decrease with `i`.
#[derive(Debug, Clone)]
pub(crate) struct Generator {
    count: u64,
    types: Vec<RecordType>,
    from_ms: i64,
    span_ms: i64,
    salt: u64,
}

impl Generator {
    pub(crate) fn new(spec: &GenerateSpec, account_id: &str) -> Generator {
        let mut types = Vec::new();
        for t in &spec.record_types {
            if !types.contains(t) {
                types.push(*t);
            }
        }
        // FNV-1a of the account id, so two accounts with one seed get different ids.
        let salt = account_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let from_ms = spec.from.timestamp_millis();
        Generator {
            count: if types.is_empty() { 0 } else { spec.count },
            types,
            from_ms,
            span_ms: (spec.to.timestamp_millis() - from_ms).max(1),
            salt: salt ^ spec.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        }
    }

    fn time_ms(&self, i: u64) -> i64 {
        self.from_ms + (i128::from(i) * i128::from(self.span_ms) / i128::from(self.count)) as i64
    }

    /// The smallest index whose time is at or after `t` (`count` when none is).
    fn first_index_at_or_after(&self, t: i64) -> u64 {
        let d = i128::from(t - self.from_ms);
        if d <= 0 {
            return 0;
        }
        // time(i) >= t  <=>  i * span / count >= d  <=>  i >= ceil(d * count / span)
        let n = d * i128::from(self.count);
        let span = i128::from(self.span_ms);
        let i = (n + span - 1) / span;
        i.clamp(0, i128::from(self.count)) as u64
    }

    /// Index range `[lo, hi)` whose times fall in the window.
    fn index_range(&self, window: TimeWindow) -> (u64, u64) {
        let lo = window.gte_ms.map_or(0, |g| self.first_index_at_or_after(g));
        let hi = window
            .lt_ms
            .map_or(self.count, |l| self.first_index_at_or_after(l));
        (lo, hi.max(lo))
    }

    fn residue(&self, kind: RecordType) -> Option<(u64, u64)> {
        let k = self.types.iter().position(|t| *t == kind)?;
        Some((k as u64, self.types.len() as u64))
    }

    /// How many indices `i < x` have `i % m == k`.
    fn below(x: u64, k: u64, m: u64) -> u64 {
        if x <= k { 0 } else { (x - k - 1) / m + 1 }
    }

    /// How many generated records of `kind` fall in the window.
    pub(crate) fn count(&self, kind: RecordType, window: TimeWindow) -> u64 {
        let Some((k, m)) = self.residue(kind) else {
            return 0;
        };
        let (lo, hi) = self.index_range(window);
        Self::below(hi, k, m) - Self::below(lo, k, m)
    }

    /// The index of the `rank`-th newest generated record of `kind` in the window.
    pub(crate) fn nth_newest(
        &self,
        kind: RecordType,
        window: TimeWindow,
        rank: u64,
    ) -> Option<u64> {
        let (k, m) = self.residue(kind)?;
        let (lo, hi) = self.index_range(window);
        let last = Self::below(hi, k, m).checked_sub(1)?;
        let pos = last.checked_sub(rank)?;
        (pos >= Self::below(lo, k, m)).then_some(k + pos * m)
    }

    pub(crate) fn row(&self, kind: RecordType, index: u64, account: &AccountSpec) -> Value {
        let at = DateTime::<Utc>::from_timestamp_millis(self.time_ms(index)).unwrap_or_default();
        let mut rng = SplitMix::new(self.salt ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        let mut row = build_row(kind, at, index, account, &mut rng);
        // The records of one slot (`index / types`: one of each type, at nearly the same
        // time) belong to one call: they share its session id, as a call's AI and media
        // records share the call's `call_session_id` on the live API.
        let slot = index / self.types.len().max(1) as u64;
        let session = SplitMix::new(self.salt ^ slot.wrapping_mul(0xA24B_AED4_963E_E407)).uuid();
        if let Some(obj) = row.as_object_mut() {
            for field in ["telnyx_session_id", "call_session_id"] {
                if let Some(v) = obj.get_mut(field) {
                    *v = serde_json::json!(session);
                }
            }
        }
        row
    }
}

/// A stored (scenario or late) row and its parsed time.
#[derive(Debug, Clone)]
pub(crate) struct StoredRow {
    pub time_ms: Option<i64>,
    pub row: Value,
    /// Counted by the usage report, never served by `/detail_records`.
    pub unserved: bool,
}

/// The rows of one (account, type), newest first; rows without a readable time last.
#[derive(Debug, Clone, Default)]
pub(crate) struct RowList(Vec<StoredRow>);

impl RowList {
    /// Adds a row after any row with the same or a newer time.
    pub(crate) fn insert(&mut self, kind: RecordType, row: Value) {
        self.insert_row(kind, row, false);
    }

    /// Adds a row the usage report counts and no walk is ever served.
    pub(crate) fn insert_unserved(&mut self, kind: RecordType, row: Value) {
        self.insert_row(kind, row, true);
    }

    fn insert_row(&mut self, kind: RecordType, mut row: Value, unserved: bool) {
        if let Some(obj) = row.as_object_mut() {
            obj.entry("record_type")
                .or_insert_with(|| Value::from(kind.response_name()));
        }
        let time_ms = row_time_ms(&row, kind);
        let at = self.0.partition_point(|r| match (r.time_ms, time_ms) {
            (Some(a), Some(b)) => a >= b,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => true,
        });
        self.0.insert(
            at,
            StoredRow {
                time_ms,
                row,
                unserved,
            },
        );
    }

    /// The rows `/detail_records` serves in `window`.
    fn filtered(&self, window: TimeWindow) -> Vec<&StoredRow> {
        self.0
            .iter()
            .filter(|r| !r.unserved)
            .filter(|r| match r.time_ms {
                Some(t) => window.contains(t),
                None => window.is_unbounded(),
            })
            .collect()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &StoredRow> {
        self.0.iter()
    }
}

/// One page of rows merged from stored rows and the generator, newest first.
pub(crate) struct MergedPage {
    pub total: u64,
    pub rows: Vec<Value>,
}

/// The rows of one account and type: its stored (scenario and late) rows and its
/// generator's.
#[derive(Clone, Copy)]
pub(crate) struct TypeRows<'a> {
    pub stored: &'a RowList,
    pub generator: Option<&'a Generator>,
    pub account: &'a AccountSpec,
    pub kind: RecordType,
}

/// Computes rows `[offset, offset + size)` of the newest-first merge of the stored and
/// generated rows of `rows` within `window`. Among equal times, generated rows come first.
pub(crate) fn merged_page(
    rows: TypeRows<'_>,
    window: TimeWindow,
    offset: u64,
    size: u64,
) -> MergedPage {
    let TypeRows {
        stored,
        generator,
        account,
        kind,
    } = rows;
    let statics = stored.filtered(window);
    let generated = generator.map_or(0, |g| g.count(kind, window));
    // Position of each stored row in the merged order.
    let positions: Vec<u64> = statics
        .iter()
        .enumerate()
        .map(|(j, r)| {
            let newer_generated = match (generator, r.time_ms) {
                (Some(g), Some(t)) => g.count(kind, window.newer_than(t - 1)),
                (Some(_), None) => generated,
                (None, _) => 0,
            };
            j as u64 + newer_generated
        })
        .collect();
    let total = statics.len() as u64 + generated;
    let end = offset.saturating_add(size).min(total);
    let mut rows = Vec::new();
    for p in offset..end {
        let before = positions.partition_point(|&q| q < p);
        if positions.get(before) == Some(&p) {
            if let Some(r) = statics.get(before) {
                rows.push(r.row.clone());
            }
        } else if let Some(g) = generator {
            if let Some(i) = g.nth_newest(kind, window, p - before as u64) {
                rows.push(g.row(kind, i, account));
            }
        }
    }
    MergedPage { total, rows }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn account() -> AccountSpec {
        serde_yaml::from_str("{id: a, organization_name: A, email: a@x, api_key: KEYa}").unwrap()
    }

    fn generator(count: u64, types: &[RecordType]) -> Generator {
        let spec = GenerateSpec {
            count,
            record_types: types.to_vec(),
            from: "2026-11-01T00:00:00Z".parse().unwrap(),
            to: "2026-11-02T00:00:00Z".parse().unwrap(),
            seed: 42,
        };
        Generator::new(&spec, "a")
    }

    /// The slow, obviously right answer: walk every index.
    fn brute_count(g: &Generator, kind: RecordType, w: TimeWindow) -> u64 {
        (0..g.count)
            .filter(|&i| {
                g.types[(i % g.types.len() as u64) as usize] == kind && w.contains(g.time_ms(i))
            })
            .count() as u64
    }

    #[test]
    fn generator_counts_match_a_brute_force_walk() {
        let g = generator(
            1000,
            &[
                RecordType::SipTrunking,
                RecordType::Messaging,
                RecordType::Tts,
            ],
        );
        let base = g.from_ms;
        for (a, b) in [
            (0, 86_400_000),
            (1, 2),
            (3_600_000, 7_200_001),
            (86_399_999, 90_000_000),
            (-5, 10),
        ] {
            let w = TimeWindow {
                gte_ms: Some(base + a),
                lt_ms: Some(base + b),
            };
            for kind in [
                RecordType::SipTrunking,
                RecordType::Messaging,
                RecordType::Tts,
                RecordType::Amd,
            ] {
                assert_eq!(
                    g.count(kind, w),
                    brute_count(&g, kind, w),
                    "{kind} {a}..{b}"
                );
            }
        }
    }

    #[test]
    fn generated_pages_are_newest_first_and_inside_the_window() {
        let g = generator(10_000, &[RecordType::SipTrunking, RecordType::Messaging]);
        let w = TimeWindow {
            gte_ms: Some(g.from_ms + 3_600_000),
            lt_ms: Some(g.from_ms + 7_200_000),
        };
        let empty = RowList::default();
        let account = account();
        let rows = TypeRows {
            stored: &empty,
            generator: Some(&g),
            account: &account,
            kind: RecordType::Messaging,
        };
        let page = merged_page(rows, w, 0, 50);
        assert_eq!(page.total, brute_count(&g, RecordType::Messaging, w));
        let times: Vec<i64> = page
            .rows
            .iter()
            .map(|r| row_time_ms(r, RecordType::Messaging).unwrap())
            .collect();
        assert!(times.windows(2).all(|p| p[0] >= p[1]));
        assert!(times.iter().all(|t| w.contains(*t)));
    }

    #[test]
    fn stored_rows_interleave_with_generated_rows_by_time() {
        let g = generator(100, &[RecordType::Tts]);
        let mut stored = RowList::default();
        stored.insert(
            RecordType::Tts,
            serde_json::json!({"call_leg_id": "x", "created_at": "2026-11-01T12:00:00.500Z"}),
        );
        let account = account();
        let rows = TypeRows {
            stored: &stored,
            generator: Some(&g),
            account: &account,
            kind: RecordType::Tts,
        };
        let page = merged_page(rows, TimeWindow::default(), 0, 200);
        assert_eq!(page.total, 101);
        let times: Vec<i64> = page
            .rows
            .iter()
            .map(|r| row_time_ms(r, RecordType::Tts).unwrap())
            .collect();
        assert!(times.windows(2).all(|p| p[0] >= p[1]), "{times:?}");
        assert!(page.rows.iter().any(|r| r["call_leg_id"] == "x"));
        assert_eq!(page.rows[50]["record_type"], "tts_detail_record");
    }
}
