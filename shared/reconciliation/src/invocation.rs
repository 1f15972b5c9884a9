//! What starts a sync: one type, [`SyncRequest`], for both the SQS message body and the
//! manual invoke payload, with its constructors, defaults and validation.
//!
//! Two ways in, two policies:
//! - a **manual invoke** ([`SyncRequest::from_invoke`]) is strict: a field the type does
//!   not have is rejected by name (``unknown field `dryrun` ``), a malformed value names
//!   its field (`backfill_from: …`), and the error lists the fields the type has — the
//!   list is read from the type itself, so a new field can never be missing from it;
//! - an **SQS body** ([`SyncRequest::from_queue_body`]) accepts fields it does not know
//!   (they are reported, then ignored), so the scheduler can be deployed ahead of
//!   account-sync.
//!
//! Adding a field: declare it here with `#[serde(default)]` (and check it in
//! [`SyncRequest::validate`] if it can be wrong), then use it in the sync job.

use crate::domain::{ManagedAccountId, RecordType, TimeWindow};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::fmt;

/// A request to sync one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SyncRequest {
    /// The managed account to sync.
    pub managed_account_id: ManagedAccountId,
    /// Re-read detail records from this instant instead of the watermark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill_from: Option<DateTime<Utc>>,
    /// Upper bound of a backfill (defaults to now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill_to: Option<DateTime<Utc>>,
    /// Print the plan, write nothing.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dry_run: bool,
    /// Only these detail-record types (by `filter[record_type]` name); all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_types: Option<Vec<RecordType>>,
    /// How many runs carried this sync on before this one (0: not a continuation).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub continuation: u32,
    /// What the scheduler's usage report said of this account (which types to skip).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageHint>,
}

/// Which record types Telnyx's usage report showed records for, for one account in one
/// window (the scheduler asks once for every account with the manager key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct UsageHint {
    pub window: TimeWindow,
    /// The types the report was read for (a type whose report failed, or that has no
    /// product, is not here).
    #[serde(default)]
    pub shown: Vec<RecordType>,
    /// Of those, the types whose count metric is confirmed: only their report of no
    /// usage proves the type empty.
    pub checked: Vec<RecordType>,
    /// Of `shown` (and `checked`), those with usage in the window.
    pub with_usage: Vec<RecordType>,
}

impl UsageHint {
    /// True when the hint speaks for `record_type` over `window`.
    pub fn covers(&self, record_type: RecordType, window: &TimeWindow) -> bool {
        self.window.from <= window.from
            && (self.shown.contains(&record_type) || self.checked.contains(&record_type))
    }

    /// True when the hint proves `record_type` has no record in `window`.
    pub fn shows_nothing(&self, record_type: RecordType, window: &TimeWindow) -> bool {
        self.window.from <= window.from
            && self.checked.contains(&record_type)
            && !self.with_usage.contains(&record_type)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Why an invocation payload is not a sync request. Nothing was done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason} (a sync request has the fields {})", field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default(), SyncRequest::fields().join(", "))]
pub struct InvalidInvocation {
    /// The field at fault, when there is one (`backfill_from`, `record_types[2]`…).
    pub field: Option<String>,
    /// What is wrong with it.
    pub reason: String,
}

impl InvalidInvocation {
    fn new(field: Option<String>, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// A queue message body as read: the request, and the fields this version ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRequest {
    pub request: SyncRequest,
    /// Fields the body carries that this version does not know (a newer sender).
    pub ignored_fields: Vec<String>,
}

impl SyncRequest {
    /// A regular sync of `account` (what the scheduler queues).
    pub fn for_account(account: impl Into<ManagedAccountId>) -> Self {
        Self {
            managed_account_id: account.into(),
            backfill_from: None,
            backfill_to: None,
            dry_run: false,
            record_types: None,
            continuation: 0,
            usage: None,
        }
    }

    /// Only these record types.
    pub fn with_record_types(mut self, types: Vec<RecordType>) -> Self {
        self.record_types = Some(types);
        self
    }

    /// Whether this request covers `record_type`.
    pub fn covers(&self, record_type: RecordType) -> bool {
        self.record_types
            .as_ref()
            .is_none_or(|types| types.contains(&record_type))
    }

    /// The request that carries this one on after a run stopped for its deadline: the
    /// same window (a backfill's end fixed at `backfill_to`), the types still to do.
    pub fn continued(
        &self,
        backfill_to: Option<DateTime<Utc>>,
        remaining: Vec<RecordType>,
    ) -> Self {
        Self {
            managed_account_id: self.managed_account_id.clone(),
            backfill_from: self.backfill_from,
            backfill_to: self.backfill_from.and(backfill_to.or(self.backfill_to)),
            dry_run: false,
            record_types: Some(remaining),
            continuation: self.continuation + 1,
            usage: None,
        }
    }

    /// Re-reads detail records of `[from, to)` (`to` `None`: until now).
    pub fn with_backfill(mut self, from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Self {
        self.backfill_from = Some(from);
        self.backfill_to = to;
        self
    }

    /// Plans and reports, writes nothing.
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    /// The fields of a sync request, read from the type's own `Deserialize`.
    pub fn fields() -> &'static [&'static str] {
        struct_fields::<SyncRequest>()
    }

    /// A manual invoke payload: unknown fields rejected by name, malformed values named.
    pub fn from_invoke(payload: serde_json::Value) -> Result<Self, InvalidInvocation> {
        let (request, ignored) = parse(payload)?;
        if let Some(field) = ignored.into_iter().next() {
            return Err(InvalidInvocation::new(
                None,
                format!("unknown field `{field}`"),
            ));
        }
        Ok(request)
    }

    /// An SQS message body: unknown fields are returned, not rejected.
    pub fn from_queue_body(body: &str) -> Result<QueuedRequest, InvalidInvocation> {
        let payload: serde_json::Value = serde_json::from_str(body)
            .map_err(|e| InvalidInvocation::new(None, format!("not JSON: {e}")))?;
        let (request, ignored_fields) = parse(payload)?;
        Ok(QueuedRequest {
            request,
            ignored_fields,
        })
    }

    /// Checks what the types alone cannot: a backfill window that starts before `now`
    /// and is not empty, a record-type list that names some type, once each.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), InvalidInvocation> {
        if let Some(types) = &self.record_types {
            if types.is_empty() {
                return Err(InvalidInvocation::new(
                    Some("record_types".into()),
                    "names no record type (leave it out for all of them)",
                ));
            }
            if let Some(t) = types
                .iter()
                .find(|t| types.iter().filter(|u| u == t).count() > 1)
            {
                return Err(InvalidInvocation::new(
                    Some("record_types".into()),
                    format!("names {t} twice"),
                ));
            }
        }
        match (self.backfill_from, self.backfill_to) {
            (None, Some(_)) => Err(InvalidInvocation::new(
                Some("backfill_to".into()),
                "set without backfill_from",
            )),
            // Telnyx holds no record of the future: such a window could only cost
            // requests and a failed run log.
            (Some(from), _) if from >= now => Err(InvalidInvocation::new(
                Some("backfill_from".into()),
                format!(
                    "{from} lies in the future (now is {now}): there is nothing to backfill yet"
                ),
            )),
            (Some(from), to) if from >= to.unwrap_or(now) => Err(InvalidInvocation::new(
                Some("backfill_from".into()),
                format!(
                    "the backfill window is empty: {from} is not before {}",
                    to.map_or_else(|| format!("now ({now})"), |t| t.to_string())
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// Deserializes a request, collecting the fields it ignored; errors name their field.
fn parse(payload: serde_json::Value) -> Result<(SyncRequest, Vec<String>), InvalidInvocation> {
    if !payload.is_object() {
        return Err(InvalidInvocation::new(None, "expected a JSON object"));
    }
    let mut ignored = Vec::new();
    let mut record = |path: serde_ignored::Path<'_>| ignored.push(path.to_string());
    let tracked = serde_ignored::Deserializer::new(payload, &mut record);
    let request = serde_path_to_error::deserialize(tracked).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        InvalidInvocation::new(field, e.into_inner().to_string())
    })?;
    Ok((request, ignored))
}

/// The field names a derived `Deserialize` of a struct expects, captured by asking it
/// to deserialize from a deserializer that only records them.
fn struct_fields<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Capture<'a>(&'a mut &'static [&'static str]);

    #[derive(Debug)]
    struct Captured;
    impl fmt::Display for Captured {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("fields captured")
        }
    }
    impl std::error::Error for Captured {}
    impl de::Error for Captured {
        fn custom<M: fmt::Display>(_: M) -> Self {
            Captured
        }
    }

    impl<'de> Deserializer<'de> for Capture<'_> {
        type Error = Captured;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Captured> {
            Err(Captured)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Captured> {
            *self.0 = fields;
            Err(Captured)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
            enum identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _always_captured = T::deserialize(Capture(&mut fields));
    fields
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn the_sample_manual_payloads_are_valid_sync_requests() {
        let backfill: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/account-sync-backfill.json"))
                .unwrap();
        let request = SyncRequest::from_invoke(backfill).unwrap();
        assert_eq!(
            request.record_types,
            Some(vec![RecordType::SipTrunking, RecordType::Messaging])
        );
        let dry_run: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/account-sync-manual.json")).unwrap();
        assert!(SyncRequest::from_invoke(dry_run).unwrap().dry_run);
    }

    #[test]
    fn the_fields_are_read_from_the_type() {
        assert_eq!(
            SyncRequest::fields(),
            [
                "managed_account_id",
                "backfill_from",
                "backfill_to",
                "dry_run",
                "record_types",
                "continuation",
                "usage"
            ]
        );
    }

    #[test]
    fn a_manual_invoke_with_an_unknown_field_is_rejected_by_name() {
        let err = SyncRequest::from_invoke(json!({"managed_account_id": "a", "dryrun": true}))
            .unwrap_err();
        assert_eq!(err.reason, "unknown field `dryrun`");
        assert!(
            err.to_string().contains(
                "(a sync request has the fields managed_account_id, backfill_from, backfill_to, dry_run, record_types, continuation, usage)"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_malformed_value_names_its_field() {
        let err = SyncRequest::from_invoke(
            json!({"managed_account_id": "a", "backfill_from": "yesterday"}),
        )
        .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("backfill_from"));
        let err = SyncRequest::from_invoke(json!({"dry_run": true})).unwrap_err();
        assert!(
            err.reason.contains("missing field `managed_account_id`"),
            "{err}"
        );
        let err = SyncRequest::from_invoke(json!(["a"])).unwrap_err();
        assert_eq!(err.reason, "expected a JSON object");
    }

    #[test]
    fn record_types_are_named_one_by_one_and_checked() {
        let ok = SyncRequest::from_invoke(
            json!({"managed_account_id": "a", "record_types": ["messaging", "media_storage"]}),
        )
        .unwrap();
        assert_eq!(
            ok.record_types,
            Some(vec![RecordType::Messaging, RecordType::MediaStorage])
        );
        assert!(ok.covers(RecordType::Messaging) && !ok.covers(RecordType::Fax));
        let err = SyncRequest::from_invoke(
            json!({"managed_account_id": "a", "record_types": ["messaging", "sms"]}),
        )
        .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("record_types[1]"));
        assert!(
            err.reason.contains("unknown detail record type \"sms\""),
            "{err}"
        );
        let now: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        let empty = SyncRequest::for_account("a").with_record_types(vec![]);
        assert_eq!(
            empty.validate(now).unwrap_err().field.as_deref(),
            Some("record_types")
        );
        let twice =
            SyncRequest::for_account("a").with_record_types(vec![RecordType::Fax, RecordType::Fax]);
        assert!(
            twice
                .validate(now)
                .unwrap_err()
                .reason
                .contains("fax twice")
        );
    }

    #[test]
    fn a_continuation_keeps_the_window_and_counts_the_chain() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let first = SyncRequest::for_account("a").with_backfill(t("2026-10-01T00:00:00Z"), None);
        let next = first.continued(Some(t("2026-11-23T12:00:00Z")), vec![RecordType::Tts]);
        assert_eq!(
            next.backfill_to,
            Some(t("2026-11-23T12:00:00Z")),
            "the end is fixed"
        );
        assert_eq!(next.record_types, Some(vec![RecordType::Tts]));
        assert_eq!(next.continuation, 1);
        let regular =
            SyncRequest::for_account("a").continued(Some(t("2026-11-23T12:00:00Z")), vec![]);
        assert_eq!(
            regular.backfill_to, None,
            "a regular sync has no backfill end"
        );
        let body = serde_json::to_string(&next).unwrap();
        assert_eq!(SyncRequest::from_queue_body(&body).unwrap().request, next);
    }

    #[test]
    fn a_queue_body_keeps_what_it_knows_and_reports_what_it_ignored() {
        let q = SyncRequest::from_queue_body(r#"{"managed_account_id":"a","added_later":{"x":1}}"#)
            .unwrap();
        assert_eq!(q.request, SyncRequest::for_account("a"));
        assert_eq!(q.ignored_fields, vec!["added_later"]);
        assert!(SyncRequest::from_queue_body("not json").is_err());
    }

    #[test]
    fn a_scheduled_request_serializes_as_just_its_account() {
        let body = serde_json::to_string(&SyncRequest::for_account("a")).unwrap();
        assert_eq!(body, r#"{"managed_account_id":"a"}"#);
    }

    #[test]
    fn an_empty_or_half_backfill_window_is_rejected() {
        let now: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let half = SyncRequest {
            backfill_to: Some(t("2026-11-20T00:00:00Z")),
            ..SyncRequest::for_account("a")
        };
        assert_eq!(
            half.validate(now).unwrap_err().field.as_deref(),
            Some("backfill_to")
        );
        let empty = SyncRequest::for_account("a")
            .with_backfill(t("2026-11-21T00:00:00Z"), Some(t("2026-11-21T00:00:00Z")));
        assert!(empty.validate(now).is_err());
        let future = SyncRequest::for_account("a").with_backfill(t("2026-11-24T00:00:00Z"), None);
        assert!(future.validate(now).unwrap_err().reason.contains("now"));
        let fine = SyncRequest::for_account("a").with_backfill(t("2026-11-20T00:00:00Z"), None);
        assert!(fine.validate(now).is_ok());
    }
}
