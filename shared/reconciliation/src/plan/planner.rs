//! `plan()`: the pure reconcile step. `(onboarding, snapshot, usage, records, stored
//! state, settings) -> Plan`, implementing the mapping rules 1–16 of DESIGN §1.
//!
//! Like a kube-rs reconcile it never knows why it runs: it compares what Telnyx says
//! with what is stored and emits only the missing steps, so planning again after the
//! plan was applied yields no action (idempotence, property-tested).
//!
//! Decisions the design leaves open, settled here:
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

use super::codes;
use super::identity;
use super::model::*;
use crate::domain::*;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Service types seen per connection in CDR.
pub type Usage = BTreeMap<ConnectionId, BTreeSet<ServiceTypeName>>;

/// Run-level settings of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanSettings {
    /// Link to a customer record; `{customer_id}`, `{department_id}` and `{account_id}`
    /// are replaced, e.g. `https://billing.example.com/customers/{customer_id}`.
    pub portal_url_template: String,
    /// The date a service is ceased on (UTC date of the run).
    pub today: NaiveDate,
    /// The instant of the run (stamped on created customers).
    pub now: DateTime<Utc>,
}

impl PlanSettings {
    /// Settings for a run at `now` (today = UTC date of `now`).
    pub fn at(portal_url_template: impl Into<String>, now: DateTime<Utc>) -> Self {
        Self {
            portal_url_template: portal_url_template.into(),
            today: now.date_naive(),
            now,
        }
    }
}

/// Everything one plan is computed from. Build with [`PlanInput::new`] and the `with_*`
/// methods.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// The account, how it is billed and mapped.
    pub onboarding: &'a Onboarding,
    /// What Telnyx says now: billing groups, connections, profiles, numbers.
    pub snapshot: &'a TelnyxSnapshot,
    /// Service types seen per connection in CDR (e.g. from earlier runs); merged with the
    /// usage of `records`.
    pub usage: Usage,
    /// This run's detail records, to attribute (rule 15).
    pub records: Vec<DetailRecord>,
    /// The stored state; may hold other accounts' records, which are ignored.
    pub state: &'a StoredState,
    /// The run's date and portal link template.
    pub settings: PlanSettings,
}

impl<'a> PlanInput<'a> {
    /// An input with no usage and no records (a configuration-only plan).
    pub fn new(
        onboarding: &'a Onboarding,
        snapshot: &'a TelnyxSnapshot,
        state: &'a StoredState,
        settings: PlanSettings,
    ) -> Self {
        Self {
            onboarding,
            snapshot,
            usage: Usage::new(),
            records: Vec::new(),
            state,
            settings,
        }
    }

    /// Replaces the usage seen in earlier CDR (service types per connection).
    pub fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = usage;
        self
    }

    /// Replaces this run's detail records (any order; duplicates are kept once).
    pub fn with_records(mut self, records: Vec<DetailRecord>) -> Self {
        self.records = records;
        self
    }

    /// `usage` plus the service types of `records` per connection.
    pub fn effective_usage(&self) -> Usage {
        let mut usage = self.usage.clone();
        for r in &self.records {
            if let Some(c) = &r.connection_id {
                usage
                    .entry(c.clone())
                    .or_default()
                    .insert(r.record_type.service_type());
            }
        }
        usage
    }
}

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

/// What rule 10 says of a number's service type now: the types it may have (its
/// connection's types, or Messaging for a messaging-profile number without a connection)
/// and the one a new service takes (the first of them in the service-type table's
/// order). `None` when rule 10 gives no type (no connection with a type, no messaging
/// profile). A connection not in the snapshot counts as none.
fn number_types(
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

/// The numbers a record may be matched by, in order: `cli` of an outbound record,
/// `cld` of an inbound one; both (`cli` first) when the record has no direction.
fn number_of(r: &DetailRecord) -> Vec<(MatchedBy, &str)> {
    let cli = r.cli.as_deref().map(|v| (MatchedBy::CallingNumber, v));
    let cld = r.cld.as_deref().map(|v| (MatchedBy::CalledNumber, v));
    match r.direction {
        Some(Direction::Outbound) => cli.into_iter().collect(),
        Some(Direction::Inbound) => cld.into_iter().collect(),
        None => cli.into_iter().chain(cld).collect(),
    }
}

/// `connection conn-1` or `number num-1`.
fn source_name(source: &ServiceSource) -> String {
    match source {
        ServiceSource::Connection(c) => format!("connection {c}"),
        ServiceSource::PhoneNumber(n) => format!("number {n}"),
    }
}

/// Digits of a phone number, so `+1 312-555-0100` and `13125550100` compare equal.
fn number_key(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Computes the plan for one account. Pure and deterministic: the same input always
/// yields the same plan (same actions in the same order, same log, same records).
///
/// Action order: `CreateServiceType` (parent department first, then child),
/// `LinkServiceType`, `CreateCustomer`, `CreateService`, `CreateWholesaleTwin`, then
/// `CeaseService`/`ReactivateService` (each child service followed by its twin).
/// Every input record appears in `records` exactly once, in (record type, id) order (a
/// record given twice, same type and id, is kept once, its first copy, and logged).
///
/// The order of the input lists does not matter (property-tested): shuffling billing
/// groups, connections, profiles, numbers, records or the stored state's lists gives
/// the same plan, provided a duplicated record's copies are identical.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    Planner::new(input).run()
}

type ServiceKey = (CustomerId, ServiceSource, ServiceTypeName);

#[derive(Debug, Clone)]
struct NewCustomer {
    name: String,
    billing_group: Option<BillingGroupId>,
}

#[derive(Debug, Clone)]
struct Desired {
    id: ServiceId,
    label: String,
}

struct Planner<'a> {
    input: &'a PlanInput<'a>,
    account: &'a ManagedAccountId,
    customer_dept: &'a DepartmentId,
    /// `(parent department, reseller customer)` in wholesale mode.
    wholesale: Option<(&'a DepartmentId, &'a CustomerId)>,
    log: Vec<LogEntry>,
    /// This account's stored customers in the customer department.
    customers: BTreeMap<CustomerId, &'a Customer>,
    /// This account's stored child services (not twins), by key.
    services: BTreeMap<ServiceKey, &'a Service>,
    /// This account's stored twins, by the child they mirror.
    twins: BTreeMap<ServiceId, &'a Service>,
    // Snapshot, deduplicated by id (first occurrence wins).
    groups: BTreeMap<BillingGroupId, &'a BillingGroup>,
    connections: BTreeMap<ConnectionId, &'a Connection>,
    numbers: BTreeMap<PhoneNumberId, &'a PhoneNumber>,
    ovps: BTreeMap<OutboundVoiceProfileId, &'a OutboundVoiceProfile>,
}

impl<'a> Planner<'a> {
    fn new(input: &'a PlanInput<'a>) -> Self {
        let onboarding = input.onboarding;
        let account = &onboarding.account;
        let customer_dept = onboarding.customer_department();
        let wholesale = match &onboarding.mode {
            BillingMode::Wholesale {
                parent_department,
                reseller_customer,
                ..
            } => Some((parent_department, reseller_customer)),
            BillingMode::Direct { .. } => None,
        };
        let customers = input
            .state
            .customers
            .iter()
            .filter(|c| c.account.as_ref() == Some(account) && &c.department == customer_dept)
            .map(|c| (c.id.clone(), c))
            .collect();
        let mut services = BTreeMap::new();
        let mut twins = BTreeMap::new();
        for s in input
            .state
            .services
            .iter()
            .filter(|s| &s.account == account)
        {
            match &s.twin_of {
                Some(child) => {
                    twins.entry(child.clone()).or_insert(s);
                }
                None if &s.department == customer_dept => {
                    services
                        .entry((s.customer.clone(), s.source.clone(), s.service_type_name))
                        .or_insert(s);
                }
                None => {}
            }
        }
        fn index<K: Ord, V>(items: &[V], key: impl Fn(&V) -> K) -> BTreeMap<K, &V> {
            let mut out = BTreeMap::new();
            for item in items {
                out.entry(key(item)).or_insert(item);
            }
            out
        }
        let snap = input.snapshot;
        Self {
            input,
            account,
            customer_dept,
            wholesale,
            log: Vec::new(),
            customers,
            services,
            twins,
            groups: index(&snap.billing_groups, |g| g.id.clone()),
            connections: index(&snap.connections, |c| c.id.clone()),
            numbers: index(&snap.phone_numbers, |n| n.id.clone()),
            ovps: index(&snap.outbound_voice_profiles, |o| o.id.clone()),
        }
    }

    /// Adds an import-log entry.
    fn log_entry(&mut self, severity: Severity, code: &str, message: String) {
        self.log.push(LogEntry {
            code: code.to_owned(),
            severity,
            message,
        });
    }

    fn department(&self, id: &DepartmentId) -> Option<&'a Department> {
        self.input.state.departments.iter().find(|d| &d.id == id)
    }

    /// `billing group 'Name' (id), which is deleted in Telnyx` and the like: a billing
    /// group that has no customer, described as Telnyx lists it.
    fn group_status(&self, g: &BillingGroupId) -> String {
        match self.groups.get(g) {
            Some(bg) if bg.deleted_at.is_some() => format!(
                "billing group '{}' ({g}), which is deleted in Telnyx (a deleted group gets no new customer)",
                bg.name
            ),
            Some(bg) => format!("billing group '{}' ({g})", bg.name),
            None => format!("billing group {g}, which Telnyx does not list"),
        }
    }

    /// For a connection or number Telnyx gives no customer now: what happens to its
    /// active stored services (kept on the customer they are on, so nothing stops being
    /// billed because of a missing assignment). `None` when it has none.
    fn kept_services(&self, source: &ServiceSource) -> Option<String> {
        let kept: Vec<String> = self
            .services
            .values()
            .filter(|s| &s.source == source && matches!(s.status, ServiceStatus::Active))
            .map(|s| {
                format!(
                    "its {} service {} stays on customer {}",
                    s.service_type_name, s.id, s.customer
                )
            })
            .collect();
        (!kept.is_empty()).then(|| {
            format!(
                "{}, where its usage is still attributed (cease it by hand if the customer gave it up)",
                kept.join(", ")
            )
        })
    }

    fn connection_group(&self, c: &Connection) -> Option<BillingGroupId> {
        c.outbound_voice_profile_id
            .as_ref()
            .and_then(|p| self.ovps.get(p))
            .and_then(|p| p.billing_group_id.clone())
    }

    fn run(mut self) -> Plan {
        self.check_onboarding();
        let customers = self.resolve_customers();
        let conn_customer = self.assign_connections(&customers);
        let number_customer = self.assign_numbers(&customers, &conn_customer);
        let usage = self.input.effective_usage();
        let stored_types = self.stored_types();
        let conn_types = self.connection_types(&usage, &stored_types);
        let desired =
            self.desired_services(&conn_customer, &number_customer, &conn_types, &stored_types);

        let mut actions = Vec::new();
        let type_ids = self.service_types(&desired, &mut actions);
        self.create_customers(&customers, &conn_customer, &mut actions);
        self.create_services(&desired, &type_ids, &mut actions);
        let active_after = self.statuses(&desired, &mut actions);
        let records = self.attribute(
            &customers,
            &conn_customer,
            &number_customer,
            &desired,
            &active_after,
        );
        let context = self.context(&actions);
        Plan {
            actions,
            records,
            log: self.log,
            context,
        }
    }

    /// The stored services and types `actions` name by id only (for the readable diff).
    fn context(&self, actions: &[Action]) -> PlanContext {
        let mut out = PlanContext::default();
        let state = self.input.state;
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

    fn check_onboarding(&mut self) {
        let mut depts = vec![self.customer_dept];
        if let Some((parent, reseller)) = self.wholesale {
            depts.insert(0, parent);
            if !self.input.state.customers.iter().any(|c| &c.id == reseller) {
                self.log_entry(
                    Severity::Error,
                    codes::RESELLER_CUSTOMER_NOT_FOUND,
                    format!(
                        "Reseller customer {reseller} of account {} is not in department {parent}: create it, or fix the account's onboarding; detail records and twins are filed under it meanwhile",
                        self.account
                    ),
                );
            }
        }
        for d in depts {
            if self.department(d).is_none() {
                self.log_entry(
                    Severity::Error,
                    codes::DEPARTMENT_NOT_FOUND,
                    format!(
                        "Department {d} named by the onboarding of account {} does not exist: create it, or fix the onboarding; no new-customer email can be sent meanwhile",
                        self.account
                    ),
                );
            }
        }
    }

    /// Billing group → customer, and the customers to create (rules 1, 5, 7, 12, 13).
    fn resolve_customers(&mut self) -> Customers {
        let mut out = Customers::default();
        let active: Vec<&BillingGroup> = self
            .groups
            .values()
            .copied()
            .filter(|g| g.deleted_at.is_none())
            .collect();
        out.active_groups = active.len();
        if self.input.onboarding.mapping == MappingPreference::OneCustomer {
            let id = identity::customer_for_account(self.customer_dept, self.account);
            if !self.customers.contains_key(&id) {
                out.new.insert(
                    id.clone(),
                    NewCustomer {
                        name: self.input.onboarding.organization_name.clone(),
                        billing_group: None,
                    },
                );
            }
            for g in self.groups.keys() {
                out.by_group.insert(g.clone(), id.clone());
            }
            for c in self.customers.values() {
                if let Some(g) = &c.billing_group_id {
                    out.by_group.insert(g.clone(), id.clone());
                }
            }
            out.single = Some(id);
            return out;
        }

        for g in &active {
            let stored = self
                .customers
                .get(&identity::customer_for_billing_group(
                    self.customer_dept,
                    self.account,
                    &g.id,
                ))
                .or_else(|| {
                    self.customers
                        .values()
                        .find(|c| c.billing_group_id.as_ref() == Some(&g.id))
                })
                .copied();
            match stored {
                Some(c) => {
                    let was = c.source_name.as_deref().unwrap_or(&c.company_name);
                    if was != g.name {
                        self.log_entry(
                            Severity::Info,
                            codes::BILLING_GROUP_RENAMED,
                            format!(
                                "Billing group {} was renamed in Telnyx from '{was}' to '{}': customer '{}' ({}) keeps its name; rename it by hand if wanted",
                                g.id, g.name, c.company_name, c.id
                            ),
                        );
                    }
                    out.by_group.insert(g.id.clone(), c.id.clone());
                }
                None => {
                    let id = identity::customer_for_billing_group(
                        self.customer_dept,
                        self.account,
                        &g.id,
                    );

                    out.new.insert(
                        id.clone(),
                        NewCustomer {
                            name: g.name.clone(),
                            billing_group: Some(g.id.clone()),
                        },
                    );
                    out.by_group.insert(g.id.clone(), id);
                }
            }
        }
        // Rule 13 keeps a deleted group's customer; a deleted group never had one here:
        // none is created for it (it would bill nobody).
        let deleted_without_customer: Vec<&BillingGroup> = self
            .groups
            .values()
            .copied()
            .filter(|g| g.deleted_at.is_some())
            .filter(|g| {
                !self
                    .customers
                    .values()
                    .any(|c| c.billing_group_id.as_ref() == Some(&g.id))
            })
            .collect();
        for g in deleted_without_customer {
            self.log_entry(
                Severity::Info,
                codes::DELETED_BILLING_GROUP_WITHOUT_CUSTOMER,
                format!(
                    "Billing group '{}' ({}) is deleted in Telnyx and has no customer here: none is created for a deleted group; nothing to do (a connection or number still pointing at it is reported on its own)",
                    g.name, g.id
                ),
            );
        }
        if active.len() == 1 {
            out.single = active
                .first()
                .and_then(|g| out.by_group.get(&g.id))
                .cloned();
        }

        // Rule 13: a customer whose group is deleted (or gone) is kept, with a warning.
        let kept: Vec<&Customer> = self
            .customers
            .values()
            .copied()
            .filter(|c| {
                c.billing_group_id
                    .as_ref()
                    .is_some_and(|g| !active.iter().any(|a| &a.id == g))
            })
            .collect();
        for c in kept {
            let Some(g) = &c.billing_group_id else {
                continue;
            };
            out.by_group
                .entry(g.clone())
                .or_insert_with(|| c.id.clone());
            let how = match self.groups.get(g) {
                Some(bg) => format!("Billing group '{}' ({g}) was deleted in Telnyx", bg.name),
                None => format!("Billing group {g} no longer exists in Telnyx"),
            };
            self.log_entry(
                Severity::Warning,
                codes::BILLING_GROUP_DELETED,
                format!(
                    "{how}: customer '{}' ({}) and its services are kept; cease them by hand if the customer left, or move its connections to another billing group",
                    c.company_name, c.id
                ),
            );
        }

        if active.is_empty() {
            self.log_entry(
                Severity::Error,
                codes::NO_BILLING_GROUP,
                format!(
                    "Account {} has no billing group, so no customer is created: create a billing group in Telnyx and assign it to the outbound voice profiles; detail records are still imported under the billing customer",
                    self.account
                ),
            );
        }
        out
    }

    /// Connection → customer (rules 2, 3, 4, 7, 11).
    fn assign_connections(&mut self, customers: &Customers) -> BTreeMap<ConnectionId, CustomerId> {
        let mut out = BTreeMap::new();
        let connections: Vec<&Connection> = self.connections.values().copied().collect();
        for c in connections {
            let own = self.connection_group(c);
            let customer = match (&own, self.input.onboarding.mapping) {
                (_, MappingPreference::OneCustomer) => customers.single.clone(),
                (Some(g), _) if customers.by_group.contains_key(g) => {
                    customers.by_group.get(g).cloned()
                }
                _ => customers.single.clone(),
            };
            match &customer {
                Some(id) => {
                    out.insert(c.id.clone(), id.clone());
                }
                None if customers.active_groups > 1 => {
                    let why = match &own {
                        None => "has no billing group".to_owned(),
                        Some(g) => format!("points at {}", self.group_status(g)),
                    };
                    let meanwhile = self
                        .kept_services(&ServiceSource::Connection(c.id.clone()))
                        .map(|kept| format!("; meanwhile {kept}"))
                        .unwrap_or_default();
                    self.log_entry(
                        Severity::Warning,
                        codes::CONNECTION_WITHOUT_BILLING_GROUP,
                        format!(
                            "Connection '{}' ({}) {why}: assign it an outbound voice profile with a billing group in Telnyx; it will be picked up on the next run{meanwhile}",
                            c.name, c.id
                        ),
                    );
                }
                None => {}
            }
            // Rule 11: numbers pointing elsewhere do not move the connection.
            if self.input.onboarding.mapping == MappingPreference::PerBillingGroup {
                if let Some(g) = &own {
                    let others: BTreeSet<&BillingGroupId> = self
                        .numbers
                        .values()
                        .filter(|n| n.connection_id.as_ref() == Some(&c.id))
                        .filter_map(|n| n.billing_group_id.as_ref())
                        .filter(|b| *b != g)
                        .collect();
                    if !others.is_empty() {
                        let list: Vec<&str> = others.iter().map(|b| b.as_str()).collect();
                        self.log_entry(
                            Severity::Info,
                            codes::CONNECTION_BILLING_GROUP_MISMATCH,
                            format!(
                                "Connection '{}' ({}) bills to billing group {g} through its outbound voice profile, but some of its numbers point at {}: the connection stays with {g} and those numbers go to their own group; align them in Telnyx if this is a mistake",
                                c.name,
                                c.id,
                                list.join(", ")
                            ),
                        );
                    }
                }
            }
        }
        out
    }

    /// Number → customer (rules 3, 6, 7, 10).
    fn assign_numbers(
        &mut self,
        customers: &Customers,
        conn_customer: &BTreeMap<ConnectionId, CustomerId>,
    ) -> BTreeMap<PhoneNumberId, CustomerId> {
        let mut out = BTreeMap::new();
        let numbers: Vec<&PhoneNumber> = self.numbers.values().copied().collect();
        for n in numbers {
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
                    let own = match &n.billing_group_id {
                        None => "has no billing group".to_owned(),
                        Some(g) => format!("names {}", self.group_status(g)),
                    };
                    let connection = match &n.connection_id {
                        None => "no connection".to_owned(),
                        Some(c) => match self.connections.get(c) {
                            None => format!("its connection {c} is gone from Telnyx"),
                            Some(x) => format!(
                                "its connection '{}' ({}) has no customer either",
                                x.name, x.id
                            ),
                        },
                    };
                    let consequence = self
                        .kept_services(&ServiceSource::PhoneNumber(n.id.clone()))
                        .unwrap_or_else(|| "it gets no service".to_owned());
                    self.log_entry(
                        Severity::Warning,
                        codes::PHONE_NUMBER_WITHOUT_CUSTOMER,
                        format!(
                            "Phone number {} ({}) {own} and {connection}, so it belongs to no customer: {consequence}; set its billing group, or put it on a connection whose outbound voice profile has one, in Telnyx; it will be picked up on the next run",
                            n.phone_number, n.id
                        ),
                    );
                }
                None => {}
            }
        }
        out
    }

    /// The types of this account's stored child services, per source (any customer).
    fn stored_types(&self) -> BTreeMap<ServiceSource, StoredTypes> {
        let mut out: BTreeMap<ServiceSource, StoredTypes> = BTreeMap::new();
        for ((_, source, t), s) in &self.services {
            let types = out.entry(source.clone()).or_default();
            types.all.insert(*t);
            if matches!(s.status, ServiceStatus::Active) {
                types.active.insert(*t);
            }
        }
        out
    }

    /// Each connection's service types: stored ∪ usage, else the kind's default (rule 8).
    fn connection_types(
        &mut self,
        usage: &Usage,
        stored_types: &BTreeMap<ServiceSource, StoredTypes>,
    ) -> BTreeMap<ConnectionId, BTreeSet<ServiceTypeName>> {
        let mut out = BTreeMap::new();
        let connections: Vec<&Connection> = self.connections.values().copied().collect();
        for c in connections {
            let mut types = stored_types
                .get(&ServiceSource::Connection(c.id.clone()))
                .map(|s| s.all.clone())
                .unwrap_or_default();
            if let Some(seen) = usage.get(&c.id) {
                types.extend(seen.iter().copied());
            }
            if types.is_empty() {
                match default_service_type(&c.kind) {
                    Some(t) => {
                        types.insert(t);
                    }
                    None => self.log_entry(
                        Severity::Info,
                        codes::CONNECTION_KIND_WITHOUT_SERVICE_TYPE,
                        format!(
                            "Connection '{}' ({}) is of a kind with no default service type ({:?}) and has no usage yet: it gets its service, typed by its usage, with its first detail record; nothing to do",
                            c.name, c.id, c.kind
                        ),
                    ),
                }
            }
            out.insert(c.id.clone(), types);
        }
        out
    }

    /// The child services that should exist (rules 6, 8, 10), by key.
    fn desired_services(
        &mut self,
        conn_customer: &BTreeMap<ConnectionId, CustomerId>,
        number_customer: &BTreeMap<PhoneNumberId, CustomerId>,
        conn_types: &BTreeMap<ConnectionId, BTreeSet<ServiceTypeName>>,
        stored_types: &BTreeMap<ServiceSource, StoredTypes>,
    ) -> BTreeMap<ServiceKey, Desired> {
        let mut out = BTreeMap::new();
        for (c, customer) in conn_customer {
            let Some(conn) = self.connections.get(c) else {
                continue;
            };
            let source = ServiceSource::Connection(c.clone());
            for t in conn_types.get(c).into_iter().flatten() {
                let key = (customer.clone(), source.clone(), *t);
                let id = self.service_id(&key);
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
        for (n, customer) in number_customer {
            let Some(number) = self.numbers.get(n) else {
                continue;
            };
            let source = ServiceSource::PhoneNumber(n.clone());
            let current = stored_types.get(&source).map(StoredTypes::current);
            let t = match number_types(number, &self.connections, conn_types) {
                // Keep the stored type while rule 10 still allows it (no churn when the
                // connection gains usage types); else retype (statuses() logs it).
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
            let id = self.service_id(&key);
            out.insert(
                key,
                Desired {
                    id,
                    label: number.phone_number.clone(),
                },
            );
        }
        for (number, kept) in without_type {
            let what = match kept {
                None => "it will get its service on the next run".to_owned(),
                Some(t) => format!(
                    "its {t} service stays active meanwhile (the number is still in the account), or cease it by hand if the customer gave the number up"
                ),
            };
            self.log_entry(
                Severity::Info,
                codes::PHONE_NUMBER_WITHOUT_SERVICE_TYPE,
                format!(
                    "Phone number {} ({}) has no connection with a service type and no messaging profile: assign it a connection or a messaging profile in Telnyx; {what}",
                    number.phone_number, number.id
                ),
            );
        }
        out
    }

    fn service_id(&self, key: &ServiceKey) -> ServiceId {
        match self.services.get(key) {
            Some(s) => s.id.clone(),
            None => identity::service(self.customer_dept, &key.0, &key.1, key.2),
        }
    }

    fn stored_type(&self, dept: &DepartmentId, name: ServiceTypeName) -> Option<&'a ServiceType> {
        self.input
            .state
            .service_types
            .iter()
            .find(|t| &t.department == dept && t.name == name)
    }

    /// Service types in both departments, created on first use and linked (rule 9).
    /// Returns each used name's child type id and, when twins may be made, its parent type id.
    fn service_types(
        &mut self,
        desired: &BTreeMap<ServiceKey, Desired>,
        actions: &mut Vec<Action>,
    ) -> BTreeMap<ServiceTypeName, TypeIds> {
        let names: BTreeSet<ServiceTypeName> = desired.keys().map(|k| k.2).collect();
        let mut out = BTreeMap::new();
        let mut parents = Vec::new();
        let mut children = Vec::new();
        let mut links = Vec::new();
        for name in names {
            let make = |dept: &DepartmentId, parent: Option<ServiceTypeId>| ServiceType {
                id: identity::service_type(dept, name),
                department: dept.clone(),
                name,
                category: name.category(),
                wholesale_parent: parent,
            };
            // (parent type id, whether this plan creates it)
            let parent =
                self.wholesale.map(
                    |(parent_dept, _)| match self.stored_type(parent_dept, name) {
                        Some(t) => (t.id.clone(), false),
                        None => {
                            let t = make(parent_dept, None);
                            let id = t.id.clone();
                            parents.push(Action::CreateServiceType(t));
                            (id, true)
                        }
                    },
                );
            let parent_id = parent.as_ref().map(|(id, _)| id.clone());
            let stored_child = self.stored_type(self.customer_dept, name);
            let (child_id, twin_type) = match (stored_child, &parent) {
                (Some(t), Some((p, true))) if t.wholesale_parent.is_none() => {
                    // The parent type did not exist, so no link was ever there to remove
                    // (e.g. a child type made by hand before onboarding): link it now.
                    links.push(Action::LinkServiceType {
                        child: t.id.clone(),
                        parent: p.clone(),
                    });
                    (t.id.clone(), Some(p.clone()))
                }
                (Some(t), Some(_)) if t.wholesale_parent.is_none() => {
                    self.log_entry(
                        Severity::Warning,
                        codes::WHOLESALE_LINK_MISSING,
                        format!(
                            "Service type '{name}' ({}) in department {} has no wholesale link to the parent department's '{name}': its services get no wholesale twin, so their usage is not billed to the reseller as a service; restore the link to re-enable twins",
                            t.id, self.customer_dept
                        ),
                    );
                    (t.id.clone(), None)
                }
                (Some(t), _) => (t.id.clone(), t.wholesale_parent.clone()),
                (None, _) => {
                    let t = make(self.customer_dept, parent_id.clone());
                    let id = t.id.clone();
                    children.push(Action::CreateServiceType(t));
                    if let Some(p) = &parent_id {
                        links.push(Action::LinkServiceType {
                            child: id.clone(),
                            parent: p.clone(),
                        });
                    }
                    (id, parent_id.clone())
                }
            };
            out.insert(
                name,
                TypeIds {
                    child: child_id,
                    twin: if self.wholesale.is_some() {
                        twin_type
                    } else {
                        None
                    },
                },
            );
        }
        actions.extend(parents);
        actions.extend(children);
        actions.extend(links);
        out
    }

    fn create_customers(
        &mut self,
        customers: &Customers,
        conn_customer: &BTreeMap<ConnectionId, CustomerId>,
        actions: &mut Vec<Action>,
    ) {
        if customers.new.is_empty() {
            return;
        }
        let dept = self.department(self.customer_dept);
        let email = dept
            .and_then(|d| d.billing_email.clone())
            .filter(|e| !e.trim().is_empty());
        if let (Some(d), None) = (dept, &email) {
            self.log_entry(
                Severity::Warning,
                codes::DEPARTMENT_WITHOUT_BILLING_EMAIL,
                format!(
                    "Department '{}' ({}) has no billing email, so no new-customer email is sent for {} new customer(s): set its billing email; complete the new customers by hand",
                    d.name,
                    d.id,
                    customers.new.len()
                ),
            );
        }
        for (id, new) in &customers.new {
            let customer = Customer {
                id: id.clone(),
                department: self.customer_dept.clone(),
                company_name: new.name.clone(),
                account: Some(self.account.clone()),
                billing_group_id: new.billing_group.clone(),
                source_name: Some(new.name.clone()),
                created_at: Some(self.input.settings.now),
            };
            let notify = match (dept, &email) {
                (Some(d), Some(to)) => Some(Notification::NewCustomer {
                    to: vec![to.clone()],
                    account: self.account.clone(),
                    customer_id: id.clone(),
                    customer_name: new.name.clone(),
                    department_id: d.id.clone(),
                    department_name: d.name.clone(),
                    billing_group_id: new.billing_group.clone(),
                    connections: conn_customer
                        .iter()
                        .filter(|(_, c)| *c == id)
                        .filter_map(|(c, _)| self.connections.get(c))
                        .map(|c| format!("{} ({})", c.name, c.id))
                        .collect(),
                    link: self
                        .input
                        .settings
                        .portal_url_template
                        .replace("{customer_id}", id.as_str())
                        .replace("{department_id}", d.id.as_str())
                        .replace("{account_id}", self.account.as_str()),
                }),
                _ => None,
            };
            actions.push(Action::CreateCustomer { customer, notify });
        }
    }

    fn create_services(
        &mut self,
        desired: &BTreeMap<ServiceKey, Desired>,
        type_ids: &BTreeMap<ServiceTypeName, TypeIds>,
        actions: &mut Vec<Action>,
    ) {
        let mut twins = Vec::new();
        for (key, d) in desired {
            let (customer, source, name) = key;
            let Some(types) = type_ids.get(name) else {
                continue;
            };
            let stored = self.services.get(key);
            if stored.is_none() {
                actions.push(Action::CreateService(Service {
                    id: d.id.clone(),
                    account: self.account.clone(),
                    department: self.customer_dept.clone(),
                    customer: customer.clone(),
                    service_type: types.child.clone(),
                    service_type_name: *name,
                    source: source.clone(),
                    label: d.label.clone(),
                    status: ServiceStatus::Active,
                    twin_of: None,
                }));
            }
            // A twin for every child service that is (or becomes) active, when linked.
            let (Some((parent_dept, reseller)), Some(parent_type)) = (self.wholesale, &types.twin)
            else {
                continue;
            };
            if self.twins.contains_key(&d.id) {
                continue;
            }
            twins.push(Action::CreateWholesaleTwin(Service {
                id: identity::wholesale_twin(parent_dept, &d.id),
                account: self.account.clone(),
                department: parent_dept.clone(),
                customer: reseller.clone(),
                service_type: parent_type.clone(),
                service_type_name: *name,
                source: source.clone(),
                label: d.label.clone(),
                status: ServiceStatus::Active,
                twin_of: Some(d.id.clone()),
            }));
        }
        actions.extend(twins);
    }

    /// Cease vanished or moved services, reactivate returning ones; twins follow (rule 14).
    /// Returns whether each stored child service is active once this plan is applied.
    fn statuses(
        &mut self,
        desired: &BTreeMap<ServiceKey, Desired>,
        actions: &mut Vec<Action>,
    ) -> BTreeMap<ServiceId, bool> {
        let mut active_after = BTreeMap::new();
        let today = self.input.settings.today;
        let mut desired_by_source: BTreeMap<&ServiceSource, Vec<&ServiceKey>> = BTreeMap::new();
        for key in desired.keys() {
            desired_by_source.entry(&key.1).or_default().push(key);
        }
        let stored = self.services.clone();
        for (key, s) in &stored {
            let active = matches!(s.status, ServiceStatus::Active);
            let want_active = if desired.contains_key(key) {
                true
            } else if !self.source_exists(&s.source) {
                false
            } else if desired_by_source.contains_key(&s.source) {
                // Moved to another customer, or (a number) retyped: stop billing this one.
                false
            } else {
                // Still in Telnyx but now unassigned, or its group was deleted: kept as is.
                active
            };
            active_after.insert(s.id.clone(), want_active);
            // The twin follows its child (whatever happened to either by hand).
            let twin = self
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
                let replaced_by = desired_by_source.get(&s.source);
                let (code, message) =
                    self.cease_message(s, replaced_by.map(Vec::as_slice), with_twin);
                self.log_entry(Severity::Info, code, message);
                actions.push(Action::CeaseService {
                    service: s.id.clone(),
                    on: today,
                });
            } else if !active && want_active {
                let since = match &s.status {
                    ServiceStatus::Ceased { on } => format!(", ceased on {on},"),
                    ServiceStatus::Active => String::new(),
                };
                self.log_entry(
                    Severity::Info,
                    codes::SERVICE_REACTIVATED,
                    format!(
                        "{} is in Telnyx again as customer {}'s {}: its service {}{since} is reactivated{with_twin}; nothing to do, it is billed again from today",
                        self.describe(&s.source, &s.label),
                        s.customer,
                        s.service_type_name,
                        s.id
                    ),
                );
                actions.push(Action::ReactivateService {
                    service: s.id.clone(),
                });
            } else if let Some(t) = twin {
                // The child stays as it is; only its twin had drifted.
                let (code, drift, fix) = if want_active {
                    (
                        codes::WHOLESALE_TWIN_REACTIVATED,
                        "is ceased while its service is active",
                        "reactivated, so the reseller is billed for the line".to_owned(),
                    )
                } else {
                    (
                        codes::WHOLESALE_TWIN_CEASED,
                        "is active while its service is ceased",
                        format!(
                            "ceased on {today}, so the reseller is not billed for a ceased line"
                        ),
                    )
                };
                self.log_entry(
                    Severity::Warning,
                    code,
                    format!(
                        "Wholesale twin {} of '{}' ({} service {} on customer {}) {drift} (changed by hand, or an interrupted run): it is {fix}; nothing to do, a twin always follows its service (to stop billing a line, remove or move it in Telnyx)",
                        t.id, s.label, s.service_type_name, s.id, s.customer
                    ),
                );
            }
            if let Some(t) = twin {
                actions.push(if want_active {
                    Action::ReactivateService {
                        service: t.id.clone(),
                    }
                } else {
                    Action::CeaseService {
                        service: t.id.clone(),
                        on: today,
                    }
                });
            }
        }
        active_after
    }

    /// The import-log code and message for ceasing the active child service `s`:
    /// `replaced_by` are the desired services of the same source (none if it vanished).
    fn cease_message(
        &self,
        s: &Service,
        replaced_by: Option<&[&ServiceKey]>,
        with_twin: &str,
    ) -> (&'static str, String) {
        let today = self.input.settings.today;
        let what = format!(
            "its {} service {} on customer {}",
            s.service_type_name, s.id, s.customer
        );
        let same_customer = replaced_by
            .into_iter()
            .flatten()
            .find(|k| k.0 == s.customer);
        match (replaced_by.and_then(|r| r.first()), same_customer) {
            (None, _) => (
                codes::SERVICE_CEASED,
                format!(
                    "'{}' ({}) is gone from Telnyx: {what} is ceased on {today}{with_twin}; nothing to do if it was removed on purpose (it is reactivated if it comes back), else restore it in Telnyx",
                    s.label,
                    source_name(&s.source)
                ),
            ),
            (Some(_), Some(now)) => (
                codes::SERVICE_RETYPED,
                format!(
                    "{} is now used as {} ({}), no longer as {}: {what} is ceased on {today}{with_twin} and its {} service bills it from now on; nothing to do, unless the change in Telnyx is a mistake (undo it there and the {} service is reactivated)",
                    self.describe(&s.source, &s.label),
                    now.2,
                    self.number_situation(&s.source),
                    s.service_type_name,
                    now.2,
                    s.service_type_name
                ),
            ),
            (Some(now), None) => (
                codes::SERVICE_MOVED,
                format!(
                    "{} now belongs to customer {}{}: {what} is ceased on {today}{with_twin} and a service is created on the new customer; nothing to do, unless the move in Telnyx is a mistake (undo it there and the old service is reactivated)",
                    self.describe(&s.source, &s.label),
                    now.0,
                    if now.2 == s.service_type_name {
                        String::new()
                    } else {
                        format!(" as {}", now.2)
                    }
                ),
            ),
        }
    }

    /// `connection 'Name' (id)` or `phone number +1… (id)`, named as Telnyx names it now
    /// (else by the stored label).
    fn describe(&self, source: &ServiceSource, label: &str) -> String {
        match source {
            ServiceSource::Connection(c) => {
                let name = self.connections.get(c).map_or(label, |x| x.name.as_str());
                format!("Connection '{name}' ({c})")
            }
            ServiceSource::PhoneNumber(n) => {
                let e164 = self
                    .numbers
                    .get(n)
                    .map_or(label, |x| x.phone_number.as_str());
                format!("Phone number {e164} ({n})")
            }
        }
    }

    /// Why a number has the type rule 10 gives it now.
    fn number_situation(&self, source: &ServiceSource) -> String {
        let ServiceSource::PhoneNumber(n) = source else {
            return "its usage".to_owned();
        };
        let number = self.numbers.get(n);
        match number
            .and_then(|x| x.connection_id.as_ref())
            .and_then(|c| self.connections.get(c))
        {
            Some(c) => format!("it is on connection '{}' ({}) now", c.name, c.id),
            None => "it has no connection now, only a messaging profile".to_owned(),
        }
    }

    fn source_exists(&self, source: &ServiceSource) -> bool {
        match source {
            ServiceSource::Connection(c) => self.connections.contains_key(c),
            ServiceSource::PhoneNumber(n) => self.numbers.contains_key(n),
        }
    }

    /// Rule 15: every record, attributed or flagged, exactly once. `active_after` (from
    /// [`Planner::statuses`]) says which stored services are active once the plan is
    /// applied: those win over ceased ones.
    fn attribute(
        &mut self,
        customers: &Customers,
        conn_customer: &BTreeMap<ConnectionId, CustomerId>,
        number_customer: &BTreeMap<PhoneNumberId, CustomerId>,
        desired: &BTreeMap<ServiceKey, Desired>,
        active_after: &BTreeMap<ServiceId, bool>,
    ) -> Vec<StoredDetailRecord> {
        // Every service a record may belong to: stored (any status) or being created.
        let mut service_ids: BTreeMap<ServiceKey, ServiceId> = self
            .services
            .iter()
            .map(|(k, s)| (k.clone(), s.id.clone()))
            .collect();
        for (k, d) in desired {
            service_ids.entry(k.clone()).or_insert_with(|| d.id.clone());
        }
        // Connection / number → customer, from Telnyx, else from stored services
        // (late records of a vanished connection still find their customer).
        let mut by_conn: BTreeMap<ConnectionId, CustomerId> = conn_customer.clone();
        let mut by_number: BTreeMap<String, (PhoneNumberId, CustomerId)> = BTreeMap::new();
        for (n, c) in number_customer {
            if let Some(num) = self.numbers.get(n) {
                by_number.insert(number_key(&num.phone_number), (n.clone(), c.clone()));
            }
        }
        let mut stored: Vec<&Service> = self.services.values().copied().collect();
        // Services active once this plan is applied win over ceased ones (judged after
        // the plan, so planning again after applying attributes the same way).
        stored.sort_by_key(|s| {
            !active_after
                .get(&s.id)
                .copied()
                .unwrap_or(matches!(s.status, ServiceStatus::Active))
        });
        for s in stored {
            match &s.source {
                ServiceSource::Connection(c) => {
                    by_conn
                        .entry(c.clone())
                        .or_insert_with(|| s.customer.clone());
                }
                ServiceSource::PhoneNumber(n) => {
                    by_number
                        .entry(number_key(&s.label))
                        .or_insert_with(|| (n.clone(), s.customer.clone()));
                }
            }
        }
        let number_connection = |n: &PhoneNumberId| {
            self.numbers
                .get(n)
                .and_then(|num| num.connection_id.clone())
        };
        let find_service = |customer: &CustomerId, source: ServiceSource, t: ServiceTypeName| {
            service_ids.get(&(customer.clone(), source, t)).cloned()
        };

        let billing_customer_default = self.input.onboarding.billing_customer().cloned();
        let wholesale = self.wholesale.is_some();
        let billing_dept = self.input.onboarding.billing_department().clone();

        let mut seen = BTreeSet::new();
        let mut duplicates = 0u64;
        let mut unmatched = 0u64;
        let mut out = Vec::with_capacity(self.input.records.len());
        for r in &self.input.records {
            if !seen.insert((r.record_type, r.id.clone())) {
                duplicates += 1;
                continue;
            }
            let t = r.record_type.service_type();
            let mut hit: Option<(MatchedBy, CustomerId, Option<ServiceId>)> = None;
            // 1. billing_group_id naming a known group.
            if let Some(c) = r
                .billing_group_id
                .as_deref()
                .and_then(|g| customers.by_group.get(&BillingGroupId::new(g)))
            {
                let via_conn = r
                    .connection_id
                    .as_ref()
                    .and_then(|cn| find_service(c, ServiceSource::Connection(cn.clone()), t));
                let via_number = || {
                    number_of(r).into_iter().find_map(|(_, v)| {
                        by_number.get(&number_key(v)).and_then(|(n, _)| {
                            find_service(c, ServiceSource::PhoneNumber(n.clone()), t)
                        })
                    })
                };
                hit = Some((
                    MatchedBy::BillingGroup,
                    c.clone(),
                    via_conn.or_else(via_number),
                ));
            }
            // 2. connection_id.
            if hit.is_none() {
                if let Some((cn, c)) = r
                    .connection_id
                    .as_ref()
                    .and_then(|cn| by_conn.get(cn).map(|c| (cn, c)))
                {
                    let svc = find_service(c, ServiceSource::Connection(cn.clone()), t);
                    hit = Some((MatchedBy::Connection, c.clone(), svc));
                }
            }
            // 3. a known number: cli outbound, cld inbound.
            if hit.is_none() {
                for (how, v) in number_of(r) {
                    if let Some((n, c)) = by_number.get(&number_key(v)) {
                        let svc = find_service(c, ServiceSource::PhoneNumber(n.clone()), t)
                            .or_else(|| {
                                number_connection(n).and_then(|cn| {
                                    find_service(c, ServiceSource::Connection(cn), t)
                                })
                            });
                        hit = Some((how, c.clone(), svc));
                        break;
                    }
                }
            }
            let (matched_by, end_customer, service) = match hit {
                Some((m, c, s)) => (m, Some(c), s),
                None => {
                    unmatched += 1;
                    (MatchedBy::Unmatched, None, None)
                }
            };
            let billing_customer = if wholesale {
                billing_customer_default.clone()
            } else {
                end_customer
                    .clone()
                    .or_else(|| billing_customer_default.clone())
            };
            out.push(StoredDetailRecord {
                account: self.account.clone(),
                department: billing_dept.clone(),
                billing_customer,
                end_customer,
                service,
                matched_by,
                record: r.clone(),
            });
        }
        if unmatched > 0 {
            self.log_entry(
                Severity::Warning,
                codes::UNMATCHED_DETAIL_RECORDS,
                format!(
                    "{unmatched} detail record(s) matched no customer (no known billing group, connection or number): they are stored under the billing customer and flagged 'unmatched'; check the connections and numbers reported above"
                ),
            );
        }
        if duplicates > 0 {
            self.log_entry(
                Severity::Info,
                codes::DUPLICATE_DETAIL_RECORDS,
                format!(
                    "{duplicates} detail record(s) were received twice in this run and kept once; nothing to do (Telnyx pages newest first, so records arriving during a run can push a record onto the next page too)"
                ),
            );
        }
        out.sort_by(|a, b| {
            (a.record.record_type, &a.record.id).cmp(&(b.record.record_type, &b.record.id))
        });
        out
    }
}

#[derive(Debug, Default)]
struct Customers {
    /// Billing group → its customer (existing or created by this plan).
    by_group: BTreeMap<BillingGroupId, CustomerId>,
    /// Customers this plan creates.
    new: BTreeMap<CustomerId, NewCustomer>,
    /// The customer every connection and number falls back to: the one customer
    /// (rule 7) or the single billing group's (rule 3).
    single: Option<CustomerId>,
    active_groups: usize,
}

/// The types of one source's stored child services.
#[derive(Debug, Default)]
struct StoredTypes {
    /// Of every stored service (any status).
    all: BTreeSet<ServiceTypeName>,
    /// Of the active ones.
    active: BTreeSet<ServiceTypeName>,
}

impl StoredTypes {
    /// The source's current types: those of its active services, or, when all are
    /// ceased (it vanished and may be back), of all of them.
    fn current(&self) -> &BTreeSet<ServiceTypeName> {
        if self.active.is_empty() {
            &self.all
        } else {
            &self.active
        }
    }
}

#[derive(Debug, Clone)]
struct TypeIds {
    child: ServiceTypeId,
    /// The parent type twins of this type use; `None` in direct mode or when unlinked.
    twin: Option<ServiceTypeId>,
}
