//! The IAM actions a real SDK client's calls need, recorded as they happen (feature
//! `test-util`): an interceptor on each client notes every operation, so a test can
//! run a function's code paths and compare what they called with what `template.yaml`
//! grants. IAM names differ from some operations: a `TransactWriteItems` is
//! authorised per item (`PutItem`, `UpdateItem`, `DeleteItem`, `ConditionCheckItem`),
//! `SendMessageBatch` by `sqs:SendMessage`, SES v2's `SendEmail` by `ses:SendEmail`.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The actions recorded so far, shared by every client a [`Recorder`] is installed on.
#[derive(Debug, Clone, Default)]
pub struct Actions(Arc<Mutex<BTreeSet<String>>>);

impl Actions {
    /// Every action seen (`dynamodb:Query`, `ses:SendEmail`…).
    pub fn seen(&self) -> BTreeSet<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn note(&self, action: String) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(action);
    }
}

/// Notes the IAM action of every call of the client it is installed on.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// The IAM service prefix (`dynamodb`, `secretsmanager`, `ses`, `sqs`).
    prefix: &'static str,
    actions: Actions,
}

impl Recorder {
    /// Records into `actions` under the IAM prefix `prefix`.
    pub fn new(prefix: &'static str, actions: &Actions) -> Self {
        Self {
            prefix,
            actions: actions.clone(),
        }
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(operation) = cfg.load::<Metadata>().map(|m| m.name().to_owned()) else {
            return Ok(());
        };
        let prefix = self.prefix;
        if let Some(transaction) = context.input().downcast_ref::<TransactWriteItemsInput>() {
            for item in transaction.transact_items() {
                let kinds = [
                    (item.put().is_some(), "PutItem"),
                    (item.update().is_some(), "UpdateItem"),
                    (item.delete().is_some(), "DeleteItem"),
                    (item.condition_check().is_some(), "ConditionCheckItem"),
                ];
                for (_, kind) in kinds.iter().filter(|(present, _)| *present) {
                    self.actions.note(format!("{prefix}:{kind}"));
                }
            }
            return Ok(());
        }
        let action = match operation.as_str() {
            "SendMessageBatch" => "SendMessage",
            other => other,
        };
        self.actions.note(format!("{prefix}:{action}"));
        Ok(())
    }
}
