//! The two invoices of one billing month, computed from the stored records at read
//! time (docs/audit.md "Invoices"):
//!
//! - **reseller** level: what the operator bills each billing (reseller) customer, per
//!   wholesale twin service (the reseller-side copy of the end customer's service) and
//!   service type;
//! - **customer** level: what the reseller bills each end customer, per service and
//!   service type.
//!
//! Both sum the same records, so their totals are equal. Exactly once by construction:
//! a record is one stored item keyed by (account, type, Telnyx id), read once here, so
//! a re-import, a retry, a killed run or two concurrent workers cannot count it twice,
//! and a re-attribution moves it from "unmatched" to its customer without counting it
//! again. Cost is summed as exact decimals per currency; records with hidden pricing
//! are counted on their own, never as zero cost.

use super::{each_record, month_of};
use crate::domain::{
    CustomerId, Onboarding, RecordType, ServiceId, ServiceTypeName, StoredDetailRecord, StoredState,
};
use crate::ports::{BillingPartition, PortResult, Store, TimeWindow};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

pub use crate::domain::Level;

/// What one line sums.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sums {
    pub records: u64,
    /// Usage by unit (`seconds`, `parts`, `characters`, `bytes`, `records`).
    pub quantity: BTreeMap<String, Decimal>,
    /// Exact cost per currency (records with a cost only).
    pub cost: BTreeMap<String, Decimal>,
    /// Records whose pricing is hidden: counted, never costed as zero.
    pub hidden_pricing: u64,
    /// Records per detail-record type (a service type can gather several: conference
    /// and its participants), so an invoice can be set beside the audit type by type.
    pub records_by_type: BTreeMap<RecordType, u64>,
}

impl Sums {
    /// Adds one record.
    pub fn add(&mut self, r: &StoredDetailRecord) {
        self.records += 1;
        let t = r.record_type();
        *self.records_by_type.entry(t).or_default() += 1;
        let unit = t.quantity_unit();
        let q = if unit == "records" {
            Decimal::ONE
        } else {
            r.record.billed_quantity.unwrap_or_default()
        };
        *self.quantity.entry(unit.to_owned()).or_default() += q;
        match r.record.cost {
            Some(c) => {
                let currency = r.record.currency.clone().unwrap_or_else(|| "USD".into());
                *self.cost.entry(currency).or_default() += c;
            }
            None => self.hidden_pricing += 1,
        }
    }

    /// Adds another line's sums.
    pub fn merge(&mut self, o: &Sums) {
        self.records += o.records;
        self.hidden_pricing += o.hidden_pricing;
        for (t, n) in &o.records_by_type {
            *self.records_by_type.entry(*t).or_default() += n;
        }
        for (k, v) in &o.quantity {
            *self.quantity.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.cost {
            *self.cost.entry(k.clone()).or_default() += v;
        }
    }
}

/// One invoice line: a customer's service of one service type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub customer: Option<CustomerId>,
    pub customer_name: String,
    pub service: Option<ServiceId>,
    pub service_label: String,
    pub service_type: ServiceTypeName,
    pub sums: Sums,
}

/// One invoice of one account and month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invoice {
    pub level: Level,
    /// `2026-11`.
    pub month: String,
    pub lines: Vec<Line>,
    pub total: Sums,
}

/// The month `2026-11` as a window.
pub fn month_window(year: i32, month: u32) -> Option<TimeWindow> {
    let from = Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single()?;
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let to = Utc.with_ymd_and_hms(ny, nm, 1, 0, 0, 0).single()?;
    Some(TimeWindow { from, to })
}

type LineKey = (Option<CustomerId>, Option<ServiceId>, ServiceTypeName);

/// The invoice line a record falls on at `level`.
fn key_of(level: Level, r: &StoredDetailRecord, twins: &BTreeMap<ServiceId, ServiceId>) -> LineKey {
    let t = r.record_type().service_type();
    match level {
        Level::Reseller => (
            r.billing_customer.clone(),
            r.service
                .as_ref()
                .map(|s| twins.get(s).cloned().unwrap_or_else(|| s.clone())),
            t,
        ),
        Level::Customer => (r.end_customer.clone(), r.service.clone(), t),
    }
}

/// The invoice of `onboarding`'s account for the month starting at `month` (any
/// instant in it), at `level`, from the stored records.
pub async fn invoice(
    store: &dyn Store,
    onboarding: &Onboarding,
    month: DateTime<Utc>,
    level: Level,
) -> PortResult<Invoice> {
    let state = store.load_state(onboarding).await?;
    let partitions = super::partitions(onboarding, &state);
    invoice_from(store, onboarding, &state, &partitions, month, level).await
}

/// [`invoice`] with the state and partitions already read.
async fn invoice_from(
    store: &dyn Store,
    onboarding: &Onboarding,
    state: &StoredState,
    partitions: &[BillingPartition],
    month: DateTime<Utc>,
    level: Level,
) -> PortResult<Invoice> {
    let start = month_of(month);
    let window = month_window(start.year(), start.month()).unwrap_or(TimeWindow {
        from: start,
        to: start,
    });
    let twins: BTreeMap<ServiceId, ServiceId> = state
        .services
        .iter()
        .filter_map(|s| Some((s.twin_of.clone()?, s.id.clone())))
        .collect();
    let mut lines: BTreeMap<LineKey, Sums> = BTreeMap::new();
    each_record(store, &onboarding.account, partitions, window, |r| {
        lines.entry(key_of(level, r, &twins)).or_default().add(r);
    })
    .await?;
    let name_of = |c: &Option<CustomerId>| match c {
        Some(id) => state
            .customers
            .iter()
            .find(|x| &x.id == id)
            .map_or_else(|| id.to_string(), |x| x.company_name.clone()),
        None => "(no customer: unmatched)".to_owned(),
    };
    let label_of = |s: &Option<ServiceId>| match s {
        Some(id) => state
            .services
            .iter()
            .find(|x| &x.id == id)
            .map_or_else(|| id.to_string(), |x| x.label.clone()),
        None => "(no service)".to_owned(),
    };
    let mut total = Sums::default();
    let lines = lines
        .into_iter()
        .map(|((customer, service, service_type), sums)| {
            total.merge(&sums);
            Line {
                customer_name: name_of(&customer),
                service_label: label_of(&service),
                customer,
                service,
                service_type,
                sums,
            }
        })
        .collect();
    Ok(Invoice {
        level,
        month: start.format("%Y-%m").to_string(),
        lines,
        total,
    })
}

/// The sums of `records` of one account and month, brute force (for tests and checks).
pub fn brute_total<'r>(
    records: impl IntoIterator<Item = &'r StoredDetailRecord>,
    month: DateTime<Utc>,
) -> Sums {
    let start = month_of(month);
    let mut sums = Sums::default();
    for r in records {
        if month_of(r.record.occurred_at) == start {
            sums.add(r);
        }
    }
    sums
}
