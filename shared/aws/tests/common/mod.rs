//! Shared by the integration tests: the local stack (DynamoDB Local and moto, found
//! through the standard `AWS_ENDPOINT_URL_*` variables), a controllable clock, and
//! fixture builders.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod writers;

/// The SDK fault injector (`aws_adapters::inject`), with clients on the local stack.
pub mod inject {
    pub use aws_adapters::inject::*;

    /// A DynamoDB client on the local stack with `inject` installed.
    pub async fn dynamodb_with(inject: Inject) -> aws_sdk_dynamodb::Client {
        dynamodb_client(&super::sdk().await, inject)
    }

    /// A Secrets Manager client on the local stack with `inject` installed.
    pub async fn secrets_manager_with(inject: Inject) -> aws_sdk_secretsmanager::Client {
        secrets_manager_client(&super::sdk().await, inject)
    }

    /// An SES v2 client on the local stack with `inject` installed.
    pub async fn sesv2_with(inject: Inject) -> aws_sdk_sesv2::Client {
        sesv2_client(&super::sdk().await, inject)
    }
}

use aws_adapters::store::DynamoStore;
use aws_adapters::test_util::{create_table_like_template, unique_name};
use chrono::{DateTime, Duration, TimeZone, Utc};
use reconciliation::domain::*;
use reconciliation::plan::Notification;
use reconciliation::ports::Clock;
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::Mutex;

const STACK_HELP: &str = "these tests run against the local stack: start it with \
`infra/local/stack.sh up` and `source .local/stack.env` before `cargo test`";

/// Reads an endpoint variable and checks something listens there; panics with what to do.
async fn require_endpoint(var: &str) -> String {
    let url = std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: {STACK_HELP}"));
    let host_port = url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let connect = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        tokio::net::TcpStream::connect(&host_port),
    )
    .await;
    assert!(
        matches!(connect, Ok(Ok(_))),
        "{var}={url} does not answer: {STACK_HELP}"
    );
    url
}

/// The SDK configuration the adapters use in production, pointed at the local stack.
pub async fn sdk() -> aws_config::SdkConfig {
    for var in [
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_ENDPOINT_URL_SESV2",
    ] {
        require_endpoint(var).await;
    }
    aws_adapters::config::load_sdk_config().await
}

/// A DynamoDB client on the local stack.
pub async fn fresh_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk().await)
}

/// A DynamoDB client and a fresh table shaped like template.yaml's.
pub async fn fresh_table() -> (aws_sdk_dynamodb::Client, String) {
    let client = fresh_client().await;
    let table = unique_name("billing");
    create_table_like_template(&client, &table)
        .await
        .expect("table created from template.yaml");
    (client, table)
}

/// A store on a fresh table.
pub async fn fresh_store() -> DynamoStore {
    let (client, table) = fresh_table().await;
    DynamoStore::new(client, table)
}

/// Every message moto's SES has accepted, as JSON (`subject`, `body`, `destinations`, `id`, `source`).
pub async fn sent_emails() -> Vec<serde_json::Value> {
    let moto = require_endpoint("MOTO_URL").await;
    let data: serde_json::Value = reqwest::get(format!("{moto}/moto-api/data.json"))
        .await
        .expect("moto answers")
        .json()
        .await
        .expect("moto data is JSON");
    data.pointer("/ses/Message")
        .and_then(|m| m.as_array())
        .cloned()
        .unwrap_or_default()
}

/// The emails moto holds for `recipient`.
pub async fn emails_to(recipient: &str) -> Vec<serde_json::Value> {
    sent_emails()
        .await
        .into_iter()
        .filter(|m| {
            m.pointer("/destinations/ToAddresses")
                .and_then(|a| a.as_array())
                .is_some_and(|a| a.iter().any(|r| r == recipient))
        })
        .collect()
}

/// A unique mailbox, so tests sharing moto count only their own emails.
pub fn unique_recipient(who: &str) -> String {
    format!("{who}-{}@customer.example", uuid::Uuid::new_v4().simple())
}

/// A clock the test moves.
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn at(t: DateTime<Utc>) -> Self {
        Self(Mutex::new(t))
    }
    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap();
        *t += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

pub fn day0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

// ---- fixtures ----------------------------------------------------------------------

pub const PARENT: &str = "dept-parent";
pub const CHILD: &str = "dept-child";
pub const RESELLER: &str = "cust-reseller";

pub fn account() -> ManagedAccountId {
    ManagedAccountId::new("acc-1")
}

pub fn wholesale(account: &ManagedAccountId) -> Onboarding {
    Onboarding {
        account: account.clone(),
        organization_name: "Acme Reseller".into(),
        mode: BillingMode::Wholesale {
            parent_department: DepartmentId::new(PARENT),
            reseller_customer: CustomerId::new(RESELLER),
            child_department: DepartmentId::new(CHILD),
        },
        mapping: MappingPreference::PerBillingGroup,
    }
}

pub fn department(id: &str, parent: Option<&str>) -> Department {
    Department {
        id: DepartmentId::new(id),
        name: format!("Department {id}"),
        billing_email: Some(format!("billing@{id}.example")),
        parent: parent.map(DepartmentId::new),
    }
}

pub fn customer(id: &str, department: &str, account: Option<&ManagedAccountId>) -> Customer {
    Customer {
        id: CustomerId::new(id),
        department: DepartmentId::new(department),
        company_name: format!("Company {id}"),
        account: account.cloned(),
        billing_group_id: Some(BillingGroupId::new(format!("bg-{id}"))),
        source_name: Some(format!("Company {id}")),
        created_at: Some(day0()),
    }
}

pub fn service_type(id: &str, department: &str, name: ServiceTypeName) -> ServiceType {
    ServiceType {
        id: ServiceTypeId::new(id),
        department: DepartmentId::new(department),
        name,
        category: name.category(),
        wholesale_parent: None,
    }
}

pub fn service(
    id: &str,
    account: &ManagedAccountId,
    department: &str,
    customer: &str,
    service_type: &str,
    twin_of: Option<&str>,
) -> Service {
    Service {
        id: ServiceId::new(id),
        account: account.clone(),
        department: DepartmentId::new(department),
        customer: CustomerId::new(customer),
        service_type: ServiceTypeId::new(service_type),
        service_type_name: ServiceTypeName::SipTrunking,
        source: ServiceSource::Connection(ConnectionId::new(format!("conn-{id}"))),
        label: format!("Trunk {id}"),
        status: ServiceStatus::Active,
        twin_of: twin_of.map(ServiceId::new),
        started_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 3),
    }
}

pub fn new_customer_notification(customer: &Customer, to: &str) -> Notification {
    Notification::NewCustomer {
        to: vec![to.to_owned()],
        account: customer.account.clone().unwrap_or_else(account),
        customer_id: customer.id.clone(),
        customer_name: customer.company_name.clone(),
        department_id: customer.department.clone(),
        department_name: "Acme End Customers".into(),
        billing_group_id: customer.billing_group_id.clone(),
        connections: vec!["Main trunk (conn-1)".into()],
        link: format!("https://billing.example.com/customers/{}", customer.id),
    }
}

/// `n` messaging records of `account`, one minute apart from `day0`.
pub fn records(account: &ManagedAccountId, n: usize) -> Vec<StoredDetailRecord> {
    (0..n)
        .map(|i| StoredDetailRecord {
            account: account.clone(),
            department: DepartmentId::new(PARENT),
            billing_customer: Some(CustomerId::new(RESELLER)),
            end_customer: Some(CustomerId::new("cust-a")),
            service: Some(ServiceId::new("svc-a")),
            matched_by: MatchedBy::BillingGroup,
            record: DetailRecord {
                record_type: RecordType::Messaging,
                id: DetailRecordId::new(format!("msg-{i:04}")),
                occurred_at: day0() + Duration::minutes(i as i64),
                connection_id: None,
                billing_group_id: Some("bg-a".into()),
                cli: Some("+13125550100".into()),
                cld: Some("+13125550199".into()),
                direction: Some(Direction::Outbound),
                cost: Some(Decimal::from_str("0.0001666").unwrap()),
                rate: Some(Decimal::from_str("0.0040").unwrap()),
                currency: Some("USD".into()),
                billed_quantity: Some(Decimal::from(2)),
                sessions: Vec::new(),
                // As Telnyx sends it: its own key order and number spellings.
                raw: RawRecord::from_json(format!(
                    r#"{{"record_type":"message_detail_record","uuid":"msg-{i:04}","cost":"1.666E-4","carrier_fee":0.0030,"parts":2,"text":"{}"}}"#,
                    "x".repeat(200)
                ))
                .unwrap(),
            },
        })
        .collect()
}
