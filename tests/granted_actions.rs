//! Each function is granted exactly what its code calls: both functions run their real
//! code paths on the local stack and the simulator through SDK clients that record
//! every call's IAM action (`aws_adapters::record`), and the recorded DynamoDB, Secrets
//! Manager and SES actions must equal `template.yaml`'s grants for that function (SQS
//! sends are covered by the SAM policy template `SQSSendMessagePolicy`).
//!
//! The scheduler's paths: a tick without the manager key (the throttled alert and its
//! email), ticks with onboarded, unknown, offboarded and busy accounts (the digest, the
//! leases, the fan-out), a tick of the monthly close (template parameter
//! `AutoCloseMonths`; its statement is counted as granted). account-sync's: first and second syncs of the sample accounts
//! through the queue (records, customers, emails, audit), a manual backfill (records
//! already stored, looked up before writing), a revoked key (its alert).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use aws_adapters::email::SesMailer;
use aws_adapters::queue::SqsDispatcher;
use aws_adapters::record::{Actions, Recorder};
use aws_adapters::secrets::SecretsManagerKeys;
use aws_adapters::store::DynamoStore;
use integration_tests::e2e::*;
use integration_tests::template::{self, actions, statements};
use reconciliation::ports::{OnboardingStore, Ports, RecordStore};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The harness's ports, every AWS client recording into `actions`.
fn recorded_ports(h: &Harness, recorded: &Actions) -> Ports {
    let sdk = &h.stack.sdk;
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(sdk)
            .interceptor(Recorder::new("dynamodb", recorded))
            .build(),
    );
    let sm = aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(sdk)
            .interceptor(Recorder::new("secretsmanager", recorded))
            .build(),
    );
    let ses = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(sdk)
            .interceptor(Recorder::new("ses", recorded))
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(sdk)
            .interceptor(Recorder::new("sqs", recorded))
            .build(),
    );
    Ports {
        store: Arc::new(DynamoStore::new(ddb, h.names.table.clone())),
        secrets: Arc::new(
            SecretsManagerKeys::new(sm, h.names.secret_prefix.clone())
                .with_storage(h.names.key_storage),
        ),
        mailer: Arc::new(SesMailer::new(ses, &h.stack.ses_sender).expect("mailer")),
        telnyx: h.ports.telnyx.clone(),
        dispatcher: Arc::new(SqsDispatcher::new(sqs, &h.queue_url)),
        clock: h.ports.clock.clone(),
    }
}

/// What `template.yaml` grants `function` on DynamoDB, Secrets Manager and SES.
fn granted(function: &str) -> BTreeSet<String> {
    let tpl = template::load();
    statements(template::resource(&tpl, function))
        .iter()
        .flat_map(|s| actions(s))
        .filter(|a| {
            ["dynamodb:", "secretsmanager:", "ses:"]
                .iter()
                .any(|p| a.starts_with(p))
        })
        .collect()
}

fn compared(recorded: &Actions) -> (BTreeSet<String>, BTreeSet<String>) {
    let seen = recorded.seen();
    let sqs: BTreeSet<String> = seen
        .iter()
        .filter(|a| a.starts_with("sqs:"))
        .cloned()
        .collect();
    let rest = seen
        .into_iter()
        .filter(|a| !a.starts_with("sqs:"))
        .collect();
    (rest, sqs)
}

#[tokio::test]
async fn each_function_is_granted_exactly_the_actions_its_code_calls() {
    let mut h = Harness::start(Names::isolated(), Default::default()).await;
    let scheduler = Actions::default();
    let sync = Actions::default();

    // The scheduler without its manager key: a failed tick, the alert and its email.
    h.ports = recorded_ports(&h, &scheduler);
    h.tick().await.expect_err("no manager key");
    // Onboarded, unknown (Gamma: the digest) and, later, offboarded and busy accounts.
    h.onboard_sample_reseller().await;
    let first = h.tick().await.expect("tick");
    assert!(!first.alerted.is_empty(), "the digest path ran");

    h.ports = recorded_ports(&h, &sync);
    let delivered = h.deliver_queue().await;
    assert_eq!(delivered.len(), 2, "Acme and Beta synced");
    assert!(h.stored_records(ACME).await > 0);

    h.ports = recorded_ports(&h, &scheduler);
    h.store
        .offboard(&BETA.into(), chrono::Utc::now())
        .await
        .unwrap();
    h.tick().await.expect("tick");
    let beta = h.store.offboardings().await.unwrap().remove(0).onboarding;
    h.store.put_onboarding(&beta).await.unwrap();

    // Second syncs (nothing new) and a revoked key (the key-problem alert).
    h.sim.control().revoke_key(BETA_KEY);
    h.tick().await.expect("tick");
    h.ports = recorded_ports(&h, &sync);
    h.deliver_queue().await;
    let backfill = serde_json::json!({
        "managed_account_id": ACME,
        "backfill_from": sample_records_start().to_rfc3339(),
    });
    account_sync::handler::handle(
        lambda_runtime::LambdaEvent::new(backfill, Default::default()),
        &h.ports,
        &h.account_sync,
    )
    .await
    .expect("backfill");

    // The monthly close (AutoCloseMonths): a ready month closes in a tick, the others wait.
    let w = integration_tests::months::World::onboard(&h).await;
    let previous = reconciliation::domain::BillingMonth::of(chrono::Utc::now()).prev();
    h.store
        .put_detail_records(&w.records_of(previous, 10))
        .await
        .unwrap();
    w.audited(&h.store, previous, &[]).await;
    h.ports = recorded_ports(&h, &scheduler);
    h.scheduler.auto_close = Some(chrono::Duration::seconds(30));
    let closing = h.tick().await.expect("tick");
    assert_eq!(closing.months_closed, vec![w.account.clone()]);

    let (scheduler_calls, scheduler_sqs) = compared(&scheduler);
    assert_eq!(
        scheduler_calls,
        granted("SchedulerFunction"),
        "the scheduler's grants (right) against its calls (left)"
    );
    assert_eq!(
        scheduler_sqs,
        BTreeSet::from(["sqs:SendMessage".to_owned()])
    );
    let (sync_calls, sync_sqs) = compared(&sync);
    assert_eq!(
        sync_calls,
        granted("AccountSyncFunction"),
        "account-sync's grants (right) against its calls (left)"
    );
    assert!(sync_sqs.is_subset(&BTreeSet::from(["sqs:SendMessage".to_owned()])));
}
