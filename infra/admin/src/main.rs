//! `billing-admin`: the operator's CLI (README "Onboarding" and "Operating it").
//! Reads `TABLE_NAME`, `SECRET_PREFIX` and `TELNYX_BASE_URL` like the functions (and,
//! for `sync`, every variable account-sync reads); AWS endpoints and credentials come
//! from the standard AWS variables (`.local/stack.env` locally).

mod commands;
mod month_cmds;

use aws_adapters::secrets;
use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "billing-admin",
    about = "Onboard, check and operate Telnyx accounts in Telnyx Billing Sync"
)]
struct Cli {
    /// The DynamoDB table (the stack's BillingTableName output).
    #[arg(long, env = "TABLE_NAME")]
    table: String,
    /// Secrets Manager prefix of the keys.
    #[arg(long, env = "SECRET_PREFIX", default_value = secrets::DEFAULT_PREFIX)]
    secret_prefix: String,
    /// Where account keys live: one secret each, or a few shared secrets (the stack's
    /// KeyStorage parameter).
    #[arg(long, env = "KEY_STORAGE", default_value = "per-account", value_parser = ["per-account", "shared"])]
    key_storage: String,
    /// Customer-managed KMS key new key secrets are encrypted with (the stack's
    /// SecretsKmsKeyArn; empty: the AWS-managed key).
    #[arg(long, env = "SECRETS_KMS_KEY_ARN", default_value = "")]
    secrets_kms_key_arn: String,
    /// Telnyx API base URL, including /v2.
    #[arg(
        long,
        env = "TELNYX_BASE_URL",
        default_value = "https://api.telnyx.com/v2"
    )]
    telnyx_base_url: String,
    #[command(subcommand)]
    command: Command,
}

/// How an account is to be billed (`onboard` and `plan`).
#[derive(clap::Args, Clone)]
struct OnboardArgs {
    /// The managed account id (required unless `onboard --csv`).
    #[arg(long)]
    account: Option<String>,
    /// The managed account's organization name (required with --account).
    #[arg(long)]
    organization: Option<String>,
    /// wholesale or direct (required with --account).
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,
    /// Wholesale: the operator's department (CDR and twins land here).
    #[arg(long, required_if_eq("mode", "wholesale"))]
    parent_department: Option<String>,
    /// Wholesale: the reseller's child department (end customers are created here).
    #[arg(long, required_if_eq("mode", "wholesale"))]
    child_department: Option<String>,
    /// Wholesale: the reseller customer's name (default: the organization name).
    #[arg(long)]
    reseller_name: Option<String>,
    /// Direct: the one department everything lives in.
    #[arg(long, required_if_eq("mode", "direct"))]
    department: Option<String>,
    #[arg(long, value_enum, default_value = "per-billing-group")]
    mapping: MappingArg,
}

#[derive(Subcommand, Clone)]
enum Command {
    /// Create or replace a department.
    Department {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// Where new-customer emails of this department go.
        #[arg(long)]
        billing_email: Option<String>,
        /// The parent department (for a reseller's child department).
        #[arg(long)]
        parent: Option<String>,
    },
    /// Onboard a managed account (idempotent), or many from a CSV file (all or nothing).
    Onboard {
        #[command(flatten)]
        one: OnboardArgs,
        /// Many accounts: a CSV with the columns account, organization, mode,
        /// parent_department, child_department, department, reseller_name, mapping,
        /// child_department_name, child_billing_email (README "Onboarding many accounts").
        #[arg(long, value_name = "FILE", conflicts_with = "account")]
        csv: Option<std::path::PathBuf>,
        /// The CSV's keys, one `<account id>,<key>` a line: a file, or `-` for standard
        /// input (never the command line).
        #[arg(long, value_name = "FILE", requires = "csv")]
        keys: Option<String>,
        /// With --csv: check everything and print what would be created; write nothing.
        #[arg(long, requires = "csv")]
        dry_run: bool,
    },
    /// Stop syncing an account: every stored record stays, `onboard` undoes it.
    Offboard {
        #[arg(long)]
        account: String,
        /// Also delete the account's key from Secrets Manager.
        #[arg(long)]
        delete_key: bool,
    },
    /// Show what the first sync of an account would create and warn, before it is
    /// onboarded (its key must be stored). Writes nothing.
    Plan {
        #[command(flatten)]
        onboarding: OnboardArgs,
        /// Link in new-customer emails ({customer_id} is replaced).
        #[arg(long, env = "PORTAL_URL_TEMPLATE", default_value = "")]
        portal_url_template: String,
    },
    /// Store a Telnyx API key read from standard input, after trying it against Telnyx.
    PutKey {
        /// The manager (master) key.
        #[arg(long, conflicts_with = "account", required_unless_present = "account")]
        master: bool,
        /// A managed account's key.
        #[arg(long)]
        account: Option<String>,
        /// Store the key even if Telnyx refuses part of what it is needed for.
        #[arg(long)]
        force: bool,
        /// Refused: a key on the command line stays in the shell's history.
        #[arg(hide = true)]
        key_on_command_line: Option<String>,
    },
    /// Print an account's onboarding and what is stored for it.
    Show {
        #[arg(long)]
        account: String,
    },
    /// Every managed account: onboarding, key, last run, last alert.
    Accounts,
    /// Sync one account now, through account-sync's code (reads account-sync's
    /// environment: SES_SENDER, ALERT_EMAIL, PORTAL_URL_TEMPLATE, QUEUE_URL…).
    Sync {
        #[arg(long)]
        account: String,
        /// Backfill from this instant (RFC 3339) instead of the regular window.
        #[arg(long)]
        from: Option<String>,
        /// Backfill up to this instant (RFC 3339; default now).
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Only these record types (comma-separated, e.g. sip-trunking,messaging).
        #[arg(long, value_delimiter = ',')]
        record_types: Vec<String>,
    },
    /// The invoice of an account's billing month, from the stored records: per
    /// reseller customer and twin service (`--level reseller`, what the operator bills
    /// the reseller) or per end customer and service (`--level customer`).
    Usage {
        #[arg(long)]
        account: String,
        /// The billing month, YYYY-MM (UTC).
        #[arg(long)]
        month: String,
        #[arg(long, value_enum, default_value = "reseller")]
        level: LevelArg,
        #[arg(long, value_enum, default_value = "table")]
        format: FormatArg,
    },
    /// The completeness audit's verdicts of an account's billing month: per day and
    /// record type, Telnyx's figures and ours.
    Audit {
        #[arg(long)]
        account: String,
        /// The billing month, YYYY-MM (UTC).
        #[arg(long)]
        month: String,
    },
    /// Close a billing month: both invoice levels frozen, later changes billed as
    /// adjustments in the next open month. Refused while a day of the month is not
    /// settled and clean (each named), unless --accept-findings.
    Close {
        #[command(flatten)]
        scope: MonthScope,
        /// Close although days are not settled and clean; what was accepted is recorded.
        #[arg(long)]
        accept_findings: bool,
        /// Why (kept in the month's log).
        #[arg(long)]
        note: Option<String>,
        /// Who closes (kept in the month's log; default $USER).
        #[arg(long, env = "USER", default_value = "operator")]
        by: String,
    },
    /// Reopen a closed month (logged): its invoices are read from the records again
    /// until it is closed anew.
    Reopen {
        #[arg(long)]
        account: String,
        /// The billing month, YYYY-MM (UTC).
        #[arg(long)]
        month: String,
        /// Why (kept in the month's log).
        #[arg(long)]
        note: Option<String>,
        #[arg(long, env = "USER", default_value = "operator")]
        by: String,
    },
    /// Export a month's detail records or invoice lines (CSV or JSON Lines) to a file,
    /// S3 or standard output, streamed.
    Export {
        #[command(flatten)]
        scope: MonthScope,
        #[arg(long, value_parser = ["records", "invoices"])]
        what: String,
        #[arg(long, value_parser = ["csv", "jsonl"], default_value = "csv")]
        format: String,
        /// A file to write (default: standard output).
        #[arg(long, conflicts_with = "to")]
        out: Option<std::path::PathBuf>,
        /// s3://bucket/prefix: the object is <prefix>/<month>-<what>-<account or all>.<format>.
        #[arg(long)]
        to: Option<String>,
        /// Address S3 by path (local stand-ins such as moto).
        #[arg(long, env = "S3_FORCE_PATH_STYLE", default_value_t = false)]
        s3_path_style: bool,
    },
    /// An account's recent run logs, newest first (`--account scheduler`: the ticks).
    Runs {
        #[arg(long)]
        account: String,
        #[arg(long, default_value_t = 10)]
        last: usize,
    },
}

/// Which month of which accounts.
#[derive(clap::Args, Clone)]
struct MonthScope {
    /// The billing month, YYYY-MM (UTC).
    #[arg(long)]
    month: String,
    /// One managed account.
    #[arg(long, conflicts_with = "all", required_unless_present = "all")]
    account: Option<String>,
    /// Every onboarded account.
    #[arg(long)]
    all: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Wholesale,
    Direct,
}

#[derive(Clone, Copy, ValueEnum)]
enum LevelArg {
    Reseller,
    Customer,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Table,
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum MappingArg {
    PerBillingGroup,
    OneCustomer,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("billing-admin: {message}");
            ExitCode::FAILURE
        }
    }
}
