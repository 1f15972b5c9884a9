"""Creates the local stack's resources from template.yaml, idempotently.

- the DynamoDB table: key schema, attribute definitions, GSIs and TTL copied from the
  BillingTable resource (template.yaml is the one source of truth; tests/ checks the
  live table against it);
- the SQS queue and its dead-letter queue;
- the SES sender identity (moto rejects unverified senders, as SES does);
- moto's S3 objects kept out of Glacier restores: by default moto moves every object's
  restore state on each read, and an object with no bucket (a multipart upload's part)
  then makes `/moto-api/data.json` (where the tests read the emails sent) fail with 500.

Endpoints come from the standard AWS_ENDPOINT_URL_* variables (see stack.env).
"""
import argparse
import json
import os
import sys
import urllib.request

import boto3
import yaml


class CfnLoader(yaml.SafeLoader):
    """A YAML loader that keeps CloudFormation tags (!Ref, !Sub, ...) as plain values."""


def _tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


CfnLoader.add_multi_constructor("!", _tag)


def table_properties(template_path):
    with open(template_path) as f:
        template = yaml.load(f, Loader=CfnLoader)
    tables = [
        r["Properties"]
        for r in template["Resources"].values()
        if r.get("Type") == "AWS::DynamoDB::Table"
    ]
    if len(tables) != 1:
        sys.exit(f"bootstrap: expected one AWS::DynamoDB::Table in {template_path}, found {len(tables)}")
    return tables[0]


def create_table(props, name):
    ddb = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    # Asked by name: list_tables answers 100 names a page, and a test run leaves more.
    try:
        ddb.describe_table(TableName=name)
        exists = True
    except ddb.exceptions.ResourceNotFoundException:
        exists = False
    if exists:
        print(f"bootstrap: table {name} exists")
        warn_if_indexes_differ(ddb, props, name)
    else:
        args = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        ddb.create_table(**args)
        ddb.get_waiter("table_exists").wait(TableName=name)
        print(f"bootstrap: table {name} created")
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        current = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )


def index_shapes(indexes):
    """Name -> (key schema, projection type, projected non-key attributes)."""
    return {
        g["IndexName"]: (
            sorted((k["AttributeName"], k["KeyType"]) for k in g["KeySchema"]),
            g["Projection"]["ProjectionType"],
            sorted(g["Projection"].get("NonKeyAttributes", [])),
        )
        for g in indexes
    }


def warn_if_indexes_differ(ddb, props, name):
    """An existing table is kept as it is; say so when its indexes no longer match."""
    live = ddb.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])
    if index_shapes(live) != index_shapes(props.get("GlobalSecondaryIndexes", [])):
        print(
            f"bootstrap: WARNING: table {name} was created from an older template.yaml "
            "(its indexes differ); DynamoDB Local is in memory: restart the stack to recreate it",
            file=sys.stderr,
        )


def create_queues(name):
    sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL_SQS"])
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "1800",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
        },
    )["QueueUrl"]
    print(f"bootstrap: queue {url}")


def verify_sender(sender):
    ses = boto3.client("sesv2", endpoint_url=os.environ["AWS_ENDPOINT_URL_SESV2"])
    ses.create_email_identity(EmailIdentity=sender)
    print(f"bootstrap: SES identity {sender} verified")


def freeze_s3_restores():
    url = os.environ["MOTO_URL"].rstrip("/") + "/moto-api/state-manager/set-transition"
    body = json.dumps(
        {"model_name": "s3::keyrestore", "transition": {"progression": "manual", "times": 1_000_000_000}}
    ).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        if not 200 <= response.status < 300:
            sys.exit(f"bootstrap: moto refused the S3 restore setting: {response.status}")
    print("bootstrap: moto S3 restores frozen (emails stay readable after multipart uploads)")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--template", required=True)
    args = parser.parse_args()
    create_table(table_properties(args.template), os.environ["TABLE_NAME"])
    create_queues(os.environ["QUEUE_NAME"])
    verify_sender(os.environ["SES_SENDER"])
    freeze_s3_restores()


if __name__ == "__main__":
    main()
