//! Billing you can prove: what the stored records add up to, read back from the store
//! by billing partition and time (never held whole in memory).
//!
//! - [`audit`]: the completeness audit — stored records against Telnyx's usage report
//!   per account × record type × day.
//! - [`rollup`]: the two invoices of a billing month — per reseller customer (what the
//!   operator bills the reseller) and per end customer (what the reseller bills its
//!   customers), computed from the stored records at read time, so a record counts
//!   exactly when it is stored, once, whatever retries, kills or concurrent workers did.
//! - [`close`]: a month's lifecycle per account — open, then closed with both invoices
//!   frozen; later changes billed as adjustments in the next open month.
//! - [`export`]: records and invoices of a month as CSV or JSON Lines, streamed.

pub mod audit;
pub mod close;
pub mod export;
pub mod rollup;

use crate::domain::{Onboarding, StoredDetailRecord, StoredState};
use crate::ports::{BillingPartition, BillingStore, PortResult, TimeWindow};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

/// Every partition an account's records can be billed in: the reseller's in wholesale
/// mode; in direct mode each of the account's customers, the billing customer, and the
/// unbilled partition.
pub fn partitions(onboarding: &Onboarding, state: &StoredState) -> Vec<BillingPartition> {
    let department = onboarding.billing_department().clone();
    let mut customers: Vec<Option<_>> = vec![onboarding.billing_customer().cloned()];
    if matches!(onboarding.mode, crate::domain::BillingMode::Direct { .. }) {
        customers.extend(
            state
                .customers
                .iter()
                .filter(|c| {
                    c.account.as_ref() == Some(&onboarding.account) && c.department == department
                })
                .map(|c| Some(c.id.clone())),
        );
        customers.push(None);
    }
    customers.sort();
    customers.dedup();
    customers
        .into_iter()
        .map(|customer| BillingPartition {
            department: department.clone(),
            customer,
        })
        .collect()
}

/// The start of the UTC month holding `t`.
pub fn month_of(t: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(t)
}

/// The first instant of `day` (UTC).
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// `window` cut at month boundaries (the store's partitions are monthly).
fn by_month(window: TimeWindow) -> Vec<TimeWindow> {
    let mut out = Vec::new();
    let mut from = window.from;
    while from < window.to {
        let start = month_of(from);
        let next = rollup::month_window(start.year(), start.month()).map_or(window.to, |m| m.to);
        let to = next.min(window.to);
        out.push(TimeWindow { from, to });
        from = to;
    }
    out
}

/// Calls `f` with every stored record of `account` billed in `partitions` whose time
/// lies in `window`, page by page (memory holds one page).
pub async fn each_record(
    store: &dyn BillingStore,
    account: &crate::domain::ManagedAccountId,
    partitions: &[BillingPartition],
    window: TimeWindow,
    mut f: impl FnMut(&StoredDetailRecord),
) -> PortResult<()> {
    for partition in partitions {
        for month in by_month(window) {
            let mut after: Option<String> = None;
            loop {
                let page = store
                    .billed_page(partition, month, after.as_deref())
                    .await?;
                for r in page.records.iter().filter(|r| &r.account == account) {
                    f(r);
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
    }
    Ok(())
}
