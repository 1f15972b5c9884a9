//! What the demo prints after its rounds: one row per account (customers, services,
//! twins, records, attribution rate, audit result, warnings and errors, last run), the
//! records per type, both invoice levels' totals, the emails, and where to look next.

use billing_admin::table::Table;
use billing_admin::usage;
use chrono::{DateTime, Utc};
use integration_tests::e2e::Harness;
use reconciliation::billing::rollup::{self, Level};
use reconciliation::domain::{ManagedAccountId, MatchedBy, RecordType};
use reconciliation::plan::Severity;
use reconciliation::ports::{
    AuditVerdict, BillingStore, OnboardingStore, RunLogStore, RunOutcome, StateStore,
};
use std::collections::BTreeMap;

/// One account as the summary shows it.
pub struct AccountRow {
    pub name: String,
    pub account: ManagedAccountId,
    pub onboarded: bool,
    pub customers: usize,
    pub services: usize,
    pub twins: usize,
    pub records: BTreeMap<RecordType, usize>,
    pub attributed: usize,
    pub audit: String,
    pub warnings: usize,
    pub errors: usize,
    pub last_run: String,
}

impl AccountRow {
    pub fn total(&self) -> usize {
        self.records.values().sum()
    }
}

/// A run's outcome in a few words.
pub fn outcome(o: &RunOutcome) -> String {
    match o {
        RunOutcome::Complete => "complete".into(),
        RunOutcome::Partial { continued, .. } => format!(
            "partial at its deadline{}",
            if *continued {
                ", continuation queued"
            } else {
                ""
            }
        ),
        RunOutcome::Skipped { held_by } => format!("skipped (run {held_by} holds the account)"),
        RunOutcome::Failed { error } if error.contains("(401)") => {
            "FAILED: Telnyx refused the key (401)".into()
        }
        RunOutcome::Failed { error } => {
            let short: String = error.chars().take(60).collect();
            format!("FAILED: {short}…")
        }
    }
}

/// Reads what is stored for one account.
pub async fn account_row(
    h: &Harness,
    name: &str,
    account: &str,
    month: DateTime<Utc>,
) -> AccountRow {
    let account = ManagedAccountId::new(account);
    let mut row = AccountRow {
        name: name.to_owned(),
        account: account.clone(),
        onboarded: false,
        customers: 0,
        services: 0,
        twins: 0,
        records: BTreeMap::new(),
        attributed: 0,
        audit: "-".into(),
        warnings: 0,
        errors: 0,
        last_run: "-".into(),
    };
    for &t in RecordType::ALL {
        let records = h
            .store
            .detail_records(&account, t)
            .await
            .unwrap_or_default();
        row.attributed += records
            .iter()
            .filter(|r| r.matched_by != MatchedBy::Unmatched)
            .count();
        if !records.is_empty() {
            row.records.insert(t, records.len());
        }
    }
    let Ok(Some(onboarding)) = h.store.onboarding(&account).await else {
        return row;
    };
    row.onboarded = true;
    if let Ok(state) = h.store.load_state(&onboarding).await {
        let ours = |a: &Option<ManagedAccountId>| a.as_ref() == Some(&account);
        row.customers = state.customers.iter().filter(|c| ours(&c.account)).count();
        let services = state.services.iter().filter(|s| s.account == account);
        let (twins, end): (Vec<_>, Vec<_>) = services.partition(|s| s.twin_of.is_some());
        row.services = end.len();
        row.twins = twins.len();
    }
    let last_day = rollup::month_window(
        chrono::Datelike::year(&month),
        chrono::Datelike::month(&month),
    )
    .map(|w| w.to.date_naive())
    .unwrap_or(month.date_naive());
    let days = h
        .store
        .audit_days(&account, month.date_naive(), last_day)
        .await
        .unwrap_or_default();
    if !days.is_empty() {
        let findings = days.iter().filter(|d| d.is_finding()).count();
        let pending = days
            .iter()
            .filter(|d| d.verdict == AuditVerdict::Mismatch && !d.is_finding())
            .count();
        let healed = days
            .iter()
            .filter(|d| d.verdict == AuditVerdict::Clean && d.rewalk.is_some())
            .count();
        let dates: std::collections::BTreeSet<_> = days.iter().map(|d| d.day).collect();
        row.audit = match (findings, pending) {
            (0, 0) if healed > 0 => format!("clean ({} days, {healed} healed)", dates.len()),
            (0, 0) => format!("clean ({} days)", dates.len()),
            (0, p) => format!("pending ({p} day×type)"),
            (f, _) => format!("MISMATCH ({f} day×type)"),
        };
    }
    if let Some(last) = h
        .store
        .run_logs(&account, 1)
        .await
        .unwrap_or_default()
        .first()
    {
        row.last_run = outcome(&last.outcome);
        row.warnings = last
            .entries
            .iter()
            .filter(|e| e.severity == Severity::Warning)
            .count();
        row.errors = last
            .entries
            .iter()
            .filter(|e| e.severity == Severity::Error)
            .count();
        if matches!(last.outcome, RunOutcome::Failed { .. }) {
            row.errors += 1;
        }
    }
    row
}

/// The per-account summary table.
pub fn print_summary(rows: &[AccountRow]) {
    let mut t = Table::new([
        "account",
        "customers",
        "services",
        "twins",
        "records",
        "attributed",
        "audit",
        "warnings",
        "errors",
        "last run",
    ]);
    for r in rows {
        let rate = if r.total() == 0 {
            "-".to_owned()
        } else {
            format!("{:.1}%", r.attributed as f64 * 100.0 / r.total() as f64)
        };
        let name = if r.onboarded {
            r.name.clone()
        } else {
            format!("{} (not onboarded)", r.name)
        };
        t.row([
            name,
            r.customers.to_string(),
            r.services.to_string(),
            r.twins.to_string(),
            format!("{} in {} types", r.total(), r.records.len()),
            rate,
            r.audit.clone(),
            r.warnings.to_string(),
            r.errors.to_string(),
            r.last_run.clone(),
        ]);
    }
    print!("{}", t.render());
}

/// The record types the audit cannot prove, with Telnyx's reason, as the last run learned
/// them from the usage report's options.
pub async fn print_not_auditable(h: &Harness) {
    match reconciliation::usage::catalog::cached(&h.store).await {
        Ok(catalog) => print!("{}", usage::not_auditable_lines(catalog.as_ref())),
        Err(e) => println!("not auditable: unknown ({})", e.chain()),
    }
}

/// Records per type (rows) per account (columns).
pub fn print_types(rows: &[AccountRow]) {
    let mut t = Table::new(["record type", "Acme", "Beta", "Epsilon"]);
    let count = |name: &str, rt: RecordType| {
        rows.iter()
            .find(|r| r.name.starts_with(name))
            .and_then(|r| r.records.get(&rt))
            .map_or_else(|| "-".to_owned(), ToString::to_string)
    };
    for &rt in RecordType::ALL {
        t.row([
            rt.filter_name().to_owned(),
            count("Acme", rt),
            count("Beta", rt),
            count("Epsilon", rt),
        ]);
    }
    print!("{}", t.render());
}

/// Both invoice levels' totals of the month for each onboarded account with records.
pub async fn print_invoices(h: &Harness, rows: &[AccountRow], month: DateTime<Utc>) {
    for r in rows.iter().filter(|r| r.onboarded && r.total() > 0) {
        println!("  {} ({}):", r.name, month.format("%Y-%m"));
        for level in [Level::Reseller, Level::Customer] {
            match usage::invoice(&h.store, &r.account, month, level).await {
                Ok(invoice) => println!("    {level:<8} {}", usage::total_line(&invoice)),
                Err(e) => println!("    {level:<8} not readable: {e}"),
            }
        }
    }
}

/// Every email moto accepted, by recipient.
pub async fn print_emails(h: &Harness) {
    for (who, address) in [
        ("operator alerts", &h.names.alert_to),
        ("Acme's child department", &h.names.acme_billing),
        ("operator department", &h.names.operator_billing),
    ] {
        for mail in h.emails_to(address).await {
            println!(
                "  to {who} <{address}>: {}",
                mail["subject"].as_str().unwrap_or_default()
            );
        }
    }
}

/// Where an operator looks next.
pub fn print_next_steps(month: DateTime<Utc>, acme: &str) {
    let m = month.format("%Y-%m");
    println!(
        "\nWhere to look next (the stack stays up; in a shell: eval \"$(make -s stack-env)\"; the demo's own resources are the shared ones):
  cargo run -q -p billing-admin -- runs --account {acme}   the run logs: counts, warnings, partial runs and their continuations
  cargo run -q -p billing-admin -- usage --account {acme} --month {m} --level customer   the end customers' invoice (also --format csv|json)
  cargo run -q -p billing-admin -- audit --account {acme} --month {m}                    the completeness audit per day and type
  make sim-up, then cargo run -q -p billing-admin -- accounts   (accounts reads Telnyx: the simulator binary serves the sample reseller)
  curl -s $MOTO_URL/moto-api/data.json | python3 -m json.tool | less                      the emails moto accepted (ses.Message)"
    );
}
