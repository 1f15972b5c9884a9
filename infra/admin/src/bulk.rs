//! `billing-admin onboard --csv FILE [--keys FILE|-] [--dry-run]`: many accounts in
//! one command, all or nothing. Every row is checked first — its fields, the
//! departments it names (stored, or created by the file), its key (tried against
//! Telnyx as `put-key` does) — and every bad row is named by line and column; one bad
//! row and nothing is written. A dry run prints what would be created and stored.
//!
//! The CSV (header first, columns in any order, `"quoted, fields"` allowed):
//!
//! | column | |
//! |---|---|
//! | `account` | the managed account id (a UUID) |
//! | `organization` | its organization name |
//! | `mode` | `wholesale` or `direct` |
//! | `parent_department`, `child_department` | wholesale: the operator's department, the reseller's child department |
//! | `department` | direct: the one department |
//! | `reseller_name` | wholesale, optional: the reseller customer's name (default: the organization) |
//! | `mapping` | optional: `per-billing-group` (default) or `one-customer` |
//! | `child_department_name`, `child_billing_email` | wholesale, optional: create the child department under the parent when it does not exist |
//!
//! Keys come from a file or standard input (`--keys -`), one `<account id>,<key>` a
//! line, never from the command line; each must name an account of the CSV, and each
//! account of the CSV then needs one.

use crate::key_check::{self, KeyKind};
use crate::keys;
use crate::onboard::{self, Mode, OnboardRequest};
use crate::validate::{self, Invalid};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use reconciliation::domain::{Department, DepartmentId, ManagedAccountId, MappingPreference};
use reconciliation::ports::{ApiKey, KeyStore, Store, TelnyxApi};
use std::collections::{BTreeMap, BTreeSet};

/// Columns the file may have.
pub const COLUMNS: &[&str] = &[
    "account",
    "organization",
    "mode",
    "parent_department",
    "child_department",
    "department",
    "reseller_name",
    "mapping",
    "child_department_name",
    "child_billing_email",
];

/// One row, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Its line in the file (the header is line 1).
    pub line: usize,
    pub request: OnboardRequest,
    /// Wholesale: the child department to create if it does not exist.
    pub new_child: Option<Department>,
}

/// What the command will do, once every check passed.
#[derive(Debug, Default)]
pub struct BulkPlan {
    pub rows: Vec<Row>,
    /// Departments the file creates (child departments not stored yet).
    pub departments: Vec<Department>,
    pub keys: Vec<(ManagedAccountId, ApiKey)>,
    /// Accounts already onboarded (their onboarding is replaced, idempotently).
    pub already_onboarded: BTreeSet<ManagedAccountId>,
}

/// Every problem found, one line each (`line 4, column mode: …`).
pub type Problems = Vec<String>;

/// One CSV line's fields (`"a, b",c` → `a, b` and `c`; `""` inside quotes is `"`).
fn fields(line: &str) -> Result<Vec<String>, &'static str> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (false, ',') => out.push(std::mem::take(&mut field)),
            (_, c) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed");
    }
    out.push(field);
    Ok(out.into_iter().map(|f| f.trim().to_owned()).collect())
}

/// Parses and checks every row's fields; every problem is named by line and column.
pub fn parse_csv(text: &str) -> Result<Vec<Row>, Problems> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(vec![
            "the CSV is empty: its first line names the columns".into(),
        ]);
    };
    let header = fields(header).map_err(|e| vec![format!("line 1: {e}")])?;
    let mut problems = Vec::new();
    for name in &header {
        if !COLUMNS.contains(&name.as_str()) {
            problems.push(format!(
                "line 1: unknown column {name:?} (the columns are {})",
                COLUMNS.join(", ")
            ));
        }
    }
    for required in ["account", "organization", "mode"] {
        if !header.iter().any(|h| h == required) {
            problems.push(format!("line 1: the column {required} is missing"));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut rows = Vec::new();
    let mut seen: BTreeMap<ManagedAccountId, usize> = BTreeMap::new();
    for (i, text) in lines {
        let line = i + 1;
        let values = match fields(text) {
            Ok(v) if v.len() == header.len() => v,
            Ok(v) => {
                problems.push(format!(
                    "line {line}: {} field(s), the header has {}",
                    v.len(),
                    header.len()
                ));
                continue;
            }
            Err(e) => {
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let cells: BTreeMap<&str, &str> = header
            .iter()
            .map(String::as_str)
            .zip(values.iter().map(String::as_str))
            .collect();
        match row(line, &cells) {
            Ok(row) => {
                if let Some(first) = seen.insert(row.request.account.clone(), line) {
                    problems.push(format!(
                        "line {line}, column account: {} is also on line {first}",
                        row.request.account
                    ));
                }
                rows.push(row);
            }
            Err(mut found) => problems.append(&mut found),
        }
    }
    if rows.is_empty() && problems.is_empty() {
        problems.push("the CSV has a header but no account".into());
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// One row's cells, read by column name, each problem named by line and column.
struct Cells<'a> {
    line: usize,
    cells: &'a BTreeMap<&'a str, &'a str>,
    problems: Problems,
}

impl Cells<'_> {
    fn place(&self, column: &str) -> String {
        format!("line {}, column {column}", self.line)
    }

    fn optional(&self, column: &str) -> Option<&str> {
        self.cells.get(column).copied().filter(|v| !v.is_empty())
    }

    /// The column's value checked by `check`; `None` (and the problem noted) when bad
    /// or, for `required`, missing.
    fn checked<T>(
        &mut self,
        column: &str,
        required: Option<&str>,
        check: impl Fn(&str, &str) -> Result<T, Invalid>,
    ) -> Option<T> {
        let place = self.place(column);
        match (self.optional(column), required) {
            (Some(v), _) => check(&place, v)
                .map_err(|e| self.problems.push(e.to_string()))
                .ok(),
            (None, Some(why)) => {
                self.problems.push(format!("{place}: {why}"));
                None
            }
            (None, None) => None,
        }
    }
}

/// One row's cells checked; all its problems, not just the first.
fn row(line: usize, cells: &BTreeMap<&str, &str>) -> Result<Row, Problems> {
    let mut c = Cells {
        line,
        cells,
        problems: Vec::new(),
    };
    let account = c.checked("account", Some("is empty"), validate::account_id);
    let organization = c.checked("organization", Some("is empty"), validate::name);
    let reseller_name = c.checked("reseller_name", None, validate::name);
    let mapping = c.checked("mapping", None, |place, v| match v {
        "per-billing-group" => Ok(MappingPreference::PerBillingGroup),
        "one-customer" => Ok(MappingPreference::OneCustomer),
        other => Err(Invalid {
            place: place.to_owned(),
            reason: format!("{other:?} is not per-billing-group or one-customer"),
        }),
    });
    let mode = mode(&mut c, reseller_name.or_else(|| organization.clone()));
    let new_child = match &mode {
        Some(Mode::Wholesale {
            parent_department,
            child_department,
            ..
        }) => c
            .checked("child_department_name", None, validate::name)
            .map(|name| Department {
                id: child_department.clone(),
                name,
                billing_email: c.checked("child_billing_email", None, validate::email),
                parent: Some(parent_department.clone()),
            }),
        _ => None,
    };
    match (account, organization, mode) {
        (Some(account), Some(organization_name), Some(mode)) if c.problems.is_empty() => Ok(Row {
            line,
            request: OnboardRequest {
                account,
                organization_name,
                mode,
                mapping: mapping.unwrap_or_default(),
            },
            new_child,
        }),
        _ => Err(c.problems),
    }
}

/// The row's billing mode and the departments it names.
fn mode(c: &mut Cells<'_>, reseller_name: Option<String>) -> Option<Mode> {
    let dept = |place: &str, v: &str| validate::id(place, v).map(DepartmentId::new);
    match c.cells.get("mode").copied().unwrap_or_default() {
        "wholesale" => {
            let why = Some("required in wholesale mode");
            let parent = c.checked("parent_department", why, dept);
            let child = c.checked("child_department", why, dept);
            Some(Mode::Wholesale {
                parent_department: parent?,
                child_department: child?,
                reseller_name: reseller_name.unwrap_or_default(),
            })
        }
        "direct" => Some(Mode::Direct {
            department: c.checked("department", Some("required in direct mode"), dept)?,
        }),
        other => {
            let place = c.place("mode");
            c.problems
                .push(format!("{place}: {other:?} is not wholesale or direct"));
            None
        }
    }
}

/// The keys file's keys, each matched to a row; every row needs one.
pub fn match_keys(
    rows: &[Row],
    keys_text: &str,
) -> Result<Vec<(ManagedAccountId, ApiKey)>, Problems> {
    let parsed = keys::parse_keys_file(keys_text)?;
    let mut problems = Vec::new();
    let mut found: BTreeMap<ManagedAccountId, ApiKey> = BTreeMap::new();
    for (line, account, key) in parsed {
        match rows
            .iter()
            .find(|r| keys::same_account(&r.request.account, &account))
        {
            Some(row) => {
                if found.insert(row.request.account.clone(), key).is_some() {
                    problems.push(format!("keys line {line}: a second key for {account}"));
                }
            }
            None => problems.push(format!(
                "keys line {line}: names an account that is not in the CSV"
            )),
        }
    }
    for row in rows {
        if !found.contains_key(&row.request.account) {
            problems.push(format!(
                "line {}, column account: no key for {} in the keys file",
                row.line, row.request.account
            ));
        }
    }
    if problems.is_empty() {
        Ok(found.into_iter().collect())
    } else {
        Err(problems)
    }
}

/// The rows checked against what is stored: the departments they name exist (or the
/// file creates the child department), a child department is under its parent.
pub async fn check_store(store: &dyn Store, rows: Vec<Row>) -> Result<BulkPlan, Problems> {
    let mut problems = Vec::new();
    let mut plan = BulkPlan::default();
    let mut creating: BTreeMap<DepartmentId, Department> = BTreeMap::new();
    for row in rows {
        let request = match (&row.new_child, onboard::check(store, &row.request).await) {
            (_, Ok(existing)) => {
                if existing {
                    plan.already_onboarded.insert(row.request.account.clone());
                }
                Some(())
            }
            (Some(child), Err(onboard::AdminError::UnknownDepartment(missing)))
                if missing == child.id =>
            {
                // The file creates it; its parent must exist (checked as a direct onboarding would).
                let parent = child.parent.clone().unwrap_or_default();
                match onboard::department_exists(store, &parent).await {
                    Ok(true) => {
                        creating
                            .entry(child.id.clone())
                            .or_insert_with(|| child.clone());
                        Some(())
                    }
                    Ok(false) => {
                        problems.push(format!(
                            "line {}, column parent_department: department {parent} does not exist",
                            row.line
                        ));
                        None
                    }
                    Err(e) => return Err(vec![reconciliation::error_chain(&e)]),
                }
            }
            (_, Err(onboard::AdminError::Store(e))) => {
                return Err(vec![format!("reading the store: {}", e.chain())]);
            }
            (_, Err(e)) => {
                problems.push(format!(
                    "line {}, column {}: {e}",
                    row.line,
                    column_of(&e, &row.request.mode)
                ));
                None
            }
        };
        if request.is_some() {
            plan.rows.push(row);
        }
    }
    plan.departments = creating.into_values().collect();
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems)
    }
}

/// The column a department problem is about.
fn column_of(error: &onboard::AdminError, mode: &Mode) -> &'static str {
    match (error, mode) {
        (_, Mode::Direct { .. }) => "department",
        (
            onboard::AdminError::UnknownDepartment(d),
            Mode::Wholesale {
                parent_department, ..
            },
        ) if d == parent_department => "parent_department",
        _ => "child_department",
    }
}

/// Tries every key against Telnyx (8 at a time); each refusal names its row.
pub async fn check_keys(telnyx: &dyn TelnyxApi, plan: &BulkPlan, now: DateTime<Utc>) -> Problems {
    let line_of = |account: &ManagedAccountId| {
        plan.rows
            .iter()
            .find(|r| &r.request.account == account)
            .map_or(0, |r| r.line)
    };
    futures::stream::iter(plan.keys.iter().map(|(account, key)| async move {
        let checked = key_check::check_key(telnyx, KeyKind::Account, key, now).await;
        key_check::refusals(&checked)
            .into_iter()
            .map(|refusal| format!("line {}, key of {account}: {refusal}", line_of(account)))
            .collect::<Vec<_>>()
    }))
    .buffered(8)
    .concat()
    .await
}

/// What the plan creates and stores, one line each (the dry run's output).
pub fn describe(plan: &BulkPlan, key_store: &dyn KeyStore) -> String {
    let mut out = String::new();
    for d in &plan.departments {
        out.push_str(&format!(
            "+ department {} ({}) under {}\n",
            d.id,
            d.name,
            d.parent.as_ref().map(DepartmentId::as_str).unwrap_or("-")
        ));
    }
    for (account, _) in &plan.keys {
        out.push_str(&format!(
            "+ key of {account} in secret {}\n",
            key_store.account_key_location(account)
        ));
    }
    for row in &plan.rows {
        let r = &row.request;
        let how = match &r.mode {
            Mode::Wholesale {
                parent_department,
                child_department,
                reseller_name,
            } => format!(
                "wholesale: reseller customer {reseller_name:?} in {parent_department}, end customers in {child_department}"
            ),
            Mode::Direct { department } => format!("direct in {department}"),
        };
        let verb = if plan.already_onboarded.contains(&r.account) {
            "~"
        } else {
            "+"
        };
        out.push_str(&format!(
            "{verb} onboard {} ({}), {how}\n",
            r.account, r.organization_name
        ));
    }
    out
}

/// Writes the plan: departments, then keys (one change per shared secret), then the
/// onboardings (an account is onboarded only once its key is stored). Idempotent:
/// running it again after a failure finishes the job.
pub async fn apply(
    store: &dyn Store,
    key_store: &dyn KeyStore,
    plan: &BulkPlan,
) -> Result<(), String> {
    for department in &plan.departments {
        onboard::put_department(store, department.clone())
            .await
            .map_err(|e| reconciliation::error_chain(&e))?;
    }
    if !plan.keys.is_empty() {
        key_store
            .put_account_keys(&plan.keys)
            .await
            .map_err(|e| e.chain())?;
    }
    for row in &plan.rows {
        onboard::onboard(store, row.request.clone())
            .await
            .map_err(|e| format!("line {}: {}", row.line, reconciliation::error_chain(&e)))?;
    }
    Ok(())
}
