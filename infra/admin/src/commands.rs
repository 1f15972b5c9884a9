//! What each subcommand does: build what it needs (the store, the ports as the
//! functions build them), call the library, print the result. Every error is one
//! message (the caller prints it and exits non-zero); nothing is half written.

use super::{Cli, Command, FormatArg, LevelArg, MappingArg, ModeArg, OnboardArgs};
use aws_adapters::{config::load_sdk_config, secrets, store::DynamoStore};
use billing_admin::key_check::{self, KeyKind};
use billing_admin::{accounts, keys, onboard, runs, sync_now, usage};
use lambda_shell::AdapterConfig;
use reconciliation::domain::{
    Department, DepartmentId, ManagedAccountId, MappingPreference, RunId,
};
use reconciliation::error_chain;
use reconciliation::ports::{ApiKey, OnboardingStore, Ports, StateStore};
use std::io::Read;

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> Result<(), String> {
    let sdk = load_sdk_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), cli.table.clone());
    match cli.command.clone() {
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
            put_department(&store, department).await?;
        }
        Command::Onboard(args) => onboard_account(&store, &args).await?,
        Command::Plan {
            onboarding,
            portal_url_template,
        } => {
            let ports = ports(&cli).await?;
            let diff = onboard::preview(&ports, &request(&onboarding), &portal_url_template)
                .await
                .map_err(|e| error_chain(&e))?;
            println!("{diff}");
            println!("(nothing written: onboard with the same arguments to apply it)");
        }
        Command::PutKey {
            master,
            account,
            force,
            key_on_command_line,
        } => {
            if key_on_command_line.is_some() {
                return Err("put-key reads the key from standard input, never from the command line (it would stay in the shell's history); nothing stored".into());
            }
            let (name, kind) = secret_of(&cli.secret_prefix, master, account)?;
            let ports = ports(&cli).await?;
            let client = aws_sdk_secretsmanager::Client::new(&sdk);
            put_key(&ports, &client, &name, kind, force).await?;
        }
        Command::Show { account } => show(&store, ManagedAccountId::new(account)).await?,
        Command::Accounts => {
            let ports = ports(&cli).await?;
            print!(
                "{}",
                accounts::render(&accounts::accounts(&ports, &store).await?)
            );
        }
        Command::Sync {
            account,
            from,
            to,
            record_types,
        } => sync(&account, from.as_deref(), to.as_deref(), &record_types).await?,
        Command::Usage {
            account,
            month,
            level,
            format,
        } => usage_cmd(&store, &account, &month, level, format).await?,
        Command::Audit { account, month } => audit_cmd(&store, &account, &month).await?,
        Command::Runs { account, last } => {
            let account = ManagedAccountId::new(account);
            let logs = runs::runs(&store, &account, last).await?;
            if logs.is_empty() {
                return Err(format!(
                    "no run log for {account}: is it onboarded (billing-admin accounts) and has it run?"
                ));
            }
            print!("{}", runs::render(&logs));
        }
    }
    Ok(())
}

async fn put_department(store: &DynamoStore, department: Department) -> Result<(), String> {
    onboard::put_department(store, department.clone())
        .await
        .map_err(|e| error_chain(&e))?;
    println!("department {} ({}) stored", department.id, department.name);
    Ok(())
}

/// `usage`: one invoice, and in table form the month's audit beside it.
async fn usage_cmd(
    store: &DynamoStore,
    account: &str,
    month: &str,
    level: LevelArg,
    format: FormatArg,
) -> Result<(), String> {
    let month = usage::parse_month(month)?;
    let account = ManagedAccountId::new(account);
    let level = match level {
        LevelArg::Reseller => reconciliation::billing::rollup::Level::Reseller,
        LevelArg::Customer => reconciliation::billing::rollup::Level::Customer,
    };
    let format = match format {
        FormatArg::Table => usage::Format::Table,
        FormatArg::Csv => usage::Format::Csv,
        FormatArg::Json => usage::Format::Json,
    };
    let invoice = usage::invoice(store, &account, month, level).await?;
    print!("{}", usage::render(&invoice, format)?);
    if format == usage::Format::Table {
        let days = usage::audit_days(store, &account, month).await?;
        let catalog = reconciliation::usage::catalog::cached(store)
            .await
            .map_err(|e| e.chain())?;
        println!(
            "{}",
            usage::reconcile_line(&invoice, &days, catalog.as_ref())
        );
    }
    Ok(())
}

/// `audit`: the month's verdicts per day and type.
async fn audit_cmd(store: &DynamoStore, account: &str, month: &str) -> Result<(), String> {
    let month = usage::parse_month(month)?;
    let account = ManagedAccountId::new(account);
    let days = usage::audit_days(store, &account, month).await?;
    if days.is_empty() {
        return Err(format!(
            "no audit verdict for {account} in {}: has a complete run happened since the month's first day ended?",
            month.format("%Y-%m")
        ));
    }
    let catalog = reconciliation::usage::catalog::cached(store)
        .await
        .map_err(|e| e.chain())?;
    print!("{}", usage::render_audit(&days, catalog.as_ref()));
    Ok(())
}

/// The secret a key goes to, and which kind of key it is.
fn secret_of(
    prefix: &str,
    master: bool,
    account: Option<String>,
) -> Result<(String, KeyKind), String> {
    match (master, account) {
        (true, _) => Ok((secrets::master_secret_name(prefix), KeyKind::Manager)),
        (false, Some(account)) => Ok((
            secrets::account_secret_name(prefix, &ManagedAccountId::new(account)),
            KeyKind::Account,
        )),
        (false, None) => Err("give --master or --account".into()),
    }
}

/// The ports as the functions build them, from the command line's table, prefix and
/// Telnyx URL (and `SES_SENDER` / `QUEUE_URL` when set: only `sync` sends or queues).
async fn ports(cli: &Cli) -> Result<Ports, String> {
    let config = AdapterConfig {
        table_name: cli.table.clone(),
        secret_prefix: cli.secret_prefix.clone(),
        telnyx_base_url: cli.telnyx_base_url.clone(),
        ses_sender: std::env::var("SES_SENDER").unwrap_or_default(),
        queue_url: std::env::var("QUEUE_URL").unwrap_or_default(),
    };
    lambda_shell::build_ports(&config)
        .await
        .map_err(|e| error_chain(&*e))
}

fn request(args: &OnboardArgs) -> onboard::OnboardRequest {
    let mode = match args.mode {
        ModeArg::Wholesale => onboard::Mode::Wholesale {
            parent_department: DepartmentId::new(
                args.parent_department.clone().unwrap_or_default(),
            ),
            child_department: DepartmentId::new(args.child_department.clone().unwrap_or_default()),
            reseller_name: args
                .reseller_name
                .clone()
                .unwrap_or_else(|| args.organization.clone()),
        },
        ModeArg::Direct => onboard::Mode::Direct {
            department: DepartmentId::new(args.department.clone().unwrap_or_default()),
        },
    };
    onboard::OnboardRequest {
        account: ManagedAccountId::new(args.account.clone()),
        organization_name: args.organization.clone(),
        mode,
        mapping: match args.mapping {
            MappingArg::PerBillingGroup => MappingPreference::PerBillingGroup,
            MappingArg::OneCustomer => MappingPreference::OneCustomer,
        },
    }
}

async fn onboard_account(store: &DynamoStore, args: &OnboardArgs) -> Result<(), String> {
    let onboarding = onboard::onboard(store, request(args))
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

/// Reads the key from standard input, tries it against Telnyx, stores it under `name`
/// when every permission holds (or with `force`, warning).
async fn put_key(
    ports: &Ports,
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    kind: KeyKind,
    force: bool,
) -> Result<(), String> {
    let mut raw = String::new();
    std::io::stdin()
        .read_to_string(&mut raw)
        .map_err(|e| format!("reading the key from stdin: {e}"))?;
    let key = ApiKey::new(raw.trim().to_owned());
    keys::validate(&key).map_err(|e| e.to_string())?;
    let checked = key_check::check_key(&*ports.telnyx, kind, &key, ports.clock.now()).await;
    let refused = key_check::refusals(&checked);
    for p in checked.iter().filter(|p| p.result.is_ok()) {
        eprintln!("ok: the key reads {}", p.what);
    }
    if !refused.is_empty() {
        let list = refused.join("\n  ");
        if !force {
            return Err(format!(
                "Telnyx refused the key; nothing stored (--force stores it anyway):\n  {list}"
            ));
        }
        eprintln!("warning: storing a key Telnyx refused (--force):\n  {list}");
    }
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

/// One account synced now with account-sync's configuration and core.
async fn sync(
    account: &str,
    from: Option<&str>,
    to: Option<&str>,
    record_types: &[String],
) -> Result<(), String> {
    let config = account_sync::config::Config::from_env().map_err(|e| e.to_string())?;
    let ports = lambda_shell::build_ports(&config.adapters)
        .await
        .map_err(|e| error_chain(&*e))?;
    let request = sync_now::request(account, from, to, record_types, ports.clock.now())?;
    let run_id = RunId::new(format!(
        "billing-admin-{}",
        ports.clock.now().timestamp_millis()
    ));
    let summary = sync_now::sync_now(&ports, &config.sync, &request, run_id).await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?
    );
    Ok(())
}
