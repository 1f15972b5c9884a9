//! Stage 6 — statuses (rule 14, docs/mapping-rules.md): cease the services of
//! connections and numbers that vanished, moved to another customer or (a number) were
//! retyped; reactivate the ones that came back; twins follow their child whatever
//! happened to either by hand.

use super::context::Desired;
use super::context::{Context, ServiceKey};
use super::messages;
use super::model::{Action, LogEntry};
use crate::domain::{Service, ServiceId, ServiceSource, ServiceStatus};
use std::collections::BTreeMap;

/// What the statuses stage decided.
pub(super) struct Statuses {
    pub actions: Vec<Action>,
    /// Whether each stored child service is active once the plan is applied.
    pub active_after: BTreeMap<ServiceId, bool>,
    pub log: Vec<LogEntry>,
}

/// Cease, reactivate, and realign twins; each child service's action is followed by
/// its twin's.
pub(super) fn plan(ctx: &Context<'_>, desired: &BTreeMap<ServiceKey, Desired>) -> Statuses {
    let mut by_source: BTreeMap<&ServiceSource, Vec<&ServiceKey>> = BTreeMap::new();
    for key in desired.keys() {
        by_source.entry(&key.1).or_default().push(key);
    }
    let mut out = Statuses {
        actions: Vec::new(),
        active_after: BTreeMap::new(),
        log: Vec::new(),
    };
    for (key, s) in &ctx.services {
        let want_active = wanted(ctx, desired, &by_source, key, s);
        out.active_after.insert(s.id.clone(), want_active);
        one_service(ctx, s, want_active, by_source.get(&s.source), &mut out);
    }
    out
}

/// Whether a stored child service should be active after this plan.
fn wanted(
    ctx: &Context<'_>,
    desired: &BTreeMap<ServiceKey, Desired>,
    by_source: &BTreeMap<&ServiceSource, Vec<&ServiceKey>>,
    key: &ServiceKey,
    s: &Service,
) -> bool {
    if desired.contains_key(key) {
        true
    } else if !ctx.source_exists(&s.source) {
        false
    } else if by_source.contains_key(&s.source) {
        // Moved to another customer, or (a number) retyped: stop billing this one.
        false
    } else {
        // Still in Telnyx but now unassigned, or its group was deleted: kept as is.
        matches!(s.status, ServiceStatus::Active)
    }
}

fn one_service(
    ctx: &Context<'_>,
    s: &Service,
    want_active: bool,
    replaced_by: Option<&Vec<&ServiceKey>>,
    out: &mut Statuses,
) {
    let active = matches!(s.status, ServiceStatus::Active);
    let twin = ctx
        .twins
        .get(&s.id)
        .copied()
        .filter(|t| matches!(t.status, ServiceStatus::Active) != want_active);
    let with_twin = if twin.is_some() {
        " with its wholesale twin"
    } else {
        ""
    };
    if active && !want_active {
        out.log.push(messages::service_ceased(
            ctx,
            s,
            replaced_by.map(Vec::as_slice),
            with_twin,
        ));
        out.actions.push(Action::CeaseService {
            service: s.id.clone(),
            on: ctx.today(),
        });
    } else if !active && want_active {
        out.log
            .push(messages::service_reactivated(ctx, s, with_twin));
        out.actions.push(Action::ReactivateService {
            service: s.id.clone(),
        });
    } else if let Some(t) = twin {
        // The child stays as it is; only its twin had drifted.
        out.log
            .push(messages::wholesale_twin_realigned(ctx, s, t, want_active));
    }
    if let Some(t) = twin {
        out.actions.push(if want_active {
            Action::ReactivateService {
                service: t.id.clone(),
            }
        } else {
            Action::CeaseService {
                service: t.id.clone(),
                on: ctx.today(),
            }
        });
    }
}
