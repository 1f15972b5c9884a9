//! Stage 1 — customers: the onboarding's own records exist (departments, reseller),
//! each billing group has a customer (rules 1, 5, 7, 12, 13 of docs/mapping-rules.md),
//! and the customers this plan creates, each with its new-customer email.

use super::context::{Context, Customers, NewCustomer};
use super::identity;
use super::messages;
use super::model::{Action, LogEntry};
use super::notification::Notification;
use crate::domain::{
    BillingGroup, ConnectionId, Customer, CustomerId, Department, MappingPreference,
};
use std::collections::BTreeMap;

/// The departments and the reseller customer the onboarding names must exist.
pub(super) fn check_onboarding(ctx: &Context<'_>) -> Vec<LogEntry> {
    let mut log = Vec::new();
    let mut depts = vec![ctx.customer_dept];
    if let Some((parent, reseller)) = ctx.wholesale {
        depts.insert(0, parent);
        if !ctx.input.state.customers.iter().any(|c| &c.id == reseller) {
            log.push(messages::reseller_customer_not_found(
                reseller,
                ctx.account,
                parent,
            ));
        }
    }
    for d in depts {
        if ctx.department(d).is_none() {
            log.push(messages::department_not_found(d, ctx.account));
        }
    }
    log
}

/// Billing group → customer, and the customers to create (rules 1, 5, 7, 12, 13).
pub(super) fn resolve(ctx: &Context<'_>) -> (Customers, Vec<LogEntry>) {
    if ctx.mapping() == MappingPreference::OneCustomer {
        return (one_customer(ctx), Vec::new());
    }
    let mut log = Vec::new();
    let active: Vec<&BillingGroup> = ctx
        .groups
        .values()
        .copied()
        .filter(|g| g.deleted_at.is_none())
        .collect();
    let mut out = Customers {
        active_groups: active.len(),
        ..Customers::default()
    };
    for g in &active {
        per_group(ctx, g, &mut out, &mut log);
    }
    for g in ctx.groups.values().filter(|g| g.deleted_at.is_some()) {
        // Rule 13 keeps a deleted group's customer; a deleted group that never had one
        // gets none (it would bill nobody).
        let had_customer = ctx
            .customers
            .values()
            .any(|c| c.billing_group_id.as_ref() == Some(&g.id));
        if !had_customer {
            log.push(messages::deleted_billing_group_without_customer(g));
        }
    }
    if let [only] = active.as_slice() {
        out.single = out.by_group.get(&only.id).cloned();
    }
    keep_customers_of_deleted_groups(ctx, &active, &mut out, &mut log);
    if active.is_empty() {
        log.push(messages::no_billing_group(ctx.account));
    }
    (out, log)
}

/// Rule 7: one customer for the whole account, named after its organization.
fn one_customer(ctx: &Context<'_>) -> Customers {
    let mut out = Customers {
        active_groups: ctx
            .groups
            .values()
            .filter(|g| g.deleted_at.is_none())
            .count(),
        ..Customers::default()
    };
    let id = identity::customer_for_account(ctx.customer_dept, ctx.account);
    if !ctx.customers.contains_key(&id) {
        out.new.insert(
            id.clone(),
            NewCustomer {
                name: ctx.input.onboarding.organization_name.clone(),
                billing_group: None,
            },
        );
    }
    for g in ctx.groups.keys() {
        out.by_group.insert(g.clone(), id.clone());
    }
    for c in ctx.customers.values() {
        if let Some(g) = &c.billing_group_id {
            out.by_group.insert(g.clone(), id.clone());
        }
    }
    out.single = Some(id);
    out
}

/// Rule 1 (a customer per group) and rule 12 (a rename keeps the customer's name).
fn per_group(ctx: &Context<'_>, g: &BillingGroup, out: &mut Customers, log: &mut Vec<LogEntry>) {
    let derived = identity::customer_for_billing_group(ctx.customer_dept, ctx.account, &g.id);
    let stored = ctx
        .customers
        .get(&derived)
        .or_else(|| {
            ctx.customers
                .values()
                .find(|c| c.billing_group_id.as_ref() == Some(&g.id))
        })
        .copied();
    match stored {
        Some(c) => {
            let was = c.source_name.as_deref().unwrap_or(&c.company_name);
            if was != g.name {
                log.push(messages::billing_group_renamed(g, was, c));
            }
            out.by_group.insert(g.id.clone(), c.id.clone());
        }
        None => {
            out.new.insert(
                derived.clone(),
                NewCustomer {
                    name: g.name.clone(),
                    billing_group: Some(g.id.clone()),
                },
            );
            out.by_group.insert(g.id.clone(), derived);
        }
    }
}

/// Rule 13: a customer whose group is deleted (or gone) is kept, with a warning.
fn keep_customers_of_deleted_groups(
    ctx: &Context<'_>,
    active: &[&BillingGroup],
    out: &mut Customers,
    log: &mut Vec<LogEntry>,
) {
    for c in ctx.customers.values() {
        let Some(g) = &c.billing_group_id else {
            continue;
        };
        if active.iter().any(|a| &a.id == g) {
            continue;
        }
        out.by_group
            .entry(g.clone())
            .or_insert_with(|| c.id.clone());
        log.push(messages::billing_group_deleted(
            g,
            ctx.groups.get(g).copied(),
            c,
        ));
    }
}

/// The `CreateCustomer` actions, each with its new-customer email when the department
/// has a billing email.
pub(super) fn create(
    ctx: &Context<'_>,
    customers: &Customers,
    conn_customer: &BTreeMap<ConnectionId, CustomerId>,
) -> (Vec<Action>, Vec<LogEntry>) {
    let mut log = Vec::new();
    if customers.new.is_empty() {
        return (Vec::new(), log);
    }
    let dept = ctx.department(ctx.customer_dept);
    let email = dept
        .and_then(|d| d.billing_email.clone())
        .filter(|e| !e.trim().is_empty());
    if let (Some(d), None) = (dept, &email) {
        log.push(messages::department_without_billing_email(
            d,
            customers.new.len(),
        ));
    }
    let actions = customers
        .new
        .iter()
        .map(|(id, new)| {
            let customer = Customer {
                id: id.clone(),
                department: ctx.customer_dept.clone(),
                company_name: new.name.clone(),
                account: Some(ctx.account.clone()),
                billing_group_id: new.billing_group.clone(),
                source_name: Some(new.name.clone()),
                created_at: Some(ctx.input.settings.now),
            };
            let notify = match (dept, &email) {
                (Some(d), Some(to)) => Some(new_customer_email(ctx, d, to, id, new, conn_customer)),
                _ => None,
            };
            Action::CreateCustomer { customer, notify }
        })
        .collect();
    (actions, log)
}

fn new_customer_email(
    ctx: &Context<'_>,
    d: &Department,
    to: &str,
    id: &CustomerId,
    new: &NewCustomer,
    conn_customer: &BTreeMap<ConnectionId, CustomerId>,
) -> Notification {
    Notification::NewCustomer {
        to: vec![to.to_owned()],
        account: ctx.account.clone(),
        customer_id: id.clone(),
        customer_name: new.name.clone(),
        department_id: d.id.clone(),
        department_name: d.name.clone(),
        billing_group_id: new.billing_group.clone(),
        connections: conn_customer
            .iter()
            .filter(|(_, c)| *c == id)
            .filter_map(|(c, _)| ctx.connections.get(c))
            .map(|c| format!("{} ({})", c.name, c.id))
            .collect(),
        link: ctx
            .input
            .settings
            .portal_url_template
            .replace("{customer_id}", id.as_str())
            .replace("{department_id}", d.id.as_str())
            .replace("{account_id}", ctx.account.as_str()),
    }
}
