//! `peak_rss_mb`: the account-sync binary (release) importing a million records
//! (continuations included), its peak resident memory (`VmHWM`) read from `/proc`.

use crate::world::{World, account_id, scenario};
use serde_json::json;
use std::time::{Duration, Instant};

const FROM: &str = "2026-10-01T00:00:00Z";
const TO: &str = "2026-10-31T00:00:00Z";

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
    let stored = crate::count_records(&world, &account_id(0)).await;
    assert_eq!(stored, records, "every record stored once");
    function.stop().await;
    vec![
        ("rss_import_records".into(), records.to_string()),
        ("rss_import_sec".into(), format!("{secs:.0}")),
        ("peak_rss_mb".into(), format!("{:.1}", peak as f64 / 1024.0)),
    ]
}
