//! The list endpoints and usage reports against the simulator: request shape (paging,
//! filters), multi-page walks, key scoping, and conversion into the core's types.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reconciliation::domain::ConnectionKind;
use rust_decimal::Decimal;
use serde_json::json;
use std::str::FromStr;
use support::*;
use telnyx_client::{ClientConfig, TelnyxClient, TelnyxError, UsageReportQuery};

#[tokio::test]
async fn managed_accounts_hide_cancelled_ones_unless_asked() {
    let scenario = ScenarioBuilder::new()
        .other_account(json!({
            "id": "acct-gone", "organization_name": "Gone Ltd", "email": "g@x",
            "api_key": "KEY_gone", "cancelled": true, "rollup_billing": true
        }))
        .build();
    let sim = start(scenario).await;
    let client = client(&sim);

    let active = client.managed_accounts(&master_key(), false).await.unwrap();
    let all = client.managed_accounts(&master_key(), true).await.unwrap();

    assert_eq!(active.len(), 1);
    assert_eq!(active[0].id.as_str(), ACCOUNT_ID);
    assert_eq!(
        active[0].organization_name.as_deref(),
        Some("Acme Reseller")
    );
    assert_eq!(active[0].manager_account_id.as_deref(), Some("mgr-1"));
    assert!(active[0].created_at.is_some());
    assert_eq!(all.len(), 2);
    assert!(
        all.iter()
            .any(|a| a.id.as_str() == "acct-gone" && a.rollup_billing)
    );
    let sent = requests_to(&sim, "/v2/managed_accounts");
    assert_eq!(
        query_value(&sent[0], "include_cancelled_accounts"),
        Some("false")
    );
    assert_eq!(
        query_value(&sent[1], "include_cancelled_accounts"),
        Some("true")
    );
}

#[tokio::test]
async fn every_list_request_sends_page_size_250_and_a_page_number() {
    let sim = start(ScenarioBuilder::new().phone_numbers(3).build()).await;
    client(&sim).snapshot(&account_key()).await.unwrap();

    for path in [
        "/v2/billing_groups",
        "/v2/connections",
        "/v2/outbound_voice_profiles",
        "/v2/phone_numbers",
    ] {
        let sent = requests_to(&sim, path);
        assert_eq!(sent.len(), 1, "{path}");
        assert_eq!(query_value(&sent[0], "page[size]"), Some("250"), "{path}");
        assert_eq!(query_value(&sent[0], "page[number]"), Some("1"), "{path}");
    }
}

#[tokio::test]
async fn a_list_longer_than_a_page_is_read_to_the_last_page() {
    let sim = start(ScenarioBuilder::new().phone_numbers(520).build()).await;

    let numbers = client(&sim).phone_numbers(&account_key()).await.unwrap();

    assert_eq!(numbers.len(), 520);
    assert_eq!(numbers[519].phone_number, "+13125550519");
    let pages: Vec<_> = requests_to(&sim, "/v2/phone_numbers")
        .iter()
        .map(|r| query_value(r, "page[number]").unwrap().to_owned())
        .collect();
    assert_eq!(pages, ["1", "2", "3"]);
}

#[tokio::test]
async fn snapshot_maps_groups_connections_profiles_and_numbers() {
    let scenario = ScenarioBuilder::new()
        .billing_group("bg-retail", "Retail")
        .item(
            "billing_groups",
            json!({"id": "bg-old", "name": "Old", "deleted_at": "2026-06-01T00:00:00Z"}),
        )
        .item(
            "outbound_voice_profiles",
            json!({"id": "1293384261075731499", "name": "Retail out", "billing_group_id": "bg-retail"}),
        )
        .item("outbound_voice_profiles", json!({"id": "ovp-none", "name": "No group"}))
        .item(
            "connections",
            json!({"id": "1684641123236054244", "connection_name": "trunk", "record_type": "credential_connection",
                   "outbound_voice_profile_id": "1293384261075731499"}),
        )
        .item(
            "connections",
            json!({"id": "c-ivr", "connection_name": "ivr", "record_type": "call_control_application", "active": false}),
        )
        .item(
            "connections",
            json!({"id": "c-fax", "connection_name": "fax", "record_type": "fax_application"}),
        )
        .item(
            "phone_numbers",
            json!({"id": "pn-1", "phone_number": "+13125550101", "connection_id": "1684641123236054244",
                   "billing_group_id": "bg-retail", "phone_number_type": "toll_free"}),
        )
        .item(
            "phone_numbers",
            json!({"id": "pn-2", "phone_number": "+13125550106", "messaging_profile_id": "mp-1"}),
        )
        .build();
    let sim = start(scenario).await;

    let snap = client(&sim).snapshot(&account_key()).await.unwrap();

    assert_eq!(snap.billing_groups.len(), 2);
    let old = snap
        .billing_groups
        .iter()
        .find(|g| g.id.as_str() == "bg-old")
        .unwrap();
    assert!(old.deleted_at.is_some());
    let trunk = &snap.connections[0];
    assert_eq!(trunk.kind, ConnectionKind::Credential);
    assert!(trunk.active);
    assert_eq!(
        trunk.outbound_voice_profile_id.as_ref().map(|p| p.as_str()),
        Some("1293384261075731499")
    );
    assert_eq!(
        snap.connections[1].kind,
        ConnectionKind::CallControlApplication
    );
    assert!(!snap.connections[1].active);
    assert_eq!(snap.connections[1].outbound_voice_profile_id, None);
    assert_eq!(snap.connections[2].kind, ConnectionKind::FaxApplication);
    let retail = &snap.outbound_voice_profiles[0];
    assert_eq!(
        retail.billing_group_id.as_ref().map(|g| g.as_str()),
        Some("bg-retail")
    );
    assert_eq!(snap.outbound_voice_profiles[1].billing_group_id, None);
    let pn1 = &snap.phone_numbers[0];
    assert_eq!(
        pn1.connection_id.as_ref().map(|c| c.as_str()),
        Some("1684641123236054244")
    );
    assert_eq!(pn1.phone_number_type.as_deref(), Some("toll_free"));
    let pn2 = &snap.phone_numbers[1];
    assert_eq!(pn2.connection_id, None);
    assert_eq!(
        pn2.messaging_profile_id.as_ref().map(|m| m.as_str()),
        Some("mp-1")
    );
}

#[tokio::test]
async fn the_master_key_is_forbidden_on_account_resources_and_the_error_names_the_endpoint() {
    let sim = start(ScenarioBuilder::new().build()).await;

    let err = client(&sim)
        .billing_groups(&master_key())
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            TelnyxError::Forbidden {
                endpoint: "/billing_groups",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("/billing_groups"));
    assert!(!err.is_transient());
    assert_eq!(
        requests_to(&sim, "/v2/billing_groups").len(),
        1,
        "a 403 is not retried"
    );
}

#[tokio::test]
async fn an_unknown_key_is_unauthorized_and_not_retried() {
    let sim = start(ScenarioBuilder::new().build()).await;

    let err = client(&sim)
        .connections(&reconciliation::ports::ApiKey::new("KEY_nobody"))
        .await
        .unwrap_err();

    match &err {
        TelnyxError::Unauthorized { api, .. } => assert_eq!(api.code.as_deref(), Some("10009")),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert_eq!(requests_to(&sim, "/v2/connections").len(), 1);
}

#[tokio::test]
async fn a_missing_endpoint_is_not_found() {
    let sim = start(ScenarioBuilder::new().build()).await;
    // A base URL without /v2: every path misses, as a misconfiguration would.
    let config = telnyx_client::ClientConfig {
        base_url: sim.base_url().trim_end_matches("/v2").to_owned(),
        ..config(&sim)
    };
    let client = telnyx_client::TelnyxClient::new(config).unwrap();

    let err = client.billing_groups(&account_key()).await.unwrap_err();

    assert!(matches!(err, TelnyxError::NotFound { .. }), "{err:?}");
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn usage_report_returns_exact_decimal_sums_by_dimension() {
    let scenario = ScenarioBuilder::new()
        .detail_record(
            "messaging",
            json!({"uuid": "m1", "created_at": "2026-11-20T08:00:05.000Z", "direction": "outbound", "parts": 1, "cost": "0.0040", "currency": "USD"}),
        )
        .detail_record(
            "messaging",
            json!({"uuid": "m2", "created_at": "2026-11-20T09:00:05.000Z", "direction": "outbound", "parts": 2, "cost": "1.666E-4", "currency": "USD"}),
        )
        .detail_record(
            "messaging",
            json!({"uuid": "m3", "created_at": "2026-11-20T10:00:05.000Z", "direction": "inbound", "parts": 1, "cost": "0.0040", "currency": "USD"}),
        )
        .build();
    let sim = start(scenario).await;
    let query = UsageReportQuery {
        product: "messaging".into(),
        dimensions: vec!["direction".into()],
        metrics: vec!["cost".into(), "parts".into()],
        start_date: Some(at("2026-11-20T00:00:00Z")),
        end_date: Some(at("2026-11-21T00:00:00Z")),
        managed_accounts: false,
    };

    let rows = client(&sim)
        .usage_report(&account_key(), &query)
        .await
        .unwrap();

    let outbound = rows
        .iter()
        .find(|r| r.dimensions["direction"] == "outbound")
        .unwrap();
    assert_eq!(
        outbound.metrics["cost"],
        Decimal::from_str("0.0041666").unwrap()
    );
    assert_eq!(outbound.metrics["parts"], Decimal::from(3));
    assert_eq!(outbound.dimensions["product"], "messaging");
    let sent = &requests_to(&sim, "/v2/usage_reports")[0];
    assert_eq!(query_value(sent, "metrics"), Some("cost,parts"));
    assert_eq!(
        query_value(sent, "start_date"),
        Some("2026-11-20T00:00:00Z")
    );
}

#[tokio::test]
async fn usage_report_across_managed_accounts_uses_the_master_key() {
    let scenario = ScenarioBuilder::new()
        .detail_record(
            "messaging",
            json!({"uuid": "m1", "created_at": "2026-11-20T08:00:05.000Z", "direction": "outbound", "parts": 1, "cost": "0.0040"}),
        )
        .build();
    let sim = start(scenario).await;
    let query = UsageReportQuery {
        product: "messaging".into(),
        dimensions: vec!["direction".into()],
        metrics: vec!["cost".into()],
        start_date: None,
        end_date: None,
        managed_accounts: true,
    };

    let rows = client(&sim)
        .usage_report(&master_key(), &query)
        .await
        .unwrap();

    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].dimensions["user_id"], ACCOUNT_ID);
    assert_eq!(rows[0].metrics["cost"], Decimal::from_str("0.004").unwrap());
}

/// A client asking for `size` items a page, to make short lists span pages.
fn client_with_page_size(sim: &telnyx_sim::RunningSim, size: u32) -> TelnyxClient {
    TelnyxClient::new(ClientConfig {
        list_page_size: size,
        ..config(sim)
    })
    .unwrap()
}

#[tokio::test]
async fn managed_accounts_are_read_across_pages() {
    let mut scenario = ScenarioBuilder::new();
    for i in 2..=5 {
        scenario = scenario.other_account(json!({
            "id": format!("acct-{i}"), "organization_name": format!("Org {i}"),
            "email": format!("ops{i}@x.example"), "api_key": format!("KEY_acct_{i}"),
        }));
    }
    let sim = start(scenario.build()).await;

    let accounts = client_with_page_size(&sim, 2)
        .managed_accounts(&master_key(), false)
        .await
        .unwrap();

    let ids: Vec<_> = accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["acct-1", "acct-2", "acct-3", "acct-4", "acct-5"]);
    let pages: Vec<_> = requests_to(&sim, "/v2/managed_accounts")
        .iter()
        .map(|r| {
            (
                query_value(r, "page[number]").unwrap().to_owned(),
                query_value(r, "page[size]").unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        pages,
        [("1", "2"), ("2", "2"), ("3", "2")].map(|(n, s)| (n.to_owned(), s.to_owned()))
    );
}

#[tokio::test]
async fn usage_reports_are_read_across_pages() {
    let mut scenario = ScenarioBuilder::new();
    for i in 0..5 {
        scenario = scenario.detail_record(
            "messaging",
            json!({"uuid": format!("m{i}"), "created_at": format!("2026-11-2{i}T09:00:05.000Z"),
                   "direction": "outbound", "parts": 1, "cost": "0.0040"}),
        );
    }
    let sim = start(scenario.build()).await;
    // One message a day: five rows by date.
    let query = UsageReportQuery {
        product: "messaging".into(),
        dimensions: vec!["date".into()],
        metrics: vec!["cost".into()],
        start_date: Some(at("2026-11-20T00:00:00Z")),
        end_date: Some(at("2026-11-25T00:00:00Z")),
        managed_accounts: false,
    };

    let rows = client_with_page_size(&sim, 2)
        .usage_report(&account_key(), &query)
        .await
        .unwrap();

    let mut days: Vec<_> = rows.iter().map(|r| r.dimensions["date"].as_str()).collect();
    days.sort_unstable();
    assert_eq!(
        days,
        [
            "2026-11-20",
            "2026-11-21",
            "2026-11-22",
            "2026-11-23",
            "2026-11-24"
        ]
    );
    assert!(
        rows.iter()
            .all(|r| r.metrics["cost"] == Decimal::from_str("0.004").unwrap())
    );
    let pages: Vec<_> = requests_to(&sim, "/v2/usage_reports")
        .iter()
        .map(|r| query_value(r, "page[number]").unwrap().to_owned())
        .collect();
    assert_eq!(pages, ["1", "2", "3"]);
}
