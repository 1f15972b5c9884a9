//! The read-only context every planning stage works over: the input, the account's
//! departments and billing mode, and indexes of the snapshot and of this account's
//! stored customers and services (other accounts' records are filtered out here,
//! before any stage sees them); and the values one stage hands the next (the customers
//! resolved, the services that should exist), so stages never import each other's
//! results from each other.

use super::identity;
use super::input::PlanInput;
use crate::domain::{
    BillingGroup, BillingGroupId, BillingMode, Connection, ConnectionId, Customer, CustomerId,
    Department, DepartmentId, ManagedAccountId, MappingPreference, OutboundVoiceProfile,
    OutboundVoiceProfileId, PhoneNumber, PhoneNumberId, Service, ServiceId, ServiceSource,
    ServiceType, ServiceTypeName,
};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// A child service's identity: (customer, connection or number, service type).
pub(super) type ServiceKey = (CustomerId, ServiceSource, ServiceTypeName);

/// A customer this plan creates.
#[derive(Debug, Clone)]
pub(super) struct NewCustomer {
    pub name: String,
    pub billing_group: Option<BillingGroupId>,
}

/// What the customer stage decided.
#[derive(Debug, Default)]
pub(super) struct Customers {
    /// Billing group → its customer (existing or created by this plan).
    pub by_group: BTreeMap<BillingGroupId, CustomerId>,
    /// Customers this plan creates.
    pub new: BTreeMap<CustomerId, NewCustomer>,
    /// The customer every connection and number falls back to: the one customer
    /// (rule 7) or the single billing group's (rule 3).
    pub single: Option<CustomerId>,
    /// Billing groups not deleted in Telnyx.
    pub active_groups: usize,
}

/// A service that should exist.
#[derive(Debug, Clone)]
pub(super) struct Desired {
    pub id: ServiceId,
    pub label: String,
}

/// What every stage reads. Built once per plan; never changed.
pub(super) struct Context<'a> {
    pub input: &'a PlanInput<'a>,
    pub account: &'a ManagedAccountId,
    /// The department end customers and their services live in.
    pub customer_dept: &'a DepartmentId,
    /// `(parent department, reseller customer)` in wholesale mode.
    pub wholesale: Option<(&'a DepartmentId, &'a CustomerId)>,
    /// This account's stored customers in the customer department.
    pub customers: BTreeMap<CustomerId, &'a Customer>,
    /// This account's stored child services (not twins), by key.
    pub services: BTreeMap<ServiceKey, &'a Service>,
    /// This account's stored twins, by the child they mirror.
    pub twins: BTreeMap<ServiceId, &'a Service>,
    // The snapshot, deduplicated by id (first occurrence wins).
    pub groups: BTreeMap<BillingGroupId, &'a BillingGroup>,
    pub connections: BTreeMap<ConnectionId, &'a Connection>,
    pub numbers: BTreeMap<PhoneNumberId, &'a PhoneNumber>,
    pub ovps: BTreeMap<OutboundVoiceProfileId, &'a OutboundVoiceProfile>,
}

/// The first item per key.
fn index<K: Ord, V>(items: &[V], key: impl Fn(&V) -> K) -> BTreeMap<K, &V> {
    let mut out = BTreeMap::new();
    for item in items {
        out.entry(key(item)).or_insert(item);
    }
    out
}

impl<'a> Context<'a> {
    pub fn new(input: &'a PlanInput<'a>) -> Self {
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
        let snap = input.snapshot;
        Self {
            input,
            account,
            customer_dept,
            wholesale,
            customers,
            services,
            twins,
            groups: index(&snap.billing_groups, |g| g.id.clone()),
            connections: index(&snap.connections, |c| c.id.clone()),
            numbers: index(&snap.phone_numbers, |n| n.id.clone()),
            ovps: index(&snap.outbound_voice_profiles, |o| o.id.clone()),
        }
    }

    /// The account's mapping preference (rule 7, docs/mapping-rules.md).
    pub fn mapping(&self) -> MappingPreference {
        self.input.onboarding.mapping
    }

    /// The date services are ceased on.
    pub fn today(&self) -> NaiveDate {
        self.input.settings.today
    }

    /// A stored department.
    pub fn department(&self, id: &DepartmentId) -> Option<&'a Department> {
        self.input.state.departments.iter().find(|d| &d.id == id)
    }

    /// The billing group a connection reaches through its outbound voice profile (rule 2).
    pub fn connection_group(&self, c: &Connection) -> Option<BillingGroupId> {
        c.outbound_voice_profile_id
            .as_ref()
            .and_then(|p| self.ovps.get(p))
            .and_then(|p| p.billing_group_id.clone())
    }

    /// Whether the connection or number is in the snapshot.
    pub fn source_exists(&self, source: &ServiceSource) -> bool {
        match source {
            ServiceSource::Connection(c) => self.connections.contains_key(c),
            ServiceSource::PhoneNumber(n) => self.numbers.contains_key(n),
        }
    }

    /// The stored service's id for `key`, else the id derived for it (rule 16).
    pub fn service_id(&self, key: &ServiceKey) -> ServiceId {
        match self.services.get(key) {
            Some(s) => s.id.clone(),
            None => identity::service(self.customer_dept, &key.0, &key.1, key.2),
        }
    }

    /// The stored service type `name` of `dept`.
    pub fn stored_type(
        &self,
        dept: &DepartmentId,
        name: ServiceTypeName,
    ) -> Option<&'a ServiceType> {
        self.input
            .state
            .service_types
            .iter()
            .find(|t| &t.department == dept && t.name == name)
    }
}
