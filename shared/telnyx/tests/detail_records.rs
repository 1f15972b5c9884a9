//! Detail-record walks against the simulator: request shape, paging and its stop rules,
//! the per-type time field table, de-duplication across shifted pages, late arrivals,
//! hidden pricing, and the page cap.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reconciliation::domain::sums;
use reconciliation::domain::{Direction, RecordType};
use reconciliation::usage::{evidence, shape};
use rust_decimal::Decimal;
use serde_json::json;
use std::collections::HashSet;
use std::str::FromStr;
use support::*;
use telnyx_client::{ClientConfig, TelnyxClient, TelnyxError};

const FROM: &str = "2026-11-20T00:00:00Z";
const TO: &str = "2026-11-21T00:00:00Z";

#[tokio::test]
async fn one_hundred_thirty_records_come_in_three_pages_of_fifty_fifty_thirty() {
    let sim = start(
        ScenarioBuilder::new()
            .generate(130, "sip-trunking", FROM, TO)
            .build(),
    )
    .await;
    let client = client(&sim);
    let mut pages =
        client.detail_record_pages(&account_key(), RecordType::SipTrunking, window(FROM, TO));
    let mut sizes = Vec::new();
    let mut ids = HashSet::new();
    while let Some(page) = pages.next_page().await.unwrap() {
        sizes.push(page.len());
        ids.extend(page.into_iter().map(|r| r.id));
    }

    assert_eq!(sizes, [50, 50, 30]);
    assert_eq!(ids.len(), 130);
    assert_eq!(pages.total_results(), Some(130));
    assert_eq!(pages.pages_fetched(), 3);
    assert_eq!(
        requests_to(&sim, "/v2/detail_records").len(),
        3,
        "no request after the last page"
    );
}

#[tokio::test]
async fn the_window_query_names_the_type_its_time_field_and_page_size_fifty() {
    let sim = start(ScenarioBuilder::new().build()).await;

    walk(
        &client(&sim),
        RecordType::ConferenceParticipant,
        window(FROM, TO),
    )
    .await
    .unwrap();

    let sent = &requests_to(&sim, "/v2/detail_records")[0];
    assert_eq!(
        query_value(sent, "filter[record_type]"),
        Some("conference-participant")
    );
    assert_eq!(
        query_value(sent, "filter[joined_at][gte]"),
        Some("2026-11-20T00:00:00Z")
    );
    assert_eq!(
        query_value(sent, "filter[joined_at][lt]"),
        Some("2026-11-21T00:00:00Z")
    );
    assert_eq!(query_value(sent, "page[size]"), Some("50"));
    assert_eq!(query_value(sent, "page[number]"), Some("1"));
}

/// The core's time-field table checked against the simulator's own, type by type: a row
/// stamped (only) in its type's real time field inside the window must come back, and a
/// wrong field in the core's table would make the simulator answer zero rows.
#[tokio::test]
async fn every_record_type_is_found_by_its_time_field_window() {
    let mut scenario = ScenarioBuilder::new();
    for kind in telnyx_sim::RecordType::ALL {
        let inside = json!({
            kind.id_field(): format!("in-{}", kind.filter_name()),
            kind.time_field(): "2026-11-20T12:00:00.000Z",
        });
        let outside = json!({
            kind.id_field(): format!("out-{}", kind.filter_name()),
            kind.time_field(): "2026-11-19T12:00:00.000Z",
        });
        scenario = scenario
            .detail_record(kind.filter_name(), inside)
            .detail_record(kind.filter_name(), outside);
    }
    let sim = start(scenario.build()).await;
    let client = client(&sim);

    for &record_type in RecordType::ALL {
        let sim_kind: telnyx_sim::RecordType = record_type.filter_name().parse().unwrap();
        let (_, records) = walk(&client, record_type, window(FROM, TO)).await.unwrap();
        assert_eq!(
            records.len(),
            1,
            "{record_type}: the window query found {} rows",
            records.len()
        );
        let record = &records[0];
        assert_eq!(
            record.raw.field(sim_kind.id_field()),
            Some(format!("\"in-{record_type}\"").as_str()),
            "{record_type}"
        );
        assert_eq!(record.record_type, record_type);
        assert_eq!(
            record.occurred_at,
            at("2026-11-20T12:00:00Z"),
            "{record_type}"
        );
    }
}

#[tokio::test]
async fn a_record_shifted_onto_the_next_page_is_returned_once() {
    let sim = start(
        ScenarioBuilder::new()
            .generate(130, "messaging", FROM, TO)
            .build(),
    )
    .await;
    sim.control().add_fault(telnyx_sim::FaultRule {
        path_prefix: "/v2/detail_records".into(),
        times: 1,
        fault: telnyx_sim::Fault::DuplicateAcrossPages,
    });
    let client = client(&sim);
    let mut pages =
        client.detail_record_pages(&account_key(), RecordType::Messaging, window(FROM, TO));
    let mut ids = Vec::new();
    while let Some(page) = pages.next_page().await.unwrap() {
        ids.extend(page.into_iter().map(|r| r.id));
    }

    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a duplicate id left the walk");
    assert_eq!(ids.len(), 130);
    assert_eq!(pages.duplicates_dropped(), 1);
}

#[tokio::test]
async fn a_long_walk_drops_shifted_duplicates_while_remembering_only_its_last_pages() {
    let sim = start(
        ScenarioBuilder::new()
            .generate(1_000, "messaging", FROM, TO)
            .build(),
    )
    .await;
    let client = client(&sim);
    let mut pages =
        client.detail_record_pages(&account_key(), RecordType::Messaging, window(FROM, TO));
    let mut ids = Vec::new();
    let mut most_remembered = 0;
    while let Some(records) = pages.next_page().await.unwrap() {
        ids.extend(records.into_iter().map(|r| r.id));
        most_remembered = most_remembered.max(pages.remembered_ids());
        if [4, 14].contains(&pages.pages_fetched()) {
            // A record arrives just before page 5 (and 15) is read.
            sim.control().add_fault(telnyx_sim::FaultRule {
                path_prefix: "/v2/detail_records".into(),
                times: 1,
                fault: telnyx_sim::Fault::DuplicateAcrossPages,
            });
        }
    }

    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a duplicate id left the walk");
    assert_eq!(ids.len(), 1_000);
    assert_eq!(pages.duplicates_dropped(), 2);
    assert!(pages.pages_fetched() >= 20);
    assert!(
        most_remembered <= telnyx_client::REMEMBERED_PAGES * 50,
        "remembered {most_remembered} ids"
    );
}

#[tokio::test]
async fn rows_are_normalized_whatever_their_drift() {
    let scenario = ScenarioBuilder::new()
        .detail_record(
            "webrtc",
            json!({"id": "w-1", "started_at": "2026-11-20T13:00:01.000Z", "connection_id": 1684641123236054244_u64,
                   "billing_group_id": 60, "country_code": 1, "direction": "Inbound", "billed_sec": "180",
                   "cost": "0.0060", "rate": "0.0020", "currency": "USD", "cli": "+13125550102", "cld": "+15125550100"}),
        )
        .detail_record(
            "webrtc",
            json!({"id": "w-2", "started_at": "2026-11-20T14:00:01.000Z", "connection_id": "1684641123236054244",
                   "cost": "1.666E-4", "billed_sec": 60}),
        )
        .build();
    let sim = start(scenario).await;

    let (_, records) = walk(&client(&sim), RecordType::Webrtc, window(FROM, TO))
        .await
        .unwrap();

    let w1 = records.iter().find(|r| r.id.as_str() == "w-1").unwrap();
    assert_eq!(
        w1.connection_id.as_ref().map(|c| c.as_str()),
        Some("1684641123236054244")
    );
    assert_eq!(w1.billing_group_id.as_deref(), Some("60"));
    assert_eq!(w1.direction, Some(Direction::Inbound));
    assert_eq!(w1.billed_quantity, Some(Decimal::from(180)));
    assert_eq!(w1.cost, Some(Decimal::from_str("0.0060").unwrap()));
    let w2 = records.iter().find(|r| r.id.as_str() == "w-2").unwrap();
    assert_eq!(w2.cost, Some(Decimal::from_str("0.0001666").unwrap()));
}

#[tokio::test]
async fn hidden_pricing_leaves_cost_and_rate_empty_but_keeps_usage() {
    let sim = start(
        ScenarioBuilder::new()
            .set("hide_pricing", json!(true))
            .generate(10, "sip-trunking", FROM, TO)
            .build(),
    )
    .await;

    let (_, records) = walk(&client(&sim), RecordType::SipTrunking, window(FROM, TO))
        .await
        .unwrap();

    assert_eq!(records.len(), 10);
    assert!(records.iter().all(|r| r.cost.is_none() && r.rate.is_none()));
    assert!(records.iter().all(|r| r.billed_quantity.is_some()));
    assert!(
        records.iter().any(|r| r.raw.field("cost") == Some(r#""""#)),
        "both spellings seen"
    );
}

#[tokio::test]
async fn reaching_the_page_cap_with_pages_left_is_an_error_after_the_pages_read() {
    let sim = start(
        ScenarioBuilder::new()
            .generate(130, "tts", FROM, TO)
            .build(),
    )
    .await;
    let client = TelnyxClient::new(ClientConfig {
        page_cap: 2,
        ..config(&sim)
    })
    .unwrap();
    let mut pages = client.detail_record_pages(&account_key(), RecordType::Tts, window(FROM, TO));

    assert_eq!(pages.next_page().await.unwrap().map(|p| p.len()), Some(50));
    assert_eq!(pages.next_page().await.unwrap().map(|p| p.len()), Some(50));
    let err = pages.next_page().await.unwrap_err();

    assert!(
        matches!(
            err,
            TelnyxError::PageCapReached {
                endpoint: "/detail_records",
                cap: 2
            }
        ),
        "{err:?}"
    );
    assert_eq!(requests_to(&sim, "/v2/detail_records").len(), 2);
}

#[tokio::test]
async fn a_list_needing_more_pages_than_the_cap_fails_instead_of_truncating() {
    let sim = start(ScenarioBuilder::new().phone_numbers(300).build()).await;
    let client = TelnyxClient::new(ClientConfig {
        page_cap: 1,
        ..config(&sim)
    })
    .unwrap();

    let err = client.phone_numbers(&account_key()).await.unwrap_err();

    assert!(
        matches!(
            err,
            TelnyxError::PageCapReached {
                endpoint: "/phone_numbers",
                cap: 1
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn records_outside_the_window_are_not_requested_back() {
    let sim = start(
        ScenarioBuilder::new()
            .generate(100, "sip-trunking", FROM, TO)
            .build(),
    )
    .await;

    let (_, first_half) = walk(
        &client(&sim),
        RecordType::SipTrunking,
        window(FROM, "2026-11-20T12:00:00Z"),
    )
    .await
    .unwrap();

    assert_eq!(first_half.len(), 50);
    assert!(
        first_half
            .iter()
            .all(|r| r.occurred_at < at("2026-11-20T12:00:00Z"))
    );
}

#[tokio::test]
async fn the_port_streams_pages_and_keeps_the_client_error_as_source() {
    use reconciliation::ports::{RecordQuery, TelnyxApi};
    let sim = start(ScenarioBuilder::new().generate(60, "amd", FROM, TO).build()).await;
    let client = client(&sim);
    let api: &dyn TelnyxApi = &client;

    let mut pages = api
        .detail_records(
            &account_key(),
            RecordQuery::new(RecordType::Amd, window(FROM, TO)),
        )
        .await
        .unwrap();
    let first = pages.next_page().await.unwrap().unwrap();
    sim.control().add_fault(telnyx_sim::FaultRule {
        path_prefix: "/v2/detail_records".into(),
        times: 1,
        fault: telnyx_sim::Fault::MalformedJson,
    });
    let err = pages.next_page().await.unwrap_err();

    assert_eq!(first.records.len(), 50);
    assert_eq!((first.number, first.total_results), (1, Some(60)));
    assert!(!err.is_transient());
    let chain = err.chain();
    assert!(chain.contains("amd detail records (page 2)"), "{chain}");
    assert!(chain.contains("/detail_records page 2"), "{chain}");
}

#[tokio::test]
async fn a_record_arriving_late_is_missed_by_the_first_read_and_found_once_by_an_overlapping_reread()
 {
    // 60 records in the first half-day, one every 12 minutes up to 11:48.
    let sim = start(
        ScenarioBuilder::new()
            .generate(120, "sip-trunking", FROM, TO)
            .build(),
    )
    .await;
    let client = client(&sim);
    let first_window = window(FROM, "2026-11-20T12:00:00Z");
    let mut first =
        client.detail_record_pages(&account_key(), RecordType::SipTrunking, first_window);
    let mut first_ids = Vec::new();
    first_ids.extend(
        first
            .next_page()
            .await
            .unwrap()
            .unwrap()
            .into_iter()
            .map(|r| r.id),
    );
    // Between two pages, a call of 11:59:30 becomes available: it lands at the top (rows
    // come newest first), behind the walk, and pushes page 1's last row onto page 2.
    sim.control().add_detail_record(
        ACCOUNT_ID,
        "sip-trunking",
        json!({"id": "late-1", "started_at": "2026-11-20T11:59:30.000Z", "billed_sec": 60,
               "cost": "0.0100", "currency": "USD", "connection_id": "c-1"}),
    );
    while let Some(page) = first.next_page().await.unwrap() {
        first_ids.extend(page.into_iter().map(|r| r.id));
    }

    // The next run re-reads an overlap before its watermark.
    let (_, second) = walk(
        &client,
        RecordType::SipTrunking,
        window("2026-11-20T11:00:00Z", TO),
    )
    .await
    .unwrap();

    assert_eq!(first_ids.len(), 60, "every original record, once");
    assert!(!first_ids.iter().any(|id| id.as_str() == "late-1"));
    assert_eq!(first.duplicates_dropped(), 1, "page 1's last row came back");
    let late: Vec<_> = second
        .iter()
        .filter(|r| r.id.as_str() == "late-1")
        .collect();
    assert_eq!(late.len(), 1, "found exactly once");
    assert_eq!(late[0].cost, Some(Decimal::from_str("0.0100").unwrap()));
    let all: HashSet<_> = first_ids
        .iter()
        .chain(second.iter().map(|r| &r.id))
        .collect();
    assert_eq!(
        all.len(),
        120 + 1,
        "every record of the day, the late one included"
    );
}

#[tokio::test]
async fn an_empty_page_ends_the_walk_even_when_meta_promises_more() {
    let sim = start(
        ScenarioBuilder::new()
            .generate(130, "messaging", FROM, TO)
            .build(),
    )
    .await;
    let client = client(&sim);
    let mut pages =
        client.detail_record_pages(&account_key(), RecordType::Messaging, window(FROM, TO));
    assert_eq!(pages.next_page().await.unwrap().map(|p| p.len()), Some(50));
    sim.control().add_fault(telnyx_sim::FaultRule {
        path_prefix: "/v2/detail_records".into(),
        times: 1,
        fault: telnyx_sim::Fault::EmptyPage,
    });

    let next = pages.next_page().await.unwrap();
    let after = pages.next_page().await.unwrap();

    assert_eq!(next.map(|p| p.len()), None);
    assert_eq!(after.map(|p| p.len()), None);
    assert_eq!(pages.total_results(), Some(130), "meta said there was more");
    assert_eq!(
        requests_to(&sim, "/v2/detail_records").len(),
        2,
        "nothing requested after the empty page"
    );
}

#[tokio::test]
async fn pages_without_meta_are_walked_until_a_short_or_empty_page() {
    let sim = start(
        ScenarioBuilder::new()
            .generate(100, "messaging", FROM, TO)
            .phone_numbers(260)
            .build(),
    )
    .await;
    sim.control().add_fault(telnyx_sim::FaultRule {
        path_prefix: "/v2/".into(),
        times: 100,
        fault: telnyx_sim::Fault::WithoutMeta,
    });
    let client = client(&sim);

    let (sizes, records) = walk(&client, RecordType::Messaging, window(FROM, TO))
        .await
        .unwrap();
    let numbers = client.phone_numbers(&account_key()).await.unwrap();

    // Two full pages say nothing about the end: the third, empty, does.
    assert_eq!(sizes, [50, 50]);
    assert_eq!(records.len(), 100);
    assert_eq!(requests_to(&sim, "/v2/detail_records").len(), 3);
    // 250 then 10: the short page is the last.
    assert_eq!(numbers.len(), 260);
    assert_eq!(requests_to(&sim, "/v2/phone_numbers").len(), 2);
}

#[tokio::test]
async fn a_walk_on_a_found_time_field_reads_it_and_the_port_reports_totals_and_newest_rows() {
    use reconciliation::ports::{RecordQuery, TelnyxApi};
    let sim = start(
        ScenarioBuilder::new()
            .detail_record(
                "stt",
                json!({"call_leg_id": "leg-1", "call_session_id": "sess-1", "start_time": "2026-11-20T10:00:00Z", "duration_sec": 90, "cost": "0.0375", "currency": "USD"}),
            )
            .detail_record(
                "stt",
                json!({"call_leg_id": "leg-2", "telnyx_session_id": "sess-2", "call_session_id": "sess-2", "start_time": "2026-11-20T11:00:00Z", "duration_sec": 10, "cost": "0.0042", "currency": "USD"}),
            )
            .build(),
    )
    .await;
    sim.control().set_time_field("stt", "started_at").unwrap();
    let client = client(&sim);
    let key = account_key();
    let by_table = walk(&client, RecordType::Stt, window(FROM, TO))
        .await
        .unwrap();
    assert!(
        by_table.1.is_empty(),
        "the table's start_time matches nothing now"
    );

    let mut query = RecordQuery::new(RecordType::Stt, window(FROM, TO));
    query.time_field = "started_at";
    let mut pages = TelnyxApi::detail_records(&client, &key, query)
        .await
        .unwrap();
    let page = pages.next_page().await.unwrap().unwrap();
    assert_eq!(page.records.len(), 2);
    let first = page
        .records
        .iter()
        .find(|r| r.id.as_str().starts_with("leg-2@"))
        .unwrap();
    assert_eq!(first.occurred_at, at("2026-11-20T11:00:00Z"));
    assert_eq!(
        first.sessions,
        vec!["sess-2".to_owned(), "leg-2".to_owned()],
        "each id once"
    );

    let newest = TelnyxApi::newest_rows(&client, &key, RecordType::Stt)
        .await
        .unwrap();
    assert_eq!(newest.len(), 2);
    assert!(
        newest
            .iter()
            .all(|r| r.field("started_at").is_some() && r.field("start_time").is_none())
    );

    let options = TelnyxApi::usage_options(&client, &key).await.unwrap();
    let shape = shape::learn(&options, RecordType::Stt).unwrap();
    assert_eq!(shape.product, "speech-to-text", "learned, not assumed");
    let rows = TelnyxApi::usage_report(
        &client,
        &key,
        &evidence::request(&shape, window(FROM, TO), false),
    )
    .await
    .unwrap();
    let rows: Vec<_> = rows.iter().collect();
    assert_eq!(evidence::sum(&rows, "count"), Decimal::from(2));
    assert_eq!(evidence::sum(&rows, "duration_sec"), Decimal::from(100));
    assert!(sums::sums_agree(
        evidence::sum(&rows, "cost"),
        Decimal::from_str("0.0417").unwrap(),
        2
    ));
}

/// The product's learned usage shapes against the simulator's own catalog (written
/// apart on purpose), and the report's totals against the client's own parsing: for
/// every type, the product learned from `GET /usage_reports/options` is the one the
/// simulator sums it under; for every auditable type, the report's count equals the
/// records a walk of the same window parses (exactly) and its usage and cost their sums
/// (within the binary-double noise), read through the same field the parser uses.
#[tokio::test]
async fn for_every_auditable_type_the_reports_totals_equal_the_sums_of_the_walked_records() {
    use reconciliation::ports::TelnyxApi;
    let types: Vec<&str> = RecordType::ALL.iter().map(|t| t.filter_name()).collect();
    let sim = start(
        ScenarioBuilder::new()
            .item(
                "connections",
                json!({"id": "1700000000000000001", "connection_name": "trunk", "record_type": "credential_connection"}),
            )
            .set(
                "generate",
                json!({"count": 21 * 12, "record_types": types, "from": FROM, "to": TO, "seed": 3}),
            )
            .build(),
    )
    .await;
    let client = client(&sim);
    let key = account_key();
    let options = TelnyxApi::usage_options(&client, &key).await.unwrap();
    let mut audited = Vec::new();
    for &t in RecordType::ALL {
        let sim_type: telnyx_sim::RecordType = t.filter_name().parse().unwrap();
        let learned = shape::learn(&options, t).ok();
        assert_eq!(
            learned.as_ref().map(|s| s.product.as_str()),
            telnyx_sim::usage_product_of(sim_type),
            "{t}"
        );
        let Some(shape) = learned.filter(|s| s.not_auditable().is_none()) else {
            continue;
        };
        audited.push(t);
        let (_, records) = walk(&client, t, window(FROM, TO)).await.unwrap();
        assert_eq!(records.len(), 12, "{t}");
        let rows = TelnyxApi::usage_report(
            &client,
            &key,
            &evidence::request(&shape, window(FROM, TO), false),
        )
        .await
        .unwrap();
        let rows: Vec<_> = rows.iter().collect();
        let count = shape.count.as_deref().unwrap();
        assert_eq!(
            evidence::sum(&rows, count),
            Decimal::from(12),
            "{t} by `{count}`"
        );
        let quantity: Decimal = records.iter().filter_map(|r| r.billed_quantity).sum();
        if !shape.quantity.is_empty() {
            let reported: Decimal = shape.quantity.iter().map(|m| evidence::sum(&rows, m)).sum();
            assert!(
                sums::sums_agree(reported, quantity, 12),
                "{t}: {reported} vs {quantity}"
            );
        }
        if let Some(metric) = &shape.cost {
            let cost: Decimal = records.iter().filter_map(|r| r.cost).sum();
            let reported = evidence::sum(&rows, metric);
            assert!(
                sums::sums_agree(reported, cost, 12),
                "{t} `{metric}`: {reported} vs {cost}"
            );
        }
    }
    assert_eq!(audited.len(), 16, "{audited:?}");
    for t in [
        RecordType::ConferenceParticipant,
        RecordType::SiprecClient,
        RecordType::Embedding,
        RecordType::InferenceSpeechToText,
        RecordType::Wireless,
    ] {
        assert!(!audited.contains(&t), "{t} has no product or count here");
    }
}

/// A metric the product does not offer is Telnyx's 400, and the port says which.
#[tokio::test]
async fn a_metric_the_product_does_not_offer_is_a_permanent_error_naming_it() {
    use reconciliation::ports::{TelnyxApi, UsageRequest};
    let sim = start(ScenarioBuilder::new().build()).await;
    let client = client(&sim);
    let request = UsageRequest {
        product: "sip-trunking".into(),
        dimensions: vec!["date".into()],
        metrics: vec!["count".into()],
        window: window(FROM, TO),
        across_accounts: false,
    };
    let err = TelnyxApi::usage_report(&client, &account_key(), &request)
        .await
        .unwrap_err();
    assert!(!err.is_transient());
    let chain = err.chain();
    assert!(
        chain.contains("Metrics invalid values") && chain.contains("attempted"),
        "{chain}"
    );
}
