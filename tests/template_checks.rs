//! Checks on `template.yaml` that no linter makes: the SQS visibility timeout is at
//! least 6x the worker's timeout for every timeout allowed, each function builds a
//! binary this workspace has, the queue feeds one account per invocation with
//! partial-failure reporting, Secrets Manager access is scoped to the key prefix,
//! every stop of billing data has an alarm that notifies (and says OK) on a topic
//! CloudWatch can publish to, and the parameters reach what they are for: the
//! architecture (functions and `make sam-build`), the schedule's state, the log level
//! (Lambda's filter), the key storage. Permissions, failure paths and the dashboard:
//! `template_hardening.rs`; each function's grants against its calls:
//! `granted_actions.rs`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use integration_tests::template::{self, number, scalar, statements, tagged_text};
use serde_yaml::Value;

/// The parameter a property refers to with `!Ref`.
fn referenced_parameter(v: &Value) -> String {
    assert_eq!(template::tag(v).as_deref(), Some("Ref"), "{v:?} is a !Ref");
    tagged_text(v)
}

#[test]
fn queue_visibility_timeout_is_at_least_six_times_every_allowed_account_sync_timeout() {
    let tpl = template::load();
    let timeout = referenced_parameter(
        &template::resource(&tpl, "AccountSyncFunction")["Properties"]["Timeout"],
    );
    let visibility =
        &template::resource(&tpl, "AccountSyncQueue")["Properties"]["VisibilityTimeout"];
    assert_eq!(template::tag(visibility).as_deref(), Some("FindInMap"));
    let args = match visibility {
        Value::Tagged(t) => t.value.as_sequence().expect("FindInMap arguments").clone(),
        _ => unreachable!(),
    };
    let map = scalar(&args[0]).expect("map name");
    assert_eq!(
        referenced_parameter(&args[1]),
        timeout,
        "the visibility row is chosen by the function's own timeout"
    );
    let allowed = tpl["Parameters"][timeout.as_str()]["AllowedValues"]
        .as_sequence()
        .expect("the timeout parameter lists its allowed values");
    let default = number(&tpl["Parameters"][timeout.as_str()]["Default"]);
    assert!(allowed.iter().map(number).any(|v| v == default));
    for value in allowed.iter().map(number) {
        let row = &tpl["Mappings"][map.as_str()][value.to_string().as_str()];
        let seconds = number(&row[scalar(&args[2]).expect("key").as_str()]);
        assert!(
            seconds >= 6 * value,
            "Timeout {value}: VisibilityTimeout {seconds} < 6 x {value}"
        );
    }
}

#[test]
fn both_functions_take_timeout_and_memory_from_parameters() {
    let tpl = template::load();
    for function in ["SchedulerFunction", "AccountSyncFunction"] {
        let props = &template::resource(&tpl, function)["Properties"];
        for property in ["Timeout", "MemorySize"] {
            let parameter = referenced_parameter(&props[property]);
            let declared = &tpl["Parameters"][parameter.as_str()];
            assert_eq!(
                scalar(&declared["Type"]).as_deref(),
                Some("Number"),
                "{function}.{property}"
            );
            assert!(
                !declared["Default"].is_null(),
                "{function}.{property}: {parameter} has a default"
            );
        }
    }
}

#[test]
fn every_function_builds_a_binary_of_this_workspace_and_names_are_unique() {
    let tpl = template::load();
    let mut binaries: Vec<String> = template::resources_of_type(&tpl, "AWS::Serverless::Function")
        .into_iter()
        .map(|(name, f)| {
            assert_eq!(
                scalar(&f["Metadata"]["BuildMethod"]).as_deref(),
                Some("rust-cargolambda"),
                "{name}"
            );
            assert_eq!(
                scalar(&f["Properties"]["CodeUri"]).as_deref(),
                Some("./"),
                "{name}"
            );
            scalar(&f["Metadata"]["BuildProperties"]["Binary"]).expect("Binary")
        })
        .collect();
    binaries.sort();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for bin in &binaries {
        let manifest = std::fs::read_to_string(root.join("functions").join(bin).join("Cargo.toml"))
            .unwrap_or_else(|_| panic!("functions/{bin}/Cargo.toml exists for Binary {bin}"));
        assert!(
            manifest.contains(&format!("name = \"{bin}\"")),
            "functions/{bin} builds a binary named {bin}"
        );
    }
    let before = binaries.len();
    binaries.dedup();
    assert_eq!(before, binaries.len(), "binary names are unique");
    assert_eq!(
        binaries,
        vec!["account-sync".to_owned(), "scheduler".to_owned()]
    );
}

#[test]
fn account_sync_takes_one_account_per_invocation_and_reports_partial_failures() {
    let tpl = template::load();
    let queue_event =
        &template::resource(&tpl, "AccountSyncFunction")["Properties"]["Events"]["Queue"];
    assert_eq!(scalar(&queue_event["Type"]).as_deref(), Some("SQS"));
    let props = &queue_event["Properties"];
    assert_eq!(number(&props["BatchSize"]), 1);
    let types: Vec<String> = props["FunctionResponseTypes"]
        .as_sequence()
        .expect("FunctionResponseTypes")
        .iter()
        .filter_map(scalar)
        .collect();
    assert_eq!(types, vec!["ReportBatchItemFailures".to_owned()]);
    assert!(
        !props["ScalingConfig"]["MaximumConcurrency"].is_null(),
        "MaximumConcurrency caps concurrent accounts"
    );
    let redrive = &template::resource(&tpl, "AccountSyncQueue")["Properties"]["RedrivePolicy"];
    assert!(
        !redrive["deadLetterTargetArn"].is_null(),
        "the queue has a dead-letter queue"
    );
}

/// The texts of a statement's resource: one string, or each branch of an `!If`.
fn resource_branches(resource: &Value) -> Vec<String> {
    match resource {
        Value::Tagged(t) if t.tag.to_string().trim_start_matches('!') == "If" => t
            .value
            .as_sequence()
            .map(|branches| branches.iter().skip(1).map(tagged_text).collect())
            .unwrap_or_default(),
        other => vec![tagged_text(other)],
    }
}

#[test]
fn secrets_access_is_scoped_to_the_key_prefix_never_a_wildcard() {
    let tpl = template::load();
    let mut seen = 0;
    for (name, f) in template::resources_of_type(&tpl, "AWS::Serverless::Function") {
        for st in statements(f) {
            let action = scalar(&st["Action"]).unwrap_or_default();
            for resource in resource_branches(&st["Resource"]) {
                assert_ne!(resource, "*", "{name}: a statement with Resource '*'");
                if action.starts_with("secretsmanager:") {
                    seen += 1;
                    assert_eq!(
                        action, "secretsmanager:GetSecretValue",
                        "{name}: read-only access"
                    );
                    assert!(
                        resource.contains(":secret:${SecretPrefix}"),
                        "{name}: {resource} is under the prefix"
                    );
                    assert!(
                        resource.ends_with("-??????"),
                        "{name}: {resource} ends with the -?????? suffix"
                    );
                }
            }
        }
    }
    assert_eq!(
        seen, 3,
        "the scheduler reads the master key, the worker the account keys (one secret each, or the shared secrets)"
    );
}

#[test]
fn the_key_storage_parameter_chooses_what_the_worker_reads_and_reaches_both_functions() {
    let tpl = template::load();
    let parameter = &tpl["Parameters"]["KeyStorage"];
    let allowed: Vec<String> = parameter["AllowedValues"]
        .as_sequence()
        .expect("KeyStorage lists its values")
        .iter()
        .filter_map(scalar)
        .collect();
    assert_eq!(allowed, ["per-account", "shared"]);
    assert_eq!(
        scalar(&parameter["Default"]).as_deref(),
        Some("per-account")
    );
    let env = &tpl["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(tagged_text(&env["KEY_STORAGE"]), "KeyStorage");
    let worker = template::resource(&tpl, "AccountSyncFunction");
    let read = statements(worker)
        .into_iter()
        .find(|s| scalar(&s["Sid"]).as_deref() == Some("ReadAccountKeys"))
        .expect("the worker reads account keys");
    let branches = resource_branches(&read["Resource"]);
    assert!(
        branches[0].ends_with("${SecretPrefix}shared/keys-??-??????")
            && branches[1].ends_with("${SecretPrefix}accounts/*-??????"),
        "{branches:?}"
    );
}

/// The names of the SAM policy templates a function has (`SQSSendMessagePolicy`…),
/// with the queue each names.
fn policy_templates(f: &Value) -> Vec<(String, String)> {
    f["Properties"]["Policies"]
        .as_sequence()
        .map(|s| s.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_mapping)
        .flat_map(|m| m.iter())
        .filter_map(|(k, v)| Some((scalar(k)?, tagged_text(&v["QueueName"]))))
        .collect()
}

#[test]
fn both_functions_know_the_queue_and_may_send_to_it_for_fanout_and_continuations() {
    let tpl = template::load();
    let globals = &tpl["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        tagged_text(&globals["QUEUE_URL"]),
        "AccountSyncQueue",
        "QUEUE_URL is the account-sync queue, for both functions"
    );
    for function in ["SchedulerFunction", "AccountSyncFunction"] {
        let sends = policy_templates(template::resource(&tpl, function))
            .into_iter()
            .any(|(policy, queue)| {
                policy == "SQSSendMessagePolicy" && queue.contains("AccountSyncQueue")
            });
        assert!(sends, "{function} may send to AccountSyncQueue");
    }
}

#[test]
fn the_default_concurrency_sweeps_the_documented_account_count_within_the_interval() {
    let tpl = template::load();
    let default = number(&tpl["Parameters"]["MaxConcurrentAccounts"]["Default"]);
    // README "Sizing MaxConcurrentAccounts": 3,000 idle accounts at 1.1 s a run, every
    // 900 s, with 2.5x headroom.
    let needed = (3_000.0 * 1.1 / 900.0 * 2.5_f64).ceil() as u64;
    assert!(default >= needed, "default {default} < {needed}");
}

/// `!If [CreateAlarmTopic, !Ref AlarmTopic, !Ref ExistingAlarmTopicArn]`: the stack's
/// topic, or the operator's own.
fn notifies_the_alarm_topic(action: &Value) -> bool {
    let Value::Tagged(t) = action else {
        return false;
    };
    let branches = t
        .value
        .as_sequence()
        .map(|s| s.as_slice())
        .unwrap_or_default();
    template::tag(action).as_deref() == Some("If")
        && branches.len() == 3
        && scalar(&branches[0]).as_deref() == Some("CreateAlarmTopic")
        && tagged_text(&branches[1]) == "AlarmTopic"
        && tagged_text(&branches[2]) == "ExistingAlarmTopicArn"
}

#[test]
fn every_stop_of_billing_data_has_an_alarm_that_notifies_the_topic_and_says_ok() {
    let tpl = template::load();
    let alarms = template::resources_of_type(&tpl, "AWS::CloudWatch::Alarm");
    let names: Vec<&str> = alarms.iter().map(|(n, _)| n.as_str()).collect();
    for wanted in [
        "DeadLetterQueueNotEmptyAlarm",
        "QueueBacklogAlarm",
        "SchedulerErrorsAlarm",
        "ThrottlesAlarm",
        "NoSuccessfulRunAlarm",
        "KeyProblemsAlarm",
        "SchedulerFailuresAlarm",
        "AuditMismatchAlarm",
        "AccountSyncErrorsAlarm",
        "RunNearTimeoutAlarm",
        "DynamoDbThrottlingAlarm",
        "EmailsNotSentAlarm",
    ] {
        assert!(names.contains(&wanted), "{wanted} missing: {names:?}");
    }
    for (name, alarm) in &alarms {
        for property in ["AlarmActions", "OKActions"] {
            let actions = alarm["Properties"][property]
                .as_sequence()
                .unwrap_or_else(|| panic!("{name} has no {property}"));
            assert!(
                actions.iter().any(notifies_the_alarm_topic),
                "{name}'s {property} does not notify AlarmTopic (or the existing topic given)"
            );
        }
    }
    let silence = &template::resource(&tpl, "NoSuccessfulRunAlarm")["Properties"];
    assert_eq!(
        scalar(&silence["TreatMissingData"]).as_deref(),
        Some("breaching"),
        "no data at all is the failure this alarm exists for"
    );
    assert_eq!(
        scalar(&silence["Namespace"]).as_deref(),
        Some("TelnyxBillingSync")
    );
}

/// The metric names an alarm reads (its own, or those of its metric-math inputs).
fn alarm_metrics(alarm: &Value) -> Vec<String> {
    let props = &alarm["Properties"];
    let mut names: Vec<String> = scalar(&props["MetricName"]).into_iter().collect();
    for m in props["Metrics"]
        .as_sequence()
        .map(|s| s.as_slice())
        .unwrap_or_default()
    {
        names.extend(scalar(&m["MetricStat"]["Metric"]["MetricName"]));
    }
    names
}

#[test]
fn the_new_alarms_watch_sync_errors_timeouts_dynamodb_throttling_and_unsent_emails() {
    let tpl = template::load();
    let watches = |alarm: &str| alarm_metrics(template::resource(&tpl, alarm));
    assert_eq!(watches("AccountSyncErrorsAlarm"), ["Runs", "Errors"]);
    assert_eq!(watches("RunNearTimeoutAlarm"), ["Duration", "Duration"]);
    assert_eq!(
        watches("DynamoDbThrottlingAlarm"),
        [
            "ReadThrottleEvents",
            "WriteThrottleEvents",
            "WriteThrottleEvents"
        ]
    );
    assert_eq!(
        watches("EmailsNotSentAlarm"),
        ["EmailsFailed", "EmailsFailed"]
    );
    let near = &template::resource(&tpl, "RunNearTimeoutAlarm")["Properties"]["Metrics"];
    let expression = near
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| m["ReturnData"].as_bool() == Some(true))
        .map(|m| tagged_text(&m["Expression"]))
        .unwrap();
    for parameter in ["${AccountSyncTimeoutSeconds}", "${SchedulerTimeoutSeconds}"] {
        assert!(
            expression.contains(parameter),
            "{expression} follows {parameter}"
        );
    }
    let emitted = std::fs::read_to_string(
        template::path().with_file_name("shared/reconciliation/src/metrics/mod.rs"),
    )
    .unwrap();
    assert!(
        emitted.contains("\"EmailsFailed\""),
        "the functions emit EmailsFailed"
    );
}

#[test]
fn cloudwatch_can_publish_to_the_alarm_topic_never_one_under_alias_aws_sns() {
    let text = std::fs::read_to_string(template::path()).unwrap();
    let resources: String = text
        .split("\nResources:")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    assert!(
        !resources.contains("alias/aws/sns"),
        "CloudWatch alarms cannot publish to a topic encrypted with alias/aws/sns (docs/aws.md)"
    );
    let tpl = template::load();
    for (name, topic) in template::resources_of_type(&tpl, "AWS::SNS::Topic") {
        let key = &topic["Properties"]["KmsMasterKeyId"];
        assert!(
            !format!("{key:?}").contains("alias/aws/sns"),
            "{name} is encrypted with the AWS-managed key"
        );
    }
    let key = &template::resource(&tpl, "AlarmTopic")["Properties"]["KmsMasterKeyId"];
    let branches = match key {
        Value::Tagged(t) => t.value.as_sequence().unwrap().clone(),
        _ => panic!("the topic's key is chosen by AlarmTopicEncryption: {key:?}"),
    };
    assert_eq!(scalar(&branches[0]).as_deref(), Some("EncryptAlarmTopic"));
    assert_eq!(tagged_text(&branches[1]), "AlarmTopicKey");
    assert_eq!(tagged_text(&branches[2]), "AWS::NoValue");
    let policy = &template::resource(&tpl, "AlarmTopicKey")["Properties"]["KeyPolicy"];
    let cloudwatch = policy["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| scalar(&s["Principal"]["Service"]).as_deref() == Some("cloudwatch.amazonaws.com"))
        .expect("the key policy names CloudWatch");
    let allowed: Vec<String> = integration_tests::template::actions(cloudwatch);
    assert_eq!(allowed, ["kms:GenerateDataKey*", "kms:Decrypt"]);
    assert_eq!(scalar(&cloudwatch["Effect"]).as_deref(), Some("Allow"));
    let encryption = &tpl["Parameters"]["AlarmTopicEncryption"];
    assert_eq!(
        scalar(&encryption["Default"]).as_deref(),
        Some("customer-managed-key")
    );
    let topic_policy =
        &template::resource(&tpl, "AlarmTopicPolicy")["Properties"]["PolicyDocument"];
    let publish = &topic_policy["Statement"][0];
    assert_eq!(
        scalar(&publish["Principal"]["Service"]).as_deref(),
        Some("cloudwatch.amazonaws.com")
    );
    assert_eq!(scalar(&publish["Action"]).as_deref(), Some("sns:Publish"));
}

#[test]
fn the_architecture_parameter_reaches_every_function_and_the_build() {
    let tpl = template::load();
    let parameter = &tpl["Parameters"]["Architecture"];
    let allowed: Vec<String> = parameter["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(scalar)
        .collect();
    assert_eq!(allowed, ["arm64", "x86_64"]);
    assert_eq!(scalar(&parameter["Default"]).as_deref(), Some("arm64"));
    let globals = tpl["Globals"]["Function"]["Architectures"]
        .as_sequence()
        .expect("Globals name the architecture");
    assert_eq!(globals.len(), 1);
    assert_eq!(referenced_parameter(&globals[0]), "Architecture");
    for (name, f) in template::resources_of_type(&tpl, "AWS::Serverless::Function") {
        assert!(
            f["Properties"]["Architectures"].is_null(),
            "{name} does not override the architecture"
        );
    }
    let makefile = std::fs::read_to_string(template::path().with_file_name("Makefile")).unwrap();
    let target = makefile
        .split("\nsam-build:")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("a sam-build target");
    assert!(
        target.contains("Architecture=$(ARCH)"),
        "sam build gets the parameter:\n{target}"
    );
    assert!(
        target.contains("ARCH=$(ARCH)"),
        "its check gets the architecture:\n{target}"
    );
}

#[test]
fn the_schedule_waits_for_its_operator_and_so_does_the_silence_alarm() {
    let tpl = template::load();
    let parameter = &tpl["Parameters"]["ScheduleState"];
    assert_eq!(scalar(&parameter["Default"]).as_deref(), Some("DISABLED"));
    let allowed: Vec<String> = parameter["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(scalar)
        .collect();
    assert_eq!(allowed, ["ENABLED", "DISABLED"]);
    let schedule = &template::resource(&tpl, "SchedulerFunction")["Properties"]["Events"]["Schedule"]
        ["Properties"];
    assert_eq!(referenced_parameter(&schedule["State"]), "ScheduleState");
    let enabled = &template::resource(&tpl, "NoSuccessfulRunAlarm")["Properties"]["ActionsEnabled"];
    let branches = match enabled {
        Value::Tagged(t) => t.value.as_sequence().unwrap().clone(),
        _ => panic!("ActionsEnabled follows the schedule: {enabled:?}"),
    };
    assert_eq!(scalar(&branches[0]).as_deref(), Some("ScheduleEnabled"));
    let condition = &tpl["Conditions"]["ScheduleEnabled"];
    assert!(
        format!("{condition:?}").contains("ScheduleState")
            && format!("{condition:?}").contains("ENABLED")
    );
}

#[test]
fn the_log_level_parameter_reaches_lambdas_own_filter() {
    let tpl = template::load();
    let logging = &tpl["Globals"]["Function"]["LoggingConfig"];
    let level = &logging["ApplicationLogLevel"];
    assert_eq!(template::tag(level).as_deref(), Some("FindInMap"));
    let args = match level {
        Value::Tagged(t) => t.value.as_sequence().unwrap().clone(),
        _ => unreachable!(),
    };
    assert_eq!(referenced_parameter(&args[1]), "LogLevel");
    let map = scalar(&args[0]).unwrap();
    let key = scalar(&args[2]).unwrap();
    let lambda_levels = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
    for value in tpl["Parameters"]["LogLevel"]["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(scalar)
    {
        let mapped = scalar(&tpl["Mappings"][map.as_str()][value.as_str()][key.as_str()])
            .unwrap_or_else(|| panic!("LogLevel {value} has no ApplicationLogLevel"));
        assert_eq!(mapped, value.to_uppercase(), "LogLevel {value}");
        assert!(lambda_levels.contains(&mapped.as_str()));
    }
    let env = &tpl["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(referenced_parameter(&env["RUST_LOG"]), "LogLevel");
}

/// Runs the sam-build check with `ARCH` and no tools; its stderr.
fn sam_build_check(arch: &str) -> String {
    let script = template::path().with_file_name("infra/local/check-sam-build.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .env("VENV", "/nonexistent-venv")
        .env("ARCH", arch)
        .output()
        .expect("the check runs");
    assert!(!out.status.success(), "missing tools must fail the check");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_sam_build_check_names_every_missing_prerequisite_for_the_architecture_and_fails() {
    let arm = sam_build_check("arm64");
    for named in ["sam (AWS SAM CLI)", "cargo-lambda", "zig", "make tools"] {
        assert!(arm.contains(named), "{named} not named:\n{arm}");
    }
    assert!(arm.contains("aarch64-unknown-linux-gnu"), "{arm}");
    let x86 = sam_build_check("x86_64");
    assert!(x86.contains("cargo-lambda"), "{x86}");
    assert!(
        !x86.contains("aarch64"),
        "x86_64 needs no other Rust target:\n{x86}"
    );
    let wrong = sam_build_check("sparc");
    assert!(
        wrong.contains("ARCH") && wrong.contains("arm64 or x86_64"),
        "{wrong}"
    );
}
