//! The local stack as the tests see it: endpoints from the standard
//! `AWS_ENDPOINT_URL_*` variables written by `infra/local/stack.sh` (sourced by
//! `make test`), and one `SdkConfig` for every client.

use std::env;

/// What a test needs to reach the local stack.
pub struct Stack {
    pub sdk: aws_config::SdkConfig,
    pub table_name: String,
    pub queue_name: String,
    pub ses_sender: String,
    pub moto_url: String,
}

fn required(name: &str) -> String {
    env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: these tests run against the local stack. \
             Run them with `make test`, or `make stack-up && source .local/stack.env` first."
        )
    })
}

impl Stack {
    /// Reads the stack's coordinates from the environment and checks moto and
    /// DynamoDB Local answer, failing with a message that says what to do.
    pub async fn from_env() -> Self {
        for var in [
            "AWS_ENDPOINT_URL_DYNAMODB",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            "AWS_ENDPOINT_URL_SQS",
            "AWS_ENDPOINT_URL_SESV2",
        ] {
            let url = required(var);
            let reachable = reqwest::Client::new().get(&url).send().await.is_ok();
            assert!(
                reachable,
                "{var}={url} does not answer: start the local stack with `make stack-up`"
            );
        }
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        Self {
            sdk,
            table_name: required("TABLE_NAME"),
            queue_name: required("QUEUE_NAME"),
            ses_sender: required("SES_SENDER"),
            moto_url: required("MOTO_URL"),
        }
    }

    /// Every email moto has accepted (`subject`, `body`, `source`, `destinations`), from `/moto-api/data.json`.
    pub async fn sent_emails(&self) -> Vec<serde_json::Value> {
        let data: serde_json::Value = reqwest::get(format!("{}/moto-api/data.json", self.moto_url))
            .await
            .expect("moto data endpoint answers")
            .json()
            .await
            .expect("moto data is JSON");
        // moto 5 keeps a flat list; older releases grouped messages by region.
        match data.pointer("/ses/Message") {
            Some(serde_json::Value::Array(msgs)) => msgs.clone(),
            Some(serde_json::Value::Object(regions)) => regions
                .values()
                .flat_map(|r| r.as_array().cloned().unwrap_or_default())
                .collect(),
            _ => Vec::new(),
        }
    }
}
