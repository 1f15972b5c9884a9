//! The DynamoDB store against DynamoDB Local: one test per access pattern, the
//! idempotency and concurrency guarantees, and the injected failures DynamoDB Local
//! cannot produce (unprocessed items, a batch failing midway).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use async_trait::async_trait;
use aws_adapters::AwsError;
use aws_adapters::store::records::{BatchRetry, BatchWriteItems, SdkBatchWriter, request_key};
use aws_adapters::store::{DynamoStore, StoreSettings, write_records_then_advance};
use aws_sdk_dynamodb::types::WriteRequest;
use chrono::{Duration, NaiveDate};
use common::*;
use reconciliation::domain::*;
use reconciliation::plan::{Action, LogEntry, Severity};
use reconciliation::ports::{RunLog, RunOutcome, Store};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn fast_retry(max_attempts: u32) -> BatchRetry {
    BatchRetry {
        max_attempts,
        base_delay: std::time::Duration::from_millis(5),
        max_delay: std::time::Duration::from_millis(20),
    }
}

#[tokio::test]
async fn table_made_from_the_template_has_its_keys_index_and_ttl() {
    let (client, table) = fresh_table().await;
    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let t = described.table.unwrap();
    let keys: Vec<_> = t
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [("pk".into(), "HASH".into()), ("sk".into(), "RANGE".into())]
    );
    let gsi = &t.global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some("gsi1"));
    let gsi_keys: Vec<_> = gsi
        .key_schema()
        .iter()
        .map(|k| k.attribute_name().to_owned())
        .collect();
    assert_eq!(gsi_keys, ["gsi1pk", "gsi1sk"]);
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description.and_then(|d| d.attribute_name),
        Some("expires_at".to_owned())
    );
}

#[tokio::test]
async fn onboardings_are_read_one_by_one_and_listed_through_the_index() {
    let store = fresh_store().await;
    let a = wholesale(&ManagedAccountId::new("acc-a"));
    let mut b = wholesale(&ManagedAccountId::new("acc-b"));
    b.mode = BillingMode::Direct {
        department: DepartmentId::new("dept-direct"),
        billing_customer: None,
    };
    store.put_onboarding(&a).await.unwrap();
    store.put_onboarding(&b).await.unwrap();
    // Replacing is allowed (operator action) and does not duplicate the listing.
    b.organization_name = "Renamed".into();
    store.put_onboarding(&b).await.unwrap();

    assert_eq!(store.onboarding(&a.account).await.unwrap(), Some(a.clone()));
    assert_eq!(
        store
            .onboarding(&ManagedAccountId::new("nobody"))
            .await
            .unwrap(),
        None
    );
    let all = store.onboardings().await.unwrap();
    assert_eq!(all, vec![a, b]);
}

/// Types, customers, services and twins of a wholesale account, plus another
/// account's items in the shared parent department.
fn first_run_plan(account: &ManagedAccountId, to: &str) -> Vec<Action> {
    let reseller = customer(RESELLER, PARENT, Some(account));
    let end_a = customer("cust-a", CHILD, Some(account));
    vec![
        Action::CreateServiceType(service_type(
            "st-parent-sip",
            PARENT,
            ServiceTypeName::SipTrunking,
        )),
        Action::CreateServiceType(service_type(
            "st-child-sip",
            CHILD,
            ServiceTypeName::SipTrunking,
        )),
        Action::LinkServiceType {
            child: ServiceTypeId::new("st-child-sip"),
            parent: ServiceTypeId::new("st-parent-sip"),
        },
        Action::CreateCustomer {
            customer: reseller,
            notify: None,
        },
        Action::CreateCustomer {
            notify: Some(new_customer_notification(&end_a, to)),
            customer: end_a,
        },
        Action::CreateService(service(
            "svc-a",
            account,
            CHILD,
            "cust-a",
            "st-child-sip",
            None,
        )),
        Action::CreateWholesaleTwin(service(
            "svc-a-twin",
            account,
            PARENT,
            RESELLER,
            "st-parent-sip",
            Some("svc-a"),
        )),
    ]
}

#[tokio::test]
async fn load_state_returns_the_departments_customers_types_and_services_of_the_account() {
    let store = fresh_store().await;
    let acc = account();
    let other = ManagedAccountId::new("acc-other");
    store
        .put_department(&department(PARENT, None))
        .await
        .unwrap();
    store
        .put_department(&department(CHILD, Some(PARENT)))
        .await
        .unwrap();
    store
        .put_department(&department("dept-unrelated", None))
        .await
        .unwrap();
    store
        .apply(&first_run_plan(&acc, "billing@child.example"))
        .await
        .unwrap();
    // Another reseller in the same parent department: not this account's state.
    store
        .apply(&[
            Action::CreateCustomer {
                customer: customer("cust-other-reseller", PARENT, Some(&other)),
                notify: None,
            },
            Action::CreateService(service(
                "svc-other",
                &other,
                PARENT,
                "cust-other-reseller",
                "st-parent-sip",
                None,
            )),
        ])
        .await
        .unwrap();

    let state = store.load_state(&wholesale(&acc)).await.unwrap();

    let mut departments: Vec<_> = state.departments.iter().map(|d| d.id.as_str()).collect();
    departments.sort();
    assert_eq!(departments, [CHILD, PARENT]);
    let mut customers: Vec<_> = state.customers.iter().map(|c| c.id.as_str()).collect();
    customers.sort();
    assert_eq!(customers, ["cust-a", RESELLER]);
    let child_type = state
        .service_types
        .iter()
        .find(|t| t.id.as_str() == "st-child-sip")
        .unwrap();
    assert_eq!(
        child_type.wholesale_parent,
        Some(ServiceTypeId::new("st-parent-sip"))
    );
    assert_eq!(state.service_types.len(), 2);
    let mut services: Vec<_> = state.services.iter().map(|s| s.id.as_str()).collect();
    services.sort();
    assert_eq!(services, ["svc-a", "svc-a-twin"]);
    let twin = state
        .services
        .iter()
        .find(|s| s.id.as_str() == "svc-a-twin")
        .unwrap();
    assert_eq!(twin.twin_of, Some(ServiceId::new("svc-a")));
    assert_eq!(
        twin,
        &service(
            "svc-a-twin",
            &acc,
            PARENT,
            RESELLER,
            "st-parent-sip",
            Some("svc-a")
        )
    );
}

#[tokio::test]
async fn applying_the_same_plan_twice_creates_nothing_the_second_time() {
    let store = fresh_store().await;
    let plan = first_run_plan(&account(), "billing@child.example");

    let first = store.apply(&plan).await.unwrap();
    let second = store.apply(&plan).await.unwrap();

    assert_eq!(
        (first.created, first.updated, first.notifications_queued),
        (6, 1, 1)
    );
    assert_eq!(first.already_existed, 0);
    assert_eq!(second.created, 0);
    assert_eq!(second.updated, 0);
    assert_eq!(second.already_existed, 7);
    assert_eq!(second.notifications_queued, 0);
    assert_eq!(store.pending_notifications().await.unwrap().len(), 1);
}

#[tokio::test]
async fn two_concurrent_appliers_create_one_customer_and_one_outbox_entry() {
    let (client, table) = fresh_table().await;
    let one = DynamoStore::new(client.clone(), &table);
    let two = DynamoStore::new(client, &table);
    let end_a = customer("cust-a", CHILD, Some(&account()));
    let plan = vec![Action::CreateCustomer {
        notify: Some(new_customer_notification(&end_a, "billing@child.example")),
        customer: end_a.clone(),
    }];

    let (a, b) = tokio::join!(one.apply(&plan), two.apply(&plan));
    let (a, b) = (a.unwrap(), b.unwrap());

    assert_eq!(a.created + b.created, 1);
    assert_eq!(a.already_existed + b.already_existed, 1);
    assert_eq!(a.notifications_queued + b.notifications_queued, 1);
    assert_eq!(one.customer(&end_a.id).await.unwrap(), Some(end_a));
    let pending = one.pending_notifications().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].key, "new-customer#cust-a");
}

#[tokio::test]
async fn cease_and_reactivate_are_idempotent_and_keep_the_first_cease_date() {
    let store = fresh_store().await;
    let acc = account();
    store
        .apply(&[Action::CreateService(service(
            "svc-a", &acc, CHILD, "cust-a", "st", None,
        ))])
        .await
        .unwrap();
    let first_day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let later_day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let id = ServiceId::new("svc-a");

    let ceased = store
        .apply(&[Action::CeaseService {
            service: id.clone(),
            on: first_day,
        }])
        .await
        .unwrap();
    let ceased_again = store
        .apply(&[Action::CeaseService {
            service: id.clone(),
            on: later_day,
        }])
        .await
        .unwrap();
    assert_eq!(
        (
            ceased.updated,
            ceased_again.updated,
            ceased_again.already_existed
        ),
        (1, 0, 1)
    );
    assert_eq!(
        store.service(&id).await.unwrap().unwrap().status,
        ServiceStatus::Ceased { on: first_day }
    );

    let back = store
        .apply(&[Action::ReactivateService {
            service: id.clone(),
        }])
        .await
        .unwrap();
    let back_again = store
        .apply(&[Action::ReactivateService {
            service: id.clone(),
        }])
        .await
        .unwrap();
    assert_eq!((back.updated, back_again.already_existed), (1, 1));
    assert_eq!(
        store.service(&id).await.unwrap().unwrap().status,
        ServiceStatus::Active
    );

    let missing = store
        .apply(&[Action::CeaseService {
            service: ServiceId::new("svc-ghost"),
            on: first_day,
        }])
        .await
        .unwrap_err();
    assert!(!missing.is_transient());
    assert!(missing.chain().contains("svc-ghost"), "{}", missing.chain());
}

#[tokio::test]
async fn detail_records_are_stored_once_and_a_reimport_counts_duplicates() {
    let store = fresh_store().await;
    let acc = account();
    let batch = records(&acc, 60);

    let first = store.put_detail_records(&batch).await.unwrap();
    let again = store.put_detail_records(&batch).await.unwrap();

    assert_eq!((first.written, first.duplicates), (60, 0));
    assert_eq!((again.written, again.duplicates), (0, 60));
    let stored = store
        .detail_records(&acc, RecordType::Messaging)
        .await
        .unwrap();
    assert_eq!(stored.len(), 60);
    // Raw JSON survives gzip byte for byte (Telnyx's key order and `0.0030`), money
    // stays exact.
    assert_eq!(stored[7], batch[7]);
    assert_eq!(stored[7].record.raw.as_str(), batch[7].record.raw.as_str());
    assert!(
        stored[7]
            .record
            .raw
            .as_str()
            .contains(r#""carrier_fee":0.0030,"#)
    );
    assert_eq!(stored[7].record.cost.unwrap().to_string(), "0.0001666");
    // The billing index serves "what the parent department bills the reseller this month".
    let billed = store
        .billed_records(
            &DepartmentId::new(PARENT),
            Some(&CustomerId::new(RESELLER)),
            day0(),
        )
        .await
        .unwrap();
    assert_eq!(billed.len(), 60);
    assert!(
        billed
            .windows(2)
            .all(|w| w[0].record.occurred_at <= w[1].record.occurred_at)
    );
    let next_month = day0() + Duration::days(31);
    let none = store
        .billed_records(
            &DepartmentId::new(PARENT),
            Some(&CustomerId::new(RESELLER)),
            next_month,
        )
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn a_duplicate_key_inside_one_batch_is_written_once_and_counted() {
    let store = fresh_store().await;
    let acc = account();
    let mut batch = records(&acc, 3);
    batch.push(batch[1].clone());

    let report = store.put_detail_records(&batch).await.unwrap();

    assert_eq!((report.written, report.duplicates), (3, 1));
    assert_eq!(
        store
            .detail_records(&acc, RecordType::Messaging)
            .await
            .unwrap()
            .len(),
        3
    );
}

/// Forwards to DynamoDB but hands back some items as unprocessed on the first calls
/// of every batch, the way a throttled table does.
struct Throttled {
    real: SdkBatchWriter,
    /// Calls that leave half their items unprocessed (per distinct first key).
    throttled_calls: usize,
    calls: AtomicUsize,
    seen: std::sync::Mutex<std::collections::HashMap<(String, String), usize>>,
}

#[async_trait]
impl BatchWriteItems for Throttled {
    async fn batch_write(
        &self,
        table: &str,
        mut requests: Vec<WriteRequest>,
    ) -> Result<Vec<WriteRequest>, AwsError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let first = request_key(&requests[0]).unwrap();
        let round = {
            let mut seen = self.seen.lock().unwrap();
            let n = seen.entry(first).or_default();
            *n += 1;
            *n
        };
        if round <= self.throttled_calls && requests.len() > 1 {
            let keep = requests.len() / 2;
            let unprocessed = requests.split_off(keep);
            self.real.batch_write(table, requests).await?;
            return Ok(unprocessed);
        }
        self.real.batch_write(table, requests).await
    }
}

#[tokio::test]
async fn unprocessed_items_are_retried_until_every_record_is_stored() {
    let (client, table) = fresh_table().await;
    let throttled = Arc::new(Throttled {
        real: SdkBatchWriter::new(client.clone()),
        throttled_calls: 2,
        calls: AtomicUsize::new(0),
        seen: Default::default(),
    });
    let store = DynamoStore::new(client, table)
        .with_batch_writer(throttled.clone())
        .with_batch_retry(fast_retry(6));
    let acc = account();

    let report = store.put_detail_records(&records(&acc, 70)).await.unwrap();

    assert_eq!((report.written, report.duplicates), (70, 0));
    assert_eq!(
        store
            .detail_records(&acc, RecordType::Messaging)
            .await
            .unwrap()
            .len(),
        70
    );
    // 3 batches, each needing more than one call.
    assert!(throttled.calls.load(Ordering::SeqCst) > 3);
}

/// Never processes anything.
struct AlwaysThrottled;

#[async_trait]
impl BatchWriteItems for AlwaysThrottled {
    async fn batch_write(
        &self,
        _: &str,
        requests: Vec<WriteRequest>,
    ) -> Result<Vec<WriteRequest>, AwsError> {
        Ok(requests)
    }
}

#[tokio::test]
async fn items_that_stay_unprocessed_fail_the_write_with_a_transient_error() {
    let store = fresh_store()
        .await
        .with_batch_writer(Arc::new(AlwaysThrottled))
        .with_batch_retry(fast_retry(3));

    let err = store
        .put_detail_records(&records(&account(), 5))
        .await
        .unwrap_err();

    assert!(err.is_transient());
    assert!(err.chain().contains("account acc-1"), "{}", err.chain());
    assert!(
        err.chain()
            .contains("5 item(s) still unprocessed after 3 attempts"),
        "{}",
        err.chain()
    );
    assert!(
        store
            .detail_records(&account(), RecordType::Messaging)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Fails the second call permanently.
struct FailsSecondBatch {
    real: SdkBatchWriter,
    calls: AtomicUsize,
}

#[async_trait]
impl BatchWriteItems for FailsSecondBatch {
    async fn batch_write(
        &self,
        table: &str,
        requests: Vec<WriteRequest>,
    ) -> Result<Vec<WriteRequest>, AwsError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 1 {
            return Err(AwsError::NotFound {
                what: "injected: the second batch fails".into(),
            });
        }
        self.real.batch_write(table, requests).await
    }
}

#[tokio::test]
async fn a_watermark_does_not_move_when_a_batch_fails_midway() {
    let (client, table) = fresh_table().await;
    let failing =
        DynamoStore::new(client.clone(), &table).with_batch_writer(Arc::new(FailsSecondBatch {
            real: SdkBatchWriter::new(client.clone()),
            calls: AtomicUsize::new(0),
        }));
    let acc = account();
    let batch = records(&acc, 60);
    let before = day0() - Duration::hours(1);
    let to = day0() + Duration::hours(1);
    failing
        .advance_watermark(&acc, RecordType::Messaging, before)
        .await
        .unwrap();

    let err = write_records_then_advance(&failing, &batch, &acc, RecordType::Messaging, to)
        .await
        .unwrap_err();

    assert!(!err.is_transient());
    assert_eq!(
        failing
            .watermark(&acc, RecordType::Messaging)
            .await
            .unwrap(),
        Some(before)
    );

    // The next run re-reads the window: what was stored counts as duplicates, the rest
    // is written, and only then does the watermark move.
    let healthy = DynamoStore::new(client, &table);
    let stored_before = healthy
        .detail_records(&acc, RecordType::Messaging)
        .await
        .unwrap()
        .len() as u64;
    assert!(stored_before < 60, "the failed batch was not written");
    let report = write_records_then_advance(&healthy, &batch, &acc, RecordType::Messaging, to)
        .await
        .unwrap();
    assert_eq!(report.duplicates, stored_before, "{report:?}");
    assert_eq!(report.written, 60 - stored_before, "{report:?}");
    assert_eq!(
        healthy
            .watermark(&acc, RecordType::Messaging)
            .await
            .unwrap(),
        Some(to)
    );
}

#[tokio::test]
async fn a_watermark_never_moves_backward() {
    let store = fresh_store().await;
    let acc = account();
    let t1 = day0();
    let t2 = day0() + Duration::minutes(15);
    assert_eq!(store.watermark(&acc, RecordType::Tts).await.unwrap(), None);

    store
        .advance_watermark(&acc, RecordType::Tts, t2)
        .await
        .unwrap();
    store
        .advance_watermark(&acc, RecordType::Tts, t1)
        .await
        .unwrap();
    store
        .advance_watermark(&acc, RecordType::Verify, t1)
        .await
        .unwrap();

    assert_eq!(
        store.watermark(&acc, RecordType::Tts).await.unwrap(),
        Some(t2)
    );
    let mut all = store.watermarks(&acc).await.unwrap();
    all.sort();
    assert_eq!(all, vec![(RecordType::Tts, t2), (RecordType::Verify, t1)]);
}

fn run_log(acc: &ManagedAccountId, run: &str, started: chrono::DateTime<chrono::Utc>) -> RunLog {
    RunLog {
        account: acc.clone(),
        run_id: RunId::new(run),
        started_at: started,
        finished_at: started + Duration::seconds(42),
        counts: BTreeMap::from([("records_written".to_owned(), 60)]),
        entries: vec![LogEntry {
            code: "connection_without_billing_group".into(),
            severity: Severity::Warning,
            message: "Connection conn-9 has no billing group".into(),
        }],
        outcome: RunOutcome::Succeeded,
    }
}

#[tokio::test]
async fn run_logs_expire_ninety_days_after_the_run_and_list_newest_first() {
    let store = fresh_store().await;
    let acc = account();
    let older = run_log(&acc, "run-1", day0());
    let mut newer = run_log(&acc, "run-2", day0() + Duration::minutes(15));
    newer.outcome = RunOutcome::Failed {
        error: "unauthorized (401)".into(),
    };
    store.put_run_log(&older).await.unwrap();
    store.put_run_log(&newer).await.unwrap();

    assert_eq!(
        store.run_logs(&acc, 10).await.unwrap(),
        vec![newer.clone(), older.clone()]
    );
    assert_eq!(store.run_logs(&acc, 1).await.unwrap(), vec![newer.clone()]);
    let expires = store.run_log_expiry(&older).await.unwrap();
    assert_eq!(
        expires,
        Some((older.finished_at + Duration::days(90)).timestamp())
    );
}

#[tokio::test]
async fn alerts_are_admitted_once_per_three_days_by_the_stored_timestamp() {
    let store = fresh_store().await;
    let acc = account();
    let admit =
        |days: i64| store.admit_alert("unknown-account", &acc, day0() + Duration::days(days));

    assert!(admit(0).await.unwrap(), "day 0 sends");
    assert!(!admit(0).await.unwrap(), "day 0 again does not");
    assert!(!admit(2).await.unwrap(), "day 2 does not");
    assert!(admit(3).await.unwrap(), "day 3 does");
    assert!(
        !admit(5).await.unwrap(),
        "day 5 does not (3 days after day 3 is day 6)"
    );
    assert!(
        store
            .admit_alert("key-problem", &acc, day0() + Duration::days(5))
            .await
            .unwrap(),
        "another kind is throttled on its own"
    );
}

#[tokio::test]
async fn two_concurrent_admits_on_day_zero_admit_exactly_one() {
    let (client, table) = fresh_table().await;
    let one = DynamoStore::new(client.clone(), &table);
    let two = DynamoStore::new(client, &table);
    let acc = account();

    let (a, b) = tokio::join!(
        one.admit_alert("unknown-account", &acc, day0()),
        two.admit_alert("unknown-account", &acc, day0())
    );

    assert_eq!([a.unwrap(), b.unwrap()].iter().filter(|x| **x).count(), 1);
}

#[tokio::test]
async fn outbox_claims_are_exclusive_until_the_lease_expires() {
    let store = fresh_store().await.with_settings(StoreSettings {
        claim_lease: Duration::minutes(5),
        ..StoreSettings::default()
    });
    let c = customer("cust-a", CHILD, Some(&account()));
    let n = new_customer_notification(&c, "billing@child.example");
    let key = n.dedupe_key();
    let now = day0();

    assert!(store.enqueue_notification(&n, now).await.unwrap());
    assert!(
        !store.enqueue_notification(&n, now).await.unwrap(),
        "queued once"
    );
    let pending = store.pending_notifications().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].notification, n);
    assert_eq!(pending[0].queued_at, now);

    assert!(store.claim_notification(&key, now).await.unwrap());
    assert!(
        !store
            .claim_notification(&key, now + Duration::minutes(4))
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_notification(&key, now + Duration::minutes(6))
            .await
            .unwrap(),
        "lease lapsed"
    );

    store
        .mark_notification_sent(&key, "msg-1", now + Duration::minutes(7))
        .await
        .unwrap();
    store
        .mark_notification_sent(&key, "msg-1", now + Duration::minutes(7))
        .await
        .unwrap();
    assert!(store.pending_notifications().await.unwrap().is_empty());
    assert!(
        !store
            .claim_notification(&key, now + Duration::hours(1))
            .await
            .unwrap(),
        "sent is final"
    );
    let entry = store.outbox_entry(&key).await.unwrap().unwrap();
    assert_eq!(entry.sent_at, Some(now + Duration::minutes(7)));
    assert!(!store.claim_notification("no-such-key", now).await.unwrap());
}

#[tokio::test]
async fn keys_of_distinct_records_never_collide() {
    let acc = account();
    let recs = records(&acc, 30);
    let keys: HashSet<_> = recs
        .iter()
        .map(|r| {
            aws_adapters::store::keys::detail_record(&r.account, r.record_type(), &r.record.id)
        })
        .map(|k| (k.pk, k.sk))
        .collect();
    assert_eq!(keys.len(), 30);
}
