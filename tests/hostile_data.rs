//! Hostile Telnyx data through the whole product: billing group and connection names
//! with HTML, CR/LF and a forged header, a 5,000-character name, NUL and bidi control
//! characters, mojibake, and detail records whose ids come as JSON numbers. The sync
//! completes; every name is stored exactly as Telnyx sent it; the new-customer emails
//! escape it in HTML and keep the Subject on one line; every record is stored.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use integration_tests::e2e::*;
use reconciliation::invocation::SyncRequest;
use reconciliation::ports::{OnboardingStore, StateStore};
use reconciliation::sync::{RunContext, sync_account};

const ACCOUNT: &str = "0d5e6f70-8192-4a3b-9c4d-5e6f708192a3";
const KEY: &str = "KEYhostileACCOUNT0000000000000000";
const DEPT: &str = "dept-hostile";

const SCRIPT: &str = "<script>alert(1)</script> & \"Co\"\r\nBcc: attacker@evil.example";
const CONTROL: &str = "Nul\u{0}Byte \u{202e}desrever Ã©Ã¨ mojibake";

fn scenario(long: &str) -> telnyx_sim::Scenario {
    let yaml = format!(
        r#"
manager_account_id: "f0e1d2c3-b4a5-4968-8776-655443322110"
master_key: "KEYhostileMASTER000000000000000000"
accounts:
  - id: "{ACCOUNT}"
    organization_name: "<b>Hostile</b> Org"
    email: "ops@hostile.example"
    api_key: "{KEY}"
    billing_groups:
      - {{id: "bg-script", name: {script}}}
      - {{id: "bg-long", name: "{long}"}}
      - {{id: "bg-control", name: {control}}}
    outbound_voice_profiles:
      - {{id: "ovp-1", name: "p1", billing_group_id: "bg-script"}}
      - {{id: "ovp-2", name: "p2", billing_group_id: "bg-long"}}
      - {{id: "ovp-3", name: "p3", billing_group_id: "bg-control"}}
    connections:
      - {{id: "11", connection_name: "<img src=x onerror=alert(1)>\r\nX-Header: y", record_type: credential_connection, active: true, outbound_voice_profile_id: "ovp-1"}}
      - {{id: "12", connection_name: "{long}", record_type: credential_connection, active: true, outbound_voice_profile_id: "ovp-2"}}
      - {{id: "13", connection_name: {control}, record_type: credential_connection, active: true, outbound_voice_profile_id: "ovp-3"}}
    detail_records:
      - record_type: sip-trunking
        row: {{"id": 90000000001, "started_at": "2026-11-20T09:15:02Z", "finished_at": "2026-11-20T09:16:02Z", "connection_id": 11, "cli": "<b>+1</b>", "cld": "+13125550100\r\n", "direction": "outbound", "billed_sec": 60, "rate": "0.0010", "cost": "0.0010", "currency": "USD"}}
      - record_type: sip-trunking
        row: {{"id": "rec-2", "started_at": "2026-11-20T10:15:02Z", "finished_at": "2026-11-20T10:16:02Z", "connection_id": "13", "cli": {control}, "cld": "+13125550101", "direction": "outbound", "billed_sec": 60, "rate": "0.0010", "cost": "0.0010", "currency": "USD"}}
"#,
        script = serde_json::to_string(SCRIPT).unwrap(),
        control = serde_json::to_string(CONTROL).unwrap(),
    );
    telnyx_sim::Scenario::from_yaml_str(&yaml).expect("hostile scenario parses")
}

#[tokio::test]
async fn hostile_names_are_stored_as_sent_escaped_in_emails_and_never_break_a_run() {
    let long = "W".repeat(5_000);
    let names = Names::isolated();
    let h = Harness::start_with(names, scenario(&long), Default::default()).await;
    let billing = h.names.operator_billing.clone();
    h.onboard_direct(ACCOUNT, KEY, DEPT).await;

    let request = SyncRequest::for_account(ACCOUNT)
        .with_backfill("2026-11-01T00:00:00Z".parse().unwrap(), None);
    let summary = sync_account(
        &h.ports,
        &h.account_sync,
        &request,
        RunContext::new("hostile".into()),
    )
    .await
    .expect("a hostile account syncs");
    assert_eq!(
        summary.records.written, 2,
        "both records stored: {summary:?}"
    );
    assert_eq!(h.stored_records(ACCOUNT).await, 2);

    let onboarding = h.store.onboarding(&ACCOUNT.into()).await.unwrap().unwrap();
    let state = h.store.load_state(&onboarding).await.unwrap();
    let mut stored: Vec<&str> = state
        .customers
        .iter()
        .map(|c| c.company_name.as_str())
        .collect();
    stored.sort();
    let mut sent = vec![SCRIPT, long.as_str(), CONTROL];
    sent.sort();
    assert_eq!(stored, sent, "names stored exactly as Telnyx sent them");

    let emails = h.emails_to(&billing).await;
    assert_eq!(emails.len(), 3, "one new-customer email per billing group");
    for email in &emails {
        let subject = email["subject"].as_str().unwrap();
        let body = email["body"].as_str().unwrap();
        assert!(
            !subject.contains(['\r', '\n', '\u{0}']),
            "the Subject stays one clean line: {subject:?}"
        );
        assert!(
            !body.contains("<script>") && !body.contains("<img"),
            "HTML escaped: {body}"
        );
        assert!(!body.contains('\u{0}'), "no NUL reaches the email");
    }
    let script_email = emails
        .iter()
        .find(|e| e["body"].as_str().unwrap().contains("alert(1)&lt;"))
        .expect("the <script> group's email, escaped");
    assert!(
        script_email["body"]
            .as_str()
            .unwrap()
            .contains("&lt;script&gt;")
    );
    let long_email = emails
        .iter()
        .find(|e| e["body"].as_str().unwrap().contains(&long))
        .expect("the long name arrives whole");
    assert!(long_email["subject"].as_str().unwrap().len() < 6_000);
}
