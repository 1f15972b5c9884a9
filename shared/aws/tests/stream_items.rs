//! Record streams on DynamoDB Local: one `STREAM#{type}` item per (account, record type),
//! and the one-time conversion of an account whose streams were kept in the four older
//! kinds of item (`WATERMARK#`, `REACH#`, `CURSOR#`, `TIMEFIELD#`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_adapters::store::DynamoStore;
use aws_adapters::store::items::{entity_item, n, s};
use aws_adapters::store::keys::{self, Key};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::*;
use reconciliation::domain::{ManagedAccountId, RecordType};
use reconciliation::ports::{Cursor, StreamState, StreamStore, TimeWindow};
use std::collections::HashMap;

fn at(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap() + Duration::hours(hours)
}

fn legacy_instant(
    account: &ManagedAccountId,
    sk: &str,
    t: RecordType,
    attribute: &str,
    at: DateTime<Utc>,
) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), s(keys::account_partition(account))),
        ("sk".to_owned(), s(sk)),
        ("entity".to_owned(), s(attribute)),
        ("record_type".to_owned(), s(t.filter_name())),
        (attribute.to_owned(), n(at.timestamp_micros())),
        (format!("{attribute}_at"), s(keys::sortable_time(at))),
    ])
}

/// Items as the store wrote them before 2026-12-06: fax with a watermark, a reach, a
/// found time field and a cursor; tts with only a watermark.
async fn put_legacy_items(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    account: &ManagedAccountId,
) -> Cursor {
    let window = TimeWindow {
        from: at(0),
        to: at(24),
    };
    let mut cursor = Cursor::start(Cursor::REGULAR, RecordType::Fax, window);
    cursor.done_until = at(6);
    cursor.slice_to = Some(at(12));
    cursor.next_page = 4;
    let cursor_key = Key {
        pk: keys::account_partition(account),
        sk: format!("CURSOR#{}#fax", Cursor::REGULAR),
    };
    let mut items = vec![
        legacy_instant(
            account,
            "WATERMARK#fax",
            RecordType::Fax,
            "watermark",
            at(0),
        ),
        legacy_instant(account, "REACH#fax", RecordType::Fax, "reach", at(24)),
        legacy_instant(
            account,
            "WATERMARK#tts",
            RecordType::Tts,
            "watermark",
            at(3),
        ),
        entity_item("cursor", &cursor, &cursor_key, None).unwrap(),
    ];
    items.push(HashMap::from([
        ("pk".to_owned(), s(keys::account_partition(account))),
        ("sk".to_owned(), s("TIMEFIELD#fax")),
        ("entity".to_owned(), s("time_field")),
        ("record_type".to_owned(), s("fax")),
        ("time_field".to_owned(), s("created_at")),
    ]));
    for item in items {
        client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    cursor
}

async fn sort_keys(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    account: &ManagedAccountId,
) -> Vec<String> {
    let out = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", s(keys::account_partition(account)))
        .send()
        .await
        .unwrap();
    out.items()
        .iter()
        .filter_map(|i| i.get("sk")?.as_s().ok().cloned())
        .collect()
}

#[tokio::test]
async fn an_account_kept_in_the_older_items_is_read_whole_and_converted_once() {
    let (client, table) = fresh_table().await;
    let store = DynamoStore::new(client.clone(), &table);
    let account = ManagedAccountId::new("acc-legacy");
    let cursor = put_legacy_items(&client, &table, &account).await;

    let mut read = store.streams(&account).await.unwrap();
    read.sort_by_key(|s| s.record_type);
    let mut fax = StreamState::new(RecordType::Fax);
    fax.version = 1;
    fax.watermark = Some(at(0));
    fax.reach = Some(at(24));
    fax.time_field = Some("created_at".to_owned());
    fax.save_cursor(cursor);
    let mut tts = StreamState::new(RecordType::Tts);
    tts.version = 1;
    tts.watermark = Some(at(3));
    assert_eq!(read, vec![fax.clone(), tts]);
    assert_eq!(
        sort_keys(&client, &table, &account).await,
        ["STREAM#fax", "STREAM#tts", "STREAMS"],
        "the older items are gone, the mark is put"
    );

    // Read again: the mark says there is nothing to convert; an older item appearing
    // now (it cannot, but if it did) is not read.
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(legacy_instant(
            &account,
            "WATERMARK#fax",
            RecordType::Fax,
            "watermark",
            at(-100),
        )))
        .send()
        .await
        .unwrap();
    let again = store.streams(&account).await.unwrap();
    assert!(again.contains(&fax), "{again:?}");

    // The converted state goes on like any other: version 2 follows version 1.
    fax.advance_watermark(at(6));
    store
        .put_stream(&account, &fax.next_version())
        .await
        .unwrap();
    let stale = store.put_stream(&account, &fax).await;
    assert!(stale.is_err(), "version 2 written twice");
    let now: Vec<_> = store.streams(&account).await.unwrap();
    assert!(
        now.iter()
            .any(|s| s.version == 2 && s.watermark == Some(at(6))),
        "{now:?}"
    );
}

#[tokio::test]
async fn a_new_account_reads_no_streams_and_is_marked_so_it_is_not_searched_again() {
    let (client, table) = fresh_table().await;
    let store = DynamoStore::new(client.clone(), &table);
    let account = ManagedAccountId::new("acc-new");
    assert!(store.streams(&account).await.unwrap().is_empty());
    assert_eq!(sort_keys(&client, &table, &account).await, ["STREAMS"]);
}
