//! `template.yaml` grants what the code calls and nothing wider, keeps every failure
//! somewhere an alarm sees it, and says what happens to its data on delete:
//! - account-sync's and the operator CLI's DynamoDB actions are exactly the calls
//!   `shared/aws/src/store` makes, on the table and its index (the scheduler's, a
//!   subset, are checked against its recorded calls in `granted_actions.rs`); the CLI's
//!   Secrets Manager actions exactly the calls `shared/aws/src/secrets` makes; no `*`
//!   resource for the table, the secrets, SES or KMS;
//! - SES only as the sender address or its domain; KMS only when a key is given, and
//!   only through Secrets Manager;
//! - a tick that fails is kept (schedule dead-letter queue, async on-failure
//!   destination), the schedule's name is unique per stack;
//! - log groups with retention, table deletion protection, explicit deletion policies;
//! - the dashboard shows only metrics the functions emit.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use integration_tests::template::{self, actions, resources, scalar, statements, tagged_text};
use serde_yaml::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

const FUNCTIONS: [&str; 2] = ["SchedulerFunction", "AccountSyncFunction"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The production sources of a folder (its `tests/` and `*tests.rs` left out).
fn sources(folder: &str) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(root().join(folder)).expect("folder") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.extension().is_some_and(|e| e == "rs") && !name.ends_with("tests.rs") {
            text.push_str(&std::fs::read_to_string(&path).expect("source"));
        }
    }
    text
}

/// The IAM actions the DynamoDB adapter's calls need: one per SDK operation, and for
/// a transaction one per kind of item it holds (IAM authorises each separately).
fn dynamodb_actions_the_store_calls() -> BTreeSet<String> {
    let code = sources("shared/aws/src/store");
    let calls = [
        (".get_item()", "GetItem"),
        (".put_item()", "PutItem"),
        (".update_item()", "UpdateItem"),
        (".delete_item()", "DeleteItem"),
        (".query()", "Query"),
        (".scan()", "Scan"),
        (".batch_get_item()", "BatchGetItem"),
        (".batch_write_item()", "BatchWriteItem"),
        ("Put::builder()", "PutItem"),
        ("Update::builder()", "UpdateItem"),
        ("Delete::builder()", "DeleteItem"),
        ("ConditionCheck::builder()", "ConditionCheckItem"),
        (".describe_table()", "DescribeTable"),
    ];
    let found: BTreeSet<String> = calls
        .iter()
        .filter(|(call, _)| code.contains(call))
        .map(|(_, action)| format!("dynamodb:{action}"))
        .collect();
    assert!(
        found.contains("dynamodb:BatchWriteItem"),
        "the scan of shared/aws/src/store found its calls: {found:?}"
    );
    found
}

/// The statements of a managed policy resource (those under `!If` included).
fn policy_statements<'a>(tpl: &'a Value, name: &str) -> Vec<&'a Value> {
    template::resource(tpl, name)["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .expect("a policy document")
        .iter()
        .flat_map(|st| match st {
            Value::Tagged(t) => t
                .value
                .as_sequence()
                .map(|b| b.iter().filter(|b| b.get("Effect").is_some()).collect())
                .unwrap_or_default(),
            plain => vec![plain],
        })
        .collect()
}

fn granted_with_prefix(statements: &[&Value], prefix: &str) -> BTreeSet<String> {
    statements
        .iter()
        .flat_map(|s| actions(s))
        .filter(|a| a.starts_with(prefix))
        .collect()
}

#[test]
fn the_dynamodb_actions_granted_are_exactly_those_the_store_calls() {
    let tpl = template::load();
    let called = dynamodb_actions_the_store_calls();
    let expected: BTreeSet<String> = ["BillingTable.Arn", "${BillingTable.Arn}/index/gsi1"]
        .map(str::to_owned)
        .into();
    let worker = statements(template::resource(&tpl, "AccountSyncFunction"));
    let cli = policy_statements(&tpl, "OperatorCliPolicy");
    for (who, statements) in [
        ("AccountSyncFunction", &worker),
        ("OperatorCliPolicy", &cli),
    ] {
        assert_eq!(
            granted_with_prefix(statements, "dynamodb:"),
            called,
            "{who}: granted vs called"
        );
        for st in statements
            .iter()
            .filter(|s| actions(s).iter().any(|a| a.starts_with("dynamodb:")))
        {
            let on: BTreeSet<String> = resources(st).into_iter().collect();
            assert_eq!(on, expected, "{who}: the table and its one index only");
        }
    }
    let scheduler = statements(template::resource(&tpl, "SchedulerFunction"));
    assert!(
        granted_with_prefix(&scheduler, "dynamodb:").is_subset(&called),
        "the scheduler is granted only calls the store has"
    );
}

/// The Secrets Manager actions the key adapter's calls need (a secret created with its
/// tags needs `TagResource` too).
fn secretsmanager_actions_the_key_store_calls() -> BTreeSet<String> {
    let code = sources("shared/aws/src/secrets")
        + &std::fs::read_to_string(root().join("shared/aws/src/secrets.rs")).unwrap();
    let calls = [
        (".get_secret_value()", "GetSecretValue"),
        (".create_secret()", "CreateSecret"),
        (".put_secret_value()", "PutSecretValue"),
        (".update_secret_version_stage()", "UpdateSecretVersionStage"),
        (".describe_secret()", "DescribeSecret"),
        (".delete_secret()", "DeleteSecret"),
        (".restore_secret()", "RestoreSecret"),
        (".set_tags(", "TagResource"),
        (".list_secrets()", "ListSecrets"),
    ];
    calls
        .iter()
        .filter(|(call, _)| code.contains(call))
        .map(|(_, action)| format!("secretsmanager:{action}"))
        .collect()
}

/// The S3 actions the export's calls need (a multipart upload's create, part and
/// complete calls are all `s3:PutObject`).
fn s3_actions_the_export_calls() -> BTreeSet<String> {
    let code = std::fs::read_to_string(root().join("shared/aws/src/export.rs")).unwrap();
    let calls = [
        (".put_object()", "PutObject"),
        (".create_multipart_upload()", "PutObject"),
        (".upload_part()", "PutObject"),
        (".complete_multipart_upload()", "PutObject"),
        (".abort_multipart_upload()", "AbortMultipartUpload"),
        (".get_object()", "GetObject"),
        (".list_objects_v2()", "ListBucket"),
    ];
    let found: BTreeSet<String> = calls
        .iter()
        .filter(|(call, _)| code.contains(call))
        .map(|(_, action)| format!("s3:{action}"))
        .collect();
    assert!(found.contains("s3:PutObject"), "the export writes to S3");
    found
}

#[test]
fn the_operator_cli_policy_holds_exactly_what_billing_admin_calls() {
    let tpl = template::load();
    let cli = policy_statements(&tpl, "OperatorCliPolicy");
    let called = secretsmanager_actions_the_key_store_calls();
    assert!(
        called.contains("secretsmanager:UpdateSecretVersionStage"),
        "{called:?}"
    );
    assert_eq!(granted_with_prefix(&cli, "secretsmanager:"), called);
    for st in cli
        .iter()
        .filter(|s| actions(s).iter().any(|a| a.starts_with("secretsmanager:")))
    {
        for r in resources(st) {
            assert!(
                r.ends_with(":secret:${SecretPrefix}*"),
                "under the prefix only: {r}"
            );
        }
    }
    assert_eq!(
        granted_with_prefix(&cli, "sqs:"),
        BTreeSet::from(["sqs:SendMessage".to_owned()])
    );
    assert_eq!(
        granted_with_prefix(&cli, "ses:"),
        BTreeSet::from(["ses:SendEmail".to_owned()])
    );
    let kms = granted_with_prefix(&cli, "kms:");
    assert_eq!(
        kms,
        BTreeSet::from(["kms:Decrypt".to_owned(), "kms:GenerateDataKey".to_owned()])
    );
    assert_eq!(
        granted_with_prefix(&cli, "s3:"),
        s3_actions_the_export_calls()
    );
    for st in cli
        .iter()
        .filter(|s| actions(s).iter().any(|a| a.starts_with("s3:")))
    {
        assert_eq!(
            resources(st),
            vec!["arn:${AWS::Partition}:s3:::${ExportBucketName}/*".to_owned()],
            "the export bucket's objects only"
        );
    }
    let all: BTreeSet<String> = cli.iter().flat_map(|s| actions(s)).collect();
    let known = [
        "dynamodb:",
        "secretsmanager:",
        "sqs:",
        "ses:",
        "kms:",
        "s3:",
    ];
    assert!(
        all.iter().all(|a| known.iter().any(|p| a.starts_with(p))),
        "{all:?}"
    );
    assert_eq!(
        template::tag(&tpl["Outputs"]["OperatorCliPolicyArn"]["Value"]).as_deref(),
        Some("Ref")
    );
    let admin = std::fs::read_to_string(root().join("infra/admin/src/commands.rs")).unwrap();
    assert!(
        admin.contains("SecretsManagerKeys"),
        "billing-admin writes keys through the adapter checked above"
    );
}

#[test]
fn no_permission_on_the_table_secrets_email_or_keys_names_a_wildcard_resource() {
    let tpl = template::load();
    for function in FUNCTIONS {
        let f = template::resource(&tpl, function);
        let templates: Vec<String> = f["Properties"]["Policies"]
            .as_sequence()
            .expect("Policies")
            .iter()
            .filter_map(Value::as_mapping)
            .flat_map(|m| m.keys().filter_map(scalar))
            .filter(|k| k != "Statement")
            .collect();
        assert_eq!(
            templates,
            vec!["SQSSendMessagePolicy".to_owned()],
            "{function}: no broad SAM policy template (DynamoDBCrudPolicy, SESCrudPolicy…)"
        );
        for st in statements(f) {
            let sensitive = actions(st).iter().any(|a| {
                ["dynamodb:", "secretsmanager:", "ses:", "kms:"]
                    .iter()
                    .any(|p| a.starts_with(p))
            });
            if !sensitive {
                continue;
            }
            for r in resources(st) {
                assert!(
                    r != "*" && !r.ends_with(":*") && !r.ends_with("/*"),
                    "{function}: {:?} on {r}",
                    actions(st)
                );
            }
        }
    }
}

#[test]
fn email_is_sent_only_as_the_sender_address_or_its_domain() {
    let tpl = template::load();
    for function in FUNCTIONS {
        let f = template::resource(&tpl, function);
        let ses: Vec<&Value> = statements(f)
            .into_iter()
            .filter(|s| actions(s).iter().any(|a| a.starts_with("ses:")))
            .collect();
        assert_eq!(ses.len(), 1, "{function}: one SES statement");
        assert_eq!(actions(ses[0]), vec!["ses:SendEmail".to_owned()]);
        let on = resources(ses[0]);
        assert_eq!(on.len(), 2, "{function}: {on:?}");
        assert!(on[0].ends_with(":identity/${SenderEmail}"), "{}", on[0]);
        assert!(on[1].ends_with(":identity/${Domain}"), "{}", on[1]);
    }
}

/// A function's `!If [condition, statement, …]` policy statements, as their branches.
fn statements_if(function: &Value, condition: &str) -> Vec<Vec<Value>> {
    function["Properties"]["Policies"]
        .as_sequence()
        .expect("Policies")
        .iter()
        .filter_map(|p| p.get("Statement").and_then(Value::as_sequence))
        .flatten()
        .filter(|s| template::tag(s).as_deref() == Some("If"))
        .filter_map(|s| match s {
            Value::Tagged(t) => t.value.as_sequence().cloned(),
            _ => None,
        })
        .filter(|b| scalar(&b[0]).as_deref() == Some(condition))
        .collect()
}

#[test]
fn a_customer_managed_key_is_optional_and_decrypts_only_through_secrets_manager() {
    let tpl = template::load();
    for function in FUNCTIONS {
        let f = template::resource(&tpl, function);
        let conditional = statements_if(f, "HasSecretsKmsKey");
        assert_eq!(
            conditional.len(),
            1,
            "{function}: one statement on the KMS key's condition"
        );
        let branches = &conditional[0];
        let kms = &branches[1];
        assert_eq!(actions(kms), vec!["kms:Decrypt".to_owned()]);
        assert_eq!(resources(kms), vec!["SecretsKmsKeyArn".to_owned()]);
        let via = tagged_text(&kms["Condition"]["StringEquals"]["kms:ViaService"]);
        assert!(via.starts_with("secretsmanager."), "{function}: {via}");
        assert_eq!(tagged_text(&branches[2]), "AWS::NoValue");
        let outside: Vec<&Value> = statements(f)
            .into_iter()
            .filter(|s| actions(s).iter().any(|a| a.starts_with("kms:")))
            .collect();
        assert_eq!(outside.len(), 1, "{function}: kms only under the condition");
    }
    assert_eq!(
        tagged_text(&tpl["Parameters"]["SecretsKmsKeyArn"]["Default"]),
        "",
        "no key by default"
    );
}

#[test]
fn a_failed_tick_is_kept_in_a_queue_an_alarm_watches() {
    let tpl = template::load();
    let scheduler = &template::resource(&tpl, "SchedulerFunction")["Properties"];
    let schedule = &scheduler["Events"]["Schedule"]["Properties"];
    assert_eq!(
        tagged_text(&schedule["DeadLetterConfig"]["Arn"]),
        "SchedulerFailureQueue.Arn"
    );
    assert!(!schedule["RetryPolicy"]["MaximumEventAgeInSeconds"].is_null());
    let name = tagged_text(&schedule["Name"]);
    assert!(
        name.contains("${AWS::StackName}"),
        "the schedule name {name:?} is unique per stack"
    );
    let invoke = &scheduler["EventInvokeConfig"];
    assert!(!invoke["MaximumEventAgeInSeconds"].is_null());
    assert_eq!(
        tagged_text(&invoke["DestinationConfig"]["OnFailure"]["Destination"]),
        "SchedulerFailureQueue.Arn"
    );
    let watched = template::resources_of_type(&tpl, "AWS::CloudWatch::Alarm")
        .into_iter()
        .any(|(_, a)| {
            a["Properties"]["Dimensions"]
                .as_sequence()
                .is_some_and(|d| {
                    d.iter()
                        .any(|d| tagged_text(&d["Value"]) == "SchedulerFailureQueue.QueueName")
                })
        });
    assert!(watched, "an alarm watches SchedulerFailureQueue");
}

#[test]
fn every_function_logs_to_a_group_with_retention() {
    let tpl = template::load();
    for function in FUNCTIONS {
        let group = tagged_text(
            &template::resource(&tpl, function)["Properties"]["LoggingConfig"]["LogGroup"],
        );
        let resource = template::resource(&tpl, &group);
        assert_eq!(
            scalar(&resource["Type"]).as_deref(),
            Some("AWS::Logs::LogGroup")
        );
        assert_eq!(
            tagged_text(&resource["Properties"]["RetentionInDays"]),
            "LogRetentionDays",
            "{function}: {group} keeps its lines for LogRetentionDays"
        );
    }
}

#[test]
fn stored_data_survives_a_stack_delete_and_every_queue_says_what_happens_to_it() {
    let tpl = template::load();
    let table = template::resource(&tpl, "BillingTable");
    assert_eq!(scalar(&table["DeletionPolicy"]).as_deref(), Some("Retain"));
    assert_eq!(
        scalar(&table["Properties"]["DeletionProtectionEnabled"]).as_deref(),
        Some("true")
    );
    for (name, queue) in template::resources_of_type(&tpl, "AWS::SQS::Queue") {
        let policy = scalar(&queue["DeletionPolicy"]);
        assert!(
            matches!(policy.as_deref(), Some("Retain" | "Delete")),
            "{name} has an explicit DeletionPolicy"
        );
    }
    assert_eq!(
        scalar(&template::resource(&tpl, "AccountSyncDeadLetterQueue")["DeletionPolicy"])
            .as_deref(),
        Some("Retain"),
        "the failed sync requests outlive the stack"
    );
}

/// The metric names a dashboard body shows from the project's namespace: the second
/// element of each metric row (`"."` repeats the row above), and `MetricName="…"` in
/// SEARCH expressions.
fn dashboard_metrics(body: &str) -> BTreeSet<String> {
    let json: serde_json::Value = serde_json::from_str(body).expect("the dashboard body is JSON");
    let mut names = BTreeSet::new();
    for widget in json["widgets"].as_array().expect("widgets") {
        let mut previous: Vec<String> = Vec::new();
        for row in widget["properties"]["metrics"].as_array().expect("metrics") {
            let cells: Vec<String> = row
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect();
            if let Some(expr) = row[0]["expression"].as_str() {
                let name = expr
                    .split("MetricName=\"")
                    .nth(1)
                    .and_then(|r| r.split('"').next());
                names.insert(name.expect("SEARCH names its metric").to_owned());
                continue;
            }
            let resolved: Vec<String> = if cells.first().map(String::as_str) == Some("...") {
                previous.clone()
            } else {
                cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        if c == "." {
                            previous[i].clone()
                        } else {
                            c.clone()
                        }
                    })
                    .collect()
            };
            if resolved[0] == "TelnyxBillingSync" {
                names.insert(resolved[1].clone());
            }
            previous = resolved;
        }
    }
    names
}

#[test]
fn the_dashboard_shows_only_metrics_the_functions_emit() {
    let tpl = template::load();
    let dashboard = template::resource(&tpl, "Dashboard");
    let body = tagged_text(&dashboard["Properties"]["DashboardBody"]);
    let shown = dashboard_metrics(&body);
    let emitted = std::fs::read_to_string(root().join("shared/reconciliation/src/metrics/mod.rs"))
        .expect("metrics module");
    for name in &shown {
        assert!(
            emitted.contains(&format!("\"{name}\"")),
            "the dashboard shows {name}, which no EMF line carries"
        );
    }
    for wanted in [
        "Runs",
        "RecordsRead",
        "CustomersCreated",
        "ServicesCreated",
        "TwinsCreated",
        "ImportLogEntries",
        "TelnyxThrottled",
        "DurationMs",
    ] {
        assert!(
            shown.contains(wanted),
            "the dashboard lacks {wanted}: {shown:?}"
        );
    }
}

#[test]
fn the_monthly_close_is_off_by_default_and_only_it_lets_the_scheduler_write_lines_and_free_a_lease()
{
    let tpl = template::load();
    assert_eq!(
        tagged_text(&tpl["Parameters"]["AutoCloseMonths"]["Default"]),
        "false"
    );
    let scheduler = template::resource(&tpl, "SchedulerFunction");
    assert_eq!(
        tagged_text(&scheduler["Properties"]["Environment"]["Variables"]["AUTO_CLOSE_MONTHS"]),
        "AutoCloseMonths"
    );
    let conditional = statements_if(scheduler, "AutoClose");
    assert_eq!(conditional.len(), 1, "one statement on AutoClose");
    assert_eq!(
        actions(&conditional[0][1]),
        vec![
            "dynamodb:BatchWriteItem".to_owned(),
            "dynamodb:DeleteItem".to_owned()
        ]
    );
    let unconditional: Vec<String> = scheduler["Properties"]["Policies"]
        .as_sequence()
        .expect("Policies")
        .iter()
        .filter_map(|p| p.get("Statement").and_then(Value::as_sequence))
        .flatten()
        .filter(|s| !matches!(s, Value::Tagged(_)))
        .flat_map(actions)
        .collect();
    for action in ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem"] {
        assert!(
            !unconditional.contains(&action.to_owned()),
            "{action}: {unconditional:?}"
        );
    }
}
