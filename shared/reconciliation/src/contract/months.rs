//! The `MonthStore` part of the store contract: a month's change counter bumped by
//! every record write and re-attribution touching it; a close committed once per
//! version with its log entry; frozen lines read back in order and never rewritten
//! once committed; a reopen that is conditional and logged. Run by
//! [`super::store::check_store`].

use super::{Check, ensure, port};
use crate::billing::rollup::Level;
use crate::domain::{
    BillingMonth, CustomerId, DepartmentId, DetailRecord, DetailRecordId, ManagedAccountId,
    MatchedBy, RawRecord, RecordType, ServiceTypeName, StoredDetailRecord,
};
use crate::ports::{InvoiceLine, LineKind, LineSums, MonthEvent, MonthState, MonthStatus, Store};
use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

fn month(text: &str) -> BillingMonth {
    text.parse()
        .unwrap_or_else(|_| BillingMonth::of(Utc::now()))
}

fn day(m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, m, d, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn record(account: &ManagedAccountId, id: &str, at: DateTime<Utc>) -> StoredDetailRecord {
    StoredDetailRecord {
        account: account.clone(),
        department: DepartmentId::new("dept-billing"),
        billing_customer: Some(CustomerId::new("cus-reseller")),
        end_customer: None,
        service: None,
        matched_by: MatchedBy::Unmatched,
        record: DetailRecord {
            record_type: RecordType::Tts,
            id: DetailRecordId::new(id),
            occurred_at: at,
            connection_id: None,
            billing_group_id: None,
            cli: None,
            cld: None,
            direction: None,
            cost: Some(Decimal::new(17, 5)),
            rate: None,
            currency: Some("USD".into()),
            billed_quantity: Some(Decimal::from(12)),
            sessions: vec![format!("sess-{id}")],
            raw: RawRecord::null(),
        },
    }
}

async fn counters(store: &dyn Store, account: &ManagedAccountId) -> Result<(u64, u64), String> {
    let nov = port(
        "month_changes",
        store.month_changes(account, month("2026-11")).await,
    )?;
    let dec = port(
        "month_changes",
        store.month_changes(account, month("2026-12")).await,
    )?;
    Ok((nov, dec))
}

/// Every record write and re-attribution bumps the months it touches, once per call,
/// before it writes (a duplicate bumps too: it may finish a write a kill cut short).
pub(super) async fn change_counters(store: &dyn Store, account: &ManagedAccountId) -> Check {
    ensure!(
        counters(store, account).await? == (0, 0),
        "a month never written has a change counter of 0"
    );
    let batch = vec![
        record(account, "m-1", day(11, 3)),
        record(account, "m-2", day(11, 30)),
        record(account, "m-3", day(12, 1)),
    ];
    port("put_detail_records", store.put_detail_records(&batch).await)?;
    let after_one = counters(store, account).await?;
    ensure!(
        after_one == (1, 1),
        "one call with two November records and one December record: {after_one:?}, expected (1, 1)"
    );
    port(
        "put_detail_records",
        store.put_detail_records(&batch[..1]).await,
    )?;
    port(
        "put_new_detail_records",
        store.put_new_detail_records(&batch[2..]).await,
    )?;
    let after_more = counters(store, account).await?;
    ensure!(
        after_more == (2, 2),
        "a re-import and a write of new records bump too: {after_more:?}, expected (2, 2)"
    );
    let mut linked = batch[1].clone();
    linked.matched_by = MatchedBy::Session;
    linked.end_customer = Some(CustomerId::new("cus-end"));
    port("reattribute", store.reattribute(&linked).await)?;
    let after_link = counters(store, account).await?;
    ensure!(
        after_link == (3, 2),
        "a re-attribution bumps its record's month: {after_link:?}, expected (3, 2)"
    );
    Ok(())
}

fn line(account: &ManagedAccountId, level: Level, n: i64) -> InvoiceLine {
    InvoiceLine {
        level,
        kind: LineKind::Usage,
        account: account.clone(),
        department: DepartmentId::new("dept-billing"),
        customer: Some(CustomerId::new(format!("cus-{n}"))),
        customer_name: format!("Customer {n}"),
        service: None,
        service_label: "(no service)".into(),
        service_type: ServiceTypeName::Tts,
        service_started_on: chrono::NaiveDate::from_ymd_opt(2026, 10, 2),
        service_ceased_on: None,
        sums: LineSums {
            records: n,
            quantity: BTreeMap::from([("characters".to_owned(), Decimal::new(12_345, 2))]),
            cost: BTreeMap::from([("USD".to_owned(), Decimal::new(1_234_567, 7))]),
            hidden_pricing: 0,
            records_by_type: BTreeMap::from([(RecordType::Tts, n)]),
        },
    }
}

fn closed(account: &ManagedAccountId, version: u32, lines: (u32, u32)) -> (MonthState, MonthEvent) {
    let m = month("2026-11");
    let state = MonthState {
        account: account.clone(),
        month: m,
        status: MonthStatus::Closed,
        version,
        closed_at: day(12, 2 + version),
        changes_seen: 7,
        lines: BTreeMap::from([(Level::Reseller, lines.0), (Level::Customer, lines.1)]),
        accepted: Vec::new(),
        unproven: Vec::new(),
        note: Some("month end".into()),
        carried: BTreeMap::from([(month("2026-10"), 3)]),
        reopened_at: None,
    };
    let event = MonthEvent {
        account: account.clone(),
        month: m,
        at: state.closed_at,
        action: MonthStatus::Closed,
        version,
        by: "contract".into(),
        note: state.note.clone(),
        accepted: Vec::new(),
    };
    (state, event)
}

/// A close commits once per version, atomically with its log entry; its lines read
/// back in order, only the version's first `n`, never rewritten once committed; a
/// reopen is conditional on the version and logged.
pub(super) async fn closes(store: &dyn Store, account: &ManagedAccountId) -> Check {
    let m = month("2026-11");
    let v1 = vec![
        line(account, Level::Reseller, 1),
        line(account, Level::Reseller, 2),
        line(account, Level::Customer, 3),
    ];
    port(
        "put_invoice_lines",
        store.put_invoice_lines(account, m, 1, &v1).await,
    )?;
    let (state, event) = closed(account, 1, (2, 1));
    ensure!(
        port("commit_close", store.commit_close(&state, &event).await)?,
        "the first close of a month commits"
    );
    ensure!(
        !port("commit_close", store.commit_close(&state, &event).await)?,
        "a second close of the same version is refused"
    );
    let states = port("month_states", store.month_states(account).await)?;
    ensure!(states == vec![state.clone()], "month_states: {states:?}");
    let rewrite = vec![line(account, Level::Reseller, 9)];
    port(
        "put_invoice_lines",
        store.put_invoice_lines(account, m, 1, &rewrite).await,
    )?;
    let read = port(
        "invoice_lines",
        store.invoice_lines(account, m, 1, Level::Reseller, 2).await,
    )?;
    ensure!(
        read == v1[..2],
        "reseller lines of v1 after a rewrite attempt: {read:?}"
    );
    let first = port(
        "invoice_lines",
        store.invoice_lines(account, m, 1, Level::Reseller, 1).await,
    )?;
    ensure!(first == v1[..1], "the first line only: {first:?}");
    let mut reopen = event.clone();
    reopen.action = MonthStatus::Open;
    // Between the two closes (v1 at 03:00, v2 at 04:00): the log reads in time order.
    reopen.at = event.at + chrono::Duration::minutes(30);
    reopen.version = 2;
    ensure!(
        !port("reopen", store.reopen(&reopen).await)?,
        "a reopen naming a version that is not closed is refused"
    );
    reopen.version = 1;
    ensure!(
        port("reopen", store.reopen(&reopen).await)?,
        "a reopen of the closed version is done"
    );
    let states = port("month_states", store.month_states(account).await)?;
    ensure!(
        states.first().map(|s| (s.status, s.reopened_at))
            == Some((MonthStatus::Open, Some(reopen.at))),
        "reopened: {states:?}"
    );
    let (v2, v2_event) = closed(account, 2, (0, 0));
    ensure!(
        port("commit_close", store.commit_close(&v2, &v2_event).await)?,
        "a reopened month closes again as version 2"
    );
    let events = port("month_events", store.month_events(account, m).await)?;
    let actions: Vec<(MonthStatus, u32)> = events.iter().map(|e| (e.action, e.version)).collect();
    ensure!(
        actions
            == vec![
                (MonthStatus::Closed, 1),
                (MonthStatus::Open, 1),
                (MonthStatus::Closed, 2)
            ],
        "the month's log: {actions:?}"
    );
    Ok(())
}
