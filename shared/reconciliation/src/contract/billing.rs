//! The `BillingStore` part of the store contract: partitions read back by time in
//! pages, session links, orphans and a reattribution that happens once, audit verdicts
//! by day range, found time fields. Run by [`super::store::check_store`].

use super::{Check, at, ensure, port};
use crate::domain::{
    ConnectionId, CustomerId, DepartmentId, DetailRecord, DetailRecordId, ManagedAccountId,
    MatchedBy, RawRecord, RecordType, ServiceId, StoredDetailRecord,
};
use crate::ports::{
    AuditDay, AuditFigures, AuditVerdict, BillingPartition, SessionLink, Store, TimeWindow,
};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeSet;

fn stored(
    account: &ManagedAccountId,
    dept: &DepartmentId,
    id: &str,
    occurred_at: DateTime<Utc>,
) -> StoredDetailRecord {
    StoredDetailRecord {
        account: account.clone(),
        department: dept.clone(),
        billing_customer: Some(CustomerId::new(format!("cus-reseller-{dept}"))),
        end_customer: None,
        service: None,
        matched_by: MatchedBy::Unmatched,
        record: DetailRecord {
            record_type: RecordType::Tts,
            id: DetailRecordId::new(id),
            occurred_at,
            connection_id: None,
            billing_group_id: None,
            cli: None,
            cld: None,
            direction: None,
            cost: Some(Decimal::new(17, 5)),
            rate: None,
            currency: Some("USD".into()),
            billed_quantity: Some(Decimal::from(120)),
            sessions: vec![format!("sess-{id}")],
            raw: RawRecord::from_value(&serde_json::json!({ "call_leg_id": id })),
        },
    }
}

/// Partitions read back by time, oldest first, every record once across pages, only
/// the window's, only the partition's.
pub(super) async fn billed_pages(
    store: &dyn Store,
    account: &ManagedAccountId,
    dept: &DepartmentId,
) -> Check {
    let records: Vec<StoredDetailRecord> = (0..40)
        .map(|i| stored(account, dept, &format!("b-{i:02}"), at(-(i as i64))))
        .collect();
    port(
        "put_detail_records",
        store.put_detail_records(&records).await,
    )?;
    let partition = BillingPartition {
        department: dept.clone(),
        customer: records[0].billing_customer.clone(),
    };
    let window = TimeWindow {
        from: at(-30),
        to: at(-5),
    };
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = port(
            "billed_page",
            store
                .billed_page(&partition, window, after.as_deref())
                .await,
        )?;
        ensure!(
            page.records.iter().all(|r| r.record.raw.is_null()),
            "a billed page carried raw JSON"
        );
        seen.extend(page.records.iter().map(|r| r.record.id.as_str().to_owned()));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    // Hours -29..=-5 are in [at(-30), at(-5)): ids b-06 .. b-29 (b-30 is at -30: in).
    let expected: Vec<String> = (6..=30).rev().map(|i| format!("b-{i:02}")).collect();
    ensure!(
        seen == expected,
        "read back {seen:?}, expected {expected:?} (oldest first)"
    );
    let other = BillingPartition {
        department: dept.clone(),
        customer: None,
    };
    let none = port("billed_page", store.billed_page(&other, window, None).await)?;
    ensure!(
        none.records.is_empty(),
        "another partition returned {} records",
        none.records.len()
    );
    Ok(())
}

/// Links read back for known sessions only; an orphan is reattributed once and gone.
pub(super) async fn sessions_and_orphans(
    store: &dyn Store,
    account: &ManagedAccountId,
    dept: &DepartmentId,
) -> Check {
    let links = [
        SessionLink {
            session: "s-1".into(),
            connection: ConnectionId::new("conn-1"),
        },
        SessionLink {
            session: "s-2".into(),
            connection: ConnectionId::new("conn-2"),
        },
    ];
    port(
        "put_session_links",
        store.put_session_links(account, &links).await,
    )?;
    port(
        "put_session_links",
        store.put_session_links(account, &links[..1]).await,
    )?;
    let asked = [
        "s-2".to_owned(),
        "s-9".to_owned(),
        "s-1".to_owned(),
        "s-1".to_owned(),
    ];
    let found = port("session_links", store.session_links(account, &asked).await)?;
    ensure!(found == links.to_vec(), "links read back {found:?}");
    let other = ManagedAccountId::new(format!("{account}-other"));
    let none = port("session_links", store.session_links(&other, &asked).await)?;
    ensure!(none.is_empty(), "another account's links: {none:?}");

    let orphan = stored(account, dept, "o-1", at(-2));
    port(
        "put_detail_records",
        store
            .put_detail_records(std::slice::from_ref(&orphan))
            .await,
    )?;
    port(
        "put_orphans",
        store.put_orphans(std::slice::from_ref(&orphan)).await,
    )?;
    let waiting = port("orphans", store.orphans(account, 10).await)?;
    ensure!(
        waiting.len() == 1
            && waiting[0].record.id == orphan.record.id
            && waiting[0].record.sessions == orphan.record.sessions,
        "orphans read back {waiting:?}"
    );
    let mut linked = waiting[0].clone();
    linked.matched_by = MatchedBy::Session;
    linked.end_customer = Some(CustomerId::new("cus-end"));
    linked.service = Some(ServiceId::new("svc-end"));
    linked.record.connection_id = Some(ConnectionId::new("conn-1"));
    let first = port("reattribute", store.reattribute(&linked).await)?;
    let second = port("reattribute", store.reattribute(&linked).await)?;
    ensure!(
        first && !second,
        "reattribute twice returned {first}, {second} (true then false)"
    );
    let left = port("orphans", store.orphans(account, 10).await)?;
    ensure!(
        left.is_empty(),
        "orphans left after linking: {}",
        left.len()
    );
    let partition = BillingPartition {
        department: dept.clone(),
        customer: orphan.billing_customer.clone(),
    };
    let window = TimeWindow {
        from: at(-3),
        to: at(-1),
    };
    let page = port(
        "billed_page",
        store.billed_page(&partition, window, None).await,
    )?;
    let back = page
        .records
        .iter()
        .find(|r| r.record.id == orphan.record.id);
    ensure!(
        back.is_some_and(|r| r.matched_by == MatchedBy::Session
            && r.end_customer == linked.end_customer
            && r.service == linked.service
            && r.record.connection_id == linked.record.connection_id
            && r.record.cost == orphan.record.cost),
        "the linked record reads back as {back:?}"
    );
    Ok(())
}

/// Verdicts are replaced per day and type and read back by day range; time fields per type.
pub(super) async fn audits(store: &dyn Store, account: &ManagedAccountId) -> Check {
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default();
    let verdict = |d: u32, t: RecordType, v: AuditVerdict| AuditDay {
        account: account.clone(),
        record_type: t,
        day: day(d),
        verdict: v,
        telnyx: AuditFigures {
            count: 3,
            quantity: Some(Decimal::from(180)),
            cost: Some(Decimal::new(36, 3)),
            hidden_pricing: 0,
        },
        stored: AuditFigures {
            count: 2,
            quantity: Some(Decimal::from(120)),
            cost: None,
            hidden_pricing: 2,
        },
        cost_compared: false,
        settled: d < 22,
        checked_at: at(0),
        product: "text-to-speech".into(),
        count_metric: "count".into(),
        rewalk: (d == 20).then(|| crate::ports::Rewalk {
            at: at(1),
            read: 3,
            stored: 1,
        }),
    };
    let days = [
        verdict(20, RecordType::Tts, AuditVerdict::Clean),
        verdict(21, RecordType::Tts, AuditVerdict::Mismatch),
        verdict(21, RecordType::Messaging, AuditVerdict::Clean),
        verdict(22, RecordType::Tts, AuditVerdict::Mismatch),
    ];
    port("put_audit_days", store.put_audit_days(&days).await)?;
    port(
        "put_audit_days",
        store
            .put_audit_days(&[verdict(21, RecordType::Tts, AuditVerdict::Clean)])
            .await,
    )?;
    let back = port(
        "audit_days",
        store.audit_days(account, day(21), day(21)).await,
    )?;
    let got: BTreeSet<(RecordType, AuditVerdict)> =
        back.iter().map(|d| (d.record_type, d.verdict)).collect();
    let want: BTreeSet<_> = [
        (RecordType::Messaging, AuditVerdict::Clean),
        (RecordType::Tts, AuditVerdict::Clean),
    ]
    .into();
    ensure!(back.len() == 2 && got == want, "day 21 reads back {back:?}");
    ensure!(
        back.iter()
            .all(|d| d.telnyx == days[0].telnyx && d.stored == days[0].stored),
        "figures changed: {back:?}"
    );
    let rewalked = port(
        "audit_days",
        store.audit_days(account, day(20), day(20)).await,
    )?;
    ensure!(
        rewalked == vec![days[0].clone()],
        "a re-walked day reads back as {rewalked:?}"
    );
    let all = port(
        "audit_days",
        store.audit_days(account, day(1), day(30)).await,
    )?;
    ensure!(
        all.len() == 4,
        "the month reads back {} verdicts",
        all.len()
    );

    Ok(())
}
