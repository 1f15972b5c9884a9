//! Test helpers (feature `test-util`): a fresh DynamoDB table shaped exactly like
//! `template.yaml`'s `BillingTable`, read from the template itself so there is one
//! source of truth for the key schema, the index and the TTL attribute.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_yaml::Value;
use std::error::Error as StdError;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// The SAM template, embedded.
pub const TEMPLATE_YAML: &str = include_str!("../../../template.yaml");
/// The table's logical id in the template.
pub const TABLE_RESOURCE: &str = "BillingTable";

/// `BillingTable`'s `Properties`, parsed from the template (CloudFormation tags such
/// as `!Ref` parse as tagged values and are ignored).
pub fn table_properties() -> Result<Value, BoxError> {
    let template: Value = serde_yaml::from_str(TEMPLATE_YAML)?;
    template
        .get("Resources")
        .and_then(|r| r.get(TABLE_RESOURCE))
        .and_then(|t| t.get("Properties"))
        .cloned()
        .ok_or_else(|| format!("template.yaml has no Resources.{TABLE_RESOURCE}.Properties").into())
}

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str, BoxError> {
    v.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{TABLE_RESOURCE}: missing string {field} in {v:?}").into())
}

fn list<'a>(v: &'a Value, field: &str) -> Result<&'a [Value], BoxError> {
    v.get(field)
        .and_then(Value::as_sequence)
        .map(Vec::as_slice)
        .ok_or_else(|| format!("{TABLE_RESOURCE}: missing list {field}").into())
}

fn key_schema(v: &Value) -> Result<Vec<KeySchemaElement>, BoxError> {
    list(v, "KeySchema")?
        .iter()
        .map(|k| {
            Ok(KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName")?)
                .key_type(KeyType::from(text(k, "KeyType")?))
                .build()?)
        })
        .collect()
}

/// The `NonKeyAttributes` of an index's `Projection` (INCLUDE), if any.
fn non_key_attributes(projection: &Value) -> Result<Option<Vec<String>>, BoxError> {
    match projection.get("NonKeyAttributes") {
        None => Ok(None),
        Some(_) => list(projection, "NonKeyAttributes")?
            .iter()
            .map(|a| {
                a.as_str().map(str::to_owned).ok_or_else(|| {
                    format!("{TABLE_RESOURCE}: non-string NonKeyAttributes entry {a:?}").into()
                })
            })
            .collect::<Result<Vec<_>, BoxError>>()
            .map(Some),
    }
}

/// Creates table `name` with exactly the template's attribute definitions, key
/// schema, global secondary indexes (projection included), billing mode and TTL.
pub async fn create_table_like_template(client: &Client, name: &str) -> Result<(), BoxError> {
    let props = table_properties()?;
    let attributes = list(&props, "AttributeDefinitions")?
        .iter()
        .map(|a| {
            Ok(AttributeDefinition::builder()
                .attribute_name(text(a, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(text(a, "AttributeType")?))
                .build()?)
        })
        .collect::<Result<Vec<_>, BoxError>>()?;
    let indexes = match props.get("GlobalSecondaryIndexes") {
        Some(_) => list(&props, "GlobalSecondaryIndexes")?
            .iter()
            .map(|g| {
                let projection = g
                    .get("Projection")
                    .ok_or("GlobalSecondaryIndexes entry without Projection")?;
                Ok(GlobalSecondaryIndex::builder()
                    .index_name(text(g, "IndexName")?)
                    .set_key_schema(Some(key_schema(g)?))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::from(text(
                                projection,
                                "ProjectionType",
                            )?))
                            .set_non_key_attributes(non_key_attributes(projection)?)
                            .build(),
                    )
                    .build()?)
            })
            .collect::<Result<Vec<_>, BoxError>>()?,
        None => Vec::new(),
    };
    let billing_mode = BillingMode::from(text(&props, "BillingMode")?);
    client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(&props)?))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .billing_mode(billing_mode)
        .send()
        .await?;
    if let Some(ttl) = props.get("TimeToLiveSpecification") {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(text(ttl, "AttributeName")?)
                    .enabled(ttl.get("Enabled").and_then(Value::as_bool).unwrap_or(true))
                    .build()?,
            )
            .send()
            .await?;
    }
    Ok(())
}

/// A name unique to one test, e.g. `test-3f2a…-store`.
pub fn unique_name(suffix: &str) -> String {
    format!("test-{}-{suffix}", uuid::Uuid::new_v4().simple())
}
