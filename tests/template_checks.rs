//! Checks on `template.yaml` that no linter makes: the SQS visibility timeout is at
//! least 6x the worker's timeout for every timeout allowed, each function builds a
//! binary this workspace has, the queue feeds one account per invocation with
//! partial-failure reporting, Secrets Manager access is scoped to the key prefix, and
//! every stop of billing data has an alarm. Permissions, failure paths and the
//! dashboard: `template_hardening.rs`.

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

#[test]
fn secrets_access_is_scoped_to_the_key_prefix_never_a_wildcard() {
    let tpl = template::load();
    let mut seen = 0;
    for (name, f) in template::resources_of_type(&tpl, "AWS::Serverless::Function") {
        for st in statements(f) {
            let action = scalar(&st["Action"]).unwrap_or_default();
            let resource = tagged_text(&st["Resource"]);
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
    assert_eq!(
        seen, 2,
        "the scheduler reads the master key, the worker the account keys"
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
fn every_stop_of_billing_data_has_an_alarm_on_the_topic() {
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
    ] {
        assert!(names.contains(&wanted), "{wanted} missing: {names:?}");
    }
    for (name, alarm) in &alarms {
        let actions = alarm["Properties"]["AlarmActions"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name} has no AlarmActions"));
        assert!(
            actions.iter().any(notifies_the_alarm_topic),
            "{name} does not notify AlarmTopic (or the existing topic given)"
        );
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

#[test]
fn the_sam_build_check_names_every_missing_prerequisite_and_fails() {
    let script = template::path().with_file_name("infra/local/check-sam-build.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .env("VENV", "/nonexistent-venv")
        .output()
        .expect("the check runs");
    assert!(!out.status.success(), "missing tools must fail the check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for named in ["sam (AWS SAM CLI)", "cargo-lambda", "zig", "make tools"] {
        assert!(stderr.contains(named), "{named} not named:\n{stderr}");
    }
}
