//! The planner's state in the in-memory store: loading it, and applying actions with
//! the pure reference semantics ([`crate::plan::apply_to_state`]).

use super::InMemoryStore;
use crate::domain::{DepartmentId, Onboarding, StoredState};
use crate::error::{PortError, Transience};
use crate::fakes::{lock, yield_now};
use crate::plan::{Action, apply_to_state, missing_target};
use crate::ports::{ApplyReport, OutboxEntry, PortResult, StateStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

#[async_trait]
impl StateStore for InMemoryStore {
    /// The account's departments and everything in them (other accounts' records
    /// included, as a query by department returns them; the planner filters by account).
    async fn load_state(&self, onboarding: &Onboarding) -> PortResult<StoredState> {
        self.check("load_state")?;
        let depts: BTreeSet<&DepartmentId> = [
            onboarding.customer_department(),
            onboarding.billing_department(),
        ]
        .into_iter()
        .collect();
        let state = {
            let d = lock(&self.data);
            let s = &d.state;
            StoredState {
                departments: s
                    .departments
                    .iter()
                    .filter(|x| depts.contains(&x.id))
                    .cloned()
                    .collect(),
                customers: s
                    .customers
                    .iter()
                    .filter(|x| depts.contains(&x.department))
                    .cloned()
                    .collect(),
                service_types: s
                    .service_types
                    .iter()
                    .filter(|x| depts.contains(&x.department))
                    .cloned()
                    .collect(),
                services: s
                    .services
                    .iter()
                    .filter(|x| depts.contains(&x.department))
                    .cloned()
                    .collect(),
            }
        };
        // Another run may write between this read and our apply, as with a real store.
        yield_now().await;
        Ok(state)
    }

    async fn apply(&self, actions: &[Action], now: DateTime<Utc>) -> PortResult<ApplyReport> {
        self.check("apply")?;
        let mut d = lock(&self.data);
        let mut total = ApplyReport::default();
        for (i, action) in actions.iter().enumerate() {
            // Like a conditional update of an item that is not there: refused, and the
            // actions before it stay applied.
            if let Some(missing) = missing_target(&d.state, std::slice::from_ref(action)) {
                return Err(PortError::message(
                    format!("action {i} ({missing:?}): its service or service type does not exist"),
                    Transience::Permanent,
                ));
            }
            let r = apply_to_state(&mut d.state, std::slice::from_ref(action));
            if let Action::CreateCustomer {
                notify: Some(n), ..
            } = action
            {
                // Queued in the same write as the customer, only by the writer that created it.
                if r.created == 1 {
                    let key = n.dedupe_key();
                    d.outbox.entry(key.clone()).or_insert(OutboxEntry {
                        key,
                        notification: n.clone(),
                        queued_at: now,
                        sent_at: None,
                    });
                }
            }
            total.created += r.created;
            total.already_existed += r.already_existed;
            total.updated += r.updated;
            total.notifications_queued += r.notifications_queued;
            total.customers_created += r.customers_created;
            total.services_created += r.services_created;
            total.twins_created += r.twins_created;
        }
        Ok(total)
    }
}
