//! The `TelnyxApi` contract: what the product relies on from Telnyx, checked against any
//! implementation — the in-memory fake and the real client against the simulator — so
//! the core's fast tests cannot pass on a Telnyx kinder than the one the client meets.
//!
//! The implementation under test holds one account with [`ContractWorld::records`]
//! (each one's Telnyx row is [`ContractWorld::row`], for a simulator's scenario), a key
//! for it, the manager key, and a key it refuses.

use super::{ContractReport, ensure, port};
use crate::domain::sums;
use crate::domain::{ManagedAccountId, RecordType};
use crate::ports::{ApiKey, RecordQuery, TelnyxApi, TimeWindow, UsageRequest, UsageRow};
use crate::usage::{evidence, shape};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub const WALK: &str =
    "a walk returns every record of its window once, newest first, at most 50 a page";
pub const WRONG_FIELD: &str = "a window on a field the type does not carry returns no record";
pub const REPORT_SUMS: &str = "for every auditable type the learned options offer, the report's count equals the records and its usage and cost their sums (within the double noise)";
pub const REPORT_BY_DATE: &str = "a report with the `date` dimension gives each day its own rows";
pub const ACROSS_ACCOUNTS: &str = "the manager key's report across accounts names the account";
pub const INVALID_METRIC: &str = "a metric the product does not offer is a permanent error";
pub const REFUSED_KEY: &str = "a refused key is a permanent error marked as the key's";
pub const NEWEST_ROWS: &str = "the newest rows carry the type's time field";

/// The names of the checks, in the order they run.
pub const CHECKS: &[&str] = &[
    WALK,
    WRONG_FIELD,
    REPORT_SUMS,
    REPORT_BY_DATE,
    ACROSS_ACCOUNTS,
    INVALID_METRIC,
    REFUSED_KEY,
    NEWEST_ROWS,
];

/// One record the implementation under test holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractRecord {
    pub record_type: RecordType,
    pub id: String,
    pub at: DateTime<Utc>,
    /// The billed quantity (in the type's first quantity field).
    pub quantity: Decimal,
    /// The cost (in the type's cost field).
    pub cost: Decimal,
}

/// The data and keys of the contract.
#[derive(Debug, Clone)]
pub struct ContractWorld {
    pub account: ManagedAccountId,
    pub key: ApiKey,
    pub master: ApiKey,
    pub refused: ApiKey,
    pub records: Vec<ContractRecord>,
    /// The window every check reads (three whole days).
    pub window: TimeWindow,
}

/// The types of the data set: legs counted by `attempted`, messaging keyed by `uuid`,
/// verify's own cost field, wireless without a count, participants without a product.
const TYPES: [RecordType; 5] = [
    RecordType::SipTrunking,
    RecordType::Messaging,
    RecordType::Verify,
    RecordType::Wireless,
    RecordType::ConferenceParticipant,
];

impl ContractWorld {
    /// The data set for `account`: 60 sip-trunking legs (two pages) and 7 records of each
    /// other type over 2026-11-20..22, costs chosen to sum with binary-double noise.
    pub fn new(account: &str, key: &str, master: &str, refused: &str) -> Self {
        let from = Utc
            .with_ymd_and_hms(2026, 11, 20, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let costs = [
            "0.050065",
            "0.028490",
            "0.055427",
            "0.003906",
            "0.069257",
            "0.029157",
            "0.0001666",
        ];
        let mut records = Vec::new();
        for (k, &t) in TYPES.iter().enumerate() {
            let n = if t == RecordType::SipTrunking { 60 } else { 7 };
            for i in 0..n {
                records.push(ContractRecord {
                    record_type: t,
                    id: format!("{}-{i:03}", t.filter_name()),
                    at: from + Duration::minutes(61 * i as i64 + 7 * k as i64 + 1),
                    quantity: Decimal::from(60 * (i as i64 % 4)),
                    cost: costs[i % costs.len()].parse().unwrap_or_default(),
                });
            }
        }
        Self {
            account: ManagedAccountId::new(account),
            key: ApiKey::new(key),
            master: ApiKey::new(master),
            refused: ApiKey::new(refused),
            records,
            window: TimeWindow {
                from,
                to: from + Duration::days(3),
            },
        }
    }

    /// `r` as Telnyx's JSON row: its id and time fields, quantity and cost in the type's
    /// own fields, one attempt per call leg.
    pub fn row(r: &ContractRecord) -> Value {
        let t = r.record_type;
        let id_field = if t == RecordType::Messaging {
            "uuid"
        } else {
            "id"
        };
        let mut row = json!({
            id_field: r.id,
            t.time_field(): r.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            t.cost_field(): r.cost.to_string(),
            "currency": "USD",
        });
        let fields = t.quantity_fields();
        for (i, field) in fields.iter().enumerate() {
            row[*field] = json!(if i == 0 { r.quantity } else { Decimal::ZERO });
        }
        if t == RecordType::SipTrunking {
            row["attempted"] = json!(1);
        }
        row
    }

    /// The records as an implementation that holds normalized records keeps them.
    pub fn detail_records(&self) -> Vec<crate::domain::DetailRecord> {
        self.records
            .iter()
            .map(|r| crate::domain::DetailRecord {
                record_type: r.record_type,
                id: r.id.as_str().into(),
                occurred_at: r.at,
                connection_id: None,
                billing_group_id: None,
                cli: None,
                cld: None,
                direction: None,
                cost: Some(r.cost),
                rate: None,
                currency: Some("USD".into()),
                billed_quantity: (!r.record_type.quantity_fields().is_empty())
                    .then_some(r.quantity),
                sessions: Vec::new(),
                raw: crate::domain::RawRecord::from_value(&Self::row(r)),
            })
            .collect()
    }

    fn of(&self, t: RecordType) -> Vec<&ContractRecord> {
        self.records.iter().filter(|r| r.record_type == t).collect()
    }
}

type Check = super::Check;

/// Runs every check against `api`, which holds `world`.
pub async fn check_telnyx(api: &dyn TelnyxApi, world: &ContractWorld) -> ContractReport {
    let mut report = ContractReport::default();
    report.record(WALK, walk(api, world).await);
    report.record(WRONG_FIELD, wrong_field(api, world).await);
    report.record(REPORT_SUMS, report_sums(api, world).await);
    report.record(REPORT_BY_DATE, by_date(api, world).await);
    report.record(ACROSS_ACCOUNTS, across_accounts(api, world).await);
    report.record(INVALID_METRIC, invalid_metric(api, world).await);
    report.record(REFUSED_KEY, refused_key(api, world).await);
    report.record(NEWEST_ROWS, newest_rows(api, world).await);
    report
}

async fn walk(api: &dyn TelnyxApi, world: &ContractWorld) -> Check {
    for &t in &TYPES {
        let query = RecordQuery::new(t, world.window);
        let mut pages = port(
            "detail_records",
            api.detail_records(&world.key, query).await,
        )?;
        let mut times = Vec::new();
        while let Some(page) = port("next_page", pages.next_page().await)? {
            ensure!(
                page.records.len() <= 50,
                "{t}: a page of {}",
                page.records.len()
            );
            let want = world.of(t).len() as u64;
            ensure!(
                page.total_results.is_none_or(|n| n == want),
                "{t}: total_results {:?}, {want} records",
                page.total_results
            );
            times.extend(page.records.iter().map(|r| r.occurred_at));
        }
        let mut want: Vec<DateTime<Utc>> = world.of(t).iter().map(|r| r.at).collect();
        want.sort_by(|a, b| b.cmp(a));
        ensure!(times == want, "{t}: walked {times:?}, held {want:?}");
    }
    Ok(())
}

async fn wrong_field(api: &dyn TelnyxApi, world: &ContractWorld) -> Check {
    let query = RecordQuery {
        time_field: "finished_at",
        ..RecordQuery::new(RecordType::SipTrunking, world.window)
    };
    let mut pages = port(
        "detail_records",
        api.detail_records(&world.key, query).await,
    )?;
    let first = port("next_page", pages.next_page().await)?;
    ensure!(
        first.as_ref().is_none_or(|p| p.records.is_empty()),
        "a window on `finished_at` returned {first:?}"
    );
    Ok(())
}

/// The report of `t` over `window` through its learned shape (`None`: no product).
async fn report_of(
    api: &dyn TelnyxApi,
    world: &ContractWorld,
    t: RecordType,
    across: bool,
) -> Result<Option<(shape::UsageShape, Vec<UsageRow>)>, String> {
    let options = port("usage_options", api.usage_options(&world.key).await)?;
    let Ok(shape) = shape::learn(&options, t) else {
        return Ok(None);
    };
    let key = if across { &world.master } else { &world.key };
    let rows = port(
        "usage_report",
        api.usage_report(key, &evidence::request(&shape, world.window, across))
            .await,
    )?;
    Ok(Some((shape, rows)))
}

async fn report_sums(api: &dyn TelnyxApi, world: &ContractWorld) -> Check {
    let mut audited = 0;
    for &t in &TYPES {
        let Some((shape, rows)) = report_of(api, world, t, false).await? else {
            continue;
        };
        let Some(count) = shape.count.clone() else {
            continue;
        };
        audited += 1;
        let rows: Vec<&UsageRow> = rows.iter().collect();
        let held = world.of(t);
        let n = held.len() as u64;
        ensure!(
            evidence::records(evidence::sum(&rows, &count)) == n,
            "{t}: `{count}` sums to {}, {n} records",
            evidence::sum(&rows, &count)
        );
        let quantity: Decimal = held.iter().map(|r| r.quantity).sum();
        let reported: Decimal = shape.quantity.iter().map(|m| evidence::sum(&rows, m)).sum();
        ensure!(
            shape.quantity.is_empty() || sums::sums_agree(reported, quantity, n),
            "{t}: usage {reported}, records {quantity}"
        );
        let cost: Decimal = held.iter().map(|r| r.cost).sum();
        if let Some(metric) = &shape.cost {
            let reported = evidence::sum(&rows, metric);
            ensure!(
                sums::sums_agree(reported, cost, n),
                "{t}: `{metric}` {reported}, records {cost}"
            );
        }
    }
    ensure!(audited >= 2, "only {audited} type(s) auditable");
    Ok(())
}

async fn by_date(api: &dyn TelnyxApi, world: &ContractWorld) -> Check {
    let t = RecordType::Messaging;
    let Some((shape, rows)) = report_of(api, world, t, false).await? else {
        return Err("messaging has no product".into());
    };
    let count = shape.count.unwrap_or_default();
    let mut reported: BTreeMap<Option<NaiveDate>, u64> = BTreeMap::new();
    for row in &rows {
        *reported.entry(row.day).or_default() += evidence::records(evidence::sum(&[row], &count));
    }
    let mut held: BTreeMap<Option<NaiveDate>, u64> = BTreeMap::new();
    for r in world.of(t) {
        *held.entry(Some(r.at.date_naive())).or_default() += 1;
    }
    ensure!(
        reported == held,
        "by day: reported {reported:?}, held {held:?}"
    );
    Ok(())
}

async fn across_accounts(api: &dyn TelnyxApi, world: &ContractWorld) -> Check {
    let Some((_, rows)) = report_of(api, world, RecordType::Messaging, true).await? else {
        return Err("messaging has no product".into());
    };
    ensure!(
        !rows.is_empty()
            && rows
                .iter()
                .all(|r| r.account.as_ref() == Some(&world.account)),
        "rows across accounts: {rows:?}"
    );
    Ok(())
}

async fn invalid_metric(api: &dyn TelnyxApi, world: &ContractWorld) -> Check {
    let request = UsageRequest {
        product: "messaging".into(),
        dimensions: vec!["date".into()],
        metrics: vec!["no_such_metric".into()],
        window: world.window,
        across_accounts: false,
    };
    match api.usage_report(&world.key, &request).await {
        Ok(rows) => Err(format!("an invalid metric answered {rows:?}")),
        Err(e) if e.is_transient() => Err(format!("an invalid metric is transient: {}", e.chain())),
        Err(_) => Ok(()),
    }
}

async fn refused_key(api: &dyn TelnyxApi, world: &ContractWorld) -> Check {
    match api.snapshot(&world.refused).await {
        Ok(_) => Err("a refused key read the snapshot".into()),
        Err(e) => {
            ensure!(
                !e.is_transient() && e.key_refusal().is_some(),
                "a refused key: {}",
                e.chain()
            );
            Ok(())
        }
    }
}

async fn newest_rows(api: &dyn TelnyxApi, world: &ContractWorld) -> Check {
    let t = RecordType::SipTrunking;
    let rows = port("newest_rows", api.newest_rows(&world.key, t).await)?;
    ensure!(!rows.is_empty(), "no newest rows");
    ensure!(
        rows.iter().all(|r| r.field(t.time_field()).is_some()),
        "rows without `{}`",
        t.time_field()
    );
    Ok(())
}
