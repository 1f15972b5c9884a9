//! The simulator over real HTTP, as a client sees it: key scoping, pagination, the
//! detail-record filter rules, the rate limit, faults, late records, the generator, the
//! control endpoints and the binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use telnyx_sim::{Fault, FaultRule, RunningSim, Scenario, SimOptions};

const MASTER: &str = "KEY0123MASTER4E74656C6E79782E636F6D_bWFuYWdlcg";
const ACME: &str = "KEY0123ACME5F74656C6E79782E636F6D_YWNtZQ";
const BETA: &str = "KEY0123BETA6A74656C6E79782E636F6D_YmV0YQ";
const ACME_ID: &str = "6a0e1b2c-4d5e-4f60-8a71-92b3c4d5e6f7";
const SIP_CONNECTION: &str = "1684641123236054244";
const RETAIL_GROUP: &str = "f5586561-8ff0-4291-a0ac-84fe544797bd";

fn reseller() -> Scenario {
    Scenario::from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/reseller.yaml"
    ))
    .unwrap()
}

async fn sim_without_rate_limit() -> RunningSim {
    telnyx_sim::start(
        reseller(),
        SimOptions {
            rate_limit_per_minute: None,
        },
    )
    .await
    .unwrap()
}

struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

async fn get(sim: &RunningSim, key: &str, path: &str, query: &[(&str, &str)]) -> Reply {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", sim.base_url()))
        .bearer_auth(key)
        .query(query)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

fn first_error(reply: &Reply) -> &Value {
    &reply.body["errors"][0]
}

fn rows(reply: &Reply) -> &Vec<Value> {
    reply.body["data"].as_array().unwrap()
}

fn time_of(row: &Value, field: &str) -> DateTime<Utc> {
    row[field].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn an_unknown_key_gets_401_with_code_10009() {
    let sim = sim_without_rate_limit().await;
    let reply = get(&sim, "KEYnobody", "/billing_groups", &[]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(first_error(&reply)["code"], "10009");
    assert_eq!(first_error(&reply)["title"], "Authentication failed");
    let reply = reqwest::get(format!("{}/connections", sim.base_url()))
        .await
        .unwrap();
    assert_eq!(
        reply.status().as_u16(),
        401,
        "no Authorization header at all"
    );
}

#[tokio::test]
async fn a_cancelled_accounts_key_gets_401() {
    let sim = sim_without_rate_limit().await;
    let reply = get(
        &sim,
        "KEY0123DELTA8C74656C6E79782E636F6D_ZGVsdGE",
        "/billing_groups",
        &[],
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(first_error(&reply)["code"], "10009");
}

#[tokio::test]
async fn the_master_key_cannot_read_account_resources() {
    let sim = sim_without_rate_limit().await;
    for path in [
        "/billing_groups",
        "/connections",
        "/outbound_voice_profiles",
        "/phone_numbers",
        "/detail_records",
    ] {
        let reply = get(&sim, MASTER, path, &[("filter[record_type]", "messaging")]).await;
        assert_eq!(reply.status, 403, "{path}");
        assert_eq!(first_error(&reply)["code"], "10010", "{path}");
    }
}

#[tokio::test]
async fn an_account_key_cannot_list_managed_accounts() {
    let sim = sim_without_rate_limit().await;
    let reply = get(&sim, ACME, "/managed_accounts", &[]).await;
    assert_eq!(reply.status, 403);
    assert_eq!(first_error(&reply)["code"], "10010");
}

#[tokio::test]
async fn cancelled_accounts_are_listed_only_when_asked_for() {
    let sim = sim_without_rate_limit().await;
    let names = |reply: &Reply| -> Vec<String> {
        rows(reply)
            .iter()
            .map(|a| a["organization_name"].as_str().unwrap().to_owned())
            .collect()
    };
    let active = get(&sim, MASTER, "/managed_accounts", &[("page[size]", "250")]).await;
    assert_eq!(
        names(&active),
        ["Acme Reseller", "Beta Telecom", "Gamma New Co"]
    );
    assert_eq!(active.body["meta"]["total_results"], 3);
    assert_eq!(
        rows(&active)[0]["manager_account_id"],
        "b7c8d9e0-1f2a-4b3c-8d4e-5f6a7b8c9d0e"
    );
    let all = get(
        &sim,
        MASTER,
        "/managed_accounts",
        &[("include_cancelled_accounts", "true")],
    )
    .await;
    assert!(names(&all).contains(&"Delta Closed Ltd".to_owned()));
    assert_eq!(all.body["meta"]["total_results"], 4);
}

#[tokio::test]
async fn pagination_meta_counts_pages_and_a_page_past_the_end_is_empty() {
    let sim = sim_without_rate_limit().await;
    let page2 = get(
        &sim,
        ACME,
        "/phone_numbers",
        &[("page[size]", "4"), ("page[number]", "2")],
    )
    .await;
    assert_eq!(rows(&page2).len(), 2);
    assert_eq!(
        page2.body["meta"],
        json!({"page_number": 2, "page_size": 4, "total_pages": 2, "total_results": 6})
    );
    let page3 = get(
        &sim,
        ACME,
        "/phone_numbers",
        &[("page[size]", "4"), ("page[number]", "3")],
    )
    .await;
    assert_eq!(page3.status, 200);
    assert_eq!(page3.body["data"], json!([]));
    assert_eq!(page3.body["meta"]["total_results"], 6);
}

#[tokio::test]
async fn default_page_sizes_are_20_except_connections_at_250() {
    let sim = sim_without_rate_limit().await;
    let connections = get(&sim, ACME, "/connections", &[]).await;
    assert_eq!(connections.body["meta"]["page_size"], 250);
    assert_eq!(rows(&connections).len(), 4);
    let groups = get(&sim, ACME, "/billing_groups", &[]).await;
    assert_eq!(groups.body["meta"]["page_size"], 20);
}

#[tokio::test]
async fn a_list_page_size_over_250_is_rejected_with_a_numeric_code() {
    let sim = sim_without_rate_limit().await;
    let reply = get(&sim, ACME, "/billing_groups", &[("page[size]", "251")]).await;
    assert_eq!(reply.status, 422);
    assert!(first_error(&reply)["code"].is_number());
}

#[tokio::test]
async fn detail_record_page_size_above_50_is_clamped_silently() {
    let sim = start_generated(10_000, None).await;
    let reply = get(
        &sim,
        GEN_KEY,
        "/detail_records",
        &[
            ("filter[record_type]", "sip-trunking"),
            ("page[size]", "250"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(rows(&reply).len(), 50);
    assert_eq!(reply.body["meta"]["page_size"], 50);
    assert_eq!(reply.body["meta"]["total_results"], 5_000);
    assert_eq!(reply.body["meta"]["total_pages"], 100);
}

#[tokio::test]
async fn phone_numbers_filter_by_connection_and_by_billing_group() {
    let sim = sim_without_rate_limit().await;
    let on_trunk = get(
        &sim,
        ACME,
        "/phone_numbers",
        &[("filter[connection_id]", SIP_CONNECTION)],
    )
    .await;
    assert_eq!(rows(&on_trunk).len(), 2);
    assert!(
        rows(&on_trunk)
            .iter()
            .all(|n| n["connection_id"] == SIP_CONNECTION)
    );
    let retail = get(
        &sim,
        ACME,
        "/phone_numbers",
        &[("filter[billing_group_id]", RETAIL_GROUP)],
    )
    .await;
    assert_eq!(rows(&retail).len(), 2);
    let messaging_only = rows(&get(&sim, ACME, "/phone_numbers", &[]).await)
        .iter()
        .find(|n| n["phone_number"] == "+13125550106")
        .cloned()
        .unwrap();
    assert_eq!(messaging_only["connection_id"], Value::Null);
    assert!(messaging_only["messaging_profile_id"].is_string());
}

#[tokio::test]
async fn connections_carry_their_profile_and_profiles_their_billing_group() {
    let sim = sim_without_rate_limit().await;
    let connections = get(&sim, ACME, "/connections", &[]).await;
    let kinds: Vec<&str> = rows(&connections)
        .iter()
        .map(|c| c["record_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "credential_connection",
            "ip_connection",
            "call_control_application",
            "texml_application"
        ]
    );
    assert_eq!(
        rows(&connections)[1]["outbound_voice_profile_id"],
        Value::Null
    );
    assert!(rows(&connections)[0].get("billing_group_id").is_none());
    let profiles = get(&sim, ACME, "/outbound_voice_profiles", &[]).await;
    assert_eq!(rows(&profiles)[0]["billing_group_id"], RETAIL_GROUP);
}

#[tokio::test]
async fn a_missing_repeated_or_unknown_record_type_is_400_with_code_10011() {
    let sim = sim_without_rate_limit().await;
    let cases: [&[(&str, &str)]; 4] = [
        &[],
        &[
            ("filter[record_type]", "tts"),
            ("filter[record_type]", "stt"),
        ],
        &[("filter[record_type]", "tts,stt")],
        &[("filter[record_type]", "webrtc_detail_record")],
    ];
    for query in cases {
        let reply = get(&sim, ACME, "/detail_records", query).await;
        assert_eq!(reply.status, 400, "{query:?}");
        assert_eq!(first_error(&reply)["code"], "10011", "{query:?}");
    }
}

#[tokio::test]
async fn a_filter_on_another_types_time_field_returns_200_with_zero_rows() {
    let sim = sim_without_rate_limit().await;
    let reply = get(
        &sim,
        ACME,
        "/detail_records",
        &[
            ("filter[record_type]", "messaging"),
            ("filter[started_at][gte]", "2026-11-01T00:00:00Z"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["data"], json!([]));
    assert_eq!(reply.body["meta"]["total_results"], 0);
    let stt = get(
        &sim,
        ACME,
        "/detail_records",
        &[
            ("filter[record_type]", "stt"),
            ("filter[created_at][gte]", "2026-11-01T00:00:00Z"),
        ],
    )
    .await;
    assert_eq!(
        stt.body["meta"]["total_results"], 0,
        "stt filters on start_time"
    );
}

#[tokio::test]
async fn the_types_own_time_field_returns_exactly_the_rows_in_the_window() {
    let sim = sim_without_rate_limit().await;
    let (gte, lt) = ("2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z");
    for (kind, field, expected) in [
        ("sip-trunking", "started_at", 2),
        ("messaging", "created_at", 2),
        ("conference-participant", "joined_at", 3),
        ("amd", "invoked_at", 1),
        ("stt", "start_time", 0),
    ] {
        let (gte_key, lt_key) = (
            format!("filter[{field}][gte]"),
            format!("filter[{field}][lt]"),
        );
        let reply = get(
            &sim,
            ACME,
            "/detail_records",
            &[
                ("filter[record_type]", kind),
                (gte_key.as_str(), gte),
                (lt_key.as_str(), lt),
            ],
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(rows(&reply).len(), expected, "{kind}");
        for row in rows(&reply) {
            let t = time_of(row, field);
            assert!(
                t >= gte.parse::<DateTime<Utc>>().unwrap()
                    && t < lt.parse::<DateTime<Utc>>().unwrap()
            );
        }
    }
}

#[tokio::test]
async fn rows_come_newest_first_whatever_sort_says() {
    let sim = sim_without_rate_limit().await;
    for sort in ["started_at", "-started_at"] {
        let reply = get(
            &sim,
            ACME,
            "/detail_records",
            &[("filter[record_type]", "sip-trunking"), ("sort", sort)],
        )
        .await;
        let times: Vec<DateTime<Utc>> = rows(&reply)
            .iter()
            .map(|r| time_of(r, "started_at"))
            .collect();
        assert_eq!(times.len(), 7);
        assert!(
            times.windows(2).all(|w| w[0] >= w[1]),
            "sort={sort}: {times:?}"
        );
    }
}

#[tokio::test]
async fn rows_carry_the_response_spelling_and_the_live_field_drift() {
    let sim = sim_without_rate_limit().await;
    let messaging = get(
        &sim,
        ACME,
        "/detail_records",
        &[("filter[record_type]", "messaging")],
    )
    .await;
    assert!(
        rows(&messaging)
            .iter()
            .all(|r| r["record_type"] == "message_detail_record")
    );
    assert!(
        rows(&messaging)
            .iter()
            .all(|r| r["uuid"].is_string() && r.get("id").is_none())
    );
    let webrtc = get(
        &sim,
        ACME,
        "/detail_records",
        &[("filter[record_type]", "webrtc")],
    )
    .await;
    assert!(
        rows(&webrtc)
            .iter()
            .all(|r| r["record_type"] == "webrtc_detail_record")
    );
    assert!(rows(&webrtc).iter().all(|r| r["billing_group_id"] == 60));
    assert!(rows(&webrtc).iter().any(|r| r["connection_id"].is_number()));
    let tts = get(
        &sim,
        ACME,
        "/detail_records",
        &[("filter[record_type]", "tts")],
    )
    .await;
    assert!(rows(&tts).iter().any(|r| r["cost"] == "1.666E-4"));
    let wireless = get(
        &sim,
        ACME,
        "/detail_records",
        &[("filter[record_type]", "wireless")],
    )
    .await;
    assert!(
        rows(&wireless)
            .iter()
            .all(|r| r["record_type"] == "sim_card_usage" && r["data_cost"].is_number())
    );
}

#[tokio::test]
async fn a_hidden_pricing_account_sees_no_cost_or_rate() {
    let sim = sim_without_rate_limit().await;
    let reply = get(
        &sim,
        BETA,
        "/detail_records",
        &[("filter[record_type]", "sip-trunking")],
    )
    .await;
    assert_eq!(rows(&reply).len(), 3);
    for row in rows(&reply) {
        for field in ["cost", "rate"] {
            assert!(row.get(field).is_none() || row[field] == "", "{row}");
        }
        assert!(row["billed_sec"].is_number(), "usage stays");
    }
    assert!(rows(&reply).iter().any(|r| r.get("cost").is_none()));
    assert!(rows(&reply).iter().any(|r| r["cost"] == ""));
}

#[tokio::test]
async fn over_the_rate_limit_is_429_with_code_10011_and_no_retry_after() {
    let sim = telnyx_sim::start(reseller(), SimOptions::default())
        .await
        .unwrap();
    sim.control().set_rate_limit(Some(3));
    // The window is the UTC minute: start well inside one so the five calls share it.
    let second = Utc::now().timestamp().rem_euclid(60);
    if second >= 57 {
        tokio::time::sleep(Duration::from_secs((61 - second) as u64)).await;
    }
    let query = [("filter[record_type]", "tts")];
    let mut last = None;
    for _ in 0..4 {
        last = Some(get(&sim, ACME, "/detail_records", &query).await);
    }
    let first_of_next = get(&sim, BETA, "/detail_records", &query).await;
    let reply = last.unwrap();
    assert_eq!(reply.status, 429);
    assert_eq!(first_error(&reply)["code"], "10011");
    assert!(reply.headers.get("retry-after").is_none());
    assert_eq!(reply.headers["x-ratelimit-limit"], "3, 3;w=60");
    assert_eq!(reply.headers["x-ratelimit-remaining"], "0");
    let reset: i64 = reply.headers["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&reset));
    assert_eq!(first_of_next.status, 200, "the limit is per key");
    assert_eq!(sim.control().count_status(429), 1);
}

#[tokio::test]
async fn every_detail_records_answer_carries_the_rate_limit_headers_and_the_limit_can_be_switched_off()
 {
    let sim = telnyx_sim::start(reseller(), SimOptions::default())
        .await
        .unwrap();
    let reply = get(&sim, ACME, "/detail_records", &[]).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.headers["x-ratelimit-limit"], "40, 40;w=60");
    assert!(reply.headers.contains_key("x-ratelimit-remaining"));
    sim.control().set_rate_limit(None);
    for _ in 0..45 {
        let reply = get(
            &sim,
            ACME,
            "/detail_records",
            &[("filter[record_type]", "amd")],
        )
        .await;
        assert_eq!(reply.status, 200);
        assert!(reply.headers.get("x-ratelimit-limit").is_none());
    }
}

#[tokio::test]
async fn a_status_fault_hits_its_times_then_the_api_recovers() {
    let sim = sim_without_rate_limit().await;
    sim.control().add_fault(FaultRule {
        path_prefix: "/v2/billing_groups".into(),
        times: 2,
        fault: Fault::Status(503),
    });
    let other = get(&sim, ACME, "/connections", &[]).await;
    assert_eq!(other.status, 200, "another path is untouched");
    for _ in 0..2 {
        let reply = get(&sim, ACME, "/billing_groups", &[]).await;
        assert_eq!(reply.status, 503);
        assert!(first_error(&reply)["code"].is_string());
    }
    assert_eq!(get(&sim, ACME, "/billing_groups", &[]).await.status, 200);
    assert_eq!(sim.control().count_status(503), 2);
}

#[tokio::test]
async fn a_delay_fault_trips_a_client_timeout() {
    let sim = sim_without_rate_limit().await;
    sim.control().add_fault(FaultRule {
        path_prefix: String::new(),
        times: 1,
        fault: Fault::Delay(Duration::from_millis(1500)),
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = client
        .get(format!("{}/billing_groups", sim.base_url()))
        .bearer_auth(ACME)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn a_cut_body_fault_sends_headers_then_drops_the_connection() {
    let sim = sim_without_rate_limit().await;
    sim.control().add_fault(FaultRule {
        path_prefix: "/v2/detail_records".into(),
        times: 1,
        fault: Fault::CutBody,
    });
    let response = reqwest::Client::new()
        .get(format!("{}/detail_records", sim.base_url()))
        .bearer_auth(ACME)
        .query(&[("filter[record_type]", "sip-trunking")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.bytes().await.is_err(),
        "the body must not complete"
    );
}

#[tokio::test]
async fn a_malformed_json_fault_answers_200_with_an_invalid_body() {
    let sim = sim_without_rate_limit().await;
    sim.control().add_fault(FaultRule {
        path_prefix: "/v2/connections".into(),
        times: 1,
        fault: Fault::MalformedJson,
    });
    let response = reqwest::Client::new()
        .get(format!("{}/connections", sim.base_url()))
        .bearer_auth(ACME)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    assert!(!text.is_empty());
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
}

#[tokio::test]
async fn a_without_meta_fault_drops_meta_and_an_empty_page_fault_drops_the_rows() {
    let sim = sim_without_rate_limit().await;
    for fault in [Fault::WithoutMeta, Fault::EmptyPage] {
        sim.control().add_fault(FaultRule {
            path_prefix: "/v2/phone_numbers".into(),
            times: 1,
            fault,
        });
    }
    let page = [("page[size]", "4")];

    let without_meta = get(&sim, ACME, "/phone_numbers", &page).await;
    let empty = get(&sim, ACME, "/phone_numbers", &page).await;
    let normal = get(&sim, ACME, "/phone_numbers", &page).await;

    assert_eq!(without_meta.status, 200);
    assert_eq!(rows(&without_meta).len(), 4);
    assert_eq!(without_meta.body.get("meta"), None);
    assert_eq!(empty.status, 200);
    assert_eq!(rows(&empty).len(), 0);
    assert_eq!(
        empty.body["meta"]["total_pages"], 2,
        "meta still promises more"
    );
    assert_eq!(rows(&normal).len(), 4);
    assert_eq!(normal.body["meta"]["total_pages"], 2);
}

#[tokio::test]
async fn a_key_revoked_after_two_requests_gets_401_on_the_third() {
    let sim = sim_without_rate_limit().await;
    sim.control().add_fault(FaultRule {
        path_prefix: "/v2/phone_numbers".into(),
        times: 1,
        fault: Fault::RevokeKeyAfter(2),
    });
    assert_eq!(get(&sim, ACME, "/phone_numbers", &[]).await.status, 200);
    assert_eq!(get(&sim, ACME, "/connections", &[]).await.status, 200);
    let third = get(&sim, ACME, "/billing_groups", &[]).await;
    assert_eq!(third.status, 401);
    assert_eq!(first_error(&third)["code"], "10009");
    assert_eq!(
        get(&sim, BETA, "/billing_groups", &[]).await.status,
        200,
        "other keys keep working"
    );
}

#[tokio::test]
async fn a_revoked_key_gets_401_from_then_on() {
    let sim = sim_without_rate_limit().await;
    sim.control().revoke_key(ACME);
    let reply = get(&sim, ACME, "/connections", &[]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(first_error(&reply)["code"], "10009");
}

#[tokio::test]
async fn a_record_arriving_mid_walk_repeats_the_previous_pages_last_row() {
    let sim = sim_without_rate_limit().await;
    let query = |n: &'static str| {
        [
            ("filter[record_type]", "sip-trunking"),
            ("page[size]", "3"),
            ("page[number]", n),
        ]
    };
    let page1 = get(&sim, ACME, "/detail_records", &query("1")).await;
    sim.control().add_fault(FaultRule {
        path_prefix: "/v2/detail_records".into(),
        times: 1,
        fault: Fault::DuplicateAcrossPages,
    });
    let page2 = get(&sim, ACME, "/detail_records", &query("2")).await;
    assert_eq!(rows(&page2)[0], rows(&page1)[2]);
    assert_eq!(page2.body["meta"]["total_results"], 8);
    let page3 = get(&sim, ACME, "/detail_records", &query("3")).await;
    let mut ids: Vec<&Value> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| rows(p).iter().map(|r| &r["id"]))
        .collect();
    assert_eq!(ids.len(), 8);
    ids.sort_by_key(|v| v.to_string());
    ids.dedup();
    assert_eq!(ids.len(), 7, "one duplicate, nothing lost");
}

#[tokio::test]
async fn a_late_record_becomes_visible_in_its_window() {
    let sim = sim_without_rate_limit().await;
    let window = [
        ("filter[record_type]", "verify"),
        ("filter[created_at][gte]", "2026-11-20T00:00:00Z"),
        ("filter[created_at][lt]", "2026-11-21T00:00:00Z"),
    ];
    assert_eq!(
        rows(&get(&sim, ACME, "/detail_records", &window).await).len(),
        1
    );
    sim.control().add_detail_record(
        ACME_ID,
        "verify",
        json!({"id": "late-1", "created_at": "2026-11-20T23:59:59.000Z", "rate": "0.03", "currency": "USD"}),
    );
    let after = get(&sim, ACME, "/detail_records", &window).await;
    assert_eq!(rows(&after).len(), 2);
    assert_eq!(rows(&after)[0]["id"], "late-1");
    assert_eq!(rows(&after)[0]["record_type"], "verification_detail_record");
}

const GEN_KEY: &str = "KEYgen";

async fn start_generated(count: u64, rate_limit: Option<u32>) -> RunningSim {
    start_generated_with(count, "sip-trunking, messaging", 42, rate_limit).await
}

/// One generated account of `count` records of `types` (a YAML list's inside).
async fn start_generated_with(
    count: u64,
    types: &str,
    seed: u64,
    rate_limit: Option<u32>,
) -> RunningSim {
    let scenario = Scenario::from_yaml_str(&format!(
        r#"
manager_account_id: m
master_key: KEYmaster
accounts:
  - id: gen
    organization_name: Volume Co
    email: v@x.example
    api_key: {GEN_KEY}
    connections:
      - {{id: "1700000000000000001", connection_name: trunk, record_type: credential_connection}}
    phone_numbers:
      - {{id: "1", phone_number: "+13125550999", connection_id: "1700000000000000001"}}
    generate:
      count: {count}
      record_types: [{types}]
      from: "2026-11-01T00:00:00Z"
      to: "2026-11-02T00:00:00Z"
      seed: {seed}
"#
    ))
    .unwrap();
    telnyx_sim::start(
        scenario,
        SimOptions {
            rate_limit_per_minute: rate_limit,
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_million_generated_records_walk_a_narrow_window_exactly_and_deep_pages_stay_fast() {
    let sim = start_generated(1_000_000, None).await;
    let from: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
    let (gte, lt): (DateTime<Utc>, DateTime<Utc>) = (
        "2026-11-01T03:00:00Z".parse().unwrap(),
        "2026-11-01T03:05:00Z".parse().unwrap(),
    );
    // The documented placement: record i at from + floor(i * span / count); even i are sip-trunking.
    let expected = (0..1_000_000u64)
        .filter(|i| i % 2 == 0)
        .map(|i| from.timestamp_millis() + (i * 86_400_000 / 1_000_000) as i64)
        .filter(|t| *t >= gte.timestamp_millis() && *t < lt.timestamp_millis())
        .count();
    assert_eq!(expected, 1737);

    let (gte_s, lt_s) = (gte.to_rfc3339(), lt.to_rfc3339());
    let mut seen = std::collections::HashSet::new();
    let mut last_time = None;
    let mut page = 1;
    loop {
        let n = page.to_string();
        let reply = get(
            &sim,
            GEN_KEY,
            "/detail_records",
            &[
                ("filter[record_type]", "sip-trunking"),
                ("filter[started_at][gte]", &gte_s),
                ("filter[started_at][lt]", &lt_s),
                ("page[size]", "50"),
                ("page[number]", &n),
            ],
        )
        .await;
        assert_eq!(reply.status, 200);
        for row in rows(&reply) {
            let t = time_of(row, "started_at");
            assert!(t >= gte && t < lt);
            assert!(last_time.is_none_or(|l| t <= l), "newest first");
            last_time = Some(t);
            assert!(
                seen.insert(row["id"].as_str().unwrap().to_owned()),
                "ids are unique"
            );
            assert_eq!(row["record_type"], "sip_trunking_detail_record");
        }
        if page >= reply.body["meta"]["total_pages"].as_u64().unwrap() {
            assert_eq!(reply.body["meta"]["total_results"], expected as u64);
            break;
        }
        page += 1;
    }
    assert_eq!(seen.len(), expected);

    let started = Instant::now();
    let deep = get(
        &sim,
        GEN_KEY,
        "/detail_records",
        &[
            ("filter[record_type]", "messaging"),
            ("page[size]", "50"),
            ("page[number]", "9999"),
        ],
    )
    .await;
    let took = started.elapsed();
    assert_eq!(rows(&deep).len(), 50);
    assert_eq!(deep.body["meta"]["total_results"], 500_000);
    assert!(rows(&deep).iter().all(|r| r["uuid"].is_string()));
    assert!(
        took < Duration::from_millis(500),
        "a deep page took {took:?}"
    );
}

#[tokio::test]
async fn generated_rows_are_the_same_on_every_run() {
    let a = start_generated(1_000, None).await;
    let b = start_generated(1_000, None).await;
    let query = [("filter[record_type]", "messaging"), ("page[number]", "7")];
    assert_eq!(
        get(&a, GEN_KEY, "/detail_records", &query).await.body,
        get(&b, GEN_KEY, "/detail_records", &query).await.body
    );
}

#[tokio::test]
async fn usage_reports_sum_the_detail_records_per_account() {
    let sim = sim_without_rate_limit().await;
    let query = [
        ("product", "messaging"),
        ("metrics", "cost,parts,count"),
        ("dimensions", "direction"),
        ("start_date", "2026-11-20T00:00:00Z"),
        ("end_date", "2026-11-24T00:00:00Z"),
    ];
    let own = get(&sim, ACME, "/usage_reports", &query).await;
    assert_eq!(own.status, 200);
    let outbound = rows(&own)
        .iter()
        .find(|r| r["direction"] == "outbound")
        .unwrap();
    assert_eq!(outbound["count"], 4);
    assert_eq!(outbound["parts"], 7.0);
    // Summed as binary doubles: close to the decimal sum, not always equal to it.
    assert!((outbound["cost"].as_f64().unwrap() - 0.069).abs() < 1e-12);
    let mut across = query.to_vec();
    across.push(("managed_accounts", "true"));
    let all = get(&sim, MASTER, "/usage_reports", &across).await;
    let users: std::collections::HashSet<&str> = rows(&all)
        .iter()
        .map(|r| r["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(users.len(), 2, "Acme and Beta have messaging usage");
    assert!(all.body["meta"]["total_results"].as_u64().unwrap() >= 3);
    let missing = get(&sim, ACME, "/usage_reports", &[("product", "messaging")]).await;
    assert_eq!(missing.status, 400);
}

#[tokio::test]
async fn unknown_paths_get_404_with_a_numeric_code() {
    let sim = sim_without_rate_limit().await;
    let reply = get(&sim, ACME, "/nothing_here", &[]).await;
    assert_eq!(reply.status, 404);
    assert!(first_error(&reply)["code"].is_number());
}

#[tokio::test]
async fn a_write_on_a_read_only_resource_gets_405_with_a_telnyx_error_body() {
    let sim = sim_without_rate_limit().await;
    let response = reqwest::Client::new()
        .post(format!("{}/billing_groups", sim.base_url()))
        .bearer_auth(ACME)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "10006");
}

#[tokio::test]
async fn the_http_control_endpoints_drive_the_simulator() {
    let sim = sim_without_rate_limit().await;
    let root = sim.base_url().trim_end_matches("/v2").to_owned();
    let http = reqwest::Client::new();
    let ok = |s: reqwest::StatusCode| assert!(s.is_success(), "{s}");
    ok(http
        .post(format!("{root}/_sim/faults"))
        .json(&json!({"path_prefix": "/v2/connections", "times": 1, "fault": {"kind": "status", "value": 500}}))
        .send()
        .await
        .unwrap()
        .status());
    assert_eq!(get(&sim, ACME, "/connections", &[]).await.status, 500);
    ok(http
        .post(format!("{root}/_sim/faults"))
        .json(&json!({"path_prefix": "", "times": 5, "fault": {"kind": "status", "value": 503}}))
        .send()
        .await
        .unwrap()
        .status());
    ok(http
        .delete(format!("{root}/_sim/faults"))
        .send()
        .await
        .unwrap()
        .status());
    assert_eq!(get(&sim, ACME, "/connections", &[]).await.status, 200);
    ok(http
        .post(format!("{root}/_sim/detail_records"))
        .json(&json!({"account_id": ACME_ID, "record_type": "fax", "row": {"id": "fax-late", "started_at": "2026-11-23T00:00:00Z"}}))
        .send()
        .await
        .unwrap()
        .status());
    let fax = get(
        &sim,
        ACME,
        "/detail_records",
        &[("filter[record_type]", "fax")],
    )
    .await;
    assert_eq!(rows(&fax)[0]["id"], "fax-late");
    ok(http
        .post(format!("{root}/_sim/rate_limit"))
        .json(&json!({"per_minute": 1}))
        .send()
        .await
        .unwrap()
        .status());
    let limited = get(
        &sim,
        ACME,
        "/detail_records",
        &[("filter[record_type]", "fax")],
    )
    .await;
    assert!(limited.headers.contains_key("x-ratelimit-limit"));
    ok(http
        .post(format!("{root}/_sim/revoke"))
        .json(&json!({"key": BETA}))
        .send()
        .await
        .unwrap()
        .status());
    assert_eq!(get(&sim, BETA, "/connections", &[]).await.status, 401);
    let log: Vec<Value> = http
        .get(format!("{root}/_sim/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.len(), sim.control().requests().len());
    assert!(
        log.iter()
            .all(|r| r["path"].as_str().unwrap().starts_with("/v2/"))
    );
    assert_eq!(log[0]["status"], 500);
    assert!(
        log.iter()
            .any(|r| r["query"][0] == json!(["filter[record_type]", "fax"]))
    );
}

#[tokio::test]
async fn the_binary_serves_a_scenario_file_and_logs_its_url() {
    use tokio::io::AsyncBufReadExt;

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_telnyx-sim"))
        .args(["--port", "0", "--no-rate-limit", "--scenario"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/reseller.yaml"
        ))
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let start = line.find("http://").unwrap();
    let url: String = line[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/v2"),
        "{line}"
    );
    let reply = reqwest::Client::new()
        .get(format!("{url}/managed_accounts"))
        .bearer_auth(MASTER)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_type_told_to_carry_another_time_field_serves_it_and_filters_only_on_it() {
    let sim = sim_without_rate_limit().await;
    sim.control().set_time_field("stt", "started_at").unwrap();
    let window = |field: &str| {
        vec![
            ("filter[record_type]".to_owned(), "stt".to_owned()),
            (
                format!("filter[{field}][gte]"),
                "2026-11-01T00:00:00Z".to_owned(),
            ),
            (
                format!("filter[{field}][lt]"),
                "2026-12-01T00:00:00Z".to_owned(),
            ),
        ]
    };
    fn query(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
        pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
    let table = get(&sim, ACME, "/detail_records", &query(&window("start_time"))).await;
    assert_eq!(table.status, 200);
    assert!(
        rows(&table).is_empty(),
        "the table's field matches nothing now"
    );
    let carried = get(&sim, ACME, "/detail_records", &query(&window("started_at"))).await;
    assert_eq!(rows(&carried).len(), 2);
    assert!(
        rows(&carried)
            .iter()
            .all(|r| r.get("start_time").is_none() && r["started_at"].is_string())
    );
    let unfiltered = get(
        &sim,
        ACME,
        "/detail_records",
        &[("filter[record_type]", "stt")],
    )
    .await;
    assert_eq!(rows(&unfiltered).len(), 2);
    let usage = get(
        &sim,
        ACME,
        "/usage_reports",
        &[
            ("product", "speech-to-text"),
            ("metrics", "count,duration_sec"),
            ("dimensions", "currency"),
            ("start_date", "2026-11-01T00:00:00Z"),
            ("end_date", "2026-12-01T00:00:00Z"),
        ],
    )
    .await;
    assert_eq!(
        rows(&usage)[0]["count"],
        2,
        "the usage report still counts them"
    );
    assert_eq!(rows(&usage)[0]["duration_sec"], 100.0);
    assert!(sim.control().set_time_field("sms", "started_at").is_err());
}

#[tokio::test]
async fn the_usage_report_of_a_day_equals_what_its_walk_serves_including_late_records() {
    let sim = sim_without_rate_limit().await;
    sim.control().add_detail_record(
        ACME_ID,
        "sip-trunking",
        json!({"id": "late-sip", "started_at": "2026-11-20T23:59:59.999Z", "attempted": 1, "billed_sec": 60, "cost": "1.666E-4", "currency": "USD"}),
    );
    let day = [
        ("filter[record_type]", "sip-trunking"),
        ("filter[started_at][gte]", "2026-11-20T00:00:00Z"),
        ("filter[started_at][lt]", "2026-11-21T00:00:00Z"),
        ("page[size]", "50"),
    ];
    let served = get(&sim, ACME, "/detail_records", &day).await;
    let billed: f64 = rows(&served)
        .iter()
        .map(|r| r["billed_sec"].as_f64().unwrap())
        .sum();
    let usage = get(
        &sim,
        ACME,
        "/usage_reports",
        &[
            ("product", "sip-trunking"),
            ("metrics", "attempted,billed_sec"),
            ("dimensions", "currency"),
            ("start_date", "2026-11-20T00:00:00Z"),
            ("end_date", "2026-11-21T00:00:00Z"),
        ],
    )
    .await;
    let total = &rows(&usage)[0];
    // sip-trunking offers no `count`: every served leg is one attempt.
    assert_eq!(
        total["attempted"].as_f64().unwrap() as usize,
        rows(&served).len()
    );
    assert_eq!(total["billed_sec"].as_f64().unwrap(), billed);
    assert!(rows(&served).iter().any(|r| r["id"] == "late-sip"));
}

#[tokio::test]
async fn generated_records_of_one_slot_share_their_calls_session() {
    let sim = start_generated_with(10, "sip-trunking, tts", 7, None).await;
    let page = |t: &'static str| [("filter[record_type]", t), ("page[size]", "50")];
    let calls = get(&sim, GEN_KEY, "/detail_records", &page("sip-trunking")).await;
    let tts = get(&sim, GEN_KEY, "/detail_records", &page("tts")).await;
    let sessions = |r: &Reply, field: &str| -> std::collections::BTreeSet<String> {
        rows(r)
            .iter()
            .filter_map(|row| row[field].as_str().map(str::to_owned))
            .collect()
    };
    let call_sessions = sessions(&calls, "telnyx_session_id");
    assert_eq!(call_sessions.len(), 5, "one session per call");
    assert_eq!(
        sessions(&tts, "call_session_id"),
        call_sessions,
        "each tts names its call's session"
    );
    assert!(rows(&tts).iter().all(|r| r.get("connection_id").is_none()));
}
