//! `plan()`: the pure reconcile step. `(onboarding, snapshot, usage, stored state,
//! settings) -> Plan` (the input is [`super::input`]), implementing the mapping rules 1–16
//! (docs/mapping-rules.md) as a pipeline of stages, each a function over one read-only
//! [`Context`]:
//!
//! 1. [`customers`](super::customers): the onboarding's records exist; a customer per
//!    billing group (rules 1, 5, 7, 12, 13).
//! 2. [`assignment`](super::assignment): connections and numbers → customer (rules 2–4,
//!    6, 7, 10, 11).
//! 3. [`service_types`](super::service_types): each connection's types from stored
//!    services and usage, else its kind's default (rule 8); a number's type (rule 10).
//! 4. [`services`](super::services): the services that should exist and their twins.
//! 5. [`service_types`](super::service_types) again: the types those services need, in
//!    both departments, wholesale-linked (rule 9).
//! 6. [`statuses`](super::statuses): cease, reactivate, realign twins (rule 14).
//! 7. [`attribution`](super::attribution): every record attributed or flagged (rule 15).
//!
//! Like a kube-rs reconcile it never knows why it runs: it compares what Telnyx says
//! with what is stored and emits only the missing steps, so planning again after the
//! plan was applied yields no action (idempotence, property-tested). Every id is
//! derived from Telnyx ids (rule 16, [`super::identity`]).
//!
//! Decisions the rules leave open, settled here (summed up in docs/mapping-rules.md
//! "Decisions the rules leave open"):
//! - **Service types are sticky.** A connection's types are the types of its stored
//!   services plus the types seen in CDR (the `usage` input and the run's records);
//!   only a connection with neither gets the type its kind implies (rule 8). Usage seen
//!   in one run is therefore never "forgotten" by the next.
//! - **A number has one type, kept while rule 10 still allows it.** A new number takes
//!   its connection's first type (in the service-type table's order), or Messaging for a
//!   messaging-profile number without a connection (rule 10). A number with a service
//!   keeps its type while that type is still one of its connection's types (no churn
//!   when the connection gains usage types). When it is not (the number moved to a
//!   connection of another kind, lost its connection, or got one while it was
//!   Messaging), the old service (and twin) is ceased and one of the type rule 10 gives
//!   now is created on the same customer, logged `SERVICE_RETYPED`; moved back, the old
//!   service is reactivated. When rule 10 gives no type at all (no connection with a
//!   type, no messaging profile) the number keeps the service it has, and the log says so.
//! - **Ceasing** (rule 14) happens when a connection or number vanished from Telnyx, or
//!   when it now belongs to another customer (the old service is ceased, a new one is
//!   created: a line is never billed to two customers), or a number is retyped.
//! - **Losing an assignment never stops billing.** A connection or number that Telnyx
//!   no longer gives a customer (several billing groups, and its profile lost its group,
//!   or the number's connection vanished) but that is still in Telnyx keeps its active
//!   services on the customer they are on, and its usage is still attributed there: the
//!   line still exists and someone owns it. Its log entry
//!   (`CONNECTION_WITHOUT_BILLING_GROUP`, `PHONE_NUMBER_WITHOUT_CUSTOMER`) says so every
//!   run; the operator fixes the assignment in Telnyx, or ceases the service by hand if
//!   the customer gave it up. (A deleted group keeps its customer anyway: rule 13.)
//! - **A deleted billing group never gets a new customer.** Rule 13 keeps the customer
//!   of a group deleted after it was synced; a group already deleted when first seen
//!   gets none (it would bill nobody), logged `DELETED_BILLING_GROUP_WITHOUT_CUSTOMER`,
//!   and a connection pointing at it is reported as pointing at a deleted group.
//! - **Every log entry says what to do**, or "nothing to do" and why. A twin realigned
//!   on its own (its child unchanged: edited by hand, or an interrupted run) is logged
//!   too (`WHOLESALE_TWIN_CEASED` / `WHOLESALE_TWIN_REACTIVATED`).
//! - **Wholesale links** (rule 9): a child type is created already linked (one write,
//!   so a crash cannot leave an unlinked type behind), followed by an idempotent
//!   `LinkServiceType` in the same plan. A child type that exists without a link while
//!   the parent type exists was unlinked by an operator (we never create one unlinked):
//!   it is reported every run and its services get no twin; we never undo an operator's
//!   unlink. A child type without a link whose parent type does not exist yet (made by
//!   hand before onboarding) had no link to remove: it is linked when we create the parent.
//! - **Twins follow their child**: a twin is created for an active child service of a
//!   linked type, and ceased or reactivated whenever its child's status differs.
//! - **Standing conditions are logged every run** until fixed (an unassigned connection,
//!   a renamed or deleted billing group, a missing wholesale link): the import log of
//!   any single run tells the whole story. A rename is detected against the customer's
//!   `source_name`, which we never overwrite, so it stays reported (as `Info`).
//! - **Another account's records are never touched**: stored customers and services are
//!   filtered by `account` before anything else; only shared service types and the
//!   onboarding's own reseller customer are read across accounts.

use super::attribution::{Attribution, Decided};
use super::context::Context;
use super::input::PlanInput;
use super::model::{Action, Plan, PlanContext, RecordTally};
use super::services::Assigned;
use super::{assignment, customers, service_types, services, statuses};
use crate::domain::StoredState;

/// Computes the plan for one account. Pure and deterministic: the same input always
/// yields the same plan (same actions in the same order, same log). Detail records are
/// not planned: the run attributes each page with [`Plan::attribution`] as it walks.
///
/// Action order: `CreateServiceType` (parent department first, then child),
/// `LinkServiceType`, `CreateCustomer`, `CreateService`, `CreateWholesaleTwin`, then
/// `CeaseService`/`ReactivateService` (each child service followed by its twin).
///
/// The order of the input lists does not matter (property-tested): shuffling billing
/// groups, connections, profiles, numbers or the stored state's lists gives the same
/// plan.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let ctx = Context::new(input);
    let defaults = input.settings.default_types;
    let mut log = customers::check_onboarding(&ctx);
    let (customers, entries) = customers::resolve(&ctx);
    log.extend(entries);
    let (conn_customer, entries) = assignment::connections(&ctx, &customers);
    log.extend(entries);
    let (number_customer, entries) = assignment::numbers(&ctx, &customers, &conn_customer);
    log.extend(entries);
    let stored_types = service_types::stored_types(&ctx);
    let (conn_types, entries) =
        service_types::connection_types(&ctx, &input.usage, &stored_types, defaults);
    log.extend(entries);
    let assigned = Assigned {
        conn_customer: &conn_customer,
        number_customer: &number_customer,
        conn_types: &conn_types,
        stored_types: &stored_types,
    };
    let (desired, entries) = services::desired(&ctx, &assigned, defaults);
    log.extend(entries);

    let (type_ids, mut actions, entries) = service_types::create(&ctx, &desired);
    log.extend(entries);
    let (customer_actions, entries) = customers::create(&ctx, &customers, &conn_customer);
    log.extend(entries);
    actions.extend(customer_actions);
    actions.extend(services::create(&ctx, &desired, &type_ids));
    let statuses = statuses::plan(&ctx, &desired);
    log.extend(statuses.log);
    actions.extend(statuses.actions);

    let attribution = Attribution::new(
        &ctx,
        &Decided {
            customers: &customers,
            conn_customer: &conn_customer,
            number_customer: &number_customer,
            desired: &desired,
            active_after: &statuses.active_after,
        },
    );
    Plan {
        context: context_of(input.state, &actions),
        actions,
        log,
        attribution,
        tally: RecordTally::default(),
    }
}

/// The stored services and types `actions` name by id only (for the readable diff).
fn context_of(state: &StoredState, actions: &[Action]) -> PlanContext {
    let mut out = PlanContext::default();
    for a in actions {
        match a {
            Action::CeaseService { service, .. } | Action::ReactivateService { service } => {
                if let Some(s) = state.services.iter().find(|s| &s.id == service) {
                    out.services.insert(service.clone(), s.clone());
                }
            }
            Action::LinkServiceType { child, parent } => {
                for id in [child, parent] {
                    if let Some(t) = state.service_types.iter().find(|t| &t.id == id) {
                        out.service_types.insert(id.clone(), t.clone());
                    }
                }
            }
            _ => {}
        }
    }
    out
}
