//! A billing month on the local stack, built straight through the store: a wholesale
//! account with one end customer (a service and its twin), messaging records of a
//! month, Telnyx's usage options offering messaging only (every other type not
//! auditable), its walks past the month's end, and the audit's verdict for each day.

use crate::e2e::Harness;
use aws_adapters::store::DynamoStore;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use reconciliation::domain::*;
use reconciliation::plan::Action;
use reconciliation::ports::*;
use rust_decimal::Decimal;

pub const PARENT: &str = "dept-op-months";
pub const CHILD: &str = "dept-child-months";

/// One account's ids.
pub struct World {
    pub account: ManagedAccountId,
    pub onboarding: Onboarding,
    pub reseller: CustomerId,
    pub customer: CustomerId,
    pub service: ServiceId,
    pub twin: ServiceId,
}

pub fn month(text: &str) -> BillingMonth {
    text.parse().expect("a month")
}

pub fn at(m: BillingMonth, day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(m.year(), m.month(), day, hour, 0, 0)
        .single()
        .expect("a time")
}

fn service(w: &World, id: &ServiceId, twin_of: Option<&ServiceId>) -> Service {
    let (department, customer) = match twin_of {
        Some(_) => (PARENT, &w.reseller),
        None => (CHILD, &w.customer),
    };
    Service {
        id: id.clone(),
        account: w.account.clone(),
        department: DepartmentId::new(department),
        customer: customer.clone(),
        service_type: ServiceTypeId::new(format!("stype-{department}")),
        service_type_name: ServiceTypeName::Messaging,
        source: ServiceSource::PhoneNumber(PhoneNumberId::new("pn-1")),
        label: "+15550001111".into(),
        status: ServiceStatus::Active,
        twin_of: twin_of.cloned(),
        started_on: NaiveDate::from_ymd_opt(2026, 10, 14),
    }
}

fn customer(w: &World, id: &CustomerId, department: &str, name: &str) -> Customer {
    Customer {
        id: id.clone(),
        department: DepartmentId::new(department),
        company_name: name.into(),
        account: Some(w.account.clone()),
        billing_group_id: None,
        source_name: None,
        created_at: None,
    }
}

impl World {
    /// A fresh account (a new UUID) onboarded wholesale in `h`'s table.
    pub async fn onboard(h: &Harness) -> Self {
        let account = ManagedAccountId::new(uuid::Uuid::new_v4().to_string());
        let reseller = CustomerId::new(format!("cus-reseller-{account}"));
        let w = World {
            onboarding: Onboarding {
                account: account.clone(),
                organization_name: "Months Reseller".into(),
                mode: BillingMode::Wholesale {
                    parent_department: DepartmentId::new(PARENT),
                    reseller_customer: reseller.clone(),
                    child_department: DepartmentId::new(CHILD),
                },
                mapping: MappingPreference::PerBillingGroup,
            },
            customer: CustomerId::new(format!("cus-end-{account}")),
            service: ServiceId::new(format!("svc-{account}")),
            twin: ServiceId::new(format!("twin-{account}")),
            reseller,
            account,
        };
        let store: &dyn Store = &h.store;
        for (id, parent) in [(PARENT, None), (CHILD, Some(PARENT))] {
            store
                .put_department(&Department {
                    id: DepartmentId::new(id),
                    name: id.into(),
                    billing_email: None,
                    parent: parent.map(DepartmentId::new),
                })
                .await
                .expect("department");
        }
        store
            .put_onboarding(&w.onboarding)
            .await
            .expect("onboarding");
        let actions = vec![
            Action::CreateCustomer {
                customer: customer(&w, &w.reseller, PARENT, "Months Reseller"),
                notify: None,
            },
            Action::CreateCustomer {
                customer: customer(&w, &w.customer, CHILD, "End Customer, Inc."),
                notify: None,
            },
            Action::CreateService(service(&w, &w.service, None)),
            Action::CreateWholesaleTwin(service(&w, &w.twin, Some(&w.service))),
        ];
        store.apply(&actions, Utc::now()).await.expect("state");
        w
    }

    /// A messaging record at `at`, attributed to the end customer (or unmatched).
    pub fn record(&self, id: &str, at: DateTime<Utc>, matched: bool) -> StoredDetailRecord {
        StoredDetailRecord {
            account: self.account.clone(),
            department: DepartmentId::new(PARENT),
            billing_customer: Some(self.reseller.clone()),
            end_customer: matched.then(|| self.customer.clone()),
            service: matched.then(|| self.service.clone()),
            matched_by: if matched {
                MatchedBy::CallingNumber
            } else {
                MatchedBy::Unmatched
            },
            record: DetailRecord {
                record_type: RecordType::Messaging,
                id: DetailRecordId::new(id),
                occurred_at: at,
                connection_id: None,
                billing_group_id: None,
                cli: Some("+15550001111".into()),
                cld: Some("+15550002222".into()),
                direction: None,
                cost: Some(Decimal::new(40, 4) + Decimal::new(id.len() as i64, 6)),
                rate: None,
                currency: Some("USD".into()),
                billed_quantity: Some(Decimal::from(2)),
                sessions: Vec::new(),
                raw: RawRecord::null(),
            },
        }
    }

    /// `n` records spread over `m`, every fifth unmatched.
    pub fn records_of(&self, m: BillingMonth, n: usize) -> Vec<StoredDetailRecord> {
        let days = m.days().count() as u32;
        (0..n)
            .map(|i| {
                let t = at(m, 1 + (i as u32 % days), (i % 23) as u32)
                    + Duration::seconds((i % 3600) as i64);
                self.record(&format!("{m}-{i:05}"), t, i % 5 != 0)
            })
            .collect()
    }

    /// What the audit would have stored: every day of `m` settled and clean for
    /// messaging, but `exceptions` (day, verdict, settled); every other type walked
    /// past the month's end; Telnyx's options offering messaging only.
    pub async fn audited(
        &self,
        store: &DynamoStore,
        m: BillingMonth,
        exceptions: &[(u32, AuditVerdict, bool)],
    ) {
        let options = UsageOptions {
            products: vec![UsageProduct {
                product: "messaging".into(),
                dimensions: vec!["date".into()],
                metrics: vec!["count".into(), "parts".into(), "cost".into()],
            }],
        };
        store
            .put_usage_options(&CachedUsageOptions {
                options,
                fetched_at: Utc::now(),
            })
            .await
            .expect("options");
        let days: Vec<AuditDay> = m
            .days()
            .map(|day| {
                let n = day.format("%d").to_string().parse::<u32>().unwrap_or(0);
                let (verdict, settled) = exceptions
                    .iter()
                    .find(|(d, _, _)| *d == n)
                    .map_or((AuditVerdict::Clean, true), |(_, v, s)| (*v, *s));
                AuditDay {
                    account: self.account.clone(),
                    record_type: RecordType::Messaging,
                    day,
                    verdict,
                    telnyx: AuditFigures {
                        count: if verdict == AuditVerdict::Clean { 3 } else { 4 },
                        ..Default::default()
                    },
                    stored: AuditFigures {
                        count: 3,
                        ..Default::default()
                    },
                    cost_compared: false,
                    settled,
                    checked_at: Utc::now(),
                    product: "messaging".into(),
                    count_metric: "count".into(),
                    rewalk: (verdict == AuditVerdict::Mismatch && settled).then(|| Rewalk {
                        at: Utc::now(),
                        read: 3,
                        stored: 0,
                    }),
                }
            })
            .collect();
        store.put_audit_days(&days).await.expect("verdicts");
        let stored = store.streams(&self.account).await.expect("streams");
        for &t in RecordType::ALL {
            let mut state = stored
                .iter()
                .find(|s| s.record_type == t)
                .cloned()
                .unwrap_or_else(|| StreamState::new(t));
            if state.advance_watermark(m.end() + Duration::hours(6)) {
                store
                    .put_stream(&self.account, &state.next_version())
                    .await
                    .expect("watermark");
            }
        }
    }
}
