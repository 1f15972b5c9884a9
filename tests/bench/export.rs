//! `export_*`: a month of generated records (`BENCH_EXPORT_RECORDS`, default
//! 1,000,000) written to DynamoDB Local, the month closed, then exported by the release
//! `billing-admin` binary — records as CSV to a file, then to moto's S3 — each run's
//! records per second and its peak resident memory (`VmHWM`, polled from `/proc` while
//! it runs), and how long the close took. Flat memory: the peak does not grow with the month (compare a run with a
//! tenth of the records).

use integration_tests::e2e::{Harness, Names};
use integration_tests::months::{World, month};
use reconciliation::billing::close::{self, CloseOutcome, CloseRequest};
use reconciliation::ports::RecordStore;
use std::time::{Duration, Instant};

/// Records written per call (and calls in flight).
const CHUNK: usize = 500;
const IN_FLIGHT: usize = 4;

/// Runs `billing-admin ARGS` to its end; (seconds, peak RSS in MiB).
async fn timed_admin(h: &Harness, args: &[&str]) -> (f64, f64) {
    let started = Instant::now();
    let mut child = tokio::process::Command::new(lambda_local::function::binary("billing-admin"))
        .args(args)
        .env_clear()
        .envs(h.function_env())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("billing-admin starts");
    let pid = child.id().expect("pid");
    let mut peak_kib = 0u64;
    loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            let hwm = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0);
            peak_kib = peak_kib.max(hwm);
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = child.wait_with_output().await.expect("exits");
    assert!(
        out.status.success(),
        "billing-admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (started.elapsed().as_secs_f64(), peak_kib as f64 / 1024.0)
}

pub async fn run(records: usize) -> Vec<(String, String)> {
    let h = Harness::start(Names::isolated(), Default::default()).await;
    let w = World::onboard(&h).await;
    let sep = month("2026-09");
    let started = Instant::now();
    let all = w.records_of(sep, records);
    for group in all.chunks(CHUNK * IN_FLIGHT) {
        let writes = group
            .chunks(CHUNK)
            .map(|c| h.store.put_new_detail_records(c));
        futures::future::try_join_all(writes)
            .await
            .expect("records written");
    }
    drop(all);
    let write_secs = started.elapsed().as_secs_f64();
    w.audited(&h.store, sep, &[]).await;
    let request = CloseRequest {
        month: sep,
        accept_findings: false,
        note: None,
        by: "bench".into(),
        now: chrono::Utc::now(),
    };
    let closing = Instant::now();
    let closed = close::close(&h.store, &w.onboarding, &request)
        .await
        .expect("close");
    let close_secs = closing.elapsed().as_secs_f64();
    assert!(matches!(closed, CloseOutcome::Closed { .. }), "{closed:?}");

    let account = w.account.to_string();
    let file = std::env::temp_dir().join(format!("bench-export-{account}.csv"));
    let file_text = file.to_string_lossy().into_owned();
    let base = [
        "export",
        "--month",
        "2026-09",
        "--account",
        &account,
        "--what",
        "records",
    ];
    let (file_secs, file_rss) =
        timed_admin(&h, &[&base[..], &["--out", &file_text]].concat()).await;
    let bytes = std::fs::metadata(&file)
        .map(|m| m.len())
        .unwrap_or_default();
    let lines = std::fs::read_to_string(&file)
        .map(|t| t.lines().count())
        .unwrap_or_default();
    assert_eq!(lines, records + 1, "every record once, and the header");
    std::fs::remove_file(&file).ok();

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&h.stack.sdk)
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("bench-{}", &account[..8]);
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let to = format!("s3://{bucket}/exports");
    let (s3_secs, s3_rss) =
        timed_admin(&h, &[&base[..], &["--to", &to, "--s3-path-style"]].concat()).await;
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key(format!("exports/2026-09-records-{account}.csv"))
        .send()
        .await
        .expect("the object");
    assert_eq!(
        head.content_length.unwrap_or_default() as u64,
        bytes,
        "the same bytes on S3"
    );
    let rate = |secs: f64| format!("{:.0}", records as f64 / secs);
    vec![
        ("export_records".into(), records.to_string()),
        ("export_bytes".into(), bytes.to_string()),
        ("export_setup_write_sec".into(), format!("{write_secs:.0}")),
        // The close reads the month's records once (the monthly automatic close must
        // fit the scheduler's timeout: README "Month end").
        ("close_sec".into(), format!("{close_secs:.1}")),
        ("close_records_per_sec".into(), rate(close_secs)),
        ("export_file_records_per_sec".into(), rate(file_secs)),
        ("export_file_peak_rss_mb".into(), format!("{file_rss:.1}")),
        ("export_s3_records_per_sec".into(), rate(s3_secs)),
        ("export_s3_peak_rss_mb".into(), format!("{s3_rss:.1}")),
    ]
}
