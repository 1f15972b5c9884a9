//! `import_records_per_sec`: the account-sync binary (release) importing a generated
//! window through its real handler, simulator unthrottled → DynamoDB Local; and
//! `raw_records_per_sec`: a minimal loop over the same data on the same stack (fetch a
//! page, turn each record into the same item, BatchWriteItem 25 at a time) into a table
//! of the same design. Both in one run (the baseline before and after the import, its
//! mean); their ratio is `import_vs_raw_ratio`. `import_cpu_us_per_record`: the
//! account-sync process's CPU time (user and system, its whole life: start, the run,
//! the audit) per record imported.

use crate::world::{World, account_id, account_key, scenario};
use aws_adapters::store::record_item::record_item;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::{DateTime, Utc};
use reconciliation::domain::{DepartmentId, MatchedBy, RecordType, StoredDetailRecord};
use reconciliation::ports::{ApiKey, TimeWindow};
use serde_json::json;
use std::time::{Duration, Instant};
use telnyx_client::{ClientConfig, TelnyxClient};

const FROM: &str = "2026-11-10T00:00:00Z";
const TO: &str = "2026-11-11T00:00:00Z";
const TYPES: [RecordType; 2] = [RecordType::SipTrunking, RecordType::Messaging];

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap_or_default()
}

pub async fn run(records: u64) -> Vec<(String, String)> {
    let generate = format!(
        "count: {records}\nrecord_types: [sip-trunking, messaging]\nfrom: '{FROM}'\nto: '{TO}'\nseed: 7"
    );
    let world = World::start(scenario(1, |_| Some(generate.clone())), None).await;
    world.onboard(1).await;
    // The baseline runs before and after the import (DynamoDB Local warms up as it
    // goes): its rate is the mean of both.
    let raw_before = raw_loop(&world, records, "raw-before").await;

    let mut function = world.function("account-sync", &[]).await;
    let started = Instant::now();
    let answer = function
        .invoke(
            json!({"managed_account_id": account_id(0), "backfill_from": FROM, "backfill_to": TO}),
            Duration::from_secs(900),
        )
        .await
        .expect("the import answers");
    let import_secs = started.elapsed().as_secs_f64();
    let written = answer["records"]["written"].as_u64().unwrap_or_default();
    assert_eq!(written, records, "the import wrote {answer}");
    let cpu = function.cpu_time().unwrap_or_default();
    function.stop().await;

    let raw_secs = (raw_before + raw_loop(&world, records, "raw-after").await) / 2.0;
    let import_rate = records as f64 / import_secs;
    let raw_rate = records as f64 / raw_secs;
    vec![
        ("import_records".into(), records.to_string()),
        ("import_records_per_sec".into(), format!("{import_rate:.0}")),
        ("raw_records_per_sec".into(), format!("{raw_rate:.0}")),
        (
            "import_vs_raw_ratio".into(),
            format!("{:.2}", import_rate / raw_rate),
        ),
        (
            "import_cpu_us_per_record".into(),
            format!("{:.1}", cpu.as_secs_f64() * 1e6 / records as f64),
        ),
    ]
}

/// Fetch a page, write its items, next page: the baseline, into a fresh table.
async fn raw_loop(world: &World, records: u64, name: &str) -> f64 {
    let table = format!("{}-{name}", world.table);
    let ddb = aws_sdk_dynamodb::Client::new(&world.stack.sdk);
    aws_adapters::test_util::create_table_like_template(&ddb, &table)
        .await
        .expect("raw table");
    let client = TelnyxClient::new(ClientConfig::new(world.sim.base_url())).expect("client");
    let key = ApiKey::new(account_key(0));
    let started = Instant::now();
    let mut written = 0u64;
    for t in TYPES {
        let window = TimeWindow {
            from: at(FROM),
            to: at(TO),
        };
        let mut pages = client.detail_record_pages(&key, t, window);
        while let Some(page) = pages.next_page().await.expect("page") {
            for chunk in page.chunks(25) {
                let requests: Vec<WriteRequest> = chunk
                    .iter()
                    .map(|r| {
                        let stored = StoredDetailRecord {
                            account: account_id(0).into(),
                            department: DepartmentId::new("dept-bench"),
                            billing_customer: None,
                            end_customer: None,
                            service: None,
                            matched_by: MatchedBy::Unmatched,
                            record: r.clone(),
                        };
                        let item = record_item(&stored).expect("item");
                        let put = PutRequest::builder()
                            .set_item(Some(item))
                            .build()
                            .expect("put");
                        WriteRequest::builder().put_request(put).build()
                    })
                    .collect();
                ddb.batch_write_item()
                    .request_items(&table, requests)
                    .send()
                    .await
                    .expect("BatchWriteItem");
                written += chunk.len() as u64;
            }
        }
    }
    assert_eq!(written, records);
    started.elapsed().as_secs_f64()
}
