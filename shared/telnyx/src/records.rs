//! Detail-record pages: JSON bytes → normalized [`DetailRecord`]s, each keeping its
//! row's verbatim text.
//!
//! A page is parsed once into its rows as [`RawValue`]s borrowed from the body (the
//! row's exact text, which becomes [`DetailRecord::raw`] with a single copy); the fields
//! the product uses are then read from the borrowed row: each wanted field as its own
//! raw JSON slice, every other field skipped without being built. Money is parsed from
//! the digits Telnyx sent, never via `f64`.
//!
//! Field rules (first present, non-empty wins):
//!
//! | `DetailRecord` field | read from |
//! |---|---|
//! | `id` | `id`, `uuid`, `conversation_id`, `telnyx_leg_id`; then `call_leg_id`, `telnyx_session_id`, `call_session_id`, each suffixed with `@<occurred_at>` |
//! | `occurred_at` | the queried type's [`RecordType::time_field`], or the field found at run time (required) |
//! | `connection_id` | `connection_id` (string or number) |
//! | `billing_group_id` | `billing_group_id`, verbatim (a uuid or a number like `60`) |
//! | `cli` / `cld` | `cli`, `originating_number` / `cld`, `destination_number`, `destination_phone_number` |
//! | `direction` | `direction`, then `leg_direction` (`inbound`/`outbound`/`incoming`/`outgoing`, any case) |
//! | `cost` | the type's [`RecordType::cost_field`]: `data_cost` (wireless), `verify_usage_fee` (verify), else `cost` — the field the audit asks the usage report for |
//! | `rate` | `rate`, `data_rate` (wireless) |
//! | `billed_quantity` | `billed_sec`, `parts`, `number_of_characters`, `duration_sec`, `call_sec`, else `uplink_data + downlink_data` |
//! | `sessions` | `telnyx_session_id`, `call_session_id`, `telnyx_leg_id`, `call_leg_id` (each present one, once) |
//! | `raw` | the whole row, byte for byte |
//!
//! Fallback ids: an AI assistant conversation and a call leg carry one record each per
//! type, so `conversation_id` and `telnyx_leg_id` are record ids; a leg or session id of
//! an AI or media event (`call_leg_id`, …) can carry several events, so the event's time
//! is appended to keep them apart while staying deterministic across runs.

use crate::error::TelnyxError;
use crate::flex;
use reconciliation::domain::{
    ConnectionId, CostField, DetailRecord, DetailRecordId, Direction, RawRecord, RecordType,
};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The endpoint detail records come from.
pub const DETAIL_RECORDS: &str = "/detail_records";

/// Telnyx's pagination block (`meta`). Every field is optional: a page without it is
/// walked by its row count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct PageMeta {
    pub page_number: Option<u32>,
    pub page_size: Option<u32>,
    pub total_pages: Option<u32>,
    pub total_results: Option<u64>,
}

/// One parsed page of detail records.
#[derive(Debug, Clone, PartialEq)]
pub struct DetailPage {
    /// In the order Telnyx sent them (newest first on the live API; never relied upon).
    pub records: Vec<DetailRecord>,
    pub meta: Option<PageMeta>,
}

/// A page with its rows still as borrowed JSON text.
#[derive(Deserialize)]
struct WirePage<'a> {
    #[serde(borrow)]
    data: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    meta: Option<PageMeta>,
}

/// Parses one `/detail_records` response body for `record_type` (the type queried).
///
/// Errors: [`TelnyxError::MalformedBody`] when the body is not a JSON page, and
/// [`TelnyxError::MalformedRecord`] naming the row's field when a row has no usable id
/// or time or has unreadable money.
pub fn parse_detail_page(
    body: &[u8],
    record_type: RecordType,
    page: u32,
) -> Result<DetailPage, TelnyxError> {
    parse_detail_page_by(body, record_type, record_type.time_field(), page)
}

/// The rows of one `/detail_records` page as they came, unparsed (to see which fields a
/// type's rows carry).
pub fn parse_raw_rows(body: &[u8], page: u32) -> Result<Vec<RawRecord>, TelnyxError> {
    let (rows, _) = wire_rows(body, page)?;
    Ok(rows.into_iter().map(RawRecord::from_raw).collect())
}

/// A page's rows, borrowed from the body, and its `meta`.
fn wire_rows(body: &[u8], page: u32) -> Result<(Vec<&RawValue>, Option<PageMeta>), TelnyxError> {
    let text =
        std::str::from_utf8(body).map_err(|e| TelnyxError::from_utf8(DETAIL_RECORDS, page, e))?;
    let wire: WirePage<'_> =
        serde_json::from_str(text).map_err(|e| TelnyxError::from_json(DETAIL_RECORDS, page, e))?;
    let rows = wire
        .data
        .ok_or_else(|| TelnyxError::no_data(DETAIL_RECORDS, page))?;
    Ok((rows, wire.meta))
}

/// [`parse_detail_page`] with the records' time read from `time_field` (a field found
/// at run time when the type's own one returned nothing).
pub fn parse_detail_page_by(
    body: &[u8],
    record_type: RecordType,
    time_field: &'static str,
    page: u32,
) -> Result<DetailPage, TelnyxError> {
    let (rows, meta) = wire_rows(body, page)?;
    let records = rows
        .into_iter()
        .map(|row| parse_detail_record_by(row, record_type, time_field, page))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DetailPage { records, meta })
}

/// Parses one detail-record row (a JSON object) of the queried `record_type`; the
/// record's `raw` is the row's text, unchanged.
pub fn parse_detail_record(
    row: &RawValue,
    record_type: RecordType,
    page: u32,
) -> Result<DetailRecord, TelnyxError> {
    parse_detail_record_by(row, record_type, record_type.time_field(), page)
}

/// [`parse_detail_record`] with the time read from `time_field`.
pub fn parse_detail_record_by(
    row: &RawValue,
    record_type: RecordType,
    time_field: &'static str,
    page: u32,
) -> Result<DetailRecord, TelnyxError> {
    let mut de = serde_json::Deserializer::from_str(row.get());
    let fields = RowSeed { time_field }
        .deserialize(&mut de)
        .and_then(|fields| de.end().map(|()| fields))
        .map_err(|e| TelnyxError::MalformedRecord {
            endpoint: DETAIL_RECORDS,
            page,
            record_type,
            field: "<row>",
            detail: "not a JSON object".to_owned(),
            source: Some(e),
        })?;
    build_record(
        &fields,
        RawRecord::from_raw(row),
        record_type,
        time_field,
        page,
    )
}

/// Reads the fields of one row, naming the field in any error.
struct FieldReader {
    page: u32,
    record_type: RecordType,
    time_field: &'static str,
}

impl FieldReader {
    fn bad(&self, field: &'static str, detail: String) -> TelnyxError {
        TelnyxError::MalformedRecord {
            endpoint: DETAIL_RECORDS,
            page: self.page,
            record_type: self.record_type,
            field,
            detail,
            source: None,
        }
    }

    fn text(
        &self,
        field: &'static str,
        raw: Option<&RawValue>,
    ) -> Result<Option<String>, TelnyxError> {
        flex::text(raw)
            .map(|t| t.map(Cow::into_owned))
            .map_err(|e| self.bad(field, e))
    }

    fn decimal(
        &self,
        field: &'static str,
        raw: Option<&RawValue>,
    ) -> Result<Option<Decimal>, TelnyxError> {
        flex::decimal(raw).map_err(|e| self.bad(field, e))
    }

    /// The first of `candidates` that holds a number.
    fn first_decimal(
        &self,
        candidates: &[(&'static str, Option<&RawValue>)],
    ) -> Result<Option<Decimal>, TelnyxError> {
        for (field, raw) in candidates {
            if let Some(d) = self.decimal(field, *raw)? {
                return Ok(Some(d));
            }
        }
        Ok(None)
    }

    /// The first of `candidates` that holds text.
    fn first_text(
        &self,
        candidates: &[(&'static str, Option<&RawValue>)],
    ) -> Result<Option<String>, TelnyxError> {
        for (field, raw) in candidates {
            if let Some(t) = self.text(field, *raw)? {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// The value of the type's time field.
    fn occurred_at(
        &self,
        fields: &RowFields<'_>,
    ) -> Result<chrono::DateTime<chrono::Utc>, TelnyxError> {
        let time_field = self.time_field;
        let time_text = flex::text(fields.time)
            .map_err(|e| self.bad(time_field, e))?
            .ok_or_else(|| self.bad(time_field, "missing or empty".to_owned()))?;
        flex::parse_time(&time_text)
            .ok_or_else(|| self.bad(time_field, format!("{time_text:?} is not a timestamp")))
    }

    /// Billed seconds, parts, characters, seconds, else wireless bytes up + down.
    fn billed_quantity(&self, fields: &RowFields<'_>) -> Result<Option<Decimal>, TelnyxError> {
        let first = self.first_decimal(&[
            ("billed_sec", fields.billed_sec),
            ("parts", fields.parts),
            ("number_of_characters", fields.number_of_characters),
            ("duration_sec", fields.duration_sec),
            ("call_sec", fields.call_sec),
        ])?;
        if first.is_some() {
            return Ok(first);
        }
        let up = self.decimal("uplink_data", fields.uplink_data)?;
        let down = self.decimal("downlink_data", fields.downlink_data)?;
        Ok(match (up, down) {
            (None, None) => None,
            (u, d) => u.unwrap_or_default().checked_add(d.unwrap_or_default()),
        })
    }
}

/// Normalizes one row from the fields picked out of it.
fn build_record(
    fields: &RowFields<'_>,
    raw: RawRecord,
    record_type: RecordType,
    time_field: &'static str,
    page: u32,
) -> Result<DetailRecord, TelnyxError> {
    let r = FieldReader {
        page,
        record_type,
        time_field,
    };
    let mut sessions = Vec::new();
    for (field, raw) in [
        ("telnyx_session_id", fields.telnyx_session_id),
        ("call_session_id", fields.call_session_id),
        ("telnyx_leg_id", fields.telnyx_leg_id),
        ("call_leg_id", fields.call_leg_id),
    ] {
        if let Some(id) = r.text(field, raw)? {
            if !sessions.contains(&id) {
                sessions.push(id);
            }
        }
    }
    let occurred_at = r.occurred_at(fields)?;
    let id = record_id(fields, occurred_at).map_err(|e| r.bad("id", e))?;
    let direction = r
        .first_text(&[
            ("direction", fields.direction),
            ("leg_direction", fields.leg_direction),
        ])?
        .and_then(|d| parse_direction(&d));
    Ok(DetailRecord {
        record_type,
        id,
        occurred_at,
        connection_id: r
            .text("connection_id", fields.connection_id)?
            .map(ConnectionId::new),
        billing_group_id: r.text("billing_group_id", fields.billing_group_id)?,
        cli: r.first_text(&[
            ("cli", fields.cli),
            ("originating_number", fields.originating_number),
        ])?,
        cld: r.first_text(&[
            ("cld", fields.cld),
            ("destination_number", fields.destination_number),
            ("destination_phone_number", fields.destination_phone_number),
        ])?,
        direction,
        cost: {
            let raw = match record_type.cost() {
                CostField::DataCost => fields.data_cost,
                CostField::VerifyUsageFee => fields.verify_usage_fee,
                CostField::Cost => fields.cost,
            };
            r.decimal(record_type.cost_field(), raw)?
        },
        rate: r.first_decimal(&[("rate", fields.rate), ("data_rate", fields.data_rate)])?,
        currency: r.text("currency", fields.currency)?,
        billed_quantity: r.billed_quantity(fields)?,
        sessions,
        raw,
    })
}

fn record_id(
    fields: &RowFields<'_>,
    occurred_at: chrono::DateTime<chrono::Utc>,
) -> Result<DetailRecordId, String> {
    for raw in [
        fields.id,
        fields.uuid,
        fields.conversation_id,
        fields.telnyx_leg_id,
    ] {
        if let Some(id) = flex::text(raw)? {
            return Ok(DetailRecordId::new(id.into_owned()));
        }
    }
    for raw in [
        fields.call_leg_id,
        fields.telnyx_session_id,
        fields.call_session_id,
    ] {
        if let Some(id) = flex::text(raw)? {
            let at = occurred_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            return Ok(DetailRecordId::new(format!("{id}@{at}")));
        }
    }
    Err(
        "none of id, uuid, conversation_id, telnyx_leg_id, call_leg_id, telnyx_session_id, call_session_id"
            .to_owned(),
    )
}

fn parse_direction(text: &str) -> Option<Direction> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("inbound") || t.eq_ignore_ascii_case("incoming") {
        Some(Direction::Inbound)
    } else if t.eq_ignore_ascii_case("outbound") || t.eq_ignore_ascii_case("outgoing") {
        Some(Direction::Outbound)
    } else {
        None
    }
}

/// The fields of one row the product reads, as raw JSON slices of the row.
#[derive(Default)]
struct RowFields<'a> {
    time: Option<&'a RawValue>,
    id: Option<&'a RawValue>,
    uuid: Option<&'a RawValue>,
    conversation_id: Option<&'a RawValue>,
    telnyx_leg_id: Option<&'a RawValue>,
    call_leg_id: Option<&'a RawValue>,
    telnyx_session_id: Option<&'a RawValue>,
    call_session_id: Option<&'a RawValue>,
    connection_id: Option<&'a RawValue>,
    billing_group_id: Option<&'a RawValue>,
    cli: Option<&'a RawValue>,
    originating_number: Option<&'a RawValue>,
    cld: Option<&'a RawValue>,
    destination_number: Option<&'a RawValue>,
    destination_phone_number: Option<&'a RawValue>,
    direction: Option<&'a RawValue>,
    leg_direction: Option<&'a RawValue>,
    cost: Option<&'a RawValue>,
    data_cost: Option<&'a RawValue>,
    verify_usage_fee: Option<&'a RawValue>,
    rate: Option<&'a RawValue>,
    data_rate: Option<&'a RawValue>,
    currency: Option<&'a RawValue>,
    billed_sec: Option<&'a RawValue>,
    parts: Option<&'a RawValue>,
    number_of_characters: Option<&'a RawValue>,
    duration_sec: Option<&'a RawValue>,
    call_sec: Option<&'a RawValue>,
    uplink_data: Option<&'a RawValue>,
    downlink_data: Option<&'a RawValue>,
}

impl<'a> RowFields<'a> {
    /// The slot of a field the product reads (the queried type's time field is
    /// matched separately, since it differs per type).
    fn slot(&mut self, key: &str) -> Option<&mut Option<&'a RawValue>> {
        Some(match key {
            "id" => &mut self.id,
            "uuid" => &mut self.uuid,
            "conversation_id" => &mut self.conversation_id,
            "telnyx_leg_id" => &mut self.telnyx_leg_id,
            "call_leg_id" => &mut self.call_leg_id,
            "telnyx_session_id" => &mut self.telnyx_session_id,
            "call_session_id" => &mut self.call_session_id,
            "connection_id" => &mut self.connection_id,
            "billing_group_id" => &mut self.billing_group_id,
            "cli" => &mut self.cli,
            "originating_number" => &mut self.originating_number,
            "cld" => &mut self.cld,
            "destination_number" => &mut self.destination_number,
            "destination_phone_number" => &mut self.destination_phone_number,
            "direction" => &mut self.direction,
            "leg_direction" => &mut self.leg_direction,
            "cost" => &mut self.cost,
            "data_cost" => &mut self.data_cost,
            "verify_usage_fee" => &mut self.verify_usage_fee,
            "rate" => &mut self.rate,
            "data_rate" => &mut self.data_rate,
            "currency" => &mut self.currency,
            "billed_sec" => &mut self.billed_sec,
            "parts" => &mut self.parts,
            "number_of_characters" => &mut self.number_of_characters,
            "duration_sec" => &mut self.duration_sec,
            "call_sec" => &mut self.call_sec,
            "uplink_data" => &mut self.uplink_data,
            "downlink_data" => &mut self.downlink_data,
            _ => return None,
        })
    }
}

/// Reads one row object into [`RowFields`], borrowing every wanted value from the row
/// text and skipping the rest. A field sent twice keeps its last value.
struct RowSeed {
    time_field: &'static str,
}

impl<'de> DeserializeSeed<'de> for RowSeed {
    type Value = RowFields<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed {
    type Value = RowFields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a detail record object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = RowFields::default();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key == self.time_field {
                fields.time = Some(map.next_value::<&'de RawValue>()?);
            } else if let Some(slot) = fields.slot(&key) {
                *slot = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(fields)
    }
}

/// A map key, borrowed from the row unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn page(rows: &str) -> String {
        format!(
            r#"{{"data":[{rows}],"meta":{{"page_number":1,"page_size":50,"total_pages":1,"total_results":1}}}}"#
        )
    }

    fn one(record_type: RecordType, row: &str) -> Result<DetailRecord, TelnyxError> {
        parse_detail_page(page(row).as_bytes(), record_type, 1).map(|p| {
            assert_eq!(p.records.len(), 1);
            p.records.into_iter().next().unwrap()
        })
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn tts_cost_in_scientific_notation_is_exact() {
        let r = one(
            RecordType::Tts,
            r#"{"call_leg_id":"leg-1","created_at":"2026-01-01T00:00:00Z","cost":"1.666E-4","number_of_characters":120,"currency":"USD"}"#,
        )
        .unwrap();
        assert_eq!(r.cost, Some(dec("0.0001666")));
        assert_eq!(r.billed_quantity, Some(dec("120")));
    }

    #[test]
    fn webrtc_numeric_ids_become_strings_verbatim() {
        let r = one(
            RecordType::Webrtc,
            r#"{"id":"leg-7","started_at":"2026-01-01T00:00:00Z","connection_id":1293384261075731499,"billing_group_id":60,"country_code":1,"cost":0.0035,"rate":"0.0035","billed_sec":"60"}"#,
        )
        .unwrap();
        assert_eq!(
            r.connection_id.as_ref().map(|c| c.as_str()),
            Some("1293384261075731499")
        );
        assert_eq!(r.billing_group_id.as_deref(), Some("60"));
        assert_eq!(r.cost, Some(dec("0.0035")));
        assert_eq!(r.billed_quantity, Some(dec("60")));
        assert_eq!(r.raw.field("country_code"), Some("1"));
    }

    #[test]
    fn messaging_is_keyed_by_uuid_and_reads_direction_in_any_case() {
        let r = one(
            RecordType::Messaging,
            r#"{"uuid":"m-1","created_at":"2026-01-01T00:00:00+00:00","direction":"OUTBOUND","parts":2,"cli":"+13125550100","cld":"+13125550101","cost":"0.004","carrier_fee":"0.0025"}"#,
        )
        .unwrap();
        assert_eq!(r.id.as_str(), "m-1");
        assert_eq!(r.direction, Some(Direction::Outbound));
        assert_eq!(r.billed_quantity, Some(dec("2")));
        assert_eq!(r.cli.as_deref(), Some("+13125550100"));
    }

    #[test]
    fn hidden_pricing_gives_no_cost_and_no_rate() {
        let r = one(
            RecordType::SipTrunking,
            r#"{"id":"a","started_at":"2026-01-01T00:00:00Z","cost":"","rate":null,"billed_sec":30,"connected":1}"#,
        )
        .unwrap();
        assert_eq!(r.cost, None);
        assert_eq!(r.rate, None);
        assert_eq!(r.currency, None);
        assert_eq!(r.billed_quantity, Some(dec("30")));
    }

    #[test]
    fn occurred_at_comes_from_the_queried_types_time_field() {
        let row = r#"{"id":"p-1","created_at":"2026-01-01T00:00:00Z","joined_at":"2026-02-02T10:00:00Z"}"#;
        let r = one(RecordType::ConferenceParticipant, row).unwrap();
        assert_eq!(r.occurred_at.to_rfc3339(), "2026-02-02T10:00:00+00:00");
        assert_eq!(r.record_type, RecordType::ConferenceParticipant);
    }

    #[test]
    fn a_row_without_its_time_field_is_an_error_naming_endpoint_page_type_and_field() {
        let body = page(r#"{"id":"x","created_at":"2026-01-01T00:00:00Z"}"#);
        let err = parse_detail_page(body.as_bytes(), RecordType::Stt, 4).unwrap_err();
        let text = err.to_string();
        assert!(matches!(
            err,
            TelnyxError::MalformedRecord {
                field: "start_time",
                page: 4,
                ..
            }
        ));
        assert!(
            text.contains("/detail_records") && text.contains("page 4"),
            "{text}"
        );
        assert!(
            text.contains("stt") && text.contains("start_time"),
            "{text}"
        );
    }

    #[test]
    fn a_row_that_is_not_an_object_keeps_the_json_error_as_its_source() {
        let err = one(RecordType::Fax, r#"["id","x"]"#).unwrap_err();
        assert!(
            matches!(
                &err,
                TelnyxError::MalformedRecord {
                    field: "<row>",
                    source: Some(_),
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("not a JSON object"), "{err}");
        let source = std::error::Error::source(&err).unwrap();
        assert!(source.to_string().contains("invalid type"), "{source}");
    }

    #[test]
    fn an_unparsable_time_is_an_error_too() {
        let err = one(RecordType::SipTrunking, r#"{"id":"x","started_at":"soon"}"#).unwrap_err();
        assert!(matches!(
            err,
            TelnyxError::MalformedRecord {
                field: "started_at",
                ..
            }
        ));
    }

    #[test]
    fn leg_only_records_fall_back_to_leg_then_session_ids() {
        let cc = one(
            RecordType::CallControl,
            r#"{"telnyx_leg_id":"leg-9","telnyx_session_id":"s-1","started_at":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(cc.id.as_str(), "leg-9");
        let rec = one(
            RecordType::Recording,
            r#"{"telnyx_session_id":"s-2","started_at":"2026-01-01T00:00:05Z"}"#,
        )
        .unwrap();
        assert_eq!(rec.id.as_str(), "s-2@2026-01-01T00:00:05Z");
        let missing = one(
            RecordType::Recording,
            r#"{"started_at":"2026-01-01T00:00:05Z"}"#,
        );
        assert!(matches!(
            missing,
            Err(TelnyxError::MalformedRecord { field: "id", .. })
        ));
    }

    #[test]
    fn wireless_reads_number_cost_and_string_rate_and_sums_data() {
        let r = one(
            RecordType::Wireless,
            r#"{"id":"w","created_at":"2026-01-01T00:00:00Z","data_cost":0.0125,"data_rate":"0.25","uplink_data":1.5,"downlink_data":"2.25"}"#,
        )
        .unwrap();
        assert_eq!(r.cost, Some(dec("0.0125")));
        assert_eq!(r.rate, Some(dec("0.25")));
        assert_eq!(r.billed_quantity, Some(dec("3.75")));
    }

    #[test]
    fn unreadable_money_is_an_error_not_a_zero() {
        let err = one(
            RecordType::Amd,
            r#"{"id":"a","invoked_at":"2026-01-01T00:00:00Z","cost":"abc"}"#,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            TelnyxError::MalformedRecord { field: "cost", .. }
        ));
    }

    #[test]
    fn a_body_that_is_not_a_json_page_is_malformed_and_permanent() {
        let bad = parse_detail_page(b"<html>oops</html>", RecordType::Fax, 2).unwrap_err();
        assert!(matches!(bad, TelnyxError::MalformedBody { page: 2, .. }));
        assert!(!bad.is_transient());
        let half = parse_detail_page(br#"{"data":[{"id":"a","#, RecordType::Fax, 3).unwrap_err();
        assert!(matches!(half, TelnyxError::MalformedBody { page: 3, .. }));
        let no_data = parse_detail_page(br#"{"meta":{}}"#, RecordType::Fax, 1).unwrap_err();
        assert!(matches!(no_data, TelnyxError::MalformedBody { .. }));
    }

    #[test]
    fn raw_keeps_the_whole_row() {
        let r = one(
            RecordType::Verify,
            r#"{"id":"v","created_at":"2026-01-01T00:00:00Z","verify_usage_fee":"0.05","delivery_status":"pending","destination_phone_number":"+15551234567"}"#,
        )
        .unwrap();
        assert_eq!(r.raw.field("delivery_status"), Some(r#""pending""#));
        assert_eq!(r.cost, Some(dec("0.05")));
        assert_eq!(r.cld.as_deref(), Some("+15551234567"));
    }

    #[test]
    fn raw_is_the_row_text_byte_for_byte_numbers_order_and_spacing_included() {
        // Keys out of alphabetical order, a JSON-number cost an f64 would respell, a
        // 20-digit integer, an escaped string and spaces inside the row.
        let rows = [
            r#"{"record_type":"sim_card_usage","id":"w-1","created_at":"2026-01-01T00:00:00Z","data_cost":0.0125,"data_rate":"0.0045","uplink_data":1E3,"downlink_data":10.50}"#,
            r#"{ "id" : "w-2", "created_at":"2026-01-01T00:00:01Z", "data_cost": 0.10000000000000000001, "imsi": 310260000000000000001, "note":"a\"b\u00e9" }"#,
        ];
        let body = format!(r#"{{"data":[{}, {}],"meta":{{}}}}"#, rows[0], rows[1]);
        let page = parse_detail_page(body.as_bytes(), RecordType::Wireless, 1).unwrap();

        assert_eq!(page.records[0].raw.as_str(), rows[0]);
        assert_eq!(page.records[1].raw.as_str(), rows[1]);
        assert_eq!(page.records[0].cost, Some(dec("0.0125")));
        assert_eq!(page.records[0].billed_quantity, Some(dec("1010.50")));
        assert_eq!(page.records[1].cost, Some(dec("0.10000000000000000001")));
    }
}
