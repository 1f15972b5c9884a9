//! `billing-admin accounts`: every managed account the manager key lists (and every
//! onboarded one it does not), with onboarding, key, last run and last alert.

use crate::table::Table;
use aws_adapters::AwsError;
use aws_adapters::store::DynamoStore;
use chrono::{DateTime, Utc};
use reconciliation::domain::{BillingMode, ManagedAccountId, Onboarding};
use reconciliation::ports::{EmailKind, Ports, RunLog, RunOutcome};
use std::collections::BTreeMap;

/// One account's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub id: ManagedAccountId,
    pub organization: String,
    /// `wholesale`, `direct`, `offboarded (wholesale)`, or `not onboarded`.
    pub onboarding: String,
    /// Listed by the manager key (false: onboarded, but cancelled or another manager's).
    pub listed: bool,
    /// `stored`, `missing`, or the error reading it.
    pub key: String,
    pub last_run: Option<RunLog>,
    /// When Telnyx says the account was created (for an unknown one: since when it
    /// could have been billed).
    pub created_at: Option<DateTime<Utc>>,
    /// The last unknown-account or key-problem alert.
    pub last_alerted: Option<DateTime<Utc>>,
}

fn mode(onboarding: &Onboarding) -> String {
    match onboarding.mode {
        BillingMode::Wholesale { .. } => "wholesale",
        BillingMode::Direct { .. } => "direct",
    }
    .to_owned()
}

/// Every account's row, listed ones first (by organization), then the onboarded ones
/// the manager key does not list.
pub async fn accounts(ports: &Ports, store: &DynamoStore) -> Result<Vec<AccountRow>, String> {
    let master = ports
        .secrets
        .master_key()
        .await
        .map_err(|e| format!("reading the manager key: {}", e.chain()))?;
    let mut listed = ports
        .telnyx
        .managed_accounts(&master, false)
        .await
        .map_err(|e| format!("listing managed accounts: {}", e.chain()))?;
    listed.sort_by(|a, b| a.organization_name.cmp(&b.organization_name));
    let mut onboarded: BTreeMap<ManagedAccountId, Onboarding> = ports
        .store
        .onboardings()
        .await
        .map_err(|e| e.chain())?
        .into_iter()
        .map(|o| (o.account.clone(), o))
        .collect();
    let offboarded: BTreeMap<ManagedAccountId, Onboarding> = ports
        .store
        .offboardings()
        .await
        .map_err(|e| e.chain())?
        .into_iter()
        .map(|o| (o.onboarding.account.clone(), o.onboarding))
        .collect();
    let mut rows = Vec::new();
    for account in listed {
        let onboarding = onboarded.remove(&account.id);
        let state = match (&onboarding, offboarded.get(&account.id)) {
            (Some(o), _) => mode(o),
            (None, Some(o)) => format!("offboarded ({})", mode(o)),
            (None, None) => "not onboarded".to_owned(),
        };
        rows.push(AccountRow {
            organization: account.organization_name.clone().unwrap_or_default(),
            onboarding: state,
            listed: true,
            created_at: account.created_at,
            ..row(ports, store, &account.id).await?
        });
    }
    for (id, onboarding) in onboarded {
        rows.push(AccountRow {
            organization: onboarding.organization_name.clone(),
            onboarding: mode(&onboarding),
            listed: false,
            ..row(ports, store, &id).await?
        });
    }
    Ok(rows)
}

/// What the store and Secrets Manager know of one account.
async fn row(
    ports: &Ports,
    store: &DynamoStore,
    id: &ManagedAccountId,
) -> Result<AccountRow, String> {
    let key = match ports.secrets.account_key(id).await {
        Ok(_) => "stored".to_owned(),
        Err(e) if is_missing_secret(&e) => "missing".to_owned(),
        Err(e) => format!("unreadable: {}", e.chain()),
    };
    let last_run = ports
        .store
        .run_logs(id, 1)
        .await
        .map_err(|e| e.chain())?
        .into_iter()
        .next();
    let mut last_alerted = None;
    for kind in [EmailKind::UnknownAccounts, EmailKind::KeyProblem] {
        let at = store.last_alerted(kind, id).await.map_err(|e| e.chain())?;
        last_alerted = last_alerted.max(at);
    }
    Ok(AccountRow {
        id: id.clone(),
        organization: String::new(),
        onboarding: String::new(),
        listed: false,
        key,
        last_run,
        created_at: None,
        last_alerted,
    })
}

/// The secret does not exist (Secrets Manager's `ResourceNotFoundException`, as the
/// adapter classified it), as opposed to one that could not be read.
fn is_missing_secret(error: &reconciliation::PortError) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if matches!(
            e.downcast_ref::<AwsError>(),
            Some(AwsError::SecretNotFound { .. })
        ) {
            return true;
        }
        cause = e.source();
    }
    false
}

fn outcome(log: &RunLog) -> String {
    match &log.outcome {
        RunOutcome::Complete => "complete".to_owned(),
        RunOutcome::Partial { .. } => "partial".to_owned(),
        RunOutcome::Skipped { .. } => "skipped".to_owned(),
        RunOutcome::Failed { error } => format!("failed: {error}"),
    }
}

fn minute(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

/// The rows as a table.
pub fn render(rows: &[AccountRow]) -> String {
    let mut table = Table::new([
        "account",
        "organization",
        "onboarding",
        "key",
        "last run",
        "outcome",
        "records",
        "created",
        "last alerted",
    ]);
    for r in rows {
        let onboarding = if r.listed {
            r.onboarding.clone()
        } else {
            format!("{} (not listed)", r.onboarding)
        };
        let records = r
            .last_run
            .as_ref()
            .and_then(|l| l.counts.get("records_written"))
            .map_or_else(|| "-".to_owned(), u64::to_string);
        table.row([
            r.id.to_string(),
            r.organization.clone(),
            onboarding,
            r.key.clone(),
            minute(r.last_run.as_ref().map(|l| l.finished_at)),
            r.last_run.as_ref().map_or_else(|| "-".to_owned(), outcome),
            records,
            minute(r.created_at),
            minute(r.last_alerted),
        ]);
    }
    table.render()
}
