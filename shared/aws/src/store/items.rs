//! Entities ↔ DynamoDB items.
//!
//! An entity's fields are stored as top-level attributes (serde_dynamo), next to its
//! `pk`/`sk`, its `gsi1` key when it is listed, and `entity` (the item type). `None`
//! fields are left out rather than stored as NULL, so `attribute_not_exists(field)`
//! works in conditions. Money (`rust_decimal`) is serialized as its exact string,
//! never a float.

use super::keys::{self, IndexKey, Key};
use crate::error::AwsError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// One DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute (exact decimal string).
pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The item of `value`, as entity `entity`, at `key`, listed in `gsi1` at `index`.
pub fn entity_item<T: Serialize>(
    entity: &str,
    value: &T,
    key: &Key,
    index: Option<&IndexKey>,
) -> Result<Item, AwsError> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(|e| AwsError::Encode {
        what: entity.to_owned(),
        source: Box::new(e),
    })?;
    item.retain(|_, v| !matches!(v, AttributeValue::Null(_)));
    item.insert(keys::PK.to_owned(), s(&key.pk));
    item.insert(keys::SK.to_owned(), s(&key.sk));
    item.insert(keys::ENTITY.to_owned(), s(entity));
    if let Some(index) = index {
        item.insert(keys::GSI1PK.to_owned(), s(&index.gsi1pk));
        item.insert(keys::GSI1SK.to_owned(), s(&index.gsi1sk));
    }
    Ok(item)
}

/// One attribute value of `value` (e.g. a status for an update expression).
pub fn attribute<T: Serialize>(what: &str, value: &T) -> Result<AttributeValue, AwsError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| AwsError::Encode {
        what: what.to_owned(),
        source: Box::new(e),
    })
}

/// Reads an entity back from its item (key attributes are ignored).
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, AwsError> {
    let what = describe(&item);
    serde_dynamo::from_item(item).map_err(|e| AwsError::Decode {
        what,
        source: Box::new(e),
    })
}

/// The item type stored in `entity`.
pub fn entity_of(item: &Item) -> Option<&str> {
    item.get(keys::ENTITY)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// `pk / sk` of an item, for error messages.
pub fn describe(item: &Item) -> String {
    let get = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    format!("{} / {}", get(keys::PK), get(keys::SK))
}

/// The key attributes of `key`, for GetItem/UpdateItem/BatchGetItem.
pub fn key_item(key: &Key) -> Item {
    HashMap::from([
        (keys::PK.to_owned(), s(&key.pk)),
        (keys::SK.to_owned(), s(&key.sk)),
    ])
}

/// A string attribute of an item.
pub fn string_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reconciliation::domain::{Customer, CustomerId, DepartmentId};

    #[test]
    fn absent_optional_fields_are_left_out_and_read_back_as_none() {
        let c = Customer {
            id: CustomerId::new("c1"),
            department: DepartmentId::new("d1"),
            company_name: "Acme".into(),
            account: None,
            billing_group_id: None,
            source_name: None,
            created_at: None,
        };
        let item = entity_item("customer", &c, &keys::customer(&c.id), None);
        let Ok(item) = item else { panic!("encodes") };
        assert!(!item.contains_key("billing_group_id"));
        assert_eq!(entity_of(&item), Some("customer"));
        let back: Result<Customer, _> = from_item(item);
        assert_eq!(back.ok(), Some(c));
    }
}
