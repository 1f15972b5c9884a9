//! Stage 7 — attribution (rule 15, docs/mapping-rules.md): every detail record is
//! stored under the billing department and customer, and tagged with the end customer
//! and service it belongs to — by a known `billing_group_id`, else `connection_id`,
//! else a known number (`cli` outbound, `cld` inbound). An unmatched record is still
//! stored, flagged and counted. A record naming none of them but a call's session or
//! leg id is given that call's connection first (by the walk, from the store's session
//! links), then matched by it (`MatchedBy::Session`).
//!
//! [`Attribution`] is computed once per plan and owns what it needs, so a streaming run
//! can attribute page after page with it without holding the plan's input.

use super::context::Customers;
use super::context::Desired;
use super::context::{Context, ServiceKey};
use crate::domain::{
    BillingGroupId, ConnectionId, CustomerId, DepartmentId, DetailRecord, Direction,
    ManagedAccountId, MatchedBy, PhoneNumberId, Service, ServiceId, ServiceSource, ServiceStatus,
    StoredDetailRecord,
};
use std::collections::{BTreeMap, BTreeSet};

/// What rule 15 matches records against, for one account after one plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    account: ManagedAccountId,
    billing_department: DepartmentId,
    /// The customer records are billed to when not to their end customer.
    billing_customer: Option<CustomerId>,
    /// Wholesale: every record is billed to the reseller, whatever it matched.
    wholesale: bool,
    by_group: BTreeMap<BillingGroupId, CustomerId>,
    by_conn: BTreeMap<ConnectionId, CustomerId>,
    /// Digits of a number → (number, its customer).
    by_number: BTreeMap<String, (PhoneNumberId, CustomerId)>,
    number_connection: BTreeMap<PhoneNumberId, ConnectionId>,
    /// Every service a record may belong to: stored (any status) or being created.
    services: BTreeMap<ServiceKey, ServiceId>,
}

/// Records attributed in one call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributed {
    /// Every distinct input record, in (record type, id) order.
    pub records: Vec<StoredDetailRecord>,
    /// Of `records`, those that matched no customer.
    pub unmatched: u64,
    /// Input records dropped as copies of an earlier one (same type and id).
    pub duplicates: u64,
}

/// Digits of a phone number, so `+1 312-555-0100` and `13125550100` compare equal.
fn number_key(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
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

/// The matching inputs a plan's earlier stages decided.
pub(super) struct Decided<'m> {
    pub customers: &'m Customers,
    pub conn_customer: &'m BTreeMap<ConnectionId, CustomerId>,
    pub number_customer: &'m BTreeMap<PhoneNumberId, CustomerId>,
    pub desired: &'m BTreeMap<ServiceKey, Desired>,
    /// Whether each stored child service is active once the plan is applied.
    pub active_after: &'m BTreeMap<ServiceId, bool>,
}

impl Attribution {
    pub(super) fn new(ctx: &Context<'_>, d: &Decided<'_>) -> Self {
        let mut services: BTreeMap<ServiceKey, ServiceId> = ctx
            .services
            .iter()
            .map(|(k, s)| (k.clone(), s.id.clone()))
            .collect();
        for (k, desired) in d.desired {
            services
                .entry(k.clone())
                .or_insert_with(|| desired.id.clone());
        }
        // Connection / number → customer, from Telnyx, else from stored services
        // (late records of a vanished connection still find their customer).
        let mut by_conn = d.conn_customer.clone();
        let mut by_number = BTreeMap::new();
        for (n, c) in d.number_customer {
            if let Some(num) = ctx.numbers.get(n) {
                by_number.insert(number_key(&num.phone_number), (n.clone(), c.clone()));
            }
        }
        let mut stored: Vec<&Service> = ctx.services.values().copied().collect();
        // Services active once this plan is applied win over ceased ones (judged after
        // the plan, so planning again after applying attributes the same way).
        stored.sort_by_key(|s| {
            !d.active_after
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
        let onboarding = ctx.input.onboarding;
        Self {
            account: ctx.account.clone(),
            billing_department: onboarding.billing_department().clone(),
            billing_customer: onboarding.billing_customer().cloned(),
            wholesale: ctx.wholesale.is_some(),
            by_group: d.customers.by_group.clone(),
            by_conn,
            by_number,
            number_connection: ctx
                .numbers
                .iter()
                .filter_map(|(n, num)| Some((n.clone(), num.connection_id.clone()?)))
                .collect(),
            services,
        }
    }

    /// Attributes `records`: each distinct (type, id) once, its first copy; in (record
    /// type, id) order. Pure: the same records always get the same tags.
    pub fn attribute<'r>(&self, records: impl IntoIterator<Item = &'r DetailRecord>) -> Attributed {
        let mut seen = BTreeSet::new();
        let mut out = Attributed::default();
        for r in records {
            if !seen.insert((r.record_type, r.id.clone())) {
                out.duplicates += 1;
                continue;
            }
            let stored = self.one(r);
            out.unmatched += u64::from(stored.matched_by == MatchedBy::Unmatched);
            out.records.push(stored);
        }
        out.records.sort_by(|a, b| {
            (a.record.record_type, &a.record.id).cmp(&(b.record.record_type, &b.record.id))
        });
        out
    }

    /// True when rule 15 finds the record's end customer (by billing group, connection
    /// or number).
    pub fn matches(&self, r: &DetailRecord) -> bool {
        self.matched(r).is_some()
    }

    fn service(
        &self,
        customer: &CustomerId,
        source: ServiceSource,
        r: &DetailRecord,
    ) -> Option<ServiceId> {
        let t = r.record_type.service_type();
        self.services.get(&(customer.clone(), source, t)).cloned()
    }

    /// The service of the number a record names, on `customer`.
    fn via_number(&self, customer: &CustomerId, r: &DetailRecord) -> Option<ServiceId> {
        number_of(r).into_iter().find_map(|(_, v)| {
            let (n, _) = self.by_number.get(&number_key(v))?;
            self.service(customer, ServiceSource::PhoneNumber(n.clone()), r)
        })
    }

    /// Rule 15's three ways, in order.
    fn matched(&self, r: &DetailRecord) -> Option<(MatchedBy, CustomerId, Option<ServiceId>)> {
        // 1. billing_group_id naming a known group.
        if let Some(c) = r
            .billing_group_id
            .as_deref()
            .and_then(|g| self.by_group.get(&BillingGroupId::new(g)))
        {
            let via_conn = r
                .connection_id
                .as_ref()
                .and_then(|cn| self.service(c, ServiceSource::Connection(cn.clone()), r));
            let svc = via_conn.or_else(|| self.via_number(c, r));
            return Some((MatchedBy::BillingGroup, c.clone(), svc));
        }
        // 2. connection_id.
        if let Some((cn, c)) = r
            .connection_id
            .as_ref()
            .and_then(|cn| self.by_conn.get(cn).map(|c| (cn, c)))
        {
            let svc = self.service(c, ServiceSource::Connection(cn.clone()), r);
            return Some((MatchedBy::Connection, c.clone(), svc));
        }
        // 3. a known number: cli outbound, cld inbound.
        number_of(r).into_iter().find_map(|(how, v)| {
            let (n, c) = self.by_number.get(&number_key(v))?;
            let svc = self
                .service(c, ServiceSource::PhoneNumber(n.clone()), r)
                .or_else(|| {
                    let cn = self.number_connection.get(n)?;
                    self.service(c, ServiceSource::Connection(cn.clone()), r)
                });
            Some((how, c.clone(), svc))
        })
    }

    fn one(&self, r: &DetailRecord) -> StoredDetailRecord {
        let (matched_by, end_customer, service) = match self.matched(r) {
            Some((m, c, s)) => (m, Some(c), s),
            None => (MatchedBy::Unmatched, None, None),
        };
        let billing_customer = if self.wholesale {
            self.billing_customer.clone()
        } else {
            end_customer
                .clone()
                .or_else(|| self.billing_customer.clone())
        };
        StoredDetailRecord {
            account: self.account.clone(),
            department: self.billing_department.clone(),
            billing_customer,
            end_customer,
            service,
            matched_by,
            record: r.clone(),
        }
    }
}
