//! `billing-admin`: the operator's CLI for onboarding (see README "Onboarding").
//! Reads `TABLE_NAME` and `SECRET_PREFIX` like the functions; AWS endpoints and
//! credentials come from the standard AWS variables (`.local/stack.env` locally).

use aws_adapters::{config::load_sdk_config, secrets, store::DynamoStore};
use billing_admin::{keys, onboard};
use clap::{Parser, Subcommand, ValueEnum};
use reconciliation::domain::{Department, DepartmentId, ManagedAccountId, MappingPreference};
use reconciliation::error_chain;
use reconciliation::ports::{ApiKey, OnboardingStore, StateStore};
use std::io::Read;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "billing-admin",
    about = "Onboard Telnyx accounts into Telnyx Billing Sync"
)]
struct Cli {
    /// The DynamoDB table (the stack's BillingTableName output).
    #[arg(long, env = "TABLE_NAME")]
    table: String,
    /// Secrets Manager prefix of the keys.
    #[arg(long, env = "SECRET_PREFIX", default_value = secrets::DEFAULT_PREFIX)]
    secret_prefix: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
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
    /// Onboard a managed account (idempotent).
    Onboard {
        #[arg(long)]
        account: String,
        /// The managed account's organization name.
        #[arg(long)]
        organization: String,
        #[arg(long, value_enum)]
        mode: ModeArg,
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
    },
    /// Store a Telnyx API key read from standard input.
    PutKey {
        /// The manager (master) key.
        #[arg(long, conflicts_with = "account", required_unless_present = "account")]
        master: bool,
        /// A managed account's key.
        #[arg(long)]
        account: Option<String>,
    },
    /// Print an account's onboarding and what is stored for it.
    Show {
        #[arg(long)]
        account: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Wholesale,
    Direct,
}

#[derive(Clone, Copy, ValueEnum)]
enum MappingArg {
    PerBillingGroup,
    OneCustomer,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("billing-admin: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let sdk = load_sdk_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), cli.table.clone());
    match cli.command {
        Command::Department {
            id,
            name,
            billing_email,
            parent,
        } => {
            let department = Department {
                id: DepartmentId::new(id),
                name,
                billing_email,
                parent: parent.map(DepartmentId::new),
            };
            onboard::put_department(&store, department.clone())
                .await
                .map_err(|e| error_chain(&e))?;
            println!("department {} ({}) stored", department.id, department.name);
        }
        command @ Command::Onboard { .. } => onboard_account(&store, command).await?,
        Command::PutKey { master, account } => {
            let name = match (master, account) {
                (true, _) => secrets::master_secret_name(&cli.secret_prefix),
                (false, Some(account)) => secrets::account_secret_name(
                    &cli.secret_prefix,
                    &ManagedAccountId::new(account),
                ),
                (false, None) => return Err("give --master or --account".into()),
            };
            put_key(&aws_sdk_secretsmanager::Client::new(&sdk), &name).await?;
        }
        Command::Show { account } => show(&store, ManagedAccountId::new(account)).await?,
    }
    Ok(())
}

async fn onboard_account(store: &DynamoStore, command: Command) -> Result<(), String> {
    let Command::Onboard {
        account,
        organization,
        mode,
        parent_department,
        child_department,
        reseller_name,
        department,
        mapping,
    } = command
    else {
        return Ok(());
    };
    let mode = match mode {
        ModeArg::Wholesale => onboard::Mode::Wholesale {
            parent_department: DepartmentId::new(parent_department.unwrap_or_default()),
            child_department: DepartmentId::new(child_department.unwrap_or_default()),
            reseller_name: reseller_name.unwrap_or_else(|| organization.clone()),
        },
        ModeArg::Direct => onboard::Mode::Direct {
            department: DepartmentId::new(department.unwrap_or_default()),
        },
    };
    let request = onboard::OnboardRequest {
        account: ManagedAccountId::new(account),
        organization_name: organization,
        mode,
        mapping: match mapping {
            MappingArg::PerBillingGroup => MappingPreference::PerBillingGroup,
            MappingArg::OneCustomer => MappingPreference::OneCustomer,
        },
    };
    let onboarding = onboard::onboard(store, request)
        .await
        .map_err(|e| error_chain(&e))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&onboarding).map_err(|e| e.to_string())?
    );
    println!(
        "onboarded. Store its key next: billing-admin put-key --account {} < key.txt",
        onboarding.account
    );
    Ok(())
}

/// Stores the key read from standard input under `name`.
async fn put_key(client: &aws_sdk_secretsmanager::Client, name: &str) -> Result<(), String> {
    let mut raw = String::new();
    std::io::stdin()
        .read_to_string(&mut raw)
        .map_err(|e| format!("reading the key from stdin: {e}"))?;
    let key = ApiKey::new(raw.trim().to_owned());
    let created = keys::put_key(client, name, &key)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "secret {name} {}",
        if created {
            "created"
        } else {
            "updated (new version)"
        }
    );
    Ok(())
}

async fn show(store: &DynamoStore, account: ManagedAccountId) -> Result<(), String> {
    let onboarding = store
        .onboarding(&account)
        .await
        .map_err(|e| e.chain())?
        .ok_or_else(|| format!("account {account} is not onboarded"))?;
    let state = store.load_state(&onboarding).await.map_err(|e| e.chain())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&onboarding).map_err(|e| e.to_string())?
    );
    println!(
        "departments: {}, customers: {}, service types: {}, services: {} ({} ceased)",
        state.departments.len(),
        state.customers.len(),
        state.service_types.len(),
        state.services.len(),
        state
            .services
            .iter()
            .filter(|s| !matches!(s.status, reconciliation::domain::ServiceStatus::Active))
            .count()
    );
    Ok(())
}
