//! Stage 4 — services: the child services that should exist (rules 6, 8, 10 of
//! docs/mapping-rules.md: one per connection and type, one per number), and the create
//! actions for the missing ones and for the wholesale twins of active child services.

use super::context::{Context, Desired, ServiceKey};
use super::messages;
use super::model::{Action, LogEntry};
use super::service_types::{StoredTypes, TypeIds, number_types};
use crate::domain::{
    ConnectionId, CustomerId, PhoneNumber, PhoneNumberId, Service, ServiceSource, ServiceStatus,
    ServiceTypeName,
};
use std::collections::{BTreeMap, BTreeSet};

/// What the services stage is computed from.
pub(super) struct Assigned<'m> {
    pub conn_customer: &'m BTreeMap<ConnectionId, CustomerId>,
    pub number_customer: &'m BTreeMap<PhoneNumberId, CustomerId>,
    pub conn_types: &'m BTreeMap<ConnectionId, BTreeSet<ServiceTypeName>>,
    pub stored_types: &'m BTreeMap<ServiceSource, StoredTypes>,
}

/// The child services that should exist, by key. `defaults` as in
/// [`super::service_types::connection_types`]: with it off, a number whose connection
/// has no type yet is left for later without a log entry.
pub(super) fn desired(
    ctx: &Context<'_>,
    a: &Assigned<'_>,
    defaults: bool,
) -> (BTreeMap<ServiceKey, Desired>, Vec<LogEntry>) {
    let mut out = BTreeMap::new();
    for (c, customer) in a.conn_customer {
        let Some(conn) = ctx.connections.get(c) else {
            continue;
        };
        let source = ServiceSource::Connection(c.clone());
        for t in a.conn_types.get(c).into_iter().flatten() {
            let key = (customer.clone(), source.clone(), *t);
            let id = ctx.service_id(&key);
            out.insert(
                key,
                Desired {
                    id,
                    label: conn.name.clone(),
                },
            );
        }
    }
    // (number, the type it keeps) for numbers rule 10 gives no type now.
    let mut without_type: Vec<(&PhoneNumber, Option<ServiceTypeName>)> = Vec::new();
    for (n, customer) in a.number_customer {
        let Some(number) = ctx.numbers.get(n) else {
            continue;
        };
        if !defaults && waits_for_its_connections_type(ctx, number, a) {
            continue;
        }
        let source = ServiceSource::PhoneNumber(n.clone());
        let current = a.stored_types.get(&source).map(StoredTypes::current);
        let t = match number_types(number, &ctx.connections, a.conn_types) {
            // Keep the stored type while rule 10 still allows it (no churn when the
            // connection gains usage types); else retype (the statuses stage logs it).
            Some((allowed, first)) => current
                .and_then(|cur| cur.iter().find(|t| allowed.contains(t)).copied())
                .unwrap_or(first),
            // Nothing to retype to: a number with a service keeps it.
            None => {
                let kept = current.and_then(|cur| cur.first().copied());
                without_type.push((*number, kept));
                match kept {
                    Some(t) => t,
                    None => continue,
                }
            }
        };
        let key = (customer.clone(), source, t);
        let id = ctx.service_id(&key);
        out.insert(
            key,
            Desired {
                id,
                label: number.phone_number.clone(),
            },
        );
    }
    let log = without_type
        .into_iter()
        .map(|(number, kept)| messages::phone_number_without_service_type(number, kept))
        .collect();
    (out, log)
}

/// A number on a connection of the snapshot that has no type yet (its default is
/// deferred), with no stored service of its own.
fn waits_for_its_connections_type(
    ctx: &Context<'_>,
    number: &PhoneNumber,
    a: &Assigned<'_>,
) -> bool {
    let Some(c) = number
        .connection_id
        .as_ref()
        .filter(|c| ctx.connections.contains_key(*c))
    else {
        return false;
    };
    let untyped = a.conn_types.get(c).is_none_or(BTreeSet::is_empty);
    let stored = a
        .stored_types
        .contains_key(&ServiceSource::PhoneNumber(number.id.clone()));
    untyped && !stored
}

/// `CreateService` for every desired service not stored, then `CreateWholesaleTwin` for
/// every desired service (active or becoming active) of a linked type without a twin.
pub(super) fn create(
    ctx: &Context<'_>,
    desired: &BTreeMap<ServiceKey, Desired>,
    type_ids: &BTreeMap<ServiceTypeName, TypeIds>,
) -> Vec<Action> {
    let mut services = Vec::new();
    let mut twins = Vec::new();
    for (key, d) in desired {
        let (customer, source, name) = key;
        let Some(types) = type_ids.get(name) else {
            continue;
        };
        if !ctx.services.contains_key(key) {
            services.push(Action::CreateService(Service {
                id: d.id.clone(),
                account: ctx.account.clone(),
                department: ctx.customer_dept.clone(),
                customer: customer.clone(),
                service_type: types.child.clone(),
                service_type_name: *name,
                source: source.clone(),
                label: d.label.clone(),
                status: ServiceStatus::Active,
                twin_of: None,
                started_on: Some(ctx.today()),
            }));
        }
        let (Some((parent_dept, reseller)), Some(parent_type)) = (ctx.wholesale, &types.twin)
        else {
            continue;
        };
        if ctx.twins.contains_key(&d.id) {
            continue;
        }
        twins.push(Action::CreateWholesaleTwin(Service {
            id: super::identity::wholesale_twin(parent_dept, &d.id),
            account: ctx.account.clone(),
            department: parent_dept.clone(),
            customer: reseller.clone(),
            service_type: parent_type.clone(),
            service_type_name: *name,
            source: source.clone(),
            label: d.label.clone(),
            status: ServiceStatus::Active,
            twin_of: Some(d.id.clone()),
            started_on: Some(ctx.today()),
        }));
    }
    services.extend(twins);
    services
}
