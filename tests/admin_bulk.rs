//! Day one at scale, through `billing-admin` (the binary) against the local stack and
//! the simulator: 200 accounts onboarded from one CSV with their keys from standard
//! input; a CSV with three bad rows refused whole, each named; a dry run that writes
//! nothing; offboarding that stops the sync and keeps every record, undone by
//! onboarding again, which resumes from the watermark; a tick with 200 unknown accounts
//! sending one digest; flags refused before anything is stored.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use aws_adapters::secrets::account_secret_name;
use integration_tests::cli::{Ran, acme_wholesale, admin, secret_exists};
use integration_tests::e2e::*;
use reconciliation::domain::ManagedAccountId;
use reconciliation::ports::{ApiKey, KeyStore, OnboardingStore, RunLogStore, Secrets, StreamStore};

const MASTER: &str = "KEYbulkMASTER000000000000000000";

fn account_id(i: usize) -> String {
    format!("{:08x}-0000-4000-8000-{i:012x}", 0xb01c_0000u32 + i as u32)
}

fn account_key(i: usize) -> String {
    format!("KEYbulk{i:06}xxxxxxxxxxxxxxxxxx")
}

/// `n` managed accounts, each with one billing group.
fn many_accounts(n: usize) -> telnyx_sim::Scenario {
    let mut yaml = format!("manager_account_id: mgr-bulk\nmaster_key: {MASTER}\naccounts:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "  - id: {id}\n    organization_name: Reseller {i}\n    email: owner{i}@reseller.example\n    api_key: {key}\n    billing_groups: [{{id: bg-{i}, name: Group {i}}}]\n",
            id = account_id(i),
            key = account_key(i)
        ));
    }
    telnyx_sim::Scenario::from_yaml_str(&yaml).expect("scenario")
}

async fn harness(names: Names, n: usize) -> Harness {
    Harness::start_with(names, many_accounts(n), Default::default()).await
}

/// The operator's department, created with the CLI.
async fn operator_department(h: &Harness) {
    let ran = admin(
        h,
        &[
            "department",
            "--id",
            "dept-operator",
            "--name",
            "Operator Billing",
            "--billing-email",
            "billing@operator.example",
        ],
        "",
    )
    .await;
    assert!(ran.ok, "{}", ran.stderr);
}

/// A CSV of accounts `0..n`: even ones wholesale with their own child department
/// (created by the file), odd ones direct in the operator's department.
fn csv(n: usize) -> String {
    let mut text = "account,organization,mode,parent_department,child_department,department,child_department_name,child_billing_email\n".to_owned();
    for i in 0..n {
        if i % 2 == 0 {
            text.push_str(&format!(
                "{},\"Reseller {i}, Inc.\",wholesale,dept-operator,dept-r{i},,Reseller {i} customers,billing@r{i}.example\n",
                account_id(i)
            ));
        } else {
            text.push_str(&format!(
                "{},Reseller {i},direct,,,dept-operator,,\n",
                account_id(i)
            ));
        }
    }
    text
}

/// Writes `text` as this harness's CSV file `name`.
fn csv_file(h: &Harness, name: &str, text: &str) -> std::path::PathBuf {
    let file = std::env::temp_dir().join(format!("{}-{name}.csv", h.names.table));
    std::fs::write(&file, text).unwrap();
    file
}

/// `billing-admin onboard --csv FILE --keys - EXTRA…` with `keys` on standard input.
async fn onboard_csv(h: &Harness, file: &std::path::Path, keys: &str, extra: &[&str]) -> Ran {
    let mut args = vec!["onboard", "--csv", file.to_str().unwrap(), "--keys", "-"];
    args.extend_from_slice(extra);
    admin(h, &args, keys).await
}

fn keys(n: usize) -> String {
    (0..n)
        .map(|i| format!("{},{}\n", account_id(i), account_key(i)))
        .collect()
}

#[tokio::test]
async fn a_csv_of_200_accounts_is_onboarded_in_one_command_with_keys_from_stdin() {
    let h = harness(Names::isolated_shared_keys(), 200).await;
    operator_department(&h).await;
    let file = csv_file(&h, "200", &csv(200));

    let started = std::time::Instant::now();
    let ran = onboard_csv(&h, &file, &keys(200), &[]).await;
    // The README's figure (`cargo test --test admin_bulk -- --nocapture`).
    println!(
        "onboard --csv of 200 accounts with keys: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(ran.ok, "{}", ran.stderr);
    assert!(
        ran.stdout
            .contains("onboarded 200 account(s), 200 key(s) stored, 100 department(s) created"),
        "{}",
        ran.stdout
    );
    for i in 0..200 {
        assert!(
            !ran.stdout.contains(&account_key(i)) && !ran.stderr.contains(&account_key(i)),
            "a key was printed"
        );
    }
    let onboarded = h.store.onboardings().await.unwrap();
    assert_eq!(onboarded.len(), 200);
    let wholesale = onboarded
        .iter()
        .find(|o| o.account.as_str() == account_id(4))
        .unwrap();
    assert!(
        matches!(&wholesale.mode, reconciliation::domain::BillingMode::Wholesale { child_department, .. } if child_department.as_str() == "dept-r4")
    );
    let reader = h.key_store();
    for i in [0, 77, 199] {
        let key = reader
            .account_key(&ManagedAccountId::new(account_id(i)))
            .await
            .unwrap();
        assert_eq!(key.expose(), account_key(i));
    }
    // Shared storage: 200 keys in at most 16 secrets, none of them per account.
    assert!(
        !secret_exists(
            &h,
            &account_secret_name(&h.names.secret_prefix, &account_id(0).into())
        )
        .await
    );

    // The next tick queues every one of them and names none as unknown.
    h.key_store()
        .put_master_key(&ApiKey::new(MASTER))
        .await
        .unwrap();
    let report = h.tick().await.expect("tick");
    assert_eq!(report.dispatched.len(), 200);
    assert!(report.unknown.is_empty(), "{:?}", report.unknown);

    // Onboarding the same file again changes nothing and says so.
    let again = admin(
        &h,
        &["onboard", "--csv", file.to_str().unwrap(), "--dry-run"],
        "",
    )
    .await;
    assert!(again.ok, "{}", again.stderr);
    assert_eq!(
        again
            .stdout
            .lines()
            .filter(|l| l.starts_with("~ onboard"))
            .count(),
        200,
        "{}",
        again.stdout
    );
}

#[tokio::test]
async fn a_csv_with_three_bad_rows_is_refused_whole_naming_each_and_nothing_is_written() {
    let h = harness(Names::isolated(), 10).await;
    operator_department(&h).await;
    let mut lines: Vec<String> = csv(10).lines().map(str::to_owned).collect();
    lines[2] = lines[2].replacen(&account_id(1), "x y", 1); // line 3
    lines[5] = lines[5].replacen(",wholesale,", ",retail,", 1); // line 6
    lines[8] = lines[8].replace(
        ",direct,,,dept-operator,,",
        ",wholesale,dept-operator,dept-r7,,R7 customers,not-an-email",
    );
    let file = csv_file(&h, "bad", &lines.join("\n"));

    let ran = onboard_csv(&h, &file, &keys(10), &[]).await;
    assert!(!ran.ok);
    assert_eq!(ran.code, Some(1));
    for named in [
        "line 3, column account: \"x y\" is not a Telnyx managed account id",
        "line 6, column mode: \"retail\" is not wholesale or direct",
        "line 9, column child_billing_email: \"not-an-email\" is not an email address",
        "nothing written",
    ] {
        assert!(
            ran.stderr.contains(named),
            "{named:?} not in:\n{}",
            ran.stderr
        );
    }
    assert!(
        h.store.onboardings().await.unwrap().is_empty(),
        "nothing onboarded"
    );
    for i in 0..10 {
        assert!(
            !secret_exists(
                &h,
                &account_secret_name(&h.names.secret_prefix, &account_id(i).into())
            )
            .await
        );
        assert!(!ran.stderr.contains(&account_key(i)), "a key was printed");
    }

    // A key Telnyx refuses is a bad row too, named by its line; still nothing written.
    h.sim.control().revoke_key(&account_key(3));
    let good = csv_file(&h, "good", &csv(10));
    let ran = onboard_csv(&h, &good, &keys(10), &[]).await;
    assert!(!ran.ok);
    assert!(
        ran.stderr
            .contains(&format!("line 5, key of {}", account_id(3)))
            && ran.stderr.contains("401"),
        "{}",
        ran.stderr
    );
    assert!(h.store.onboardings().await.unwrap().is_empty());
    // A key naming an account the file lacks, and an account without a key.
    let stray = format!("{}{},KEYstray\n", keys(9), account_id(42));
    let ran = onboard_csv(&h, &good, &stray, &[]).await;
    assert!(!ran.ok);
    assert!(
        ran.stderr
            .contains("keys line 10: names an account that is not in the CSV"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains(&format!(
            "line 11, column account: no key for {}",
            account_id(9)
        )),
        "{}",
        ran.stderr
    );
    assert!(!ran.stderr.contains("KEYstray"));
}

#[tokio::test]
async fn a_dry_run_checks_everything_prints_what_would_be_created_and_writes_nothing() {
    let h = harness(Names::isolated(), 4).await;
    operator_department(&h).await;
    let file = csv_file(&h, "4", &csv(4));
    let ran = onboard_csv(&h, &file, &keys(4), &["--dry-run"]).await;
    assert!(ran.ok, "{}", ran.stderr);
    let out = &ran.stdout;
    assert!(
        out.contains("+ department dept-r0 (Reseller 0 customers) under dept-operator"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "+ key of {} in secret {}",
            account_id(1),
            account_secret_name(&h.names.secret_prefix, &account_id(1).into())
        )),
        "{out}"
    );
    assert!(out.contains(&format!("+ onboard {} (Reseller 0, Inc.), wholesale: reseller customer \"Reseller 0, Inc.\" in dept-operator, end customers in dept-r0", account_id(0))), "{out}");
    assert!(
        out.contains(&format!(
            "+ onboard {} (Reseller 1), direct in dept-operator",
            account_id(1)
        )),
        "{out}"
    );
    assert!(
        out.contains("dry run: 4 account(s) checked; nothing written"),
        "{out}"
    );
    assert!(h.store.onboardings().await.unwrap().is_empty());
    for i in 0..4 {
        assert!(
            !secret_exists(
                &h,
                &account_secret_name(&h.names.secret_prefix, &account_id(i).into())
            )
            .await
        );
    }
    let plan = admin(
        &h,
        &[
            "onboard",
            "--account",
            &account_id(1),
            "--organization",
            "R",
            "--mode",
            "direct",
            "--department",
            "dept-r0",
        ],
        "",
    )
    .await;
    assert!(
        !plan.ok && plan.stderr.contains("department dept-r0 does not exist"),
        "the dry run created no department: {}",
        plan.stderr
    );
}

#[tokio::test]
async fn offboarding_stops_the_sync_keeps_every_record_and_onboarding_again_resumes_from_the_watermark()
 {
    let h = Harness::start(Names::isolated(), Default::default()).await;
    h.onboard_sample_reseller().await;
    assert!(admin(&h, &["sync", "--account", ACME], "").await.ok);
    let acme = ManagedAccountId::new(ACME);
    let records = h.stored_records(ACME).await;
    assert_eq!(records, sample_record_count(ACME));
    let watermarks = h.store.watermarks(&acme).await.unwrap();
    assert!(!watermarks.is_empty());
    let before = h.store.onboarding(&acme).await.unwrap().unwrap();

    let off = admin(&h, &["offboard", "--account", ACME, "--delete-key"], "").await;
    assert!(off.ok, "{}", off.stderr);
    assert!(
        off.stdout.contains("offboarded") && off.stdout.contains("its key was deleted"),
        "{}",
        off.stdout
    );
    let report = h.tick().await.expect("tick");
    assert!(
        !report.dispatched.contains(&acme),
        "an offboarded account is not queued"
    );
    assert_eq!(report.offboarded, vec![acme.clone()]);
    assert!(!report.unknown.contains(&acme), "nor reported as unknown");
    assert_eq!(
        h.stored_records(ACME).await,
        records,
        "every record is kept"
    );
    assert_eq!(
        h.store.watermarks(&acme).await.unwrap(),
        watermarks,
        "and every watermark"
    );
    assert!(
        h.ports.secrets.account_key(&acme).await.is_err(),
        "the key is gone"
    );
    let accounts = admin(&h, &["accounts"], "").await;
    assert!(
        accounts
            .stdout
            .lines()
            .any(|l| l.starts_with(ACME) && l.contains("offboarded (wholesale)")),
        "{}",
        accounts.stdout
    );
    let sync = admin(&h, &["sync", "--account", ACME], "").await;
    assert!(
        !sync.ok && sync.stderr.contains("not onboarded"),
        "{}",
        sync.stderr
    );
    let twice = admin(&h, &["offboard", "--account", ACME], "").await;
    assert!(
        twice.ok && twice.stdout.contains("already offboarded"),
        "{}",
        twice.stdout
    );

    // Onboarding again with the same settings and key undoes it.
    assert!(
        admin(&h, &["put-key", "--account", ACME], ACME_KEY)
            .await
            .ok
    );
    let again = admin(&h, &acme_wholesale("onboard"), "").await;
    assert!(again.ok, "{}", again.stderr);
    assert_eq!(h.store.onboarding(&acme).await.unwrap(), Some(before));
    assert!(h.store.offboardings().await.unwrap().is_empty());
    let report = h.tick().await.expect("tick");
    assert!(report.dispatched.contains(&acme));
    let delivered = h.deliver_queue().await;
    assert!(
        delivered.iter().any(|(body, _)| body.contains(ACME)),
        "Acme was synced"
    );
    let log = &h.store.run_logs(&acme, 1).await.unwrap()[0];
    assert_eq!(
        log.counts.get("records_written").copied().unwrap_or(0),
        0,
        "nothing new: {:?}",
        log.counts
    );
    let read = log.counts.get("records_fetched").copied().unwrap_or(0);
    assert!(
        (read as usize) < records,
        "the sync resumed from the watermark (read {read} of {records} records, not all again)"
    );
    assert_eq!(h.stored_records(ACME).await, records);
}

#[tokio::test]
async fn a_tick_with_200_unknown_accounts_sends_one_digest_naming_them_all() {
    let h = harness(Names::isolated(), 200).await;
    h.key_store()
        .put_master_key(&ApiKey::new(MASTER))
        .await
        .unwrap();
    let report = h.tick().await.expect("tick");
    assert_eq!(report.unknown.len(), 200);
    assert_eq!(report.alerted.len(), 200);
    let emails = h.emails_to(&h.names.alert_to).await;
    assert_eq!(emails.len(), 1, "one digest, not 200 emails");
    let body = emails[0]["body"].as_str().unwrap_or_default();
    for i in [0, 99, 199] {
        assert!(body.contains(&account_id(i)), "{} not named", account_id(i));
    }
    assert_eq!(emails[0]["subject"], "200 unknown Telnyx managed accounts");
    let again = h.tick().await.expect("tick");
    assert!(again.alerted.is_empty());
    assert_eq!(
        h.emails_to(&h.names.alert_to).await.len(),
        1,
        "each account at most once per interval"
    );
}

#[tokio::test]
async fn flags_that_could_never_work_are_refused_naming_the_flag_and_nothing_is_stored() {
    let h = harness(Names::isolated(), 1).await;
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "department",
                "--id",
                "dept-a",
                "--name",
                "A",
                "--billing-email",
                "not-an-email",
            ],
            "--billing-email: \"not-an-email\" is not an email address",
        ),
        (
            &[
                "department",
                "--id",
                "dept-a",
                "--name",
                "A\r\nBcc: x@evil.example",
            ],
            "--name: contains a line break",
        ),
        (
            &["department", "--id", "dept a", "--name", "A"],
            "--id: \"dept a\" is not an id",
        ),
        (
            &[
                "onboard",
                "--account",
                "x y",
                "--organization",
                "X",
                "--mode",
                "direct",
                "--department",
                "dept-a",
            ],
            "--account: \"x y\" is not a Telnyx managed account id",
        ),
        (
            &["offboard", "--account", "x y"],
            "--account: \"x y\" is not a Telnyx managed account id",
        ),
    ];
    for (args, message) in cases {
        let ran = admin(&h, args, "").await;
        assert!(!ran.ok, "{args:?} was accepted");
        assert!(
            ran.stderr.contains(message),
            "{args:?}: {message:?} not in {}",
            ran.stderr
        );
    }
    let put = admin(&h, &["put-key", "--account", "x y"], "KEYsomething123").await;
    assert!(
        !put.ok && put.stderr.contains("--account"),
        "{}",
        put.stderr
    );
    assert!(h.store.onboardings().await.unwrap().is_empty());
    let probe = admin(
        &h,
        &[
            "onboard",
            "--account",
            &account_id(0),
            "--organization",
            "X",
            "--mode",
            "direct",
            "--department",
            "dept-a",
        ],
        "",
    )
    .await;
    assert!(
        probe.stderr.contains("department dept-a does not exist"),
        "no department was stored: {}",
        probe.stderr
    );
}
