//! The meaning of applying actions, as a pure function over [`StoredState`]: the
//! reference semantics every `Store` adapter must match (and the in-memory store uses).

use super::model::{Action, ApplyReport};
use crate::domain::{ServiceStatus, StoredState};

/// Applies `actions` in order to `state`, each idempotently: a create whose id exists, a
/// cease of a ceased service, a reactivation of an active one, or a link already in
/// place changes nothing and is counted in `already_existed`. Actions naming a record
/// that is not there are skipped (counted nowhere; a store refuses them, see
/// [`missing_target`]).
///
/// `notifications_queued` counts the `CreateCustomer` actions that created their
/// customer and carry a notification (only the creating writer queues the email).
pub fn apply_to_state(state: &mut StoredState, actions: &[Action]) -> ApplyReport {
    let mut report = ApplyReport::default();
    for action in actions {
        match action {
            Action::CreateServiceType(t) => {
                if state.service_types.iter().any(|s| s.id == t.id) {
                    report.already_existed += 1;
                } else {
                    state.service_types.push(t.clone());
                    report.created += 1;
                }
            }
            Action::LinkServiceType { child, parent } => {
                if let Some(t) = state.service_types.iter_mut().find(|t| &t.id == child) {
                    if t.wholesale_parent.as_ref() == Some(parent) {
                        report.already_existed += 1;
                    } else {
                        t.wholesale_parent = Some(parent.clone());
                        report.updated += 1;
                    }
                }
            }
            Action::CreateCustomer { customer, notify } => {
                if state.customers.iter().any(|c| c.id == customer.id) {
                    report.already_existed += 1;
                } else {
                    state.customers.push(customer.clone());
                    report.created += 1;
                    report.customers_created += 1;
                    if notify.is_some() {
                        report.notifications_queued += 1;
                    }
                }
            }
            Action::CreateService(s) | Action::CreateWholesaleTwin(s) => {
                if state.services.iter().any(|x| x.id == s.id) {
                    report.already_existed += 1;
                } else {
                    state.services.push(s.clone());
                    report.created += 1;
                    if matches!(action, Action::CreateService(_)) {
                        report.services_created += 1;
                    } else {
                        report.twins_created += 1;
                    }
                }
            }
            Action::CeaseService { service, on } => {
                if let Some(s) = state.services.iter_mut().find(|s| &s.id == service) {
                    if matches!(s.status, ServiceStatus::Active) {
                        s.status = ServiceStatus::Ceased { on: *on };
                        report.updated += 1;
                    } else {
                        report.already_existed += 1;
                    }
                }
            }
            Action::ReactivateService { service } => {
                if let Some(s) = state.services.iter_mut().find(|s| &s.id == service) {
                    if matches!(s.status, ServiceStatus::Ceased { .. }) {
                        s.status = ServiceStatus::Active;
                        report.updated += 1;
                    } else {
                        report.already_existed += 1;
                    }
                }
            }
        }
    }
    report
}

/// The first action that names a service or service type `state` does not hold (a
/// cease, a reactivation, a link): what a store refuses as "does not exist".
pub fn missing_target<'a>(state: &StoredState, actions: &'a [Action]) -> Option<&'a Action> {
    actions.iter().find(|a| match a {
        Action::CeaseService { service, .. } | Action::ReactivateService { service } => {
            !state.services.iter().any(|s| &s.id == service)
        }
        Action::LinkServiceType { child, .. } => {
            !state.service_types.iter().any(|t| &t.id == child)
        }
        _ => false,
    })
}
