//! What each subcommand does: build what it needs (the store, the ports as the
//! functions build them), call the library, print the result. Every error is one
//! message (the caller prints it and exits non-zero); nothing is half written.

use super::{Cli, Command, FormatArg, LevelArg, MappingArg, ModeArg, OnboardArgs};
use aws_adapters::secrets::{KeyStorage, SecretsManagerKeys, WriteOptions};
use aws_adapters::{config::load_sdk_config, store::DynamoStore};
use billing_admin::key_check::{self, KeyKind};
use billing_admin::validate;
use billing_admin::{accounts, bulk, keys, offboard, onboard, runs, sync_now, usage};
use lambda_shell::AdapterConfig;
use reconciliation::domain::{
    Department, DepartmentId, ManagedAccountId, MappingPreference, RunId,
};
use reconciliation::error_chain;
use reconciliation::ports::{ApiKey, KeyStore, OnboardingStore, Ports, StateStore};
use std::io::Read;

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> Result<(), String> {
    let sdk = load_sdk_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), cli.table.clone());
    match cli.command.clone() {
        change @ (Command::Department { .. }
        | Command::Onboard { .. }
        | Command::Offboard { .. }
        | Command::Plan { .. }
        | Command::PutKey { .. }) => change_cmd(&cli, &sdk, &store, change).await?,
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
        month @ (Command::Close { .. } | Command::Reopen { .. } | Command::Export { .. }) => {
            crate::month_cmds::run(&sdk, &store, month).await?
        }
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

/// The commands that onboard, offboard, store keys, or preview an onboarding.
async fn change_cmd(
    cli: &Cli,
    sdk: &aws_config::SdkConfig,
    store: &DynamoStore,
    command: Command,
) -> Result<(), String> {
    match command {
        Command::Department {
            id,
            name,
            billing_email,
            parent,
        } => department_cmd(store, &id, &name, billing_email, parent).await?,
        Command::Onboard {
            one,
            csv,
            keys,
            dry_run,
        } => match csv {
            Some(csv) => {
                let options = BulkOptions { csv, keys, dry_run };
                onboard_csv(cli, sdk, store, &options).await?;
            }
            None => onboard_account(store, &request(&one)?).await?,
        },
        Command::Offboard {
            account,
            delete_key,
        } => {
            let account = validate::account_id("--account", &account)?;
            offboard_account(store, &key_store(cli, sdk)?, &account, delete_key).await?;
        }
        Command::Plan {
            onboarding,
            portal_url_template,
        } => {
            let ports = ports(cli).await?;
            let diff = onboard::preview(&ports, &request(&onboarding)?, &portal_url_template)
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
            put_key_cmd(
                cli,
                sdk,
                key_target(master, account, key_on_command_line)?,
                force,
            )
            .await?
        }
        _ => {}
    }
    Ok(())
}

/// `department`: every flag checked (`--id`, `--name`, `--billing-email`, `--parent`).
async fn department_cmd(
    store: &DynamoStore,
    id: &str,
    name: &str,
    billing_email: Option<String>,
    parent: Option<String>,
) -> Result<(), String> {
    let department = Department {
        id: DepartmentId::new(validate::id("--id", id)?),
        name: validate::name("--name", name)?,
        billing_email: billing_email
            .map(|e| validate::email("--billing-email", &e))
            .transpose()?,
        parent: parent
            .map(|p| validate::id("--parent", &p).map(DepartmentId::new))
            .transpose()?,
    };
    put_department(store, department).await
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
    let view = crate::month_cmds::view(store, &account, month).await?;
    let invoice = billing_admin::month::invoice_of(&view, level);
    if format == usage::Format::Table {
        println!(
            "{}",
            billing_admin::month::status_line(view.month, view.state.as_ref())
        );
    }
    print!("{}", usage::render(&invoice, format)?);
    if format == usage::Format::Table {
        print!("{}", billing_admin::month::adjustments_text(&view));
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

/// The ports as the functions build them, from the command line's table, prefix and
/// Telnyx URL (and `SES_SENDER` / `QUEUE_URL` when set: only `sync` sends or queues).
async fn ports(cli: &Cli) -> Result<Ports, String> {
    let config = AdapterConfig {
        table_name: cli.table.clone(),
        secret_prefix: cli.secret_prefix.clone(),
        key_storage: key_storage(cli)?,
        telnyx_base_url: cli.telnyx_base_url.clone(),
        ses_sender: std::env::var("SES_SENDER").unwrap_or_default(),
        queue_url: std::env::var("QUEUE_URL").unwrap_or_default(),
    };
    lambda_shell::build_ports(&config)
        .await
        .map_err(|e| error_chain(&*e))
}

/// `--key-storage` (`KEY_STORAGE`).
fn key_storage(cli: &Cli) -> Result<KeyStorage, String> {
    KeyStorage::parse(&cli.key_storage)
        .ok_or_else(|| "--key-storage: expected per-account or shared".to_owned())
}

/// The key storage `put-key`, `onboard --csv` and `offboard --delete-key` write to:
/// new secrets get `SECRETS_KMS_KEY_ARN`'s key and the product's tags.
fn key_store(cli: &Cli, sdk: &aws_config::SdkConfig) -> Result<SecretsManagerKeys, String> {
    let kms = cli.secrets_kms_key_arn.trim();
    Ok(SecretsManagerKeys::new(
        aws_sdk_secretsmanager::Client::new(sdk),
        cli.secret_prefix.clone(),
    )
    .with_storage(key_storage(cli)?)
    .with_write_options(WriteOptions {
        kms_key_id: (!kms.is_empty()).then(|| kms.to_owned()),
        tags: Vec::new(),
    }))
}

/// The onboarding a command line asks for, every value checked (the error names the flag).
fn request(args: &OnboardArgs) -> Result<onboard::OnboardRequest, validate::Invalid> {
    let dept = |flag: &str, v: &Option<String>| {
        validate::id(flag, v.as_deref().unwrap_or_default()).map(DepartmentId::new)
    };
    let required = |flag: &str| validate::Invalid {
        place: flag.to_owned(),
        reason: "is required (onboard --csv FILE takes many accounts instead)".to_owned(),
    };
    let account = args
        .account
        .as_deref()
        .ok_or_else(|| required("--account"))?;
    let organization = args
        .organization
        .as_deref()
        .ok_or_else(|| required("--organization"))?;
    let organization = validate::name("--organization", organization)?;
    let mode = match args.mode.ok_or_else(|| required("--mode"))? {
        ModeArg::Wholesale => onboard::Mode::Wholesale {
            parent_department: dept("--parent-department", &args.parent_department)?,
            child_department: dept("--child-department", &args.child_department)?,
            reseller_name: match &args.reseller_name {
                Some(name) => validate::name("--reseller-name", name)?,
                None => organization.clone(),
            },
        },
        ModeArg::Direct => onboard::Mode::Direct {
            department: dept("--department", &args.department)?,
        },
    };
    Ok(onboard::OnboardRequest {
        account: validate::account_id("--account", account)?,
        organization_name: organization,
        mode,
        mapping: match args.mapping {
            MappingArg::PerBillingGroup => MappingPreference::PerBillingGroup,
            MappingArg::OneCustomer => MappingPreference::OneCustomer,
        },
    })
}

async fn onboard_account(
    store: &DynamoStore,
    request: &onboard::OnboardRequest,
) -> Result<(), String> {
    let onboarding = onboard::onboard(store, request.clone())
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

/// Which key `put-key` stores.
enum KeyTarget {
    Manager,
    Account(ManagedAccountId),
}

/// `put-key`'s target; a key given on the command line is refused, never echoed.
fn key_target(
    master: bool,
    account: Option<String>,
    key_on_command_line: Option<String>,
) -> Result<KeyTarget, String> {
    if key_on_command_line.is_some() {
        return Err("put-key reads the key from standard input, never from the command line (it would stay in the shell's history); nothing stored".into());
    }
    match (master, account) {
        (true, _) => Ok(KeyTarget::Manager),
        (false, Some(account)) => Ok(KeyTarget::Account(validate::account_id(
            "--account",
            &account,
        )?)),
        (false, None) => Err("give --master or --account".into()),
    }
}

async fn put_key_cmd(
    cli: &Cli,
    sdk: &aws_config::SdkConfig,
    target: KeyTarget,
    force: bool,
) -> Result<(), String> {
    put_key(&ports(cli).await?, &key_store(cli, sdk)?, &target, force).await
}

/// Reads the key from standard input, tries it against Telnyx, stores it when every
/// permission holds (or with `force`, warning).
async fn put_key(
    ports: &Ports,
    key_store: &SecretsManagerKeys,
    target: &KeyTarget,
    force: bool,
) -> Result<(), String> {
    let mut raw = String::new();
    std::io::stdin()
        .read_to_string(&mut raw)
        .map_err(|e| format!("reading the key from stdin: {e}"))?;
    let key = ApiKey::new(raw.trim().to_owned());
    keys::validate(&key).map_err(|e| e.to_string())?;
    let kind = match target {
        KeyTarget::Manager => KeyKind::Manager,
        KeyTarget::Account(_) => KeyKind::Account,
    };
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
    let stored_in = match target {
        KeyTarget::Manager => {
            key_store
                .put_master_key(&key)
                .await
                .map_err(|e| e.chain())?;
            aws_adapters::secrets::master_secret_name(key_store.prefix())
        }
        KeyTarget::Account(account) => {
            key_store
                .put_account_keys(&[(account.clone(), key)])
                .await
                .map_err(|e| e.chain())?;
            key_store.account_key_location(account)
        }
    };
    println!("key stored in secret {stored_in}");
    Ok(())
}

/// `onboard --csv`'s command line.
struct BulkOptions {
    csv: std::path::PathBuf,
    keys: Option<String>,
    dry_run: bool,
}

/// A file's text, or standard input's for `-`.
fn read_input(path: &str, what: &str) -> Result<String, String> {
    let mut text = String::new();
    if path == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("{what}: reading standard input: {e}"))?;
    } else {
        text = std::fs::read_to_string(path).map_err(|e| format!("{what}: {path}: {e}"))?;
    }
    Ok(text)
}

/// `onboard --csv`: every check, then (unless a dry run) every write.
async fn onboard_csv(
    cli: &Cli,
    sdk: &aws_config::SdkConfig,
    store: &DynamoStore,
    options: &BulkOptions,
) -> Result<(), String> {
    let ports = ports(cli).await?;
    let key_store = &key_store(cli, sdk)?;
    let refuse = |problems: Vec<String>| {
        format!(
            "{} problem(s); nothing written:\n  {}",
            problems.len(),
            problems.join("\n  ")
        )
    };
    let csv = read_input(&options.csv.to_string_lossy(), "--csv")?;
    let rows = bulk::parse_csv(&csv).map_err(refuse)?;
    let keys = match &options.keys {
        Some(path) => bulk::match_keys(&rows, &read_input(path, "--keys")?).map_err(refuse)?,
        None => Vec::new(),
    };
    let mut plan = bulk::check_store(store, rows).await.map_err(refuse)?;
    plan.keys = keys;
    let refused = bulk::check_keys(&*ports.telnyx, &plan, ports.clock.now()).await;
    if !refused.is_empty() {
        return Err(refuse(refused));
    }
    print!("{}", bulk::describe(&plan, key_store));
    if options.dry_run {
        println!(
            "dry run: {} account(s) checked; nothing written",
            plan.rows.len()
        );
        return Ok(());
    }
    bulk::apply(store, key_store, &plan).await?;
    println!(
        "onboarded {} account(s), {} key(s) stored, {} department(s) created",
        plan.rows.len(),
        plan.keys.len(),
        plan.departments.len()
    );
    if plan.keys.is_empty() {
        println!(
            "no --keys given: store each account's key with billing-admin put-key --account <id> < key.txt"
        );
    }
    Ok(())
}

/// `offboard`: what was done, in the operator's words.
async fn offboard_account(
    store: &DynamoStore,
    key_store: &SecretsManagerKeys,
    account: &ManagedAccountId,
    delete_key: bool,
) -> Result<(), String> {
    let done = offboard::offboard(store, key_store, account, delete_key, chrono::Utc::now())
        .await
        .map_err(|e| error_chain(&e))?;
    let when = done.offboarding.offboarded_at.format("%Y-%m-%d %H:%M UTC");
    if done.already {
        println!("{account} was already offboarded ({when})");
    } else {
        println!("{account} offboarded ({when}): not synced any more; every stored record is kept");
    }
    match done.key_deleted {
        Some(true) => println!(
            "its key was deleted from secret {}",
            key_store.account_key_location(account)
        ),
        Some(false) => println!("it had no stored key"),
        None => {}
    }
    println!(
        "to sync it again: billing-admin onboard with its settings (the sync resumes from its watermarks)"
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
    let config = lambda_shell::sync_config::SyncConfig::from_env().map_err(|e| e.to_string())?;
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
