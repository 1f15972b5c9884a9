//! `peak_rss_mb`: the account-sync binary (release) importing a million records
//! (continuations included), its peak resident memory (`VmHWM`) read from `/proc`.
//! Every record is imported once: the runs' `RecordsImported` add up to the count (and,
//! up to 200,000 records, the table's own count agrees).

use crate::world::{World, account_id, scenario};
use serde_json::json;
use std::time::{Duration, Instant};

const FROM: &str = "2026-10-01T00:00:00Z";
const TO: &str = "2026-10-31T00:00:00Z";
/// Up to this many records the table itself is counted too.
const COUNTED_UP_TO: u64 = 200_000;

/// The records the function's runs wrote, from their EMF lines (`RecordsImported`).
fn imported(function: &lambda_local::Function) -> u64 {
    function
        .lines()
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("RecordsImported")?.as_f64())
        .sum::<f64>() as u64
}

pub async fn run(records: u64) -> Vec<(String, String)> {
    let generate = format!(
        "count: {records}\nrecord_types: [sip-trunking, messaging, tts]\nfrom: '{FROM}'\nto: '{TO}'\nseed: 11"
    );
    let world = World::start(scenario(1, |_| Some(generate.clone())), None).await;
    world.onboard(1).await;
    let mut function = world.function("account-sync", &[]).await;
    let timeout = Duration::from_secs(900);
    let started = Instant::now();
    function
        .invoke(
            json!({"managed_account_id": account_id(0), "backfill_from": FROM, "backfill_to": TO}),
            timeout,
        )
        .await
        .expect("the first invocation answers");
    let mut peak = function.peak_rss_kib().unwrap_or_default();
    let source = world.queue(timeout);
    while let Some(d) = source
        .deliver_one(&mut function, Duration::from_secs(5))
        .await
        .expect("queue")
    {
        assert!(d.deleted, "a continuation failed: {:?}", d.answer);
        peak = peak.max(function.peak_rss_kib().unwrap_or_default());
    }
    let secs = started.elapsed().as_secs_f64();
    let imported = imported(&function);
    assert_eq!(
        imported, records,
        "the runs' RecordsImported add up to every record once"
    );
    // DynamoDB Local pages a Query COUNT of a partition this large slower than it took to
    // import it; the table is counted up to the size the other benches use.
    if records <= COUNTED_UP_TO {
        let stored = crate::count_records(&world, &account_id(0)).await;
        assert_eq!(stored, records, "every record stored once");
    }
    function.stop().await;
    vec![
        ("rss_import_records".into(), records.to_string()),
        ("rss_import_sec".into(), format!("{secs:.0}")),
        ("peak_rss_mb".into(), format!("{:.1}", peak as f64 / 1024.0)),
    ]
}
