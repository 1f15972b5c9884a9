//! `close`, `reopen` and `export`: every flag checked before anything is read or
//! written, then the core's month close, reopen and exports over the store (and S3).

use super::{Command, MonthScope};
use aws_adapters::export::S3Sink;
use aws_adapters::store::DynamoStore;
use billing_admin::month::{self, FileSink};
use billing_admin::validate;
use reconciliation::billing::close::{self, CloseRequest, MonthView};
use reconciliation::billing::export::{self, ExportReport, ExportSink, Format, What};
use reconciliation::domain::{BillingMonth, ManagedAccountId, Onboarding};
use reconciliation::ports::{OnboardingStore, Store};

/// `--month`, parsed (the error names the flag).
pub fn month_arg(text: &str) -> Result<BillingMonth, String> {
    text.parse::<BillingMonth>()
        .map_err(|e| format!("--month: {e}"))
}

/// A one-line free text (`--note`, `--by`).
fn note_arg(flag: &str, text: Option<String>) -> Result<Option<String>, String> {
    text.map(|t| validate::name(flag, &t).map_err(String::from))
        .transpose()
}

/// The onboardings a scope names (an unknown account is an error naming `--account`).
async fn onboardings(
    store: &DynamoStore,
    account: Option<&ManagedAccountId>,
) -> Result<Vec<Onboarding>, String> {
    match account {
        Some(account) => Ok(vec![onboarding(store, account).await?]),
        None => store.onboardings().await.map_err(|e| e.chain()),
    }
}

async fn onboarding(store: &DynamoStore, account: &ManagedAccountId) -> Result<Onboarding, String> {
    store
        .onboarding(account)
        .await
        .map_err(|e| e.chain())?
        .ok_or_else(|| {
            format!("--account {account} is not onboarded (billing-admin accounts lists them)")
        })
}

/// The month's invoices as `usage` shows them.
pub async fn view(
    store: &DynamoStore,
    account: &ManagedAccountId,
    month: chrono::DateTime<chrono::Utc>,
) -> Result<MonthView, String> {
    let onboarding = onboarding(store, account).await?;
    close::view(store, &onboarding, BillingMonth::of(month))
        .await
        .map_err(|e| e.chain())
}

/// `--account` or `--all`, and `--month`, checked.
fn scope(s: &MonthScope) -> Result<(BillingMonth, Option<ManagedAccountId>), String> {
    let month = month_arg(&s.month)?;
    let account = match (&s.account, s.all) {
        (Some(a), false) => Some(validate::account_id("--account", a)?),
        (None, true) => None,
        _ => return Err("give --account ID or --all".into()),
    };
    Ok((month, account))
}

/// Runs `close`, `reopen` or `export`.
pub async fn run(
    sdk: &aws_config::SdkConfig,
    store: &DynamoStore,
    command: Command,
) -> Result<(), String> {
    match command {
        Command::Close {
            scope: s,
            accept_findings,
            note,
            by,
        } => {
            let (month, account) = scope(&s)?;
            let request = CloseRequest {
                month,
                accept_findings,
                note: note_arg("--note", note)?,
                by: validate::name("--by", &by)?,
                now: chrono::Utc::now(),
            };
            close_cmd(store, account.as_ref(), &request).await
        }
        Command::Reopen {
            account,
            month,
            note,
            by,
        } => {
            let month = month_arg(&month)?;
            let account = validate::account_id("--account", &account)?;
            let note = note_arg("--note", note)?;
            let by = validate::name("--by", &by)?;
            let outcome = close::reopen(store, &account, month, (&by, note), chrono::Utc::now())
                .await
                .map_err(|e| e.chain())?;
            print!("{}", month::render_reopen(&account, month, &outcome)?);
            Ok(())
        }
        export @ Command::Export { .. } => export_args(sdk, store, export).await,
        _ => Ok(()),
    }
}

/// `export`: the flags checked, then the export written.
async fn export_args(
    sdk: &aws_config::SdkConfig,
    store: &DynamoStore,
    command: Command,
) -> Result<(), String> {
    let Command::Export {
        scope: s,
        what,
        format,
        out,
        to,
        s3_path_style,
    } = command
    else {
        return Ok(());
    };
    let (month, account) = scope(&s)?;
    let what: What = what
        .parse()
        .map_err(|_| "--what: records or invoices".to_owned())?;
    let format: Format = format
        .parse()
        .map_err(|_| "--format: csv or jsonl".to_owned())?;
    let target = match (out, to) {
        (Some(path), _) => Target::File(path),
        (None, Some(to)) => {
            let (bucket, prefix) = validate::s3_location("--to", &to)?;
            Target::S3 {
                bucket,
                prefix,
                path_style: s3_path_style,
            }
        }
        (None, None) => Target::Stdout,
    };
    let onboardings = onboardings(store, account.as_ref()).await?;
    let name = format!(
        "{month}-{what}-{}.{}",
        account
            .as_ref()
            .map_or_else(|| "all".to_owned(), ToString::to_string),
        format.extension()
    );
    export_cmd(
        sdk,
        store,
        (&onboardings, month, what, format),
        target,
        &name,
    )
    .await
}

/// Closes the month of one account, or of every onboarded one (each named: closed,
/// already closed, or what it waits for).
async fn close_cmd(
    store: &DynamoStore,
    account: Option<&ManagedAccountId>,
    request: &CloseRequest,
) -> Result<(), String> {
    let all = onboardings(store, account).await?;
    let mut waiting = 0;
    for onboarding in &all {
        let outcome = close::close(store, onboarding, request)
            .await
            .map_err(|e| e.chain())?;
        match month::render_close(&onboarding.account, request.month, &outcome) {
            Ok(text) => print!("{text}"),
            Err(text) if account.is_some() => return Err(text),
            Err(text) => {
                waiting += 1;
                println!("{text}");
            }
        }
    }
    if account.is_none() {
        println!(
            "{}: {} account(s) closed or already closed, {waiting} waiting",
            request.month,
            all.len() - waiting
        );
    }
    Ok(())
}

/// Where an export goes.
enum Target {
    File(std::path::PathBuf),
    Stdout,
    S3 {
        bucket: String,
        prefix: String,
        path_style: bool,
    },
}

async fn write_export(
    store: &dyn Store,
    (onboardings, month, what, format): (&[Onboarding], BillingMonth, What, Format),
    sink: &mut dyn ExportSink,
) -> Result<ExportReport, String> {
    let done = match what {
        What::Records => export::export_records(store, onboardings, month, format, sink).await,
        What::Invoices => export::export_invoices(store, onboardings, month, format, sink).await,
    };
    done.map_err(|e| e.chain())
}

async fn export_cmd(
    sdk: &aws_config::SdkConfig,
    store: &DynamoStore,
    job: (&[Onboarding], BillingMonth, What, Format),
    target: Target,
    name: &str,
) -> Result<(), String> {
    let (report, place) = match target {
        Target::File(path) => {
            let mut sink = FileSink::create(&path).await?;
            let report = write_export(store, job, &mut sink).await?;
            sink.finish().await?;
            (report, path.display().to_string())
        }
        Target::Stdout => {
            let mut sink = FileSink::stdout();
            let report = write_export(store, job, &mut sink).await?;
            sink.finish().await?;
            eprintln!("{} row(s), {} bytes", report.rows, report.bytes);
            return Ok(());
        }
        Target::S3 {
            bucket,
            prefix,
            path_style,
        } => {
            let config = aws_sdk_s3::config::Builder::from(sdk)
                .force_path_style(path_style)
                .build();
            let key = if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}/{name}")
            };
            let mut sink = S3Sink::new(aws_sdk_s3::Client::from_conf(config), &bucket, key);
            let report = match write_export(store, job, &mut sink).await {
                Ok(report) => report,
                Err(e) => {
                    sink.abort().await;
                    return Err(e);
                }
            };
            let object = sink.finish().await.map_err(|e| e.chain())?;
            (
                report,
                format!(
                    "s3://{}/{} ({} part(s))",
                    object.bucket, object.key, object.parts
                ),
            )
        }
    };
    println!(
        "exported {} row(s), {} bytes to {place}",
        report.rows, report.bytes
    );
    Ok(())
}
