//! `billing-admin`, the binary, against the local stack and the simulator: each
//! subcommand does its job, and each bad input (a refused key, a key on the command
//! line, an unknown department or account, a bad date, a missing argument) is one
//! clear message, a non-zero exit, and nothing written.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use integration_tests::cli::{acme_wholesale, admin, secret_exists};
use integration_tests::e2e::*;
use reconciliation::domain::ManagedAccountId;
use reconciliation::ports::{OnboardingStore, RunLogStore};

/// The departments of the sample reseller, created with the CLI.
async fn departments(h: &Harness) {
    let operator = [
        "department",
        "--id",
        OPERATOR_DEPT,
        "--name",
        "Operator Billing",
    ];
    assert!(admin(h, &operator, "").await.ok);
    let child = [
        "department",
        "--id",
        ACME_CHILD_DEPT,
        "--name",
        "Acme customers",
        "--billing-email",
        "billing@acme.example",
        "--parent",
        OPERATOR_DEPT,
    ];
    assert!(admin(h, &child, "").await.ok);
}

#[tokio::test]
async fn put_key_tries_the_key_first_names_what_telnyx_refused_and_stores_nothing_unless_forced() {
    let h = Harness::start(Names::isolated(), Default::default()).await;
    let name = format!("{}accounts/{ACME}", h.names.secret_prefix);
    h.sim.control().deny_endpoint(ACME_KEY, "/v2/phone_numbers");

    let refused = admin(&h, &["put-key", "--account", ACME], ACME_KEY).await;
    assert!(!refused.ok, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("/phone_numbers"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("nothing stored"),
        "{}",
        refused.stderr
    );
    assert!(
        !secret_exists(&h, &name).await,
        "a refused key is not stored"
    );

    let forced = admin(&h, &["put-key", "--account", ACME, "--force"], ACME_KEY).await;
    assert!(forced.ok, "{}", forced.stderr);
    assert!(forced.stderr.contains("warning"), "{}", forced.stderr);
    assert!(secret_exists(&h, &name).await);

    let good = admin(&h, &["put-key", "--account", BETA], BETA_KEY).await;
    assert!(good.ok, "{}", good.stderr);
    assert!(
        good.stderr.contains("ok: the key reads detail records"),
        "{}",
        good.stderr
    );

    let master = admin(&h, &["put-key", "--master"], MASTER_KEY).await;
    assert!(master.ok, "{}", master.stderr);
    let not_a_manager = admin(&h, &["put-key", "--master"], BETA_KEY).await;
    assert!(!not_a_manager.ok);
    assert!(
        not_a_manager.stderr.contains("managed accounts"),
        "{}",
        not_a_manager.stderr
    );

    h.sim.control().revoke_key(BETA_KEY);
    let revoked = admin(&h, &["put-key", "--account", BETA], BETA_KEY).await;
    assert!(!revoked.ok);
    assert!(revoked.stderr.contains("401"), "{}", revoked.stderr);

    let on_command_line = admin(&h, &["put-key", "--account", GAMMA, "KEYsecret123"], "").await;
    assert!(!on_command_line.ok);
    assert!(
        on_command_line.stderr.contains("standard input"),
        "{}",
        on_command_line.stderr
    );
    assert!(
        !on_command_line.stderr.contains("KEYsecret123"),
        "the key is not echoed"
    );
    assert!(!secret_exists(&h, &format!("{}accounts/{GAMMA}", h.names.secret_prefix)).await);

    for ran in [&refused, &forced, &good, &master, &not_a_manager, &revoked] {
        for key in [ACME_KEY, BETA_KEY, MASTER_KEY] {
            assert!(
                !ran.stdout.contains(key) && !ran.stderr.contains(key),
                "a key was printed"
            );
        }
    }
}

#[tokio::test]
async fn plan_previews_the_first_sync_before_onboarding_and_writes_nothing() {
    let h = Harness::start(Names::isolated(), Default::default()).await;
    departments(&h).await;
    assert!(
        admin(&h, &["put-key", "--account", ACME], ACME_KEY)
            .await
            .ok
    );
    let plan = acme_wholesale("plan");
    let ran = admin(&h, &plan, "").await;
    assert!(ran.ok, "{}", ran.stderr);
    assert!(
        ran.stdout
            .contains("+ customer \"Acme Wholesale Customers\""),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("+ service \"acme-sip-trunk\""),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("nothing written"), "{}", ran.stdout);
    let account = ManagedAccountId::new(ACME);
    assert_eq!(h.store.onboarding(&account).await.expect("read"), None);
    assert!(
        h.store
            .run_logs(&account, 1)
            .await
            .expect("read")
            .is_empty()
    );

    let mut unknown_dept = plan.to_vec();
    unknown_dept[10] = "dept-nope";
    let ran = admin(&h, &unknown_dept, "").await;
    assert!(!ran.ok);
    assert!(
        ran.stderr.contains("department dept-nope does not exist"),
        "{}",
        ran.stderr
    );

    let mut no_key = plan.to_vec();
    no_key[2] = GAMMA;
    let ran = admin(&h, &no_key, "").await;
    assert!(!ran.ok);
    assert!(ran.stderr.contains("put-key --account"), "{}", ran.stderr);

    let missing = admin(
        &h,
        &[
            "plan",
            "--account",
            ACME,
            "--organization",
            "A",
            "--mode",
            "wholesale",
        ],
        "",
    )
    .await;
    assert_eq!(missing.code, Some(2), "a usage error");
    assert!(
        missing.stderr.contains("--parent-department"),
        "{}",
        missing.stderr
    );
}

#[tokio::test]
async fn sync_runs_an_account_now_and_runs_and_accounts_show_what_it_did() {
    let h = Harness::start(Names::isolated(), Default::default()).await;
    h.onboard_sample_reseller().await;
    // A tick first: it alerts on Gamma, which nobody onboarded.
    h.tick().await.expect("tick");

    let ran = admin(&h, &["sync", "--account", ACME], "").await;
    assert!(ran.ok, "{}", ran.stderr);
    let summary: serde_json::Value =
        serde_json::from_str(&ran.stdout).expect("the summary is JSON");
    let expected = sample_record_count(ACME);
    assert_eq!(
        summary["records"]["written"],
        serde_json::json!(expected),
        "{summary}"
    );
    assert_eq!(h.stored_records(ACME).await, expected);

    let runs = admin(&h, &["runs", "--account", ACME, "--last", "1"], "").await;
    assert!(runs.ok, "{}", runs.stderr);
    assert!(runs.stdout.contains("complete"), "{}", runs.stdout);
    assert!(
        runs.stdout.contains(&format!("records_written={expected}")),
        "{}",
        runs.stdout
    );

    let accounts = admin(&h, &["accounts"], "").await;
    assert!(accounts.ok, "{}", accounts.stderr);
    let line = |id: &str| {
        accounts
            .stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} listed:\n{}", accounts.stdout))
            .to_owned()
    };
    let acme = line(ACME);
    assert!(
        acme.contains("wholesale") && acme.contains("stored") && acme.contains("complete"),
        "{acme}"
    );
    assert!(acme.contains(&expected.to_string()), "{acme}");
    let gamma = line(GAMMA);
    assert!(
        gamma.contains("not onboarded") && gamma.contains("missing"),
        "{gamma}"
    );
    let last_alerted = gamma.rsplit("  ").next().unwrap_or_default();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(
        last_alerted.starts_with(&today),
        "the tick's unknown-account alert is the last column: {gamma}"
    );
    assert!(line(BETA).contains("direct"));

    let bad_date = admin(&h, &["sync", "--account", ACME, "--from", "yesterday"], "").await;
    assert!(!bad_date.ok);
    assert!(bad_date.stderr.contains("--from:"), "{}", bad_date.stderr);
    let runs_before = h
        .store
        .run_logs(&ManagedAccountId::new(ACME), 10)
        .await
        .unwrap()
        .len();
    let future = admin(
        &h,
        &[
            "sync",
            "--account",
            ACME,
            "--from",
            "2030-01-01T00:00:00Z",
            "--to",
            "2030-01-02T00:00:00Z",
        ],
        "",
    )
    .await;
    assert!(!future.ok);
    assert!(
        future.stderr.contains("--from: ") && future.stderr.contains("lies in the future"),
        "{}",
        future.stderr
    );
    assert_eq!(
        h.store
            .run_logs(&ManagedAccountId::new(ACME), 10)
            .await
            .unwrap()
            .len(),
        runs_before,
        "no run log for a refused window"
    );
    let bad_type = admin(
        &h,
        &["sync", "--account", ACME, "--record-types", "sip"],
        "",
    )
    .await;
    assert!(!bad_type.ok);
    assert!(
        bad_type.stderr.contains("--record-types"),
        "{}",
        bad_type.stderr
    );
    let unknown = admin(&h, &["sync", "--account", GAMMA], "").await;
    assert!(!unknown.ok);
    assert!(
        unknown.stderr.contains(GAMMA) && unknown.stderr.contains("onboard"),
        "{}",
        unknown.stderr
    );
    let no_runs = admin(&h, &["runs", "--account", GAMMA], "").await;
    assert!(!no_runs.ok);
    assert!(no_runs.stderr.contains("no run log"), "{}", no_runs.stderr);
    let missing = admin(&h, &["runs"], "").await;
    assert_eq!(missing.code, Some(2));
    assert!(missing.stderr.contains("--account"), "{}", missing.stderr);
    assert_eq!(
        h.stored_records(ACME).await,
        expected,
        "nothing more written"
    );
}

/// The number after `label` in `text` (e.g. "Telnyx counts 37 record(s)").
fn number_after(text: &str, label: &str) -> u64 {
    text.split(label)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok())
        .unwrap_or_else(|| panic!("no number after {label:?} in:\n{text}"))
}

#[tokio::test]
async fn usage_prints_both_invoices_whose_totals_match_the_records_and_the_audit() {
    let h = Harness::start(Names::isolated(), Default::default()).await;
    h.onboard_sample_reseller().await;
    assert!(admin(&h, &["sync", "--account", ACME], "").await.ok);
    let expected = sample_record_count(ACME) as u64;
    let month = "2026-11";

    let reseller = admin(&h, &["usage", "--account", ACME, "--month", month], "").await;
    assert!(reseller.ok, "{}", reseller.stderr);
    let out = &reseller.stdout;
    assert!(
        out.starts_with(
            "2026-11: open (computed from the stored records)\nreseller invoice, 2026-11\n"
        ),
        "the month's state, then the reseller invoice: {out}"
    );
    let total = out
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .expect("a total row");
    assert!(total.contains(&format!(" {expected} ")), "{total}");
    // Every line is billed to the reseller, per twin service.
    assert!(out.contains("Acme Reseller"), "{out}");
    let line = |prefix: &str| {
        out.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line:\n{out}"))
    };
    let invoice = line("invoice:");
    assert_eq!(number_after(invoice, "invoice: "), expected, "{invoice}");
    let uncovered = number_after(invoice, "record(s), ");
    // The types the simulator's live-like report has no product or count for.
    let not_auditable: usize = [
        "conference-participant",
        "siprec-client",
        "wireless",
        "embedding",
        "inference-speech-to-text",
    ]
    .iter()
    .map(|t| sample_records_of(ACME, t))
    .sum();
    assert_eq!(uncovered, not_auditable as u64, "{invoice}");
    assert!(
        out.contains(
            "not auditable: wireless (product `wireless` lists no metric counting records"
        ),
        "{out}"
    );
    let auditable = number_after(invoice, " (");
    assert_eq!(auditable, expected - uncovered, "{invoice}");
    // What the audit counted over the month equals the invoice's auditable records.
    let audit = line("audit:");
    assert_eq!(number_after(audit, "Telnyx counts "), auditable, "{audit}");
    assert_eq!(number_after(audit, "record(s), "), auditable, "{audit}");

    let customer = admin(
        &h,
        &[
            "usage",
            "--account",
            ACME,
            "--month",
            month,
            "--level",
            "customer",
            "--format",
            "json",
        ],
        "",
    )
    .await;
    assert!(customer.ok, "{}", customer.stderr);
    let json: serde_json::Value = serde_json::from_str(&customer.stdout).expect("JSON");
    assert_eq!(json["total"]["records"], serde_json::json!(expected));
    assert_eq!(json["level"], "customer");
    let names: Vec<&str> = json["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["customer_name"].as_str())
        .collect();
    assert!(names.contains(&"Acme Retail Customers"), "{names:?}");

    let csv = admin(
        &h,
        &[
            "usage",
            "--account",
            ACME,
            "--month",
            month,
            "--format",
            "csv",
        ],
        "",
    )
    .await;
    assert!(csv.ok, "{}", csv.stderr);
    let records: u64 = csv
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(7).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(records, expected, "{}", csv.stdout);

    let audit = admin(&h, &["audit", "--account", ACME, "--month", month], "").await;
    assert!(audit.ok, "{}", audit.stderr);
    assert!(!audit.stdout.contains("mismatch "), "{}", audit.stdout);
    assert!(
        audit.stdout.contains("sip-trunking") && audit.stdout.contains("clean"),
        "{}",
        audit.stdout
    );

    let bad = admin(&h, &["usage", "--account", ACME, "--month", "11/2026"], "").await;
    assert!(!bad.ok);
    assert!(
        bad.stderr.contains("--month") && bad.stderr.contains("YYYY-MM"),
        "{}",
        bad.stderr
    );
    let unknown = admin(&h, &["usage", "--account", GAMMA, "--month", month], "").await;
    assert!(!unknown.ok);
    assert!(
        unknown.stderr.contains("not onboarded"),
        "{}",
        unknown.stderr
    );
    let empty = admin(&h, &["audit", "--account", ACME, "--month", "2025-01"], "").await;
    assert!(!empty.ok);
    assert!(
        empty.stderr.contains("no audit verdict"),
        "{}",
        empty.stderr
    );
}
