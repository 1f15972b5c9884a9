//! Keys never leak: a failing run (5xx, then a revoked key) with every tracing event at
//! TRACE level (and `log` records of the HTTP stack) captured, and the errors' Display,
//! Debug and whole source chain inspected.
//!
//! One test in this binary: it installs the global subscriber.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reconciliation::domain::RecordType;
use reconciliation::ports::{ApiKey, RecordQuery, TelnyxApi};
use std::io::Write;
use std::sync::{Arc, Mutex};
use support::*;
use telnyx_sim::{Fault, FaultRule};
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn whole_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{error} | {error:?}");
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(&format!(" | {e} | {e:?}"));
        source = e.source();
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_appears_in_no_log_line_and_no_error_of_a_failing_run() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish()
        .try_init()
        .unwrap();

    let sim = start(
        ScenarioBuilder::new()
            .generate(
                120,
                "sip-trunking",
                "2026-11-20T00:00:00Z",
                "2026-11-21T00:00:00Z",
            )
            .build(),
    )
    .await;
    let client = client(&sim);
    let api: &dyn TelnyxApi = &client;
    let key = account_key();

    // Retried 5xx, then a persistent one.
    sim.control().add_fault(FaultRule {
        path_prefix: "/v2/billing_groups".into(),
        times: 100,
        fault: Fault::Status(500),
    });
    let server_error = api.snapshot(&key).await.unwrap_err();
    sim.control().clear_faults();
    // A walk whose key is revoked after its first page.
    let mut pages = api
        .detail_records(
            &key,
            RecordQuery::new(
                RecordType::SipTrunking,
                window("2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z"),
            ),
        )
        .await
        .unwrap();
    pages.next_page().await.unwrap();
    // The client's own walker too, part way through, for its Debug.
    let mut walker = client.detail_record_pages(
        &key,
        RecordType::SipTrunking,
        window("2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z"),
    );
    walker.next_page().await.unwrap();
    sim.control().revoke_key(ACCOUNT_KEY);
    let revoked = pages.next_page().await.unwrap_err();
    // The master key on an account resource, and an unknown key.
    let forbidden = client.billing_groups(&master_key()).await.unwrap_err();
    let unknown = client
        .connections(&ApiKey::new("KEYUNKNOWN_2222_never_seen"))
        .await
        .unwrap_err();

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("retrying Telnyx request"),
        "the run was logged: {logs}"
    );
    assert!(logs.contains("status=401"), "the 401 was logged");
    let errors = [
        whole_chain(&server_error),
        whole_chain(&revoked),
        whole_chain(&forbidden),
        whole_chain(&unknown),
        format!("{key:?} {key} {client:?} {walker:?}"),
    ];
    for secret in [ACCOUNT_KEY, MASTER_KEY, "KEYUNKNOWN_2222_never_seen"] {
        assert!(!logs.contains(secret), "a key leaked into the logs");
        for text in &errors {
            assert!(!text.contains(secret), "a key leaked into an error: {text}");
        }
    }
    assert!(errors[1].contains("unauthorized"), "{}", errors[1]);
    assert!(
        errors[4].contains("DetailRecordPages") && errors[4].contains("next_page: 2"),
        "the walker itself was formatted: {}",
        errors[4]
    );
}
