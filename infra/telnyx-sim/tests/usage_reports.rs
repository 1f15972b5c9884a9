//! The simulator's usage report as awkward as the live one
//! (docs/telnyx.md "Usage reports"): products named as Telnyx names them, per-product
//! dimensions and metrics with `count` only where the live API has it, 400s naming the
//! invalid parameter, the options endpoint, sums as binary doubles, the `date`
//! dimension, and the switchable departures (no `count` anywhere, a lagging report, an
//! under-counted day, publication delays, records counted but never served).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use telnyx_sim::{RecordType, RunningSim, Scenario, SimOptions, Undercount, UsageSettings};

const ACME: &str = "KEY0123ACME5F74656C6E79782E636F6D_YWNtZQ";
const ACME_ID: &str = "6a0e1b2c-4d5e-4f60-8a71-92b3c4d5e6f7";
const GEN_KEY: &str = "KEY0123GEN";

async fn reseller() -> RunningSim {
    let scenario = Scenario::from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/reseller.yaml"
    ))
    .unwrap();
    telnyx_sim::start(
        scenario,
        SimOptions {
            rate_limit_per_minute: None,
        },
    )
    .await
    .unwrap()
}

/// One account with `count` generated messaging records over 2026-11-01..03.
async fn generated(count: u64) -> RunningSim {
    let scenario = Scenario::from_yaml_str(&format!(
        r#"
manager_account_id: m
master_key: KEYmaster
accounts:
  - id: gen
    organization_name: Volume Co
    email: v@x.example
    api_key: {GEN_KEY}
    generate:
      count: {count}
      record_types: [messaging]
      from: "2026-11-01T00:00:00Z"
      to: "2026-11-03T00:00:00Z"
      seed: 11
"#
    ))
    .unwrap();
    telnyx_sim::start(
        scenario,
        SimOptions {
            rate_limit_per_minute: None,
        },
    )
    .await
    .unwrap()
}

async fn get(sim: &RunningSim, key: &str, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", sim.base_url()))
        .bearer_auth(key)
        .query(query)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn data(body: &Value) -> &Vec<Value> {
    body["data"].as_array().unwrap()
}

/// The report of one product over November with `metrics` by `dimensions`.
async fn report(
    sim: &RunningSim,
    key: &str,
    product: &str,
    metrics: &str,
    dimensions: &str,
) -> (u16, Value) {
    get(
        sim,
        key,
        "/usage_reports",
        &[
            ("product", product),
            ("metrics", metrics),
            ("dimensions", dimensions),
            ("start_date", "2026-11-01T00:00:00Z"),
            ("end_date", "2026-12-01T00:00:00Z"),
            ("page[size]", "5000"),
        ],
    )
    .await
}

#[tokio::test]
async fn options_list_products_as_telnyx_names_them_each_with_its_own_metrics() {
    let sim = reseller().await;
    let (status, body) = get(&sim, ACME, "/usage_reports/options", &[]).await;
    assert_eq!(status, 200);
    let products: BTreeMap<&str, &Value> = data(&body)
        .iter()
        .map(|p| (p["product"].as_str().unwrap(), p))
        .collect();
    for name in [
        "speech-to-text",
        "text-to-speech",
        "verify-2fa",
        "media-storage",
    ] {
        assert!(products.contains_key(name), "{name} listed");
    }
    for filter_name in ["stt", "tts", "media_storage", "conference-participant"] {
        assert!(
            !products.contains_key(filter_name),
            "{filter_name} is no product"
        );
    }
    let metrics = |p: &str| -> Vec<&str> {
        products[p]["product_metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect()
    };
    assert_eq!(
        metrics("sip-trunking"),
        [
            "connected",
            "cost",
            "attempted",
            "call_sec",
            "completed",
            "billed_sec"
        ]
    );
    assert!(!metrics("wireless").contains(&"count"));
    assert!(metrics("messaging").contains(&"count"));
    let (status, one) = get(
        &sim,
        ACME,
        "/usage_reports/options",
        &[("product", "wireless")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(data(&one).len(), 1);
    assert!(
        data(&one)[0]["product_dimensions"]
            .as_array()
            .unwrap()
            .contains(&json!("sim_card_id"))
    );
}

#[tokio::test]
async fn an_invalid_product_dimension_or_metric_is_a_400_naming_which() {
    let sim = reseller().await;
    let (status, body) = report(&sim, ACME, "sip-trunking", "count", "date").await;
    assert_eq!(status, 400);
    let error = &body["errors"][0];
    assert_eq!(error["title"], "Metrics invalid values");
    assert_eq!(error["source"]["parameter"], "metrics");
    let detail = error["detail"].as_str().unwrap();
    assert!(
        detail.contains("sip-trunking") && detail.contains("attempted"),
        "{detail}"
    );
    let (status, body) = report(&sim, ACME, "messaging", "count", "sim_card_id").await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["title"], "Dimensions invalid values");
    let (status, body) = report(&sim, ACME, "stt", "count", "date").await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["title"], "Product invalid value");
    assert!(
        body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("speech-to-text")
    );
    let (status, _) = get(&sim, ACME, "/usage_reports/options", &[("product", "tts")]).await;
    assert_eq!(status, 400);
}

/// The decimal sum of a field over every row `/detail_records` serves of one day.
async fn served_day(sim: &RunningSim, key: &str, filter: &str, day: &str) -> (usize, Decimal) {
    let next = (day.parse::<chrono::NaiveDate>().unwrap() + Duration::days(1)).to_string();
    let (from, to) = (format!("{day}T00:00:00Z"), format!("{next}T00:00:00Z"));
    let (mut n, mut cost) = (0, Decimal::ZERO);
    for page in 1.. {
        let page = page.to_string();
        let (_, body) = get(
            sim,
            key,
            "/detail_records",
            &[
                ("filter[record_type]", filter),
                ("filter[created_at][gte]", &from),
                ("filter[created_at][lt]", &to),
                ("page[size]", "50"),
                ("page[number]", &page),
            ],
        )
        .await;
        let rows = data(&body);
        if rows.is_empty() {
            break;
        }
        n += rows.len();
        for r in rows {
            cost += Decimal::from_scientific(r["cost"].as_str().unwrap())
                .or_else(|_| r["cost"].as_str().unwrap().parse())
                .unwrap();
        }
    }
    (n, cost)
}

#[tokio::test]
async fn the_date_dimension_gives_every_day_and_sums_come_as_binary_doubles() {
    let sim = generated(600).await;
    let (status, body) = report(&sim, GEN_KEY, "messaging", "count,cost", "date").await;
    assert_eq!(status, 200);
    let days: Vec<&str> = data(&body)
        .iter()
        .map(|r| r["date"].as_str().unwrap())
        .collect();
    assert_eq!(days, ["2026-11-01", "2026-11-02"]);
    let mut noisy = 0;
    for row in data(&body) {
        let (n, exact) =
            served_day(&sim, GEN_KEY, "messaging", row["date"].as_str().unwrap()).await;
        assert_eq!(row["count"].as_u64().unwrap() as usize, n);
        let sent = row["cost"].to_string();
        let reported: Decimal = sent.parse().unwrap();
        assert!(
            (reported - exact).abs() < Decimal::new(1, 9),
            "{sent} vs {exact}"
        );
        if reported != exact {
            noisy += 1;
        }
    }
    assert!(noisy > 0, "at least one day's sum carries binary noise");
}

#[tokio::test]
async fn without_count_no_product_offers_it_and_asking_for_it_is_a_400() {
    let sim = reseller().await;
    sim.control().set_usage(UsageSettings {
        without_count: true,
        ..UsageSettings::default()
    });
    let (_, body) = get(&sim, ACME, "/usage_reports/options", &[]).await;
    for product in data(&body) {
        assert!(
            !product["product_metrics"]
                .as_array()
                .unwrap()
                .contains(&json!("count")),
            "{product}"
        );
    }
    let (status, _) = report(&sim, ACME, "messaging", "count,parts", "date").await;
    assert_eq!(status, 400);
    let (status, body) = report(&sim, ACME, "messaging", "parts", "date").await;
    assert_eq!(status, 200);
    assert!(!data(&body).is_empty());
}

/// A messaging row of Acme's at `at`.
fn message(id: &str, at: chrono::DateTime<Utc>) -> Value {
    json!({"uuid": id, "created_at": at.to_rfc3339(), "parts": 1, "cost": "0.004", "currency": "USD", "direction": "outbound"})
}

/// A simulator with one Acme messaging record an hour old (counted but never served
/// when `unserved`), under `settings`: how many records of the last three hours the walk
/// serves and the report counts.
async fn one_message_an_hour_ago(
    unserved: bool,
    settings: UsageSettings,
) -> (RunningSim, (usize, u64)) {
    let sim = reseller().await;
    let row = message("m-1", Utc::now() - Duration::hours(1));
    if unserved {
        sim.control().add_unserved_record(ACME_ID, "messaging", row);
    } else {
        sim.control().add_detail_record(ACME_ID, "messaging", row);
    }
    sim.control().set_usage(settings);
    let seen = messages_served_and_counted(&sim).await;
    (sim, seen)
}

/// Acme's messaging records of the last three hours: how many the walk serves, how many
/// the report counts.
async fn messages_served_and_counted(sim: &RunningSim) -> (usize, u64) {
    let at = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (from, to) = (
        at(Utc::now() - Duration::hours(3)),
        at(Utc::now() + Duration::hours(1)),
    );
    let (_, served) = get(
        sim,
        ACME,
        "/detail_records",
        &[
            ("filter[record_type]", "messaging"),
            ("filter[created_at][gte]", &from),
            ("filter[created_at][lt]", &to),
        ],
    )
    .await;
    let (_, counted) = get(
        sim,
        ACME,
        "/usage_reports",
        &[
            ("product", "messaging"),
            ("metrics", "count"),
            ("dimensions", "currency"),
            ("start_date", &from),
            ("end_date", &to),
        ],
    )
    .await;
    let count = data(&counted)
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    (data(&served).len(), count)
}

#[tokio::test]
async fn a_lagging_report_counts_a_record_only_after_its_delay_while_the_walk_serves_it() {
    let lagging = UsageSettings {
        report_delay: BTreeMap::from([(RecordType::Messaging, Duration::hours(4))]),
        ..UsageSettings::default()
    };
    let (sim, seen) = one_message_an_hour_ago(false, lagging).await;
    assert_eq!(seen, (1, 0));
    // The report catches up.
    sim.control().set_usage(UsageSettings::default());
    assert_eq!(messages_served_and_counted(&sim).await, (1, 1));
}

#[tokio::test]
async fn a_publication_delay_hides_a_record_from_the_walk_but_not_from_the_report() {
    let delayed = UsageSettings {
        records_delay: BTreeMap::from([(RecordType::Messaging, Duration::hours(2))]),
        ..UsageSettings::default()
    };
    assert_eq!(one_message_an_hour_ago(false, delayed).await.1, (0, 1));
}

#[tokio::test]
async fn an_unserved_record_is_counted_by_the_report_and_never_walked() {
    let live_like = UsageSettings::default();
    assert_eq!(one_message_an_hour_ago(true, live_like).await.1, (0, 1));
}

#[tokio::test]
async fn an_undercounted_day_is_one_record_short_in_the_report() {
    let sim = reseller().await;
    let (_, before) = report(&sim, ACME, "messaging", "count", "date").await;
    let day_count = |body: &Value, day: &str| -> u64 {
        data(body)
            .iter()
            .filter(|r| r["date"] == day)
            .map(|r| r["count"].as_u64().unwrap())
            .sum()
    };
    let day = data(&before)[0]["date"].as_str().unwrap().to_owned();
    sim.control().set_usage(UsageSettings {
        undercount: vec![Undercount {
            record_type: RecordType::Messaging,
            day: day.parse().unwrap(),
        }],
        ..UsageSettings::default()
    });
    let (_, after) = report(&sim, ACME, "messaging", "count", "date").await;
    assert_eq!(day_count(&after, &day) + 1, day_count(&before, &day));
    let total = |b: &Value| -> u64 { data(b).iter().map(|r| r["count"].as_u64().unwrap()).sum() };
    assert_eq!(total(&after) + 1, total(&before), "only that day");
}

#[tokio::test]
async fn usage_settings_round_trip_through_the_control_endpoint() {
    let sim = reseller().await;
    let root = sim.base_url().trim_end_matches("/v2").to_owned();
    let settings = json!({"without_count": true, "report_delay": {"messaging": 14400}, "undercount": [{"record_type": "sip-trunking", "day": "2026-11-20"}]});
    let status = reqwest::Client::new()
        .post(format!("{root}/_sim/usage"))
        .json(&settings)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 204);
    let read = sim.control().usage();
    assert!(read.without_count);
    assert_eq!(
        read.report_delay[&RecordType::Messaging],
        Duration::hours(4)
    );
    assert_eq!(read.undercount[0].record_type, RecordType::SipTrunking);
}
