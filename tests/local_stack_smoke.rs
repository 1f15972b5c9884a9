//! Smoke tests of the local stack through the real aws-sdk clients: one write and
//! one read-back per service, and the local table checked against `template.yaml`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::stack::Stack;
use integration_tests::template;
use serde_yaml::Value;
use std::collections::BTreeSet;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

#[tokio::test]
async fn dynamodb_item_written_reads_back_identical() {
    let stack = Stack::from_env().await;
    let ddb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let pk = unique("SMOKE");
    ddb.put_item()
        .table_name(&stack.table_name)
        .item("pk", AttributeValue::S(pk.clone()))
        .item("sk", AttributeValue::S("ITEM".into()))
        .item("amount", AttributeValue::N("0.0001666".into()))
        .send()
        .await
        .expect("put_item");
    let got = ddb
        .get_item()
        .table_name(&stack.table_name)
        .key("pk", AttributeValue::S(pk.clone()))
        .key("sk", AttributeValue::S("ITEM".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get_item")
        .item
        .expect("the item exists");
    assert_eq!(got.get("pk"), Some(&AttributeValue::S(pk)));
    assert_eq!(
        got.get("amount"),
        Some(&AttributeValue::N("0.0001666".into()))
    );
}

#[tokio::test]
async fn secret_written_reads_back_identical() {
    let stack = Stack::from_env().await;
    let sm = aws_sdk_secretsmanager::Client::new(&stack.sdk);
    let name = unique("smoke/secret");
    sm.create_secret()
        .name(&name)
        .secret_string(r#"{"api_key":"KEYsmoke"}"#)
        .send()
        .await
        .expect("create_secret");
    let value = sm
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .expect("get_secret_value");
    assert_eq!(value.secret_string(), Some(r#"{"api_key":"KEYsmoke"}"#));
}

#[tokio::test]
async fn queue_message_sent_is_received_with_its_body() {
    let stack = Stack::from_env().await;
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let queue = sqs
        .create_queue()
        .queue_name(unique("smoke"))
        .send()
        .await
        .expect("create_queue");
    let url = queue.queue_url().expect("queue url");
    let body = format!(r#"{{"managed_account_id":"{}"}}"#, unique("acct"));
    sqs.send_message()
        .queue_url(url)
        .message_body(&body)
        .send()
        .await
        .expect("send_message");
    let received = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(2)
        .send()
        .await
        .expect("receive_message");
    let bodies: Vec<&str> = received
        .messages()
        .iter()
        .filter_map(|m| m.body())
        .collect();
    assert_eq!(bodies, vec![body.as_str()]);
}

#[tokio::test]
async fn email_sent_through_sesv2_is_readable_from_moto() {
    use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
    let stack = Stack::from_env().await;
    let ses = aws_sdk_sesv2::Client::new(&stack.sdk);
    let subject = unique("Smoke subject");
    let to = format!("{}@reseller.example", unique("billing"));
    let content = |s: &str| Content::builder().data(s).build().expect("content");
    ses.send_email()
        .from_email_address(&stack.ses_sender)
        .destination(Destination::builder().to_addresses(&to).build())
        .content(
            EmailContent::builder()
                .simple(
                    Message::builder()
                        .subject(content(&subject))
                        .body(
                            Body::builder()
                                .html(content("<p>smoke body</p>"))
                                .text(content("smoke body"))
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("send_email from the verified sender");
    let sent = stack.sent_emails().await;
    let ours: Vec<_> = sent
        .iter()
        .filter(|m| m["subject"] == subject.as_str())
        .collect();
    assert_eq!(
        ours.len(),
        1,
        "exactly one email with our subject in moto: {sent:?}"
    );
    assert_eq!(ours[0]["body"], "<p>smoke body</p>");
    assert_eq!(ours[0]["source"], stack.ses_sender.as_str());
    assert_eq!(ours[0]["destinations"]["ToAddresses"][0], to.as_str());
}

/// A global secondary index as compared: name, key schema, projection type and the
/// projected non-key attributes.
type IndexShape = (String, BTreeSet<(String, String)>, String, BTreeSet<String>);

fn key_schema(v: &Value) -> BTreeSet<(String, String)> {
    v.as_sequence()
        .expect("KeySchema is a list")
        .iter()
        .map(|k| {
            (
                template::scalar(&k["AttributeName"]).expect("name"),
                template::scalar(&k["KeyType"]).expect("type"),
            )
        })
        .collect()
}

#[tokio::test]
async fn local_table_matches_the_template_definition() {
    let stack = Stack::from_env().await;
    let tpl = template::load();
    let tables = template::resources_of_type(&tpl, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 1, "one table in template.yaml");
    let props = &tables[0].1["Properties"];

    let ddb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let live = ddb
        .describe_table()
        .table_name(&stack.table_name)
        .send()
        .await
        .expect("describe_table")
        .table
        .expect("table description");

    let want_keys = key_schema(&props["KeySchema"]);
    let live_keys: BTreeSet<(String, String)> = live
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(live_keys, want_keys, "table key schema");

    let want_attrs: BTreeSet<(String, String)> = props["AttributeDefinitions"]
        .as_sequence()
        .expect("AttributeDefinitions")
        .iter()
        .map(|a| {
            (
                template::scalar(&a["AttributeName"]).expect("name"),
                template::scalar(&a["AttributeType"]).expect("type"),
            )
        })
        .collect();
    let live_attrs: BTreeSet<(String, String)> = live
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(live_attrs, want_attrs, "attribute definitions");

    let want_gsis: BTreeSet<IndexShape> = props["GlobalSecondaryIndexes"]
        .as_sequence()
        .map(|s| s.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|g| {
            (
                template::scalar(&g["IndexName"]).expect("index name"),
                key_schema(&g["KeySchema"]),
                template::scalar(&g["Projection"]["ProjectionType"]).expect("projection"),
                g["Projection"]["NonKeyAttributes"]
                    .as_sequence()
                    .map(|s| s.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .map(|a| template::scalar(a).expect("attribute name"))
                    .collect(),
            )
        })
        .collect();
    let live_gsis: BTreeSet<IndexShape> = live
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            (
                g.index_name().unwrap_or_default().to_owned(),
                g.key_schema()
                    .iter()
                    .map(|k| {
                        (
                            k.attribute_name().to_owned(),
                            k.key_type().as_str().to_owned(),
                        )
                    })
                    .collect(),
                g.projection()
                    .and_then(|p| p.projection_type())
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
                g.projection()
                    .map(|p| p.non_key_attributes().iter().cloned().collect())
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        live_gsis, want_gsis,
        "global secondary indexes (a table made from an older template.yaml? `make stack-down stack-up`: DynamoDB Local is in memory)"
    );

    let want_ttl = template::scalar(&props["TimeToLiveSpecification"]["AttributeName"])
        .expect("TTL attribute");
    let ttl = ddb
        .describe_time_to_live()
        .table_name(&stack.table_name)
        .send()
        .await
        .expect("describe_time_to_live")
        .time_to_live_description
        .expect("ttl description");
    assert_eq!(
        ttl.attribute_name(),
        Some(want_ttl.as_str()),
        "TTL attribute"
    );
    assert_eq!(
        ttl.time_to_live_status().map(|s| s.as_str()),
        Some("ENABLED")
    );
}
