//! Failure handling against the simulator's faults: what is retried (5xx, timeouts, cut
//! bodies, 429s), what is not (malformed pages, revoked keys, 4xx), that retries are
//! bounded and end in the right typed error, and how errors read.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reconciliation::domain::RecordType;
use reconciliation::ports::TelnyxApi;
use std::time::Duration;
use support::*;
use telnyx_client::{ClientConfig, TelnyxClient, TelnyxError};
use telnyx_sim::{Fault, FaultRule};

const FROM: &str = "2026-11-20T00:00:00Z";
const TO: &str = "2026-11-21T00:00:00Z";

fn fault(path_prefix: &str, times: u32, fault: Fault) -> FaultRule {
    FaultRule {
        path_prefix: path_prefix.into(),
        times,
        fault,
    }
}

#[tokio::test]
async fn a_500_then_a_503_are_retried_until_success() {
    let sim = start(
        ScenarioBuilder::new()
            .billing_group("bg-1", "Retail")
            .build(),
    )
    .await;
    sim.control()
        .add_fault(fault("/v2/billing_groups", 1, Fault::Status(500)));
    sim.control()
        .add_fault(fault("/v2/billing_groups", 1, Fault::Status(503)));

    let groups = client(&sim).billing_groups(&account_key()).await.unwrap();

    assert_eq!(groups.len(), 1);
    let statuses: Vec<u16> = requests_to(&sim, "/v2/billing_groups")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [500, 503, 200]);
}

#[tokio::test]
async fn a_persistent_5xx_gives_up_with_a_server_error_after_max_retries() {
    let sim = start(ScenarioBuilder::new().build()).await;
    sim.control()
        .add_fault(fault("/v2/connections", 100, Fault::Status(502)));

    let err = client(&sim).connections(&account_key()).await.unwrap_err();

    assert!(
        matches!(
            err,
            TelnyxError::Server {
                status: 502,
                endpoint: "/connections",
                page: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(
        requests_to(&sim, "/v2/connections").len(),
        1 + 3,
        "first try + max_retries"
    );
}

#[tokio::test]
async fn a_response_slower_than_the_timeout_is_a_timeout_error() {
    let sim = start(ScenarioBuilder::new().build()).await;
    sim.control().add_fault(fault(
        "/v2/outbound_voice_profiles",
        5,
        Fault::Delay(Duration::from_secs(3)),
    ));
    let client = TelnyxClient::new(ClientConfig {
        timeout: Duration::from_millis(300),
        max_retries: 0,
        ..config(&sim)
    })
    .unwrap();

    let started = std::time::Instant::now();
    let err = client
        .outbound_voice_profiles(&account_key())
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            TelnyxError::Timeout {
                endpoint: "/outbound_voice_profiles",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_slow_response_is_retried_and_the_retry_succeeds() {
    let sim = start(ScenarioBuilder::new().phone_numbers(2).build()).await;
    sim.control().add_fault(fault(
        "/v2/phone_numbers",
        1,
        Fault::Delay(Duration::from_secs(3)),
    ));
    let client = TelnyxClient::new(ClientConfig {
        timeout: Duration::from_millis(300),
        ..config(&sim)
    })
    .unwrap();

    let numbers = client.phone_numbers(&account_key()).await.unwrap();

    assert_eq!(numbers.len(), 2);
}

#[tokio::test]
async fn a_body_cut_mid_transfer_is_retried() {
    let sim = start(
        ScenarioBuilder::new()
            .generate(60, "sip-trunking", FROM, TO)
            .build(),
    )
    .await;
    sim.control()
        .add_fault(fault("/v2/detail_records", 1, Fault::CutBody));

    let (sizes, records) = walk(&client(&sim), RecordType::SipTrunking, window(FROM, TO))
        .await
        .unwrap();

    assert_eq!(sizes, [50, 10]);
    assert_eq!(records.len(), 60);
    let pages: Vec<_> = requests_to(&sim, "/v2/detail_records")
        .iter()
        .map(|r| query_value(r, "page[number]").unwrap().to_owned())
        .collect();
    assert_eq!(
        pages,
        ["1", "1", "2"],
        "page 1 was fetched again after the cut"
    );
}

#[tokio::test]
async fn a_malformed_page_is_an_error_naming_endpoint_and_page_and_is_not_retried() {
    let sim = start(
        ScenarioBuilder::new()
            .generate(120, "messaging", FROM, TO)
            .build(),
    )
    .await;
    let client = client(&sim);
    let mut pages =
        client.detail_record_pages(&account_key(), RecordType::Messaging, window(FROM, TO));
    pages.next_page().await.unwrap();
    sim.control()
        .add_fault(fault("/v2/detail_records", 1, Fault::MalformedJson));

    let err = pages.next_page().await.unwrap_err();

    assert!(
        matches!(
            err,
            TelnyxError::MalformedBody {
                endpoint: "/detail_records",
                page: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("/detail_records page 2"), "{err}");
    assert!(!err.is_transient());
    assert_eq!(
        requests_to(&sim, "/v2/detail_records").len(),
        2,
        "not retried"
    );
}

#[tokio::test]
async fn a_key_revoked_mid_walk_is_unauthorized_and_not_retried() {
    let sim = start(
        ScenarioBuilder::new()
            .generate(150, "call-control", FROM, TO)
            .build(),
    )
    .await;
    sim.control()
        .add_fault(fault("/v2/detail_records", 1, Fault::RevokeKeyAfter(2)));
    let client = client(&sim);
    let mut pages =
        client.detail_record_pages(&account_key(), RecordType::CallControl, window(FROM, TO));

    assert!(pages.next_page().await.unwrap().is_some());
    assert!(pages.next_page().await.unwrap().is_some());
    let err = pages.next_page().await.unwrap_err();

    assert!(
        matches!(err, TelnyxError::Unauthorized { page: 3, .. }),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert_eq!(sim.control().count_status(401), 1, "a 401 is never retried");
}

#[tokio::test]
async fn a_bad_request_is_not_retried_and_carries_telnyx_detail() {
    let sim = start(ScenarioBuilder::new().build()).await;
    sim.control()
        .add_fault(fault("/v2/billing_groups", 5, Fault::Status(422)));

    let err = client(&sim)
        .billing_groups(&account_key())
        .await
        .unwrap_err();

    match &err {
        TelnyxError::InvalidRequest {
            status: 422, api, ..
        } => {
            assert_eq!(api.code.as_deref(), Some("10007"));
            assert!(api.detail.as_deref().is_some_and(|d| !d.is_empty()));
            assert!(
                err.to_string()
                    .contains(api.detail.as_deref().unwrap_or("?"))
            );
        }
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
    assert_eq!(requests_to(&sim, "/v2/billing_groups").len(), 1);
}

#[tokio::test]
async fn port_errors_keep_the_transience_of_the_client_error() {
    let sim = start(ScenarioBuilder::new().build()).await;
    let client = client(&sim);
    let api: &dyn TelnyxApi = &client;
    sim.control()
        .add_fault(fault("/v2/connections", 100, Fault::Status(500)));

    let transient = api.snapshot(&account_key()).await.unwrap_err();
    sim.control().clear_faults();
    sim.control().revoke_key(ACCOUNT_KEY);
    let permanent = api.snapshot(&account_key()).await.unwrap_err();

    assert!(transient.is_transient());
    assert!(
        transient.chain().contains("/connections"),
        "{}",
        transient.chain()
    );
    assert!(!permanent.is_transient());
    assert!(
        permanent.chain().contains("unauthorized"),
        "{}",
        permanent.chain()
    );
}

#[tokio::test]
async fn a_429_without_rate_headers_is_retried_with_backoff() {
    let sim = start(ScenarioBuilder::new().build()).await;
    sim.control()
        .add_fault(fault("/v2/billing_groups", 2, Fault::Status(429)));

    let groups = client(&sim).billing_groups(&account_key()).await;

    assert!(groups.is_ok(), "{groups:?}");
    assert_eq!(sim.control().count_status(429), 2);
}

#[tokio::test]
async fn repeated_429s_give_up_with_rate_limited_after_the_bounded_retries() {
    let sim = start(ScenarioBuilder::new().build()).await;
    sim.control()
        .add_fault(fault("/v2/billing_groups", 100, Fault::Status(429)));

    let err = client(&sim)
        .billing_groups(&account_key())
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            TelnyxError::RateLimited {
                endpoint: "/billing_groups",
                page: 1,
                reset: None,
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient(), "the next run may try again");
    assert_eq!(err.status(), Some(429));
    assert_eq!(
        requests_to(&sim, "/v2/billing_groups").len(),
        1 + 3,
        "first try + max_retries, then no more"
    );
}

#[tokio::test]
async fn a_body_cut_on_every_attempt_gives_up_with_a_transport_error() {
    let sim = start(
        ScenarioBuilder::new()
            .generate(60, "sip-trunking", FROM, TO)
            .build(),
    )
    .await;
    sim.control()
        .add_fault(fault("/v2/detail_records", 100, Fault::CutBody));

    let err = walk(&client(&sim), RecordType::SipTrunking, window(FROM, TO))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            TelnyxError::Transport {
                endpoint: "/detail_records",
                page: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(
        std::error::Error::source(&err).is_some(),
        "the HTTP error is kept"
    );
    assert_eq!(requests_to(&sim, "/v2/detail_records").len(), 1 + 3);
}

#[tokio::test]
async fn a_refused_connection_gives_up_with_a_transport_error() {
    // A port that was just free: nothing listens there any more.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client = TelnyxClient::new(ClientConfig {
        timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        max_retries: 2,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        ..ClientConfig::new(format!("http://{closed}/v2"))
    })
    .unwrap();

    let started = std::time::Instant::now();
    let err = client.connections(&account_key()).await.unwrap_err();

    assert!(
        matches!(
            err,
            TelnyxError::Transport {
                endpoint: "/connections",
                page: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(err.to_string().contains("GET /connections page 1"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "gave up after the bounded retries: {:?}",
        started.elapsed()
    );
}
