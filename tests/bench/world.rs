//! What every benchmark stands on: the local stack (fresh table, queue and secret
//! prefix per world), the Telnyx simulator in this process, accounts onboarded as an
//! operator would, and the environment the function binaries get.

use aws_adapters::store::DynamoStore;
use billing_admin::onboard;
use integration_tests::stack::Stack;
use reconciliation::domain::{Department, DepartmentId, ManagedAccountId, MappingPreference};
use reconciliation::ports::{ApiKey, KeyStore};
use std::time::Duration;

pub const MASTER_KEY: &str = "KEYbenchMASTER0000000000000000";
pub const DEPARTMENT: &str = "dept-bench";

/// One benchmark's resources.
pub struct World {
    pub stack: Stack,
    pub sim: telnyx_sim::RunningSim,
    pub table: String,
    pub queue_url: String,
    pub prefix: String,
    pub store: DynamoStore,
}

/// The key of account `i`.
pub fn account_key(i: usize) -> String {
    format!("KEYbenchACCOUNT{i:06}xxxxxxxxxxxx")
}

/// The id of account `i`.
pub fn account_id(i: usize) -> String {
    format!("00000000-bench-4000-8000-{i:012}")
}

/// A scenario of `n` accounts, each with one billing group, profile and connection;
/// `generate(i)` gives account `i`'s generator block (YAML), if any.
pub fn scenario(n: usize, generate: impl Fn(usize) -> Option<String>) -> telnyx_sim::Scenario {
    let mut yaml = format!("manager_account_id: mgr-bench\nmaster_key: {MASTER_KEY}\naccounts:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "  - id: {id}\n    organization_name: Bench {i}\n    email: bench{i}@example.com\n    api_key: {key}\n    billing_groups: [{{id: bg-{i}, name: Group {i}}}]\n    outbound_voice_profiles: [{{id: ovp-{i}, name: Profile {i}, billing_group_id: bg-{i}}}]\n    connections: [{{id: 'conn-{i}', connection_name: Trunk {i}, record_type: credential_connection, outbound_voice_profile_id: ovp-{i}}}]\n",
            id = account_id(i),
            key = account_key(i)
        ));
        if let Some(g) = generate(i) {
            yaml.push_str("    generate:\n");
            for line in g.lines() {
                yaml.push_str(&format!("      {line}\n"));
            }
        }
    }
    telnyx_sim::Scenario::from_yaml_str(&yaml).expect("bench scenario")
}

impl World {
    /// A fresh table, queue and secret prefix; the simulator serving `scenario`.
    pub async fn start(scenario: telnyx_sim::Scenario, rate_limit_per_minute: Option<u32>) -> Self {
        let stack = Stack::from_env().await;
        let sim = telnyx_sim::start(
            scenario,
            telnyx_sim::SimOptions {
                rate_limit_per_minute,
            },
        )
        .await
        .expect("simulator starts");
        let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
        let table = format!("bench-{tag}");
        let ddb = aws_sdk_dynamodb::Client::new(&stack.sdk);
        aws_adapters::test_util::create_table_like_template(&ddb, &table)
            .await
            .expect("table");
        let queue_url = aws_sdk_sqs::Client::new(&stack.sdk)
            .create_queue()
            .queue_name(format!("bench-{tag}"))
            .send()
            .await
            .expect("queue")
            .queue_url
            .expect("queue url");
        let store = DynamoStore::new(ddb, &table);
        Self {
            stack,
            sim,
            table,
            queue_url,
            prefix: format!("bench-{tag}/"),
            store,
        }
    }

    /// Onboards accounts `0..n` (direct, one department) and stores their keys and the
    /// manager key.
    pub async fn onboard(&self, n: usize) {
        onboard::put_department(
            &self.store,
            Department {
                id: DepartmentId::new(DEPARTMENT),
                name: "Bench".into(),
                billing_email: None,
                parent: None,
            },
        )
        .await
        .expect("department");
        let keys = aws_adapters::secrets::SecretsManagerKeys::new(
            aws_sdk_secretsmanager::Client::new(&self.stack.sdk),
            &self.prefix,
        );
        keys.put_master_key(&ApiKey::new(MASTER_KEY))
            .await
            .expect("master key");
        for i in 0..n {
            let account = ManagedAccountId::new(account_id(i));
            onboard::onboard(
                &self.store,
                onboard::OnboardRequest {
                    account: account.clone(),
                    organization_name: format!("Bench {i}"),
                    mode: onboard::Mode::Direct {
                        department: DepartmentId::new(DEPARTMENT),
                    },
                    mapping: MappingPreference::PerBillingGroup,
                },
            )
            .await
            .expect("onboarded");
            keys.put_account_keys(&[(account, ApiKey::new(account_key(i)))])
                .await
                .expect("account key");
        }
    }

    /// The environment of a function binary on this world.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_"))
            .collect();
        env.extend(
            [
                ("TABLE_NAME", self.table.as_str()),
                ("QUEUE_URL", self.queue_url.as_str()),
                ("SECRET_PREFIX", self.prefix.as_str()),
                ("SES_SENDER", self.stack.ses_sender.as_str()),
                ("ALERT_EMAIL", "ops@operator.example"),
                (
                    "PORTAL_URL_TEMPLATE",
                    "https://billing.example/c/{customer_id}",
                ),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        // `BENCH_LOG=debug make bench` to see what the functions do (and when).
        env.push((
            "RUST_LOG".into(),
            std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        ));
        env.push(("TELNYX_BASE_URL".into(), self.sim.base_url()));
        env
    }

    /// A function binary of this build, started on this world.
    pub async fn function(&self, name: &str, extra: &[(&str, &str)]) -> lambda_local::Function {
        let mut env = self.env();
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        lambda_local::Function::start(&lambda_local::function::binary(name), &env)
            .await
            .expect("function starts")
    }

    /// The event source of this world's queue, for a function with `timeout`.
    pub fn queue(&self, timeout: Duration) -> lambda_local::SqsEventSource {
        lambda_local::SqsEventSource::new(
            aws_sdk_sqs::Client::new(&self.stack.sdk),
            &self.queue_url,
            timeout,
        )
    }
}

/// With `BENCH_LOG` set, prints what a function logged.
pub fn show_log(function: &lambda_local::Function) {
    if std::env::var("BENCH_LOG").is_ok() {
        for line in function.lines() {
            eprintln!("{line}");
        }
    }
}
