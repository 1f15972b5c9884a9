//! Conditional updates, built in one place: the same update expression, condition and
//! placeholders serve a standalone `UpdateItem` ([`ConditionalUpdate::send`]) and an
//! `Update` inside a `TransactWriteItems` ([`ConditionalUpdate::into_transact_item`]).
//!
//! A failed condition is a normal outcome (`Ok(false)`), never an error: what it means
//! (already at or beyond, held by another sender, not admitted…) is for the caller.

use super::is_condition_failed;
use super::items::{Item, key_item};
use super::keys::Key;
use crate::error::AwsError;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use std::collections::HashMap;

/// One conditional update of the item at `key`.
#[derive(Debug, Clone)]
pub(crate) struct ConditionalUpdate {
    key: Key,
    update: String,
    condition: String,
    names: HashMap<String, String>,
    values: Item,
}

impl ConditionalUpdate {
    /// `update` (e.g. `SET #a = :a`) applied only if `condition` holds.
    pub(crate) fn new(key: Key, update: impl Into<String>, condition: impl Into<String>) -> Self {
        Self {
            key,
            update: update.into(),
            condition: condition.into(),
            names: HashMap::new(),
            values: HashMap::new(),
        }
    }

    /// Replaces the update expression (built after the names and values).
    pub(crate) fn with_update(mut self, update: impl Into<String>) -> Self {
        self.update = update.into();
        self
    }

    /// Binds the name placeholder `#x` to attribute `attribute`.
    pub(crate) fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names
            .insert(placeholder.to_owned(), attribute.to_owned());
        self
    }

    /// Binds the value placeholder `:x`.
    pub(crate) fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    /// Runs it as an `UpdateItem`: `Ok(true)` if applied, `Ok(false)` if the condition
    /// did not hold.
    pub(crate) async fn send(self, client: &Client, table: &str) -> Result<bool, AwsError> {
        let result = client
            .update_item()
            .table_name(table)
            .set_key(Some(key_item(&self.key)))
            .update_expression(self.update)
            .condition_expression(self.condition)
            .set_expression_attribute_names((!self.names.is_empty()).then_some(self.names))
            .set_expression_attribute_values((!self.values.is_empty()).then_some(self.values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(AwsError::sdk("DynamoDB", "UpdateItem", e)),
        }
    }

    /// The same update as one item of a `TransactWriteItems`.
    pub(crate) fn into_transact_item(self, table: &str) -> Result<TransactWriteItem, AwsError> {
        Update::builder()
            .table_name(table)
            .set_key(Some(key_item(&self.key)))
            .update_expression(self.update)
            .condition_expression(self.condition)
            .set_expression_attribute_names((!self.names.is_empty()).then_some(self.names))
            .set_expression_attribute_values((!self.values.is_empty()).then_some(self.values))
            .build()
            .map(|update| TransactWriteItem::builder().update(update).build())
            .map_err(|e| AwsError::Encode {
                what: "TransactWriteItems update".to_owned(),
                source: Box::new(e),
            })
    }
}
