//! A month's invoice lines as its stored records add up now, both levels in one pass
//! over the records (page by page), each line carrying the ids a billing system joins
//! on: account, department, customer, service (with its start and ceased days) and
//! service type.

use crate::billing::each_record;
use crate::billing::rollup::{Level, Sums};
use crate::domain::{
    BillingMonth, CustomerId, DepartmentId, Onboarding, ServiceId, ServiceTypeName,
    StoredDetailRecord, StoredState,
};
use crate::ports::{InvoiceLine, LineKind, LineSums, PortResult, Store, TimeWindow};
use std::collections::BTreeMap;

/// Where a line sits: the same key means the same line in two months or versions.
pub(crate) type LineKey = (
    Level,
    DepartmentId,
    Option<CustomerId>,
    Option<ServiceId>,
    ServiceTypeName,
);

/// The key of a line.
pub(crate) fn key_of(line: &InvoiceLine) -> LineKey {
    (
        line.level,
        line.department.clone(),
        line.customer.clone(),
        line.service.clone(),
        line.service_type,
    )
}

/// Names, departments, twins and service days of an account's stored state.
pub(crate) struct Directory<'s> {
    onboarding: &'s Onboarding,
    state: &'s StoredState,
    twins: BTreeMap<&'s ServiceId, &'s ServiceId>,
}

impl<'s> Directory<'s> {
    pub fn new(onboarding: &'s Onboarding, state: &'s StoredState) -> Self {
        let twins = state
            .services
            .iter()
            .filter_map(|s| Some((s.twin_of.as_ref()?, &s.id)))
            .collect();
        Self {
            onboarding,
            state,
            twins,
        }
    }

    /// The reseller-level service of a record's service (its wholesale twin, if any).
    pub fn billed_service(&self, service: Option<&ServiceId>) -> Option<ServiceId> {
        service.map(|s| (*self.twins.get(s).unwrap_or(&s)).clone())
    }

    /// The department of the end customer (the onboarding's customer department when
    /// the customer is unknown).
    pub fn customer_department(&self, customer: Option<&CustomerId>) -> DepartmentId {
        customer
            .and_then(|id| self.state.customers.iter().find(|c| &c.id == id))
            .map_or_else(
                || self.onboarding.customer_department().clone(),
                |c| c.department.clone(),
            )
    }

    /// The line key a record falls on at `level`.
    pub fn key(&self, level: Level, r: &StoredDetailRecord) -> LineKey {
        let t = r.record_type().service_type();
        match level {
            Level::Reseller => (
                level,
                r.department.clone(),
                r.billing_customer.clone(),
                self.billed_service(r.service.as_ref()),
                t,
            ),
            Level::Customer => (
                level,
                self.customer_department(r.end_customer.as_ref()),
                r.end_customer.clone(),
                r.service.clone(),
                t,
            ),
        }
    }

    /// A line at `key` summing `sums`, named from the state.
    pub fn line(&self, key: LineKey, kind: LineKind, sums: LineSums) -> InvoiceLine {
        let (level, department, customer, service, service_type) = key;
        let customer_name = match &customer {
            Some(id) => self
                .state
                .customers
                .iter()
                .find(|c| &c.id == id)
                .map_or_else(|| id.to_string(), |c| c.company_name.clone()),
            None => "(no customer: unmatched)".to_owned(),
        };
        let stored = service
            .as_ref()
            .and_then(|id| self.state.services.iter().find(|s| &s.id == id));
        InvoiceLine {
            level,
            kind,
            account: self.onboarding.account.clone(),
            department,
            customer,
            customer_name,
            service_label: match (&service, stored) {
                (_, Some(s)) => s.label.clone(),
                (Some(id), None) => id.to_string(),
                (None, _) => "(no service)".to_owned(),
            },
            service,
            service_type,
            service_started_on: stored.and_then(|s| s.started_on),
            service_ceased_on: stored.and_then(|s| s.ceased_on()),
            sums,
        }
    }
}

/// Every line of `month` at both levels (reseller first), from the stored records.
pub async fn current_lines(
    store: &dyn Store,
    onboarding: &Onboarding,
    state: &StoredState,
    month: BillingMonth,
) -> PortResult<Vec<InvoiceLine>> {
    let directory = Directory::new(onboarding, state);
    let partitions = super::super::partitions(onboarding, state);
    let window = TimeWindow {
        from: month.start(),
        to: month.end(),
    };
    let mut sums: BTreeMap<LineKey, Sums> = BTreeMap::new();
    each_record(store, &onboarding.account, &partitions, window, |r| {
        for level in [Level::Reseller, Level::Customer] {
            sums.entry(directory.key(level, r)).or_default().add(r);
        }
    })
    .await?;
    Ok(sums
        .into_iter()
        .map(|(key, s)| directory.line(key, LineKind::Usage, LineSums::from(&s)))
        .collect())
}

impl From<&Sums> for LineSums {
    fn from(s: &Sums) -> Self {
        let mut out = LineSums {
            records: s.records as i64,
            quantity: s.quantity.clone(),
            cost: s.cost.clone(),
            hidden_pricing: s.hidden_pricing as i64,
            records_by_type: s
                .records_by_type
                .iter()
                .map(|(t, n)| (*t, *n as i64))
                .collect(),
        };
        out.tidy();
        out
    }
}
