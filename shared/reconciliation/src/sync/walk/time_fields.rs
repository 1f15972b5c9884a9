//! A type whose walk finds nothing while Telnyx reports usage: its records may carry
//! their time in another field than the product's table says (Telnyx answers a filter
//! on a missing field with 200 and no rows). The walker reads the type's newest rows
//! unfiltered, finds the field they carry, keeps it for the account, and walks again.

use super::Walker;
use crate::domain::{RecordType, TIME_FIELD_CANDIDATES};
use crate::ports::TimeWindow;
use crate::sync::SyncError;

impl Walker<'_> {
    /// A type's walk found nothing while Telnyx reports usage (or, for a type the usage
    /// report does not cover, on its first window): reads its newest rows unfiltered
    /// and, when they carry another time field than the one filtered on, uses (and
    /// keeps) that one. For a type the report covers, logged either way; for one it does
    /// not, only when its rows' other field puts records in `window` (else the type is
    /// simply empty there).
    pub(super) async fn discover_time_field(
        &mut self,
        t: RecordType,
        window: TimeWindow,
    ) -> Result<(), SyncError> {
        let current = self.streams.time_field(t);
        let expected = self.usage.expected.get(&t).copied();
        let rows = self
            .run
            .ports
            .telnyx
            .newest_rows(self.run.key, t)
            .await
            .map_err(SyncError::telnyx(
                self.run.account(),
                format!("the newest {t} rows"),
            ))?;
        let found = carried_time_field(&rows, current);
        let evidence = match (expected, found) {
            (Some(super::usage::USAGE_WITHOUT_COUNT), _) => {
                "Telnyx's usage report shows records in the window".to_owned()
            }
            (Some(n), _) => format!("Telnyx's usage report counts {n} in the window"),
            (None, Some(field)) if in_window(&rows, field, window) => {
                "its newest records lie in the window".to_owned()
            }
            // Not in the usage report and nothing in the window: an empty type.
            (None, _) => return Ok(()),
        };
        match found {
            Some(field) => {
                tracing::warn!(account_id = %self.run.account(), record_type = %t, table_field = current, found_field = field, evidence = %evidence, "time field discovered");
                let run = self.run;
                self.streams.found_time_field(&run, t, field).await?;
                self.tally
                    .entries
                    .push(crate::sync::messages::time_field_discovered(
                        t, current, field, &evidence,
                    ));
            }
            None => {
                tracing::warn!(account_id = %self.run.account(), record_type = %t, field = current, evidence = %evidence, "record type silent");
                self.tally
                    .entries
                    .push(crate::sync::messages::record_type_silent(
                        t, current, &evidence,
                    ));
            }
        }
        Ok(())
    }
}

/// True when some row's `field` is a timestamp inside `window`.
fn in_window(rows: &[crate::domain::RawRecord], field: &str, window: TimeWindow) -> bool {
    rows.iter().filter_map(|r| r.to_value().ok()).any(|v| {
        v.get(field)
            .and_then(serde_json::Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| {
                let t = t.with_timezone(&chrono::Utc);
                window.from <= t && t < window.to
            })
    })
}

/// The first candidate time field (other than `current`) every row carries as a
/// timestamp; `None` when the rows carry `current` or no candidate.
fn carried_time_field(rows: &[crate::domain::RawRecord], current: &str) -> Option<&'static str> {
    if rows.is_empty() {
        return None;
    }
    let values: Vec<serde_json::Value> = rows.iter().filter_map(|r| r.to_value().ok()).collect();
    let carries = |field: &str| {
        values.iter().all(|v| {
            v.get(field)
                .and_then(serde_json::Value::as_str)
                .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
        })
    };
    if carries(current) {
        return None;
    }
    TIME_FIELD_CANDIDATES
        .iter()
        .copied()
        .find(|f| *f != current && carries(f))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::RawRecord;

    fn row(json: &str) -> RawRecord {
        RawRecord::from_json(json).unwrap()
    }

    #[test]
    fn the_first_candidate_every_row_carries_as_a_timestamp_is_found() {
        let rows = [
            row(
                r#"{"id":"a","started_at":"2026-11-20T10:00:00Z","end_time":"2026-11-20T10:01:00Z"}"#,
            ),
            row(r#"{"id":"b","started_at":"2026-11-20T09:00:00Z"}"#),
        ];
        assert_eq!(carried_time_field(&rows, "start_time"), Some("started_at"));
    }

    #[test]
    fn rows_that_carry_the_filtered_field_or_no_timestamp_find_nothing() {
        let carrying = [row(r#"{"id":"a","start_time":"2026-11-20T10:00:00Z"}"#)];
        assert_eq!(carried_time_field(&carrying, "start_time"), None);
        let none = [row(r#"{"id":"a","started_at":"yesterday"}"#)];
        assert_eq!(carried_time_field(&none, "start_time"), None);
        assert_eq!(carried_time_field(&[], "start_time"), None);
    }
}
