//! Stage 3 — service types (docs/mapping-rules.md): each connection's types (rule 8:
//! stored ∪ usage, else its kind's default), a number's type (rule 10), and the service
//! types both departments need, created on first use and wholesale-linked (rule 9).

use super::context::Desired;
use super::context::{Context, ServiceKey};
use super::input::Usage;
use super::messages;
use super::model::{Action, LogEntry};
use crate::domain::{
    Connection, ConnectionId, ConnectionKind, DepartmentId, PhoneNumber, ServiceSource,
    ServiceStatus, ServiceType, ServiceTypeId, ServiceTypeName,
};
use std::collections::{BTreeMap, BTreeSet};

/// The type a connection's kind implies when it has no usage yet (rule 8).
pub fn default_service_type(kind: &ConnectionKind) -> Option<ServiceTypeName> {
    match kind {
        ConnectionKind::Credential | ConnectionKind::Ip | ConnectionKind::Fqdn => {
            Some(ServiceTypeName::SipTrunking)
        }
        ConnectionKind::CallControlApplication | ConnectionKind::TexmlApplication => {
            Some(ServiceTypeName::CallControl)
        }
        ConnectionKind::FaxApplication => Some(ServiceTypeName::Fax),
        ConnectionKind::Other(_) => None,
    }
}

/// The types of one source's stored child services.
#[derive(Debug, Default)]
pub(super) struct StoredTypes {
    /// Of every stored service (any status).
    pub all: BTreeSet<ServiceTypeName>,
    /// Of the active ones.
    pub active: BTreeSet<ServiceTypeName>,
}

impl StoredTypes {
    /// The source's current types: those of its active services, or, when all are
    /// ceased (it vanished and may be back), of all of them.
    pub fn current(&self) -> &BTreeSet<ServiceTypeName> {
        if self.active.is_empty() {
            &self.all
        } else {
            &self.active
        }
    }
}

/// The types of this account's stored child services, per source (any customer).
pub(super) fn stored_types(ctx: &Context<'_>) -> BTreeMap<ServiceSource, StoredTypes> {
    let mut out: BTreeMap<ServiceSource, StoredTypes> = BTreeMap::new();
    for ((_, source, t), s) in &ctx.services {
        let types = out.entry(source.clone()).or_default();
        types.all.insert(*t);
        if matches!(s.status, ServiceStatus::Active) {
            types.active.insert(*t);
        }
    }
    out
}

/// Each connection's service types: stored ∪ usage, else the kind's default (rule 8).
/// With `defaults` off, a connection with neither gets no type yet (a streaming run
/// that has not seen all of its window's records must not guess).
pub(super) fn connection_types(
    ctx: &Context<'_>,
    usage: &Usage,
    stored: &BTreeMap<ServiceSource, StoredTypes>,
    defaults: bool,
) -> (
    BTreeMap<ConnectionId, BTreeSet<ServiceTypeName>>,
    Vec<LogEntry>,
) {
    let mut out = BTreeMap::new();
    let mut log = Vec::new();
    for c in ctx.connections.values().copied() {
        let mut types = stored
            .get(&ServiceSource::Connection(c.id.clone()))
            .map(|s| s.all.clone())
            .unwrap_or_default();
        if let Some(seen) = usage.get(&c.id) {
            types.extend(seen.iter().copied());
        }
        if types.is_empty() && defaults {
            match default_service_type(&c.kind) {
                Some(t) => {
                    types.insert(t);
                }
                None => log.push(messages::connection_kind_without_service_type(c)),
            }
        }
        out.insert(c.id.clone(), types);
    }
    (out, log)
}

/// What rule 10 says of a number's service type now: the types it may have (its
/// connection's types, or Messaging for a messaging-profile number without a connection)
/// and the one a new service takes (the first of them in the service-type table's
/// order). `None` when rule 10 gives no type (no connection with a type, no messaging
/// profile). A connection not in the snapshot counts as none.
pub(super) fn number_types(
    number: &PhoneNumber,
    connections: &BTreeMap<ConnectionId, &Connection>,
    conn_types: &BTreeMap<ConnectionId, BTreeSet<ServiceTypeName>>,
) -> Option<(BTreeSet<ServiceTypeName>, ServiceTypeName)> {
    let connection = number
        .connection_id
        .as_ref()
        .filter(|c| connections.contains_key(*c));
    match connection {
        Some(c) => {
            let types = conn_types.get(c)?;
            let first = types.first().copied()?;
            Some((types.clone(), first))
        }
        None if number.messaging_profile_id.is_some() => Some((
            BTreeSet::from([ServiceTypeName::Messaging]),
            ServiceTypeName::Messaging,
        )),
        None => None,
    }
}

/// A used type's ids: the child type, and the parent type twins use (`None` in direct
/// mode or when the link is missing).
#[derive(Debug, Clone)]
pub(super) struct TypeIds {
    pub child: ServiceTypeId,
    pub twin: Option<ServiceTypeId>,
}

/// The service types the created actions of one plan need, in order (parent types,
/// then child types, then links).
#[derive(Default)]
struct TypeActions {
    parents: Vec<Action>,
    children: Vec<Action>,
    links: Vec<Action>,
}

/// Service types in both departments, created on first use and linked (rule 9).
/// Returns each used name's type ids.
pub(super) fn create(
    ctx: &Context<'_>,
    desired: &BTreeMap<ServiceKey, Desired>,
) -> (
    BTreeMap<ServiceTypeName, TypeIds>,
    Vec<Action>,
    Vec<LogEntry>,
) {
    let names: BTreeSet<ServiceTypeName> = desired.keys().map(|k| k.2).collect();
    let mut out = BTreeMap::new();
    let mut actions = TypeActions::default();
    let mut log = Vec::new();
    for name in names {
        let ids = one_type(ctx, name, &mut actions, &mut log);
        out.insert(name, ids);
    }
    let TypeActions {
        parents,
        children,
        links,
    } = actions;
    let all = parents.into_iter().chain(children).chain(links).collect();
    (out, all, log)
}

fn new_type(
    dept: &DepartmentId,
    name: ServiceTypeName,
    parent: Option<ServiceTypeId>,
) -> ServiceType {
    ServiceType {
        id: super::identity::service_type(dept, name),
        department: dept.clone(),
        name,
        category: name.category(),
        wholesale_parent: parent,
    }
}

/// One name's child type (and, in wholesale mode, its parent type and the link).
fn one_type(
    ctx: &Context<'_>,
    name: ServiceTypeName,
    actions: &mut TypeActions,
    log: &mut Vec<LogEntry>,
) -> TypeIds {
    // (parent type id, whether this plan creates it)
    let parent = ctx.wholesale.map(
        |(parent_dept, _)| match ctx.stored_type(parent_dept, name) {
            Some(t) => (t.id.clone(), false),
            None => {
                let t = new_type(parent_dept, name, None);
                let id = t.id.clone();
                actions.parents.push(Action::CreateServiceType(t));
                (id, true)
            }
        },
    );
    let parent_id = parent.as_ref().map(|(id, _)| id.clone());
    let (child, twin) = match (ctx.stored_type(ctx.customer_dept, name), &parent) {
        (Some(t), Some((p, true))) if t.wholesale_parent.is_none() => {
            // The parent type did not exist, so no link was ever there to remove
            // (e.g. a child type made by hand before onboarding): link it now.
            actions.links.push(Action::LinkServiceType {
                child: t.id.clone(),
                parent: p.clone(),
            });
            (t.id.clone(), Some(p.clone()))
        }
        (Some(t), Some(_)) if t.wholesale_parent.is_none() => {
            log.push(messages::wholesale_link_missing(name, t, ctx.customer_dept));
            (t.id.clone(), None)
        }
        (Some(t), _) => (t.id.clone(), t.wholesale_parent.clone()),
        (None, _) => {
            // Created already linked (one write: a crash cannot leave it unlinked),
            // followed by an idempotent link.
            let t = new_type(ctx.customer_dept, name, parent_id.clone());
            let id = t.id.clone();
            actions.children.push(Action::CreateServiceType(t));
            if let Some(p) = &parent_id {
                actions.links.push(Action::LinkServiceType {
                    child: id.clone(),
                    parent: p.clone(),
                });
            }
            (id, parent_id.clone())
        }
    };
    TypeIds {
        child,
        twin: if ctx.wholesale.is_some() { twin } else { None },
    }
}
