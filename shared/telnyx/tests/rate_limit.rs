//! The client-side rate limiter against the simulator's fixed UTC windows: a sustained
//! run spends the whole budget without a single 429 (on `/usage_reports` at 5 a second,
//! and on `/detail_records` at the live 40 a minute over one whole UTC minute), a spent
//! budget waits for the window to roll over, a 429 waits for `x-ratelimit-reset` and
//! then succeeds, and concurrent walks sharing a key from a cold start do not burst.
//!
//! The two `/detail_records` tests each wait for at least one minute boundary (the
//! 40-a-minute one for up to two minutes); they run in parallel with the rest.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::{DateTime, DurationRound, TimeDelta, Timelike, Utc};
use reconciliation::domain::RecordType;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use support::*;
use telnyx_client::{ClientConfig, TelnyxClient, UsageReportQuery};
use telnyx_sim::SimOptions;

const USAGE_LIMIT_PER_SECOND: usize = 5;

fn usage_query() -> UsageReportQuery {
    UsageReportQuery {
        product: "messaging".into(),
        dimensions: vec!["direction".into()],
        metrics: vec!["cost".into()],
        start_date: None,
        end_date: None,
        managed_accounts: false,
    }
}

fn scenario() -> telnyx_sim::Scenario {
    ScenarioBuilder::new()
        .detail_record(
            "messaging",
            json!({"uuid": "m1", "created_at": "2026-11-20T08:00:05.000Z", "direction": "outbound", "cost": "0.004"}),
        )
        .build()
}

/// Sleeps until `offset` after the next boundary of `window` (UTC), so a test starts at
/// the beginning of a window.
async fn align_to_window(window: Duration, offset: Duration) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let into = now.as_nanos() % window.as_nanos();
    let until = Duration::from_nanos((window.as_nanos() - into) as u64);
    tokio::time::sleep(until + offset).await;
}

/// Requests per window (the window number since the epoch).
fn per_window(times: &[DateTime<Utc>], window_secs: i64) -> BTreeMap<i64, usize> {
    let mut counts = BTreeMap::new();
    for t in times {
        *counts
            .entry(t.timestamp().div_euclid(window_secs))
            .or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn a_sustained_run_spends_at_least_ninety_percent_of_the_budget_without_a_429() {
    let sim = start_with_limit(scenario(), Some(40)).await;
    let client = client(&sim);
    align_to_window(Duration::from_secs(1), Duration::from_millis(20)).await;

    for _ in 0..30 {
        client
            .usage_report(&account_key(), &usage_query())
            .await
            .unwrap();
    }

    let served = requests_to(&sim, "/v2/usage_reports");
    assert_eq!(sim.control().count_status(429), 0);
    assert_eq!(served.len(), 30);
    let times: Vec<_> = served.iter().map(|r| r.at).collect();
    let windows = per_window(&times, 1);
    let budget = USAGE_LIMIT_PER_SECOND * windows.len();
    assert!(
        served.len() * 10 >= budget * 9,
        "used {} of a budget of {budget} over {} windows: {windows:?}",
        served.len(),
        windows.len()
    );
}

#[tokio::test]
async fn a_429_waits_for_the_reset_and_then_succeeds() {
    let sim = start_with_limit(scenario(), Some(40)).await;
    // Two clients with one key: the second knows nothing of the budget the first spent.
    let spender = client(&sim);
    let latecomer = client(&sim);
    align_to_window(Duration::from_secs(1), Duration::from_millis(20)).await;
    for _ in 0..USAGE_LIMIT_PER_SECOND {
        spender
            .usage_report(&account_key(), &usage_query())
            .await
            .unwrap();
    }

    let rows = latecomer
        .usage_report(&account_key(), &usage_query())
        .await
        .unwrap();

    assert_eq!(rows.len(), 1);
    let served = requests_to(&sim, "/v2/usage_reports");
    let statuses: Vec<u16> = served.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 200]);
    let (throttled, retried) = (served[5].at, served[6].at);
    assert!(
        retried.timestamp() > throttled.timestamp(),
        "the retry waited for the next window: {throttled} then {retried}"
    );
}

#[tokio::test]
async fn detail_records_past_the_minute_budget_wait_for_the_next_minute_instead_of_a_429() {
    const LIMIT: usize = 5;
    let sim = start_with_limit(scenario(), Some(LIMIT as u32)).await;
    let client = client(&sim);
    // The first minute must hold the whole burst: only a start in its last seconds waits.
    if Utc::now().second() >= 58 {
        align_to_window(Duration::from_secs(60), Duration::from_millis(200)).await;
    }
    let window = window("2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z");

    for _ in 0..LIMIT + 2 {
        let (_, records) = walk(&client, RecordType::Messaging, window).await.unwrap();
        assert_eq!(records.len(), 1);
    }

    let served = requests_to(&sim, "/v2/detail_records");
    assert_eq!(sim.control().count_status(429), 0);
    assert_eq!(served.len(), LIMIT + 2);
    let minutes = per_window(&served.iter().map(|r| r.at).collect::<Vec<_>>(), 60);
    let counts: Vec<usize> = minutes.values().copied().collect();
    assert_eq!(
        counts,
        [LIMIT, 2],
        "the whole first minute's budget, then the rest: {minutes:?}"
    );
}

#[tokio::test]
async fn many_concurrent_walks_on_one_key_from_a_cold_start_see_no_429() {
    const LIMIT: u32 = 5;
    const WALKS: usize = 8;
    let sim = start_with_limit(
        ScenarioBuilder::new()
            .generate(
                50,
                "messaging",
                "2026-11-20T00:00:00Z",
                "2026-11-21T00:00:00Z",
            )
            .build(),
        Some(LIMIT),
    )
    .await;
    let client = client(&sim);
    // The first minute should hold the probe and the requests it lets go.
    if Utc::now().second() >= 55 {
        align_to_window(Duration::from_secs(60), Duration::from_millis(200)).await;
    }
    let window = window("2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z");

    // Eight one-page walks against a budget of 5, all at once on a client that has never
    // heard from Telnyx: one probes, four follow its headers, three wait for the next
    // minute.
    let walks = futures::future::join_all((0..WALKS).map(|_| {
        let client = client.clone();
        async move { walk(&client, RecordType::Messaging, window).await }
    }))
    .await;

    for result in walks {
        let (sizes, records) = result.unwrap();
        assert_eq!(sizes, [50]);
        assert_eq!(records.len(), 50);
    }
    assert_eq!(sim.control().count_status(429), 0);
    let windows = sim
        .control()
        .rate_windows(ACCOUNT_KEY, "/v2/detail_records");
    let served: Vec<u32> = windows.iter().map(|w| w.served).collect();
    assert_eq!(
        served,
        [LIMIT, 3],
        "the first minute's whole budget, then the rest: {windows:?}"
    );
}

/// The acceptance figure: a sustained `/detail_records` walk against the simulator's
/// default (the live API's 40 requests per fixed UTC minute), with the client's
/// production settings, measured over one complete UTC minute.
#[tokio::test]
async fn a_sustained_detail_record_walk_uses_at_least_ninety_percent_of_a_whole_forty_a_minute_window_without_a_429()
 {
    let options = SimOptions::default();
    assert_eq!(options.rate_limit_per_minute, Some(40));
    // 100 pages: more than two minutes' worth at 40 a minute.
    let sim = telnyx_sim::start(
        ScenarioBuilder::new()
            .generate(
                5_000,
                "sip-trunking",
                "2026-11-20T00:00:00Z",
                "2026-11-21T00:00:00Z",
            )
            .build(),
        options,
    )
    .await
    .unwrap();
    let client = TelnyxClient::new(ClientConfig::new(sim.base_url())).unwrap();
    let started = Utc::now();
    // The first minute that starts after the walk does: the one measured whole.
    let measured = started.duration_trunc(TimeDelta::minutes(1)).unwrap() + TimeDelta::minutes(1);
    let after = measured + TimeDelta::minutes(1);

    let mut pages = client.detail_record_pages(
        &account_key(),
        RecordType::SipTrunking,
        window("2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z"),
    );
    while Utc::now() < after {
        let page = pages.next_page().await.unwrap();
        assert_eq!(page.map(|p| p.len()), Some(50), "the walk ran out of pages");
    }

    let windows = sim
        .control()
        .rate_windows(ACCOUNT_KEY, "/v2/detail_records");
    let whole = windows
        .iter()
        .find(|w| w.starts_at == measured)
        .copied()
        .unwrap();
    eprintln!(
        "40/min window {}: {} requests served, {} throttled (walk of {} pages; all windows: {:?})",
        whole.starts_at,
        whole.served,
        whole.throttled,
        pages.pages_fetched(),
        windows
            .iter()
            .map(|w| (
                w.starts_at.format("%H:%M").to_string(),
                w.served,
                w.throttled
            ))
            .collect::<Vec<_>>()
    );
    assert_eq!(sim.control().count_status(429), 0);
    assert!(windows.iter().all(|w| w.throttled == 0));
    assert_eq!(whole.limit, 40);
    assert!(
        whole.served >= 36,
        "used {} of the 40 requests of the minute starting {measured}",
        whole.served
    );
    assert!(
        windows.iter().any(|w| w.starts_at == after),
        "the walk went on past the measured minute: {windows:?}"
    );
}
