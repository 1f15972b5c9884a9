//! `rate_limited_records_per_min`: a backfill at the live API's 40 detail-record
//! requests a minute, through the account-sync binary and its continuations on the
//! local queue (each invocation stops at its deadline and queues the next), with the
//! request counts it took: `throttled_requests` (429s) and
//! `requests_per_record_efficiency` (⌈records/50⌉ ÷ detail-record requests).

use crate::world::{World, account_id, scenario};
use serde_json::json;
use std::time::{Duration, Instant};

const FROM: &str = "2026-11-10T00:00:00Z";
const TO: &str = "2026-11-11T00:00:00Z";

pub async fn run(records: u64, timeout: Duration) -> Vec<(String, String)> {
    let generate = format!(
        "count: {records}\nrecord_types: [sip-trunking]\nfrom: '{FROM}'\nto: '{TO}'\nseed: 3"
    );
    let world = World::start(scenario(1, |_| Some(generate.clone())), Some(40)).await;
    world.onboard(1).await;
    let mut function = world.function("account-sync", &[]).await;
    let started = Instant::now();
    let _first = function
        .invoke(
            json!({"managed_account_id": account_id(0), "backfill_from": FROM, "backfill_to": TO}),
            timeout,
        )
        .await
        .expect("the first invocation answers");
    let mut invocations = 1;
    let source = world.queue(timeout);
    for delivery in source
        .drain(&mut function, Duration::from_secs(5))
        .await
        .expect("queue")
    {
        invocations += 1;
        assert!(
            delivery.deleted,
            "a continuation failed: {:?}",
            delivery.answer
        );
    }
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let stored = crate::count_records(&world, &account_id(0)).await;
    assert_eq!(stored, records, "every record stored once");
    let control = world.sim.control();
    let requests = control
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/detail_records"))
        .count() as u64;
    function.stop().await;
    vec![
        ("rate_limited_records".into(), stored.to_string()),
        ("rate_limited_invocations".into(), invocations.to_string()),
        (
            "rate_limited_records_per_min".into(),
            format!("{:.0}", records as f64 / minutes),
        ),
        (
            "throttled_requests".into(),
            control.count_status(429).to_string(),
        ),
        ("detail_record_requests".into(), requests.to_string()),
        (
            "requests_per_record_efficiency".into(),
            format!("{:.3}", records.div_ceil(50) as f64 / requests as f64),
        ),
    ]
}
