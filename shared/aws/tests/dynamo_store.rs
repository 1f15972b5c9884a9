//! The DynamoDB store against DynamoDB Local: one test per access pattern, the
//! idempotency and concurrency guarantees, and the injected failures DynamoDB Local
//! cannot produce (unprocessed items, transaction conflicts). The watermark ordering
//! over a failing batch is tested on the real path, `sync_account`, in `sync_run.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use async_trait::async_trait;
use aws_adapters::AwsError;
use aws_adapters::store::DynamoStore;
use aws_adapters::store::records::{
    BATCHES_IN_FLIGHT, BatchWriteItems, SdkBatchWriter, request_key,
};
use aws_sdk_dynamodb::types::{AttributeValue, WriteRequest};
use chrono::{DateTime, Duration, Utc};
use common::inject::*;
use common::writers::*;
use common::*;
use reconciliation::domain::*;
use reconciliation::plan::{Action, LogEntry, Notification};
use reconciliation::ports::{
    EmailKind, OnboardingStore, OutboxStore, RecordStore, RunLog, RunLogStore, RunOutcome,
    StateStore,
};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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
        .apply(&first_run_plan(&acc, "billing@child.example"), day0())
        .await
        .unwrap();
    // Another reseller in the same parent department: not this account's state.
    store
        .apply(
            &[
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
            ],
            day0(),
        )
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
async fn two_concurrent_appliers_create_one_customer_and_one_outbox_entry() {
    let (client, table) = fresh_table().await;
    let one = DynamoStore::new(client.clone(), &table);
    let two = DynamoStore::new(client, &table);
    let end_a = customer("cust-a", CHILD, Some(&account()));
    let plan = vec![Action::CreateCustomer {
        notify: Some(new_customer_notification(&end_a, "billing@child.example")),
        customer: end_a.clone(),
    }];

    let (a, b) = tokio::join!(one.apply(&plan, day0()), two.apply(&plan, day0()));
    let (a, b) = (a.unwrap(), b.unwrap());

    assert_eq!(a.created + b.created, 1);
    assert_eq!(a.already_existed + b.already_existed, 1);
    assert_eq!(a.notifications_queued + b.notifications_queued, 1);
    assert_eq!(a.customers_created + b.customers_created, 1);
    assert_eq!(one.customer(&end_a.id).await.unwrap(), Some(end_a));
    let pending = one.pending_notifications().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].key, "new-customer#cust-a");
}

fn plan_creating_customer_a() -> (Customer, Vec<Action>) {
    let end_a = customer("cust-a", CHILD, Some(&account()));
    let plan = vec![Action::CreateCustomer {
        notify: Some(new_customer_notification(&end_a, "billing@child.example")),
        customer: end_a.clone(),
    }];
    (end_a, plan)
}

#[tokio::test]
async fn a_transaction_conflict_is_retried_and_creates_the_customer_and_its_one_email_once() {
    let (_, table) = fresh_table().await;
    // Real DynamoDB cancels a transaction that overlaps another one on the same item
    // (`TransactionConflict`); DynamoDB Local serialises them, so the first two
    // attempts are answered with that cancellation (and write nothing).
    let inject = Inject::new("TransactWriteItems", 2, |_| {
        transaction_cancelled(&["TransactionConflict", "None"])
    })
    .neutralized();
    let calls = inject.calls();
    let store = DynamoStore::new(dynamodb_with(inject).await, &table).with_retry(fast_retry(5));
    let (end_a, plan) = plan_creating_customer_a();

    let report = store.apply(&plan, day0()).await.unwrap();

    assert_eq!((calls.seen(), calls.replaced()), (3, 2));
    assert_eq!((report.created, report.already_existed), (1, 0));
    assert_eq!(report.notifications_queued, 1);
    assert_eq!(store.customer(&end_a.id).await.unwrap(), Some(end_a));
    let pending = store.pending_notifications().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].key, "new-customer#cust-a");
}

#[tokio::test]
async fn a_failed_condition_next_to_a_conflict_decides_without_a_retry() {
    let (client, table) = fresh_table().await;
    let (end_a, plan) = plan_creating_customer_a();
    DynamoStore::new(client, &table)
        .apply(&plan, day0())
        .await
        .unwrap();
    // The customer exists; this attempt also conflicted on the outbox entry. The
    // failed condition is a fact a retry cannot change: already existed, nothing queued.
    let inject = Inject::new("TransactWriteItems", 1, |_| {
        transaction_cancelled(&["ConditionalCheckFailed", "TransactionConflict"])
    })
    .neutralized();
    let calls = inject.calls();
    let store = DynamoStore::new(dynamodb_with(inject).await, &table).with_retry(fast_retry(5));

    let report = store.apply(&plan, day0()).await.unwrap();

    assert_eq!(calls.seen(), 1, "no retry after a failed condition");
    assert_eq!((report.created, report.already_existed), (0, 1));
    assert_eq!(report.notifications_queued, 0);
    assert_eq!(store.customer(&end_a.id).await.unwrap(), Some(end_a));
    assert_eq!(store.pending_notifications().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_transaction_that_keeps_conflicting_fails_transiently_and_writes_nothing() {
    let (_, table) = fresh_table().await;
    let inject = Inject::new("TransactWriteItems", usize::MAX, |_| {
        transaction_cancelled(&["None", "TransactionConflict"])
    })
    .neutralized();
    let calls = inject.calls();
    let store = DynamoStore::new(dynamodb_with(inject).await, &table).with_retry(fast_retry(3));
    let (end_a, plan) = plan_creating_customer_a();

    let err = store.apply(&plan, day0()).await.unwrap_err();

    assert!(err.is_transient(), "{}", err.chain());
    assert!(
        err.chain()
            .contains("TransactWriteItems was cancelled by conflicting writes on all 3 attempts"),
        "{}",
        err.chain()
    );
    assert!(
        err.chain().contains("creating customer cust-a"),
        "{}",
        err.chain()
    );
    assert_eq!(calls.seen(), 3);
    assert_eq!(store.customer(&end_a.id).await.unwrap(), None);
    assert!(store.pending_notifications().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_transaction_cancelled_for_another_reason_is_a_permanent_error() {
    let (_, table) = fresh_table().await;
    let inject = Inject::new("TransactWriteItems", 1, |_| {
        transaction_cancelled(&["ValidationError", "None"])
    })
    .neutralized();
    let calls = inject.calls();
    let store = DynamoStore::new(dynamodb_with(inject).await, &table).with_retry(fast_retry(3));
    let (_, plan) = plan_creating_customer_a();

    let err = store.apply(&plan, day0()).await.unwrap_err();

    assert!(!err.is_transient(), "{}", err.chain());
    assert!(
        err.chain().contains("TransactionCanceledException"),
        "{}",
        err.chain()
    );
    assert_eq!(calls.seen(), 1);
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
async fn an_oversize_record_is_stored_without_its_raw_json_flagged_and_counted() {
    let (client, table) = fresh_table().await;
    let store = DynamoStore::new(client.clone(), &table);
    let acc = account();
    let mut batch = records(&acc, 3);
    let mut big = batch[0].clone();
    big.record.id = DetailRecordId::new("msg-big");
    // ~700 KB of incompressible JSON: far over the item limit even gzipped.
    let text: String = rand::Rng::sample_iter(rand::rng(), &rand::distr::Alphanumeric)
        .take(700 * 1024)
        .map(char::from)
        .collect();
    big.record.raw = RawRecord::from_value(&serde_json::json!({ "uuid": "msg-big", "text": text }));
    batch.push(big.clone());

    let report = store.put_detail_records(&batch).await.unwrap();

    assert_eq!(
        (report.written, report.duplicates, report.raw_trimmed),
        (4, 0, 1)
    );
    let stored = store
        .detail_records(&acc, RecordType::Messaging)
        .await
        .unwrap();
    assert_eq!(stored.len(), 4);
    let back = stored
        .iter()
        .find(|r| r.record.id == big.record.id)
        .unwrap();
    assert_eq!(back.record.cost, big.record.cost, "money intact");
    assert_eq!(back.record.rate, big.record.rate);
    assert_eq!(back.record.billed_quantity, big.record.billed_quantity);
    assert_eq!(back.billing_customer, big.billing_customer);
    assert!(back.record.raw.is_null());
    assert!(
        stored
            .iter()
            .filter(|r| r.record.id != big.record.id)
            .all(|r| !r.record.raw.is_null()),
        "the other records keep their raw JSON"
    );
    let key = aws_adapters::store::keys::detail_record(&acc, RecordType::Messaging, &big.record.id);
    let item = client
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(key.pk))
        .key("sk", AttributeValue::S(key.sk))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item.get("raw_trimmed"), Some(&AttributeValue::Bool(true)));
    assert!(!item.contains_key("raw_gz"));

    let again = store.put_detail_records(&batch).await.unwrap();
    assert_eq!(
        (again.written, again.duplicates, again.raw_trimmed),
        (0, 4, 0),
        "a re-import is a duplicate, not another trim"
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
        .with_retry(fast_retry(6));
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

/// Forwards to DynamoDB, holding each call open a moment and recording how many
/// calls were in flight at once.
struct MeasuresConcurrency {
    real: SdkBatchWriter,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

#[async_trait]
impl BatchWriteItems for MeasuresConcurrency {
    async fn batch_write(
        &self,
        table: &str,
        requests: Vec<WriteRequest>,
    ) -> Result<Vec<WriteRequest>, AwsError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let result = self.real.batch_write(table, requests).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

#[tokio::test]
async fn several_batches_are_in_flight_at_once_and_never_more_than_the_cap() {
    let (client, table) = fresh_table().await;
    let writer = Arc::new(MeasuresConcurrency {
        real: SdkBatchWriter::new(client.clone()),
        in_flight: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    });
    let store = DynamoStore::new(client, table).with_batch_writer(writer.clone());
    let acc = account();

    // 8 batches of 25.
    let report = store.put_detail_records(&records(&acc, 200)).await.unwrap();

    assert_eq!(report.written, 200);
    let peak = writer.peak.load(Ordering::SeqCst);
    assert!(peak > 1, "batches ran one at a time");
    assert!(peak <= BATCHES_IN_FLIGHT, "{peak} batches in flight");
    assert_eq!(
        store
            .detail_records(&acc, RecordType::Messaging)
            .await
            .unwrap()
            .len(),
        200
    );
}

/// Answers a BatchGetItem with every requested key unprocessed and nothing found.
fn all_keys_unprocessed(request: &[u8]) -> (u16, String) {
    let request: serde_json::Value = serde_json::from_slice(request).unwrap();
    (
        200,
        serde_json::json!({ "Responses": {}, "UnprocessedKeys": request["RequestItems"] })
            .to_string(),
    )
}

#[tokio::test]
async fn unprocessed_keys_of_the_existence_check_are_retried_before_anything_is_written() {
    let (client, table) = fresh_table().await;
    let acc = account();
    let batch = records(&acc, 20);
    DynamoStore::new(client, &table)
        .put_detail_records(&batch)
        .await
        .unwrap();
    let inject = Inject::new("BatchGetItem", 2, all_keys_unprocessed);
    let calls = inject.calls();
    let store = DynamoStore::new(dynamodb_with(inject).await, &table).with_retry(fast_retry(4));

    let report = store.put_detail_records(&batch).await.unwrap();

    // Keys left unprocessed are asked again, never taken for "not stored".
    assert_eq!((calls.seen(), calls.replaced()), (3, 2));
    assert_eq!((report.written, report.duplicates), (0, 20));
}

#[tokio::test]
async fn unprocessed_keys_that_never_clear_fail_transiently_and_write_nothing() {
    let (_, table) = fresh_table().await;
    let inject = Inject::new("BatchGetItem", usize::MAX, all_keys_unprocessed);
    let calls = inject.calls();
    let store = DynamoStore::new(dynamodb_with(inject).await, &table).with_retry(fast_retry(3));
    let acc = account();

    let err = store
        .put_detail_records(&records(&acc, 20))
        .await
        .unwrap_err();

    assert!(err.is_transient());
    assert!(
        err.chain()
            .contains("BatchGetItem: 20 item(s) still unprocessed after 3 attempts"),
        "{}",
        err.chain()
    );
    assert_eq!(calls.seen(), 3);
    assert!(
        store
            .detail_records(&acc, RecordType::Messaging)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn items_that_stay_unprocessed_fail_the_write_with_a_transient_error() {
    let store = fresh_store()
        .await
        .with_batch_writer(Arc::new(AlwaysThrottled))
        .with_retry(fast_retry(3));

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

fn run_log(acc: &ManagedAccountId, run: &str, started: chrono::DateTime<chrono::Utc>) -> RunLog {
    RunLog {
        account: acc.clone(),
        run_id: RunId::new(run),
        started_at: started,
        finished_at: started + Duration::seconds(42),
        counts: BTreeMap::from([("records_written".to_owned(), 60)]),
        entries: vec![LogEntry::new(
            reconciliation::plan::LogCode::ConnectionWithoutBillingGroup,
            "Connection conn-9 has no billing group".into(),
        )],
        outcome: RunOutcome::Complete,
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

fn key_problem_alert(to: &str, raised_at: DateTime<Utc>) -> Notification {
    Notification::KeyProblem {
        to: vec![to.to_owned()],
        account: account(),
        problem: "unauthorized (401)".into(),
        raised_at,
        repeat_every: reconciliation::plan::RepeatEvery::DEFAULT,
    }
}

#[tokio::test]
async fn two_concurrent_admits_on_day_zero_admit_one_and_queue_one_email() {
    let (client, table) = fresh_table().await;
    let one = DynamoStore::new(client.clone(), &table);
    let two = DynamoStore::new(client, &table);
    let acc = account();
    let alert = key_problem_alert("ops@operator.example", day0());

    let (a, b) = tokio::join!(
        one.admit_and_queue_alert(
            EmailKind::KeyProblem,
            &acc,
            &alert,
            day0(),
            Duration::days(3)
        ),
        two.admit_and_queue_alert(
            EmailKind::KeyProblem,
            &acc,
            &alert,
            day0(),
            Duration::days(3)
        )
    );

    assert_eq!([a.unwrap(), b.unwrap()].iter().filter(|x| **x).count(), 1);
    let pending = one.pending_notifications().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].notification, alert);
}

#[tokio::test]
async fn a_cancelled_admission_moves_no_throttle_and_queues_no_email() {
    let store = fresh_store().await;
    let acc = account();
    let first = key_problem_alert("ops@operator.example", day0());
    assert!(
        store
            .admit_and_queue_alert(
                EmailKind::KeyProblem,
                &acc,
                &first,
                day0(),
                Duration::days(3)
            )
            .await
            .unwrap()
    );
    let four_days_later = day0() + Duration::days(4);

    // The slot is free again, but this very alert is queued already: DynamoDB cancels
    // the whole transaction, so the throttle must not move to day 4 on its own.
    let replayed = store
        .admit_and_queue_alert(
            EmailKind::KeyProblem,
            &acc,
            &first,
            four_days_later,
            Duration::days(3),
        )
        .await
        .unwrap();
    assert!(!replayed);
    assert_eq!(store.pending_notifications().await.unwrap().len(), 1);

    // Had the throttle moved, this day-4 alert would be refused.
    let fresh = key_problem_alert("ops@operator.example", four_days_later);
    assert!(
        store
            .admit_and_queue_alert(
                EmailKind::KeyProblem,
                &acc,
                &fresh,
                four_days_later,
                Duration::days(3)
            )
            .await
            .unwrap()
    );
    assert_eq!(store.pending_notifications().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_failed_admission_moves_no_throttle_and_queues_no_email() {
    let (_, table) = fresh_table().await;
    let inject = Inject::new("TransactWriteItems", usize::MAX, |_| {
        aws_error(400, "ValidationException", "injected failure")
    })
    .neutralized();
    let failing = DynamoStore::new(dynamodb_with(inject).await, &table);
    let healthy = DynamoStore::new(fresh_client().await, &table);
    let acc = account();
    let alert = key_problem_alert("ops@operator.example", day0());

    let err = failing
        .admit_and_queue_alert(
            EmailKind::KeyProblem,
            &acc,
            &alert,
            day0(),
            Duration::days(3),
        )
        .await
        .unwrap_err();

    assert!(!err.is_transient());
    assert!(
        err.chain()
            .contains("admitting a key-problem alert for account acc-1"),
        "{}",
        err.chain()
    );
    assert!(healthy.pending_notifications().await.unwrap().is_empty());
    assert!(
        healthy
            .admit_and_queue_alert(
                EmailKind::KeyProblem,
                &acc,
                &alert,
                day0(),
                Duration::days(3)
            )
            .await
            .unwrap(),
        "the slot is still free"
    );
}

#[tokio::test]
async fn index_projection_carries_every_attribute_but_the_raw_json() {
    let (client, table) = fresh_table().await;
    let store = DynamoStore::new(client.clone(), &table);
    let acc = account();
    // One item of every indexed entity, every optional attribute set.
    store
        .put_department(&department(CHILD, Some(PARENT)))
        .await
        .unwrap();
    store.put_onboarding(&wholesale(&acc)).await.unwrap();
    store
        .apply(&first_run_plan(&acc, "billing@child.example"), day0())
        .await
        .unwrap();
    assert!(
        store
            .claim_notification("new-customer#cust-a", day0())
            .await
            .unwrap()
    );
    let mut batch = records(&acc, 2);
    let mut big = batch[0].clone();
    big.record.id = DetailRecordId::new("msg-big");
    let text: String = rand::Rng::sample_iter(rand::rng(), &rand::distr::Alphanumeric)
        .take(700 * 1024)
        .map(char::from)
        .collect();
    big.record.raw = RawRecord::from_value(&serde_json::json!({ "text": text }));
    batch.push(big);
    let report = store.put_detail_records(&batch).await.unwrap();
    assert_eq!(report.raw_trimmed, 1);

    // Every base item listed in gsi1 (a test may scan) against its copy in the index.
    let listed: Vec<_> = client
        .scan()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
        .into_iter()
        .filter(|item| item.contains_key("gsi1pk"))
        .collect();
    let entities: HashSet<_> = listed
        .iter()
        .filter_map(|i| i.get("entity")?.as_s().ok().cloned())
        .collect();
    assert_eq!(
        entities,
        [
            "department",
            "onboarding",
            "customer",
            "service_type",
            "service",
            "outbox",
            "detail_record"
        ]
        .map(str::to_owned)
        .into()
    );
    for item in &listed {
        let index_copy = client
            .query()
            .table_name(&table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :pk AND gsi1sk = :sk")
            .expression_attribute_values(":pk", item["gsi1pk"].clone())
            .expression_attribute_values(":sk", item["gsi1sk"].clone())
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default()
            .into_iter()
            .find(|i| i["pk"] == item["pk"] && i["sk"] == item["sk"])
            .unwrap();
        let mut expected: BTreeSet<&String> = item.keys().collect();
        expected.retain(|name| name.as_str() != "raw_gz");
        let projected: BTreeSet<&String> = index_copy.keys().collect();
        assert_eq!(
            projected, expected,
            "{:?} / {:?}: add the missing attribute to gsi1's NonKeyAttributes in template.yaml",
            item["pk"], item["sk"]
        );
        assert!(!index_copy.contains_key("raw_gz"));
    }
    // Readers through the index get the whole entity, records without their raw JSON.
    let billed = store
        .billed_records(
            &DepartmentId::new(PARENT),
            Some(&CustomerId::new(RESELLER)),
            day0(),
        )
        .await
        .unwrap();
    assert_eq!(billed.len(), 3);
    assert!(billed.iter().all(|r| r.record.raw.is_null()));
    assert!(billed.iter().all(|r| r.record.cost == batch[0].record.cost));
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
