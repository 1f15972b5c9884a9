//! The plan as a readable diff, for the dry run and the logs:
//! `+` creates, `~` changes, `!` import-log entries, then a summary of the records.
//!
//! Every action line says what it is about (label, type, customer, department), not
//! only ids: a cease, reactivation or link takes those from the plan's
//! [`PlanContext`] and the plan's own creations.

use super::codes::Severity;
use super::model::{Action, LogEntry, Plan};
use crate::domain::{MatchedBy, Service, ServiceId, ServiceSource, ServiceType, ServiceTypeId};
use std::collections::BTreeMap;
use std::fmt;

impl Plan {
    /// The diff an operator reads in a dry run (same as `to_string()`).
    pub fn render_diff(&self) -> String {
        self.to_string()
    }
}

fn matched_name(m: MatchedBy) -> &'static str {
    match m {
        MatchedBy::BillingGroup => "billing group",
        MatchedBy::Connection => "connection",
        MatchedBy::CallingNumber => "calling number",
        MatchedBy::CalledNumber => "called number",
        MatchedBy::Session => "call session",
        MatchedBy::Unmatched => "unmatched",
    }
}

fn source(s: &ServiceSource) -> String {
    match s {
        ServiceSource::Connection(c) => format!("connection {c}"),
        ServiceSource::PhoneNumber(n) => format!("number {n}"),
    }
}

/// What the lines of one plan can name: its context plus its own creations.
#[derive(Default)]
struct Lookup<'p> {
    services: BTreeMap<&'p ServiceId, &'p Service>,
    service_types: BTreeMap<&'p ServiceTypeId, &'p ServiceType>,
}

impl<'p> Lookup<'p> {
    fn of(plan: &'p Plan) -> Self {
        let mut out = Lookup::default();
        out.services.extend(plan.context.services.iter());
        out.service_types.extend(plan.context.service_types.iter());
        for a in &plan.actions {
            match a {
                Action::CreateServiceType(t) => {
                    out.service_types.insert(&t.id, t);
                }
                Action::CreateService(s) | Action::CreateWholesaleTwin(s) => {
                    out.services.insert(&s.id, s);
                }
                _ => {}
            }
        }
        out
    }
}

/// `service "Trunk" [SIP Trunking] (svc-…) on customer … in dept … (connection …)`, or
/// `wholesale twin "Trunk" [SIP Trunking] (twn-…) of svc-… on customer … in dept …`.
fn service(s: &Service) -> String {
    match &s.twin_of {
        None => format!(
            "service \"{}\" [{}] ({}) on customer {} in dept {} ({})",
            s.label,
            s.service_type_name,
            s.id,
            s.customer,
            s.department,
            source(&s.source)
        ),
        Some(child) => format!(
            "wholesale twin \"{}\" [{}] ({}) of {child} on customer {} in dept {}",
            s.label, s.service_type_name, s.id, s.customer, s.department
        ),
    }
}

fn service_or_id(id: &ServiceId, lookup: &Lookup<'_>) -> String {
    match lookup.services.get(id) {
        Some(s) => service(s),
        None => format!("service {id}"),
    }
}

fn service_type_or_id(id: &ServiceTypeId, lookup: &Lookup<'_>) -> String {
    match lookup.service_types.get(id) {
        Some(t) => format!("\"{}\" ({id}) in dept {}", t.name, t.department),
        None => id.to_string(),
    }
}

fn write_action(f: &mut fmt::Formatter<'_>, a: &Action, lookup: &Lookup<'_>) -> fmt::Result {
    match a {
        Action::CreateServiceType(t) => write!(
            f,
            "+ service type \"{}\" ({}) [{}] in dept {}{}",
            t.name,
            t.id,
            t.category.as_str(),
            t.department,
            match &t.wholesale_parent {
                Some(p) => format!(", linked to {p}"),
                None => String::new(),
            }
        ),
        Action::LinkServiceType { child, parent } => write!(
            f,
            "~ link service type {} -> {}",
            service_type_or_id(child, lookup),
            service_type_or_id(parent, lookup)
        ),
        Action::CreateCustomer { customer, notify } => {
            write!(
                f,
                "+ customer \"{}\" ({}) in dept {}",
                customer.company_name, customer.id, customer.department
            )?;
            if let Some(g) = &customer.billing_group_id {
                write!(f, ", billing group {g}")?;
            }
            match notify {
                Some(n) => write!(f, ", email to {}", n.recipients().join(", ")),
                None => write!(f, ", no email"),
            }
        }
        Action::CreateService(s) | Action::CreateWholesaleTwin(s) => {
            write!(f, "+ {}", service(s))
        }
        Action::CeaseService { service, on } => {
            write!(f, "~ cease {} on {on}", service_or_id(service, lookup))
        }
        Action::ReactivateService { service } => {
            write!(f, "~ reactivate {}", service_or_id(service, lookup))
        }
    }
}

/// One action on its own: what it creates in full, what it changes by id (a [`Plan`]'s
/// diff names those too).
impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_action(f, self, &Lookup::default())
    }
}

impl fmt::Display for LogEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
        };
        write!(f, "! {level} {} {}", self.code, self.message)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.actions.is_empty() {
            writeln!(f, "no changes")?;
        }
        let lookup = Lookup::of(self);
        for a in &self.actions {
            write_action(f, a, &lookup)?;
            writeln!(f)?;
        }
        for e in &self.log {
            writeln!(f, "{e}")?;
        }
        let counts: Vec<String> = self
            .tally
            .counts()
            .iter()
            .map(|(m, n)| format!("{} {n}", matched_name(*m)))
            .collect();
        writeln!(
            f,
            "= {} detail record(s): {}",
            self.tally.total(),
            counts.join(", ")
        )
    }
}
