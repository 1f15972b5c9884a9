//! The whole product on the local stack: the Telnyx simulator in-process (sample
//! reseller scenario), both functions' real wiring (real aws-sdk clients against
//! DynamoDB Local and moto), and the SQS hop between them played the way Lambda's
//! event source does (batch size 1, partial failures left on the queue).
//!
//! A harness is either isolated (fresh table, queue, secret prefix and mail
//! addresses: for tests running in parallel) or on the stack's shared resources
//! (for `make demo`).

use crate::stack::Stack;
use aws_adapters::secrets::{KeyStorage, SecretsManagerKeys};
use aws_adapters::store::{DynamoStore, keys};
use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use billing_admin::onboard;
use chrono::{DateTime, TimeZone, Utc};
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use reconciliation::domain::{
    Department, DepartmentId, ManagedAccountId, MappingPreference, RecordType,
};
use reconciliation::ports::{ApiKey, KeyStore, Ports, Store};
use reconciliation::schedule::{ScheduleReport, ScheduleSettings};
use reconciliation::sync::SyncSettings;
use std::path::PathBuf;

/// The sample scenario's accounts (`infra/telnyx-sim/scenarios/reseller.yaml`).
pub const ACME: &str = "6a0e1b2c-4d5e-4f60-8a71-92b3c4d5e6f7";
pub const BETA: &str = "9c1f7e22-3a4b-4c5d-9e6f-7a8b9c0d1e2f";
pub const GAMMA: &str = "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b";
pub const MASTER_KEY: &str = "KEY0123MASTER4E74656C6E79782E636F6D_bWFuYWdlcg";
pub const ACME_KEY: &str = "KEY0123ACME5F74656C6E79782E636F6D_YWNtZQ";
pub const BETA_KEY: &str = "KEY0123BETA6A74656C6E79782E636F6D_YmV0YQ";
/// The sample's records are dated from this day on; the first sync reads back to it.
pub fn sample_records_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 19, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// The sample scenario file.
pub fn sample_scenario_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/telnyx-sim/scenarios/reseller.yaml")
}

/// How many detail records the sample scenario holds for an account (read from the
/// file, so the expectation never comes from the code under test).
pub fn sample_record_count(account: &str) -> usize {
    sample_rows(account).len()
}

/// The sample scenario's detail-record entries of one account.
fn sample_rows(account: &str) -> Vec<serde_yaml::Value> {
    let text = std::fs::read_to_string(sample_scenario_path()).expect("sample scenario readable");
    let scenario: serde_yaml::Value = serde_yaml::from_str(&text).expect("sample scenario is YAML");
    scenario["accounts"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|a| a["id"].as_str() == Some(account))
        .and_then(|a| a["detail_records"].as_sequence())
        .cloned()
        .unwrap_or_default()
}

/// How many sample records of one type an account has.
pub fn sample_records_of(account: &str, record_type: &str) -> usize {
    sample_rows(account)
        .iter()
        .filter(|r| r["record_type"].as_str() == Some(record_type))
        .count()
}

/// Where the harness writes.
pub struct Names {
    pub table: String,
    pub queue: String,
    pub secret_prefix: String,
    /// Operator alerts go here.
    pub alert_to: String,
    /// Billing emails of the three departments.
    pub operator_billing: String,
    pub acme_billing: String,
    /// Where account keys live (`KEY_STORAGE`).
    pub key_storage: KeyStorage,
}

impl Names {
    /// Unique names: nothing shared with another test.
    pub fn isolated() -> Self {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let tag = &tag[..12];
        Self {
            table: format!("e2e-{tag}"),
            queue: format!("e2e-{tag}"),
            secret_prefix: format!("e2e-{tag}/"),
            alert_to: format!("ops-{tag}@operator.example"),
            operator_billing: format!("billing-{tag}@operator.example"),
            acme_billing: format!("billing-{tag}@acme-reseller.example"),
            key_storage: KeyStorage::PerAccount,
        }
    }

    /// As [`Names::isolated`], the account keys in shared secrets.
    pub fn isolated_shared_keys() -> Self {
        Self {
            key_storage: KeyStorage::Shared,
            ..Self::isolated()
        }
    }

    /// The local stack's own table and queue, the default secret prefix (`make demo`).
    pub fn shared(stack: &Stack) -> Self {
        Self {
            table: stack.table_name.clone(),
            queue: stack.queue_name.clone(),
            secret_prefix: aws_adapters::secrets::DEFAULT_PREFIX.to_owned(),
            alert_to: "ops@operator.example".into(),
            operator_billing: "billing@operator.example".into(),
            acme_billing: "billing@acme-reseller.example".into(),
            key_storage: KeyStorage::PerAccount,
        }
    }
}

/// The departments the sample reseller is onboarded into.
pub const OPERATOR_DEPT: &str = "dept-operator";
pub const ACME_CHILD_DEPT: &str = "dept-acme-customers";

/// The product, running locally.
pub struct Harness {
    pub stack: Stack,
    pub sim: telnyx_sim::RunningSim,
    pub names: Names,
    pub queue_url: String,
    pub store: DynamoStore,
    /// The ports both functions build at cold start, on the local stack.
    pub ports: Ports,
    pub scheduler: ScheduleSettings,
    pub account_sync: SyncSettings,
}

impl Harness {
    /// Starts the simulator with the sample scenario and builds both functions' real
    /// wiring against it and the local stack.
    pub async fn start(names: Names, sim_options: telnyx_sim::SimOptions) -> Self {
        let scenario = telnyx_sim::Scenario::from_file(sample_scenario_path())
            .expect("sample scenario parses");
        Self::start_with(names, scenario, sim_options).await
    }

    /// As [`Harness::start`], with the simulator serving `scenario`.
    pub async fn start_with(
        names: Names,
        scenario: telnyx_sim::Scenario,
        sim_options: telnyx_sim::SimOptions,
    ) -> Self {
        let stack = Stack::from_env().await;
        let sim = telnyx_sim::start(scenario, sim_options)
            .await
            .expect("simulator starts");

        let ddb = aws_sdk_dynamodb::Client::new(&stack.sdk);
        if names.table != stack.table_name {
            aws_adapters::test_util::create_table_like_template(&ddb, &names.table)
                .await
                .expect("table created from template.yaml");
        }
        let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
        let queue_url = sqs
            .create_queue()
            .queue_name(&names.queue)
            .send()
            .await
            .expect("queue")
            .queue_url
            .expect("queue url");

        let adapters = lambda_shell::AdapterConfig {
            table_name: names.table.clone(),
            secret_prefix: names.secret_prefix.clone(),
            key_storage: names.key_storage,
            telnyx_base_url: sim.base_url(),
            ses_sender: stack.ses_sender.clone(),
            queue_url: queue_url.clone(),
        };
        let ports = lambda_shell::build_ports(&adapters)
            .await
            .expect("ports built as at cold start");
        let scheduler = ScheduleSettings::new(vec![names.alert_to.clone()]);
        let account_sync = SyncSettings {
            portal_url_template: "https://billing.operator.example/customers/{customer_id}".into(),
            initial_lookback: Some(Utc::now() - sample_records_start()),
            alert_to: vec![names.alert_to.clone()],
            ..Default::default()
        };
        let store = DynamoStore::new(ddb, names.table.clone());
        Self {
            stack,
            sim,
            names,
            queue_url,
            store,
            ports,
            scheduler,
            account_sync,
        }
    }

    /// Onboards the sample reseller the way an operator would with `billing-admin`:
    /// departments, Acme wholesale (child department), Beta direct, and the keys.
    /// Gamma stays unknown.
    pub async fn onboard_sample_reseller(&self) {
        let store: &dyn Store = &self.store;
        let operator = Department {
            id: DepartmentId::new(OPERATOR_DEPT),
            name: "Operator Billing".into(),
            billing_email: Some(self.names.operator_billing.clone()),
            parent: None,
        };
        let acme_child = Department {
            id: DepartmentId::new(ACME_CHILD_DEPT),
            name: "Acme Reseller customers".into(),
            billing_email: Some(self.names.acme_billing.clone()),
            parent: Some(operator.id.clone()),
        };
        onboard::put_department(store, operator.clone())
            .await
            .expect("operator department");
        onboard::put_department(store, acme_child.clone())
            .await
            .expect("child department");
        onboard::onboard(
            store,
            onboard::OnboardRequest {
                account: ManagedAccountId::new(ACME),
                organization_name: "Acme Reseller".into(),
                mode: onboard::Mode::Wholesale {
                    parent_department: operator.id.clone(),
                    child_department: acme_child.id.clone(),
                    reseller_name: "Acme Reseller".into(),
                },
                mapping: MappingPreference::PerBillingGroup,
            },
        )
        .await
        .expect("Acme onboarded");
        onboard::onboard(
            store,
            onboard::OnboardRequest {
                account: ManagedAccountId::new(BETA),
                organization_name: "Beta Telecom".into(),
                mode: onboard::Mode::Direct {
                    department: operator.id.clone(),
                },
                mapping: MappingPreference::PerBillingGroup,
            },
        )
        .await
        .expect("Beta onboarded");
        let keys = self.key_store();
        keys.put_master_key(&ApiKey::new(MASTER_KEY))
            .await
            .expect("master key");
        keys.put_account_keys(&[
            (ACME.into(), ApiKey::new(ACME_KEY)),
            (BETA.into(), ApiKey::new(BETA_KEY)),
        ])
        .await
        .expect("Acme and Beta keys");
    }

    /// The key storage an operator's `billing-admin` writes to, on this harness.
    pub fn key_store(&self) -> SecretsManagerKeys {
        SecretsManagerKeys::new(
            aws_sdk_secretsmanager::Client::new(&self.stack.sdk),
            &self.names.secret_prefix,
        )
        .with_storage(self.names.key_storage)
    }

    /// Onboards one direct-mode account in its own department (new-customer emails to
    /// `operator_billing`) and stores its key, as an operator would.
    pub async fn onboard_direct(&self, account: &str, key: &str, department: &str) {
        let store: &dyn Store = &self.store;
        onboard::put_department(
            store,
            Department {
                id: DepartmentId::new(department),
                name: format!("{department} customers"),
                billing_email: Some(self.names.operator_billing.clone()),
                parent: None,
            },
        )
        .await
        .expect("department");
        onboard::onboard(
            store,
            onboard::OnboardRequest {
                account: ManagedAccountId::new(account),
                organization_name: format!("Account {account}"),
                mode: onboard::Mode::Direct {
                    department: DepartmentId::new(department),
                },
                mapping: MappingPreference::PerBillingGroup,
            },
        )
        .await
        .expect("onboarded");
        self.key_store()
            .put_account_keys(&[(account.into(), ApiKey::new(key))])
            .await
            .expect("key");
    }

    /// One scheduler tick through its handler.
    pub async fn tick(&self) -> Result<ScheduleReport, Diagnostic> {
        scheduler::handler::handle(
            LambdaEvent::new(serde_json::json!({}), Context::default()),
            &self.ports,
            &self.scheduler,
        )
        .await
    }

    /// Delivers every queued message to account-sync, one per invocation (batch size
    /// 1), deleting the ones it acknowledged. Returns each message body and the response.
    pub async fn deliver_queue(&self) -> Vec<(String, account_sync::handler::Response)> {
        let sqs = aws_sdk_sqs::Client::new(&self.stack.sdk);
        let mut out = Vec::new();
        loop {
            let received = sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(1)
                .wait_time_seconds(0)
                .send()
                .await
                .expect("receive");
            let Some(message) = received.messages.and_then(|m| m.into_iter().next()) else {
                break;
            };
            let body = message.body.clone().unwrap_or_default();
            let event: SqsEvent = serde_json::from_value(serde_json::json!({
                "Records": [{
                    "messageId": message.message_id,
                    "receiptHandle": message.receipt_handle,
                    "body": body,
                    "eventSource": "aws:sqs",
                }]
            }))
            .expect("SQS event");
            let payload = serde_json::to_value(event).expect("event json");
            let response = account_sync::handler::handle(
                LambdaEvent::new(payload, Context::default()),
                &self.ports,
                &self.account_sync,
            )
            .await
            .expect("account-sync answers an SQS event");
            let failed = matches!(&response, account_sync::handler::Response::Batch(b) if !b.batch_item_failures.is_empty());
            if !failed {
                sqs.delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(message.receipt_handle.unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            }
            out.push((body, response));
            if failed {
                break;
            }
        }
        out
    }

    /// The environment `template.yaml` gives both functions (and an operator exports
    /// for `billing-admin`), on this harness's resources: the `AWS_*` variables of the
    /// test process (`.local/stack.env`) and the functions' own.
    pub fn function_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_"))
            .collect();
        let lookback_hours = (Utc::now() - sample_records_start()).num_hours() + 1;
        env.extend(
            [
                ("TABLE_NAME", self.names.table.clone()),
                ("QUEUE_URL", self.queue_url.clone()),
                ("SECRET_PREFIX", self.names.secret_prefix.clone()),
                (
                    "KEY_STORAGE",
                    match self.names.key_storage {
                        KeyStorage::PerAccount => "per-account",
                        KeyStorage::Shared => "shared",
                    }
                    .to_owned(),
                ),
                ("SES_SENDER", self.stack.ses_sender.clone()),
                ("ALERT_EMAIL", self.names.alert_to.clone()),
                (
                    "PORTAL_URL_TEMPLATE",
                    "https://billing.example/c/{customer_id}".to_owned(),
                ),
                ("TELNYX_BASE_URL", self.sim.base_url()),
                ("INITIAL_LOOKBACK_HOURS", lookback_hours.to_string()),
                ("RUST_LOG", "info".to_owned()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        env
    }

    /// How many detail records are stored for an account (a Query per record type).
    pub async fn stored_records(&self, account: &str) -> usize {
        let ddb = aws_sdk_dynamodb::Client::new(&self.stack.sdk);
        let mut total = 0;
        for &record_type in RecordType::ALL {
            let pk = keys::detail_record(&account.into(), record_type, &"x".into()).pk;
            let count = ddb
                .query()
                .table_name(&self.names.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(pk))
                .select(Select::Count)
                .send()
                .await
                .expect("query")
                .count;
            total += usize::try_from(count).unwrap_or_default();
        }
        total
    }

    /// Emails moto accepted for one address.
    pub async fn emails_to(&self, address: &str) -> Vec<serde_json::Value> {
        self.stack
            .sent_emails()
            .await
            .into_iter()
            .filter(|m| {
                m["destinations"]["ToAddresses"]
                    .as_array()
                    .is_some_and(|to| to.iter().any(|a| a.as_str() == Some(address)))
            })
            .collect()
    }
}
