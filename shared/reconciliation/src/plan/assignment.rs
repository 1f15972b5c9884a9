//! Stage 2 — assignment: which customer each connection (rules 2, 3, 4, 7, 11 of
//! docs/mapping-rules.md) and each phone number (rules 3, 6, 7, 10) belongs to.

use super::context::Context;
use super::context::Customers;
use super::messages;
use super::model::LogEntry;
use crate::domain::{
    BillingGroupId, Connection, ConnectionId, CustomerId, MappingPreference, PhoneNumberId,
};
use std::collections::{BTreeMap, BTreeSet};

/// Connection → customer. A connection with none is logged when the account has
/// several billing groups (rule 4).
pub(super) fn connections(
    ctx: &Context<'_>,
    customers: &Customers,
) -> (BTreeMap<ConnectionId, CustomerId>, Vec<LogEntry>) {
    let mut out = BTreeMap::new();
    let mut log = Vec::new();
    for c in ctx.connections.values().copied() {
        let own = ctx.connection_group(c);
        let customer = match (&own, ctx.mapping()) {
            (_, MappingPreference::OneCustomer) => customers.single.clone(),
            (Some(g), _) if customers.by_group.contains_key(g) => {
                customers.by_group.get(g).cloned()
            }
            _ => customers.single.clone(),
        };
        match customer {
            Some(id) => {
                out.insert(c.id.clone(), id);
            }
            None if customers.active_groups > 1 => {
                log.push(messages::connection_without_billing_group(
                    ctx,
                    c,
                    own.as_ref(),
                ));
            }
            None => {}
        }
        if ctx.mapping() == MappingPreference::PerBillingGroup {
            if let Some(g) = &own {
                log.extend(numbers_elsewhere(ctx, c, g));
            }
        }
    }
    (out, log)
}

/// Rule 11: numbers pointing at another group do not move the connection; logged.
fn numbers_elsewhere(ctx: &Context<'_>, c: &Connection, g: &BillingGroupId) -> Option<LogEntry> {
    let others: BTreeSet<&BillingGroupId> = ctx
        .numbers
        .values()
        .filter(|n| n.connection_id.as_ref() == Some(&c.id))
        .filter_map(|n| n.billing_group_id.as_ref())
        .filter(|b| *b != g)
        .collect();
    if others.is_empty() {
        return None;
    }
    let list: Vec<&str> = others.iter().map(|b| b.as_str()).collect();
    Some(messages::connection_billing_group_mismatch(c, g, &list))
}

/// Number → customer: its own billing group's customer, else its connection's, else
/// the account's single customer.
pub(super) fn numbers(
    ctx: &Context<'_>,
    customers: &Customers,
    conn_customer: &BTreeMap<ConnectionId, CustomerId>,
) -> (BTreeMap<PhoneNumberId, CustomerId>, Vec<LogEntry>) {
    let mut out = BTreeMap::new();
    let mut log = Vec::new();
    for n in ctx.numbers.values().copied() {
        let own = n
            .billing_group_id
            .as_ref()
            .and_then(|g| customers.by_group.get(g));
        let via_conn = n.connection_id.as_ref().and_then(|c| conn_customer.get(c));
        match own
            .or(via_conn)
            .cloned()
            .or_else(|| customers.single.clone())
        {
            Some(id) => {
                out.insert(n.id.clone(), id);
            }
            None if customers.active_groups > 1 => {
                log.push(messages::phone_number_without_customer(ctx, n));
            }
            None => {}
        }
    }
    (out, log)
}
