//! The item of one detail record: its normalized fields and money, plus the row's raw
//! JSON text exactly as Telnyx sent it, gzipped; trimmed of the raw JSON when the item
//! would be too large for DynamoDB (by DynamoDB's own size rules).

use super::items::{self, Item};
use super::keys;
use crate::error::AwsError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use reconciliation::domain::{RawRecord, StoredDetailRecord};
use std::io::{Read, Write};

/// The attribute holding the gzipped raw Telnyx JSON.
pub const RAW_GZ: &str = "raw_gz";
/// Set (`true`) on a record stored without its raw JSON because the item was too large.
pub const RAW_TRIMMED: &str = "raw_trimmed";
/// On a trimmed record: the size in bytes of the raw JSON that was left out.
pub const RAW_JSON_BYTES: &str = "raw_json_bytes";
/// The largest item we write, by DynamoDB's size rules ([`item_size`]): well under
/// DynamoDB's 400 KB item limit, leaving room for the estimate's slack. Telnyx
/// records are a few KB.
pub const MAX_ITEM_BYTES: usize = 300 * 1024;

/// The item of one stored detail record: its fields, plus the row's JSON text exactly
/// as Telnyx sent it ([`reconciliation::domain::RawRecord`]), gzipped.
pub fn record_item(record: &StoredDetailRecord) -> Result<Item, AwsError> {
    let raw_json = record.record.raw.as_str().as_bytes();
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    let compressed = gz
        .write_all(raw_json)
        .and_then(|()| gz.finish())
        .map_err(|e| AwsError::Encode {
            what: format!("raw JSON of detail record {}", record.record.id),
            source: Box::new(e),
        })?;
    // A null raw is left out of the entity's attributes: the text lives in `raw_gz` only.
    let without_raw = record.without_raw();
    let key = keys::detail_record(&record.account, record.record_type(), &record.record.id);
    let index = index_of(record);
    let mut item = items::entity_item("detail_record", &without_raw, &key, Some(&index))?;
    item.insert(RAW_GZ.to_owned(), AttributeValue::B(Blob::new(compressed)));
    fit_item(item, raw_json.len(), &record.record.id)
}

/// Where a stored record sits in `gsi1`: its billing partition, by time.
pub fn index_of(record: &StoredDetailRecord) -> keys::IndexKey {
    keys::detail_record_index(
        &record.department,
        record.billing_customer.as_ref(),
        record.record.occurred_at,
        record.record_type(),
        &record.record.id,
    )
}

/// Keeps a detail record's item under [`MAX_ITEM_BYTES`]. An item over it would be
/// refused by DynamoDB (at 400 KB) and block its record type's watermark forever, so
/// its raw JSON is left out instead: the normalized fields and the money stay exact,
/// [`RAW_TRIMMED`] is set and [`RAW_JSON_BYTES`] says how much was left out (the
/// record can be read again from Telnyx by its id). Only an item still too large
/// without its raw JSON is an error.
fn fit_item(
    mut item: Item,
    raw_json_bytes: usize,
    id: &reconciliation::domain::DetailRecordId,
) -> Result<Item, AwsError> {
    let size = item_size(&item);
    if size <= MAX_ITEM_BYTES {
        return Ok(item);
    }
    item.remove(RAW_GZ);
    item.insert(RAW_TRIMMED.to_owned(), AttributeValue::Bool(true));
    item.insert(RAW_JSON_BYTES.to_owned(), items::n(raw_json_bytes));
    let trimmed = item_size(&item);
    if trimmed > MAX_ITEM_BYTES {
        return Err(AwsError::Encode {
            what: format!("detail record {id}"),
            source: format!(
                "the item is {trimmed} bytes even without its raw JSON, over the {MAX_ITEM_BYTES}-byte limit"
            )
            .into(),
        });
    }
    tracing::warn!(
        record_id = %id,
        item_bytes = size,
        raw_json_bytes,
        limit = MAX_ITEM_BYTES,
        "detail record too large: stored without its raw JSON"
    );
    Ok(item)
}

/// True for an item stored without its raw JSON ([`fit_item`]).
pub fn is_raw_trimmed(item: &Item) -> bool {
    matches!(item.get(RAW_TRIMMED), Some(AttributeValue::Bool(true)))
}

/// The size DynamoDB counts for an item (attribute names plus values, by its
/// documented rules), rounded up where the rules are approximate: a number counts
/// as its digit string plus one byte, which is never less than DynamoDB's count.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len() + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| n.len() + 1).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        // A list or map costs 3 bytes, plus 1 per element, plus its elements.
        AttributeValue::L(v) => 3 + v.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, e)| 1 + k.len() + value_size(e))
                .sum::<usize>()
        }
        // A type added to DynamoDB later: count it as large rather than free.
        _ => MAX_ITEM_BYTES,
    }
}

/// Reads a stored detail record back, its raw JSON text included (byte for byte what
/// was written; null when the record was stored trimmed).
pub fn record_from_item(mut item: Item) -> Result<StoredDetailRecord, AwsError> {
    let what = items::describe(&item);
    let raw = match item.remove(RAW_GZ) {
        Some(AttributeValue::B(blob)) => {
            let mut json = String::new();
            GzDecoder::new(blob.as_ref())
                .read_to_string(&mut json)
                .map_err(|e| AwsError::Decode {
                    what: what.clone(),
                    source: Box::new(e),
                })?;
            RawRecord::from_json(json).map_err(|e| AwsError::Decode {
                what: what.clone(),
                source: Box::new(e),
            })?
        }
        _ => RawRecord::null(),
    };
    // Items written before the raw text moved out kept a NULL `raw` inside `record`.
    if let Some(AttributeValue::M(fields)) = item.get_mut("record") {
        fields.remove("raw");
    }
    let mut record: StoredDetailRecord = items::from_item(item)?;
    record.record.raw = raw;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use reconciliation::domain::{
        CustomerId, DepartmentId, ManagedAccountId, MatchedBy, RecordType,
    };
    use reconciliation::fixtures::record;
    use std::collections::HashMap;

    /// `n` random alphanumeric characters: gzip cannot shrink them much.
    pub(crate) fn incompressible(n: usize) -> String {
        rand::rng()
            .sample_iter(&rand::distr::Alphanumeric)
            .take(n)
            .map(char::from)
            .collect()
    }

    fn stored(raw_text: &str) -> StoredDetailRecord {
        let mut detail = record(RecordType::Messaging, "msg-big").build();
        detail.raw =
            RawRecord::from_value(&serde_json::json!({ "uuid": "msg-big", "text": raw_text }));
        StoredDetailRecord {
            account: ManagedAccountId::new("acc-1"),
            department: DepartmentId::new("dept-parent"),
            billing_customer: Some(CustomerId::new("cust-reseller")),
            end_customer: None,
            service: None,
            matched_by: MatchedBy::Unmatched,
            record: detail,
        }
    }

    #[test]
    fn item_size_counts_names_and_values_by_dynamodb_rules() {
        let item: Item = HashMap::from([
            ("pk".to_owned(), items::s("abc")),
            ("n".to_owned(), items::n(12345)),
            ("b".to_owned(), AttributeValue::B(Blob::new(vec![0u8; 10]))),
            ("t".to_owned(), AttributeValue::Bool(true)),
            (
                "m".to_owned(),
                AttributeValue::M(HashMap::from([("k".to_owned(), items::s("vv"))])),
            ),
            ("l".to_owned(), AttributeValue::L(vec![items::s("x")])),
        ]);
        // pk 2+3, n 1+(5+1), b 1+10, t 1+1, m 1+(3+1+1+2), l 1+(3+1+1)
        assert_eq!(item_size(&item), 5 + 7 + 11 + 2 + 8 + 6);
    }

    #[test]
    fn a_record_within_the_limit_keeps_its_raw_json() {
        let r = stored(&incompressible(1000));
        let Ok(item) = record_item(&r) else {
            panic!("encodes")
        };
        assert!(item.contains_key(RAW_GZ));
        assert!(!is_raw_trimmed(&item));
        assert!(item_size(&item) <= MAX_ITEM_BYTES);
        let Ok(back) = record_from_item(item) else {
            panic!("decodes")
        };
        assert_eq!(back, r);
    }

    #[test]
    fn a_record_over_the_limit_is_kept_without_its_raw_json_and_with_its_money() {
        // ~600 KB of JSON that gzips to well over the limit.
        let r = stored(&incompressible(600 * 1024));
        let Ok(item) = record_item(&r) else {
            panic!("an oversize record is still stored, trimmed")
        };
        assert!(is_raw_trimmed(&item));
        assert!(!item.contains_key(RAW_GZ));
        assert!(item_size(&item) <= MAX_ITEM_BYTES);
        let raw_len = r.record.raw.as_str().len();
        assert_eq!(
            item.get(RAW_JSON_BYTES).and_then(|v| v.as_n().ok()),
            Some(&raw_len.to_string())
        );
        let Ok(back) = record_from_item(item) else {
            panic!("decodes")
        };
        assert_eq!(back.record.cost, r.record.cost);
        assert_eq!(back.record.billed_quantity, r.record.billed_quantity);
        assert_eq!(back.record.id, r.record.id);
        assert_eq!(back.record.occurred_at, r.record.occurred_at);
        assert_eq!(back.billing_customer, r.billing_customer);
        assert!(back.record.raw.is_null());
    }

    #[test]
    fn the_item_keeps_the_telnyx_text_byte_for_byte_and_reads_it_back() {
        let text = r#"{"record_type":"sim_card_usage","id":"w-1","data_cost":0.0125,"uplink_data":1E3,"z":1,"a":2}"#;
        let mut r = stored("");
        r.record.raw = RawRecord::from_json(text).unwrap();
        let item = record_item(&r).unwrap();

        let Some(AttributeValue::B(blob)) = item.get(RAW_GZ) else {
            panic!("no {RAW_GZ} attribute");
        };
        let mut unzipped = String::new();
        GzDecoder::new(blob.as_ref())
            .read_to_string(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, text);
        let Some(AttributeValue::M(fields)) = item.get("record") else {
            panic!("no record attribute");
        };
        assert!(!fields.contains_key("raw"), "the text is stored once");
        let back = record_from_item(item).unwrap();
        assert_eq!(back.record.raw.as_str(), text);
        assert_eq!(back, r);
    }

    #[test]
    fn an_item_with_a_null_raw_attribute_from_before_still_reads() {
        let text = r#"{"id":"w-1"}"#;
        let mut r = stored("");
        r.record.raw = RawRecord::from_json(text).unwrap();
        let mut item = record_item(&r).unwrap();
        if let Some(AttributeValue::M(fields)) = item.get_mut("record") {
            fields.insert("raw".to_owned(), AttributeValue::Null(true));
        }
        let back = record_from_item(item).unwrap();
        assert_eq!(back.record.raw.as_str(), text);
    }
}
