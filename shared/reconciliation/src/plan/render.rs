//! The plan as a readable diff, for the dry run and the logs:
//! `+` creates, `~` changes, `!` import-log entries, then a summary of the records.

use super::model::*;
use crate::domain::*;
use std::fmt;

impl Plan {
    /// The diff an operator reads in a dry run (same as `to_string()`).
    pub fn render_diff(&self) -> String {
        self.to_string()
    }

    /// Record counts by how they were matched, in a fixed order.
    pub fn record_counts(&self) -> [(MatchedBy, usize); 5] {
        let count = |m: MatchedBy| self.records.iter().filter(|r| r.matched_by == m).count();
        [
            MatchedBy::BillingGroup,
            MatchedBy::Connection,
            MatchedBy::CallingNumber,
            MatchedBy::CalledNumber,
            MatchedBy::Unmatched,
        ]
        .map(|m| (m, count(m)))
    }
}

fn matched_name(m: MatchedBy) -> &'static str {
    match m {
        MatchedBy::BillingGroup => "billing group",
        MatchedBy::Connection => "connection",
        MatchedBy::CallingNumber => "calling number",
        MatchedBy::CalledNumber => "called number",
        MatchedBy::Unmatched => "unmatched",
    }
}

fn source(s: &ServiceSource) -> String {
    match s {
        ServiceSource::Connection(c) => format!("connection {c}"),
        ServiceSource::PhoneNumber(n) => format!("number {n}"),
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
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
            Action::LinkServiceType { child, parent } => {
                write!(f, "~ link service type {child} -> {parent}")
            }
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
            Action::CreateService(s) => write!(
                f,
                "+ service \"{}\" [{}] ({}) on customer {} in dept {} ({})",
                s.label,
                s.service_type_name,
                s.id,
                s.customer,
                s.department,
                source(&s.source)
            ),
            Action::CreateWholesaleTwin(s) => write!(
                f,
                "+ wholesale twin \"{}\" [{}] ({}) of {} on customer {} in dept {}",
                s.label,
                s.service_type_name,
                s.id,
                s.twin_of.as_ref().map(|t| t.as_str()).unwrap_or("?"),
                s.customer,
                s.department
            ),
            Action::CeaseService { service, on } => write!(f, "~ cease service {service} on {on}"),
            Action::ReactivateService { service } => write!(f, "~ reactivate service {service}"),
        }
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
        for a in &self.actions {
            writeln!(f, "{a}")?;
        }
        for e in &self.log {
            writeln!(f, "{e}")?;
        }
        let counts: Vec<String> = self
            .record_counts()
            .iter()
            .map(|(m, n)| format!("{} {n}", matched_name(*m)))
            .collect();
        writeln!(
            f,
            "= {} detail record(s): {}",
            self.records.len(),
            counts.join(", ")
        )
    }
}
