//! Closing a month on the local stack (DynamoDB Local, moto's S3) through the real
//! store and `billing-admin`: a close refused while a day is not settled (named), a
//! close with accepted findings recorded, a late record and a re-attribution that
//! change no frozen line and appear exactly once as adjustments in the next month at
//! both levels — through a write killed midway, a rerun and two workers at once —, a
//! logged reopen, and exports that repeat byte for byte and add up to the invoices.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use async_trait::async_trait;
use aws_adapters::AwsError;
use aws_adapters::store::DynamoStore;
use aws_adapters::store::records::{BatchWriteItems, SdkBatchWriter};
use aws_sdk_dynamodb::types::WriteRequest;
use integration_tests::cli::admin;
use integration_tests::e2e::{Harness, Names};
use integration_tests::months::{World, at, month};
use reconciliation::billing::close::{self, CloseOutcome, CloseRequest};
use reconciliation::billing::rollup::Level;
use reconciliation::ports::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn request(m: &str) -> CloseRequest {
    CloseRequest {
        month: month(m),
        accept_findings: false,
        note: None,
        by: "test".into(),
        now: chrono::Utc::now(),
    }
}

async fn closed(h: &Harness, w: &World, m: &str) -> MonthState {
    match close::close(&h.store, &w.onboarding, &request(m))
        .await
        .unwrap()
    {
        CloseOutcome::Closed { state, .. } => state,
        other => panic!("{m} did not close: {other:?}"),
    }
}

/// Records of one level's lines.
fn records(lines: &[InvoiceLine], level: Level) -> i64 {
    lines
        .iter()
        .filter(|l| l.level == level)
        .map(|l| l.sums.records)
        .sum()
}

/// A fresh account with `n` records of September 2026, audited (but `exceptions`).
async fn september(
    n: usize,
    exceptions: &[(u32, AuditVerdict, bool)],
) -> (Harness, World, reconciliation::domain::BillingMonth) {
    let h = Harness::start(Names::isolated(), Default::default()).await;
    let w = World::onboard(&h).await;
    let sep = month("2026-09");
    h.store
        .put_detail_records(&w.records_of(sep, n))
        .await
        .unwrap();
    w.audited(&h.store, sep, exceptions).await;
    (h, w, sep)
}

#[tokio::test]
async fn a_close_is_refused_while_a_day_is_not_settled_naming_it_and_writes_nothing() {
    let (h, w, _) = september(40, &[(29, AuditVerdict::Clean, false)]).await;
    let account = w.account.to_string();
    let ran = admin(
        &h,
        &["close", "--month", "2026-09", "--account", &account],
        "",
    )
    .await;
    assert!(!ran.ok, "refused: {}", ran.stdout);
    assert!(
        ran.stderr.contains("messaging: not settled") && ran.stderr.contains("2026-09-29"),
        "names the day and type: {}",
        ran.stderr
    );
    assert!(
        !ran.stderr.contains("2026-09-28"),
        "names only what waits: {}",
        ran.stderr
    );
    assert!(
        h.store.month_states(&w.account).await.unwrap().is_empty(),
        "nothing written"
    );
    let bad = admin(
        &h,
        &["close", "--month", "2026-13", "--account", &account],
        "",
    )
    .await;
    assert!(!bad.ok && bad.stderr.contains("--month"), "{}", bad.stderr);
}

#[tokio::test]
async fn a_close_with_accepted_findings_records_them_and_a_reopen_is_logged() {
    let (h, w, sep) = september(40, &[(12, AuditVerdict::Mismatch, true)]).await;
    let account = w.account.to_string();
    let args = ["close", "--month", "2026-09", "--account", &account];
    let refused = admin(&h, &args, "").await;
    assert!(
        !refused.ok && refused.stderr.contains("audit finding"),
        "{}",
        refused.stderr
    );
    let mut accepted_args = args.to_vec();
    accepted_args.extend([
        "--accept-findings",
        "--note",
        "Telnyx credit note 42",
        "--by",
        "alice",
    ]);
    let ran = admin(&h, &accepted_args, "").await;
    assert!(ran.ok, "{}{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout.contains("closed (version 1") && ran.stdout.contains("2026-09-12"),
        "{}",
        ran.stdout
    );
    let state = &h.store.month_states(&w.account).await.unwrap()[0];
    assert_eq!(state.status, MonthStatus::Closed);
    assert_eq!(state.accepted.len(), 1);
    assert_eq!(state.accepted[0].kind, BlockerKind::Finding);
    assert_eq!(
        state.accepted[0].days,
        vec![sep.first_day() + chrono::Duration::days(11)]
    );
    assert!(
        state
            .unproven
            .iter()
            .any(|u| u.record_type == reconciliation::domain::RecordType::Tts)
    );

    let usage = admin(
        &h,
        &["usage", "--account", &account, "--month", "2026-09"],
        "",
    )
    .await;
    assert!(
        usage.ok && usage.stdout.contains("2026-09: CLOSED (version 1"),
        "{}",
        usage.stdout
    );

    let reopen = [
        "reopen",
        "--month",
        "2026-09",
        "--account",
        &account,
        "--note",
        "credit note reissued",
        "--by",
        "bob",
    ];
    let ran = admin(&h, &reopen, "").await;
    assert!(
        ran.ok && ran.stdout.contains("reopened"),
        "{}{}",
        ran.stdout,
        ran.stderr
    );
    let again = admin(&h, &reopen, "").await;
    assert!(
        !again.ok && again.stderr.contains("not closed"),
        "{}",
        again.stderr
    );
    let events = h.store.month_events(&w.account, sep).await.unwrap();
    let log: Vec<(MonthStatus, &str, Option<&str>)> = events
        .iter()
        .map(|e| (e.action, e.by.as_str(), e.note.as_deref()))
        .collect();
    assert_eq!(
        log,
        vec![
            (MonthStatus::Closed, "alice", Some("Telnyx credit note 42")),
            (MonthStatus::Open, "bob", Some("credit note reissued")),
        ]
    );
    assert_eq!(
        events[0].accepted, state.accepted,
        "the close logged what it accepted"
    );
    let usage = admin(
        &h,
        &["usage", "--account", &account, "--month", "2026-09"],
        "",
    )
    .await;
    assert!(
        usage.stdout.contains("2026-09: open (reopened"),
        "{}",
        usage.stdout
    );
}

/// A BatchWriteItem that writes the first call and fails every later one (a run killed
/// after part of its page was stored).
struct DiesAfterFirstBatch {
    inner: SdkBatchWriter,
    calls: AtomicUsize,
}

#[async_trait]
impl BatchWriteItems for DiesAfterFirstBatch {
    async fn batch_write(
        &self,
        table: &str,
        requests: Vec<WriteRequest>,
    ) -> Result<Vec<WriteRequest>, AwsError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) > 0 {
            return Err(AwsError::NotFound {
                what: "the rest of the page (killed)".into(),
            });
        }
        self.inner.batch_write(table, requests).await
    }
}

#[tokio::test]
async fn a_late_record_for_a_closed_month_changes_no_closed_line_and_is_adjusted_once_at_both_levels()
 {
    let (h, w, sep) = september(60, &[]).await;
    let oct = month("2026-10");
    let first = w.records_of(sep, 60).remove(0);
    let closed_sep = closed(&h, &w, "2026-09").await;
    let frozen = close::adjust::frozen_lines(&h.store, &closed_sep)
        .await
        .unwrap();
    assert_eq!(records(&frozen, Level::Reseller), 60);
    assert_eq!(records(&frozen, Level::Customer), 60);

    // Late: 26 records of September 30, the page killed after one of its batches was stored;
    // the rerun stores the rest, and two workers write the whole page again at once.
    let late: Vec<_> = (0..26)
        .map(|i| w.record(&format!("late-{i:02}"), at(sep, 30, 22), true))
        .collect();
    let ddb = aws_sdk_dynamodb::Client::new(&h.stack.sdk);
    let killed = DynamoStore::new(ddb.clone(), h.names.table.clone()).with_batch_writer(Arc::new(
        DiesAfterFirstBatch {
            inner: SdkBatchWriter::new(ddb),
            calls: AtomicUsize::new(0),
        },
    ));
    assert!(killed.put_detail_records(&late).await.is_err(), "the kill");
    let partial = close::view(&h.store, &w.onboarding, oct).await.unwrap();
    let before_kill = records(&partial.adjustments, Level::Reseller);
    assert!(
        (1..26).contains(&before_kill),
        "only what was stored before the kill: {before_kill}"
    );
    h.store.put_detail_records(&late).await.unwrap();
    let (a, b) = tokio::join!(
        h.store.put_detail_records(&late),
        h.store.put_detail_records(&late)
    );
    a.unwrap();
    b.unwrap();
    // A re-attribution: an unmatched September record linked to the end customer.
    let mut linked = first;
    assert_eq!(
        linked.matched_by,
        reconciliation::domain::MatchedBy::Unmatched
    );
    linked.matched_by = reconciliation::domain::MatchedBy::Session;
    linked.end_customer = Some(w.customer.clone());
    linked.service = Some(w.service.clone());
    assert!(h.store.reattribute(&linked).await.unwrap());
    assert!(
        !h.store.reattribute(&linked).await.unwrap(),
        "a second link changes nothing"
    );

    let after = close::adjust::frozen_lines(&h.store, &closed_sep)
        .await
        .unwrap();
    assert_eq!(after, frozen, "no closed line changed");
    let view = close::view(&h.store, &w.onboarding, oct).await.unwrap();
    for level in [Level::Reseller, Level::Customer] {
        assert_eq!(
            records(&view.adjustments, level),
            26,
            "{level}: each late record once"
        );
        assert!(
            view.adjustments
                .iter()
                .all(|l| l.kind == LineKind::Adjustment { of: sep })
        );
    }
    let moved: Vec<i64> = view
        .adjustments
        .iter()
        .filter(|l| l.level == Level::Customer)
        .map(|l| l.sums.records)
        .collect();
    assert!(
        moved.contains(&-1),
        "the re-attribution leaves the unmatched line: {moved:?}"
    );
    let sep_view = close::view(&h.store, &w.onboarding, sep).await.unwrap();
    assert_eq!(
        sep_view
            .late
            .iter()
            .map(|(_, l)| l.sums.records)
            .sum::<i64>(),
        52,
        "both levels, listed apart"
    );
    assert!(sep_view.late.iter().all(|(billed_in, _)| *billed_in == oct));

    // October closes: the adjustments are frozen in it, once; November owes nothing.
    w.audited(&h.store, oct, &[]).await;
    let closed_oct = closed(&h, &w, "2026-10").await;
    let oct_lines = close::adjust::frozen_lines(&h.store, &closed_oct)
        .await
        .unwrap();
    let oct_adjustments: Vec<InvoiceLine> = oct_lines
        .into_iter()
        .filter(|l| l.kind != LineKind::Usage)
        .collect();
    assert_eq!(records(&oct_adjustments, Level::Reseller), 26);
    assert_eq!(records(&oct_adjustments, Level::Customer), 26);
    let next = close::view(&h.store, &w.onboarding, month("2026-11"))
        .await
        .unwrap();
    assert!(
        next.adjustments.is_empty(),
        "nothing billed twice: {:?}",
        next.adjustments
    );
    let account = w.account.to_string();
    let usage = admin(
        &h,
        &["usage", "--account", &account, "--month", "2026-09"],
        "",
    )
    .await;
    assert!(
        usage.stdout.contains("changes to 2026-09 since it closed")
            && usage.stdout.contains("in 2026-10: adjusts 2026-09"),
        "{}",
        usage.stdout
    );
}

fn s3(h: &Harness) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&h.stack.sdk)
            .force_path_style(true)
            .build(),
    )
}

async fn object(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("object");
    out.body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec()
}

/// (records, quantity, USD cost) of a records export's CSV.
fn record_totals(csv: &str) -> (i64, rust_decimal::Decimal, rust_decimal::Decimal) {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (q, c) = (col("quantity"), col("cost"));
    let mut totals = (0, rust_decimal::Decimal::ZERO, rust_decimal::Decimal::ZERO);
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        totals.0 += 1;
        totals.1 += cells[q].parse::<rust_decimal::Decimal>().unwrap();
        if !cells[c].is_empty() {
            totals.2 += cells[c].parse::<rust_decimal::Decimal>().unwrap();
        }
    }
    totals
}

/// The same totals of one level's lines of an invoices export's JSON Lines.
fn invoice_totals(jsonl: &str, level: &str) -> (i64, rust_decimal::Decimal, rust_decimal::Decimal) {
    let mut totals = (0, rust_decimal::Decimal::ZERO, rust_decimal::Decimal::ZERO);
    for row in jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
    {
        if row["level"] != level {
            continue;
        }
        assert_eq!(row["kind"], "usage");
        assert!(
            row["account_id"].is_string()
                && row["department_id"].is_string()
                && row["unit"] == "parts"
        );
        totals.0 += row["records"].as_i64().unwrap();
        totals.1 += row["quantity"]
            .as_str()
            .unwrap()
            .parse::<rust_decimal::Decimal>()
            .unwrap();
        if let Some(cost) = row["cost"].as_str() {
            totals.2 += cost.parse::<rust_decimal::Decimal>().unwrap();
        }
    }
    totals
}

/// `billing-admin export` of September for one account.
async fn export(
    h: &Harness,
    account: &str,
    [what, format]: [&str; 2],
    to: &[&str],
) -> integration_tests::cli::Ran {
    let mut args = vec![
        "export",
        "--month",
        "2026-09",
        "--account",
        account,
        "--what",
        what,
        "--format",
        format,
    ];
    args.extend_from_slice(to);
    admin(h, &args, "").await
}

#[tokio::test]
async fn two_exports_of_a_closed_month_are_byte_identical_and_the_records_add_up_to_both_invoices()
{
    let (h, w, _) = september(700, &[]).await;
    let account = w.account.to_string();
    assert!(
        admin(
            &h,
            &["close", "--month", "2026-09", "--account", &account],
            ""
        )
        .await
        .ok
    );
    let dir = std::env::temp_dir().join(format!("month-export-{account}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for n in 0..2 {
        let out = dir.join(format!("records-{n}.csv"));
        let out_text = out.to_string_lossy().into_owned();
        let ran = export(&h, &account, ["records", "csv"], &["--out", &out_text]).await;
        assert!(
            ran.ok && ran.stdout.contains("exported 700 row(s)"),
            "{}{}",
            ran.stdout,
            ran.stderr
        );
        files.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(
        files[0], files[1],
        "two record exports of a closed month are byte-identical"
    );

    let client = s3(&h);
    let bucket = format!("exports-{}", &account[..8]);
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let to = format!("s3://{bucket}/billing/2026");
    let mut objects = Vec::new();
    for _ in 0..2 {
        let ran = export(
            &h,
            &account,
            ["invoices", "jsonl"],
            &["--to", &to, "--s3-path-style"],
        )
        .await;
        assert!(ran.ok, "{}{}", ran.stdout, ran.stderr);
        objects.push(
            object(
                &client,
                &bucket,
                &format!("billing/2026/2026-09-invoices-{account}.jsonl"),
            )
            .await,
        );
    }
    assert_eq!(
        objects[0], objects[1],
        "two invoice exports of a closed month are byte-identical"
    );
    let records = record_totals(&String::from_utf8(files[0].clone()).unwrap());
    let invoices = String::from_utf8(objects[0].clone()).unwrap();
    assert_eq!(records.0, 700);
    for level in ["reseller", "customer"] {
        assert_eq!(
            invoice_totals(&invoices, level),
            records,
            "{level} level against the records export"
        );
    }
    let bad = admin(
        &h,
        &[
            "export",
            "--month",
            "2026-09",
            "--account",
            &account,
            "--what",
            "records",
            "--to",
            "s3://Bad_Bucket/x",
        ],
        "",
    )
    .await;
    assert!(!bad.ok && bad.stderr.contains("--to"), "{}", bad.stderr);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn an_s3_export_larger_than_a_part_goes_up_in_parts_and_reads_back_whole() {
    use reconciliation::billing::export::ExportSink;
    let h = Harness::start(Names::isolated(), Default::default()).await;
    let client = s3(&h);
    let bucket = format!("parts-{}", &h.names.table[4..12]);
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let mut sink = aws_adapters::export::S3Sink::new(client.clone(), &bucket, "big.csv")
        .with_part_bytes(aws_adapters::export::MIN_PART_BYTES);
    let chunk: Vec<u8> = (0..256 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    let mut written = Vec::new();
    for _ in 0..45 {
        sink.write(&chunk).await.unwrap();
        written.extend_from_slice(&chunk);
    }
    let done = sink.finish().await.unwrap();
    assert_eq!(done.parts, 3, "11.25 MiB in parts of 5 MiB");
    assert_eq!(done.bytes, written.len() as u64);
    assert_eq!(object(&client, &bucket, "big.csv").await, written);
}

/// The emails of the monthly close the operator received so far.
async fn close_emails(h: &Harness) -> Vec<serde_json::Value> {
    h.emails_to(&h.names.alert_to)
        .await
        .into_iter()
        .filter(|m| {
            m["subject"]
                .as_str()
                .is_some_and(|s| s.contains(" closed for "))
        })
        .collect()
}

#[tokio::test]
async fn the_monthly_close_closes_a_ready_month_names_what_waits_and_never_recloses_a_reopened_one()
{
    use integration_tests::e2e::{ACME, BETA};
    use reconciliation::domain::{BillingMonth, ManagedAccountId};
    use reconciliation::schedule::close::CLOSED_BY;
    let mut h = Harness::start(Names::isolated(), Default::default()).await;
    h.onboard_sample_reseller().await;
    let w = World::onboard(&h).await;
    let previous = BillingMonth::of(chrono::Utc::now()).prev();
    h.store
        .put_detail_records(&w.records_of(previous, 30))
        .await
        .unwrap();
    w.audited(&h.store, previous, &[]).await;
    let state_of = |states: Vec<MonthState>| states.into_iter().find(|s| s.month == previous);

    // Off by default: the tick closes nothing.
    let off = h.tick().await.expect("tick");
    assert!(off.months_closed.is_empty() && off.months_waiting.is_empty());
    assert_eq!(
        state_of(h.store.month_states(&w.account).await.unwrap()),
        None
    );

    h.scheduler.auto_close = Some(chrono::Duration::seconds(30));
    let first = h.tick().await.expect("tick");
    assert_eq!(first.months_closed, vec![w.account.clone()]);
    let acme = ManagedAccountId::new(ACME);
    let beta = ManagedAccountId::new(BETA);
    assert!(
        first.months_waiting.contains(&acme) && first.months_waiting.contains(&beta),
        "never audited, so never closed: {:?}",
        first.months_waiting
    );
    let closed = state_of(h.store.month_states(&w.account).await.unwrap()).expect("closed");
    assert_eq!((closed.status, closed.version), (MonthStatus::Closed, 1));
    assert!(closed.accepted.is_empty(), "nothing accepted automatically");
    let log = h.store.month_events(&w.account, previous).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].by, CLOSED_BY);
    for waiting in [&acme, &beta] {
        assert_eq!(
            state_of(h.store.month_states(waiting).await.unwrap()),
            None,
            "{waiting} stays open"
        );
    }
    let emails = close_emails(&h).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(
        emails[0]["subject"],
        format!("Telnyx billing: 1 account(s) closed for {previous}, 2 waiting")
    );
    let body = emails[0]["body"].as_str().unwrap_or_default();
    assert!(
        body.contains(&format!("Months Reseller ({}): version 1", w.account)),
        "{body}"
    );
    assert!(
        body.contains(&format!("Acme Reseller ({ACME}):")) && body.contains("not audited on"),
        "what stands in the way is named: {body}"
    );

    // Nothing new: no close, no second email within the alert interval.
    let second = h.tick().await.expect("tick");
    assert!(second.months_closed.is_empty());
    assert_eq!(second.months_waiting.len(), 2);
    assert_eq!(close_emails(&h).await.len(), 1, "quiet when nothing closed");

    // A month the operator reopened waits for the operator.
    let reopened = close::reopen(
        &h.store,
        &w.account,
        previous,
        ("test", Some("a dispute".into())),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert!(matches!(reopened, close::ReopenOutcome::Reopened(_)));
    let third = h.tick().await.expect("tick");
    assert!(third.months_closed.is_empty());
    assert!(third.months_waiting.contains(&w.account));
    let state = state_of(h.store.month_states(&w.account).await.unwrap()).expect("state");
    assert_eq!(state.status, MonthStatus::Open, "not closed again");
}
