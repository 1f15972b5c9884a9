//! `template.yaml` parsed into a `serde_yaml::Value`, CloudFormation short tags
//! (`!Ref`, `!Sub`, `!GetAtt`…) kept as tagged values.

use serde_yaml::Value;
use std::path::PathBuf;

/// The repository's `template.yaml`.
pub fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")
}

/// The whole template.
pub fn load() -> Value {
    let text = std::fs::read_to_string(path()).expect("template.yaml is readable");
    serde_yaml::from_str(&text).expect("template.yaml is valid YAML")
}

/// `Resources.<name>`.
pub fn resource<'a>(template: &'a Value, name: &str) -> &'a Value {
    template
        .get("Resources")
        .and_then(|r| r.get(name))
        .unwrap_or_else(|| panic!("template.yaml has no resource {name}"))
}

/// Every resource of a CloudFormation type, with its logical name.
pub fn resources_of_type<'a>(template: &'a Value, ty: &str) -> Vec<(String, &'a Value)> {
    template
        .get("Resources")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(ty))
                .map(|(k, r)| (k.as_str().unwrap_or_default().to_owned(), r))
                .collect()
        })
        .unwrap_or_default()
}

/// A scalar as a string (numbers included), if it is one.
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A number (a scalar that parses as one).
pub fn number(v: &Value) -> u64 {
    scalar(v)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a number: {v:?}"))
}

/// The text of a value under its short tag (`!Ref X` → `X`, `!Sub "…"` → `…`).
pub fn tagged_text(v: &Value) -> String {
    match v {
        Value::Tagged(t) => tagged_text(&t.value),
        other => scalar(other).unwrap_or_default(),
    }
}

/// The tag of a value (`Ref`, `Sub`, `GetAtt`…), if it has one.
pub fn tag(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) => Some(t.tag.to_string().trim_start_matches('!').to_owned()),
        _ => None,
    }
}

/// Every inline policy statement of a function, those under `!If` included (each
/// branch that is a statement).
pub fn statements(function: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for policy in function["Properties"]["Policies"]
        .as_sequence()
        .map(|s| s.as_slice())
        .unwrap_or_default()
    {
        for st in policy
            .get("Statement")
            .and_then(Value::as_sequence)
            .map(|s| s.as_slice())
            .unwrap_or_default()
        {
            match st {
                Value::Tagged(t) => out.extend(
                    t.value
                        .as_sequence()
                        .map(|s| s.as_slice())
                        .unwrap_or_default()
                        .iter()
                        .filter(|b| b.get("Effect").is_some()),
                ),
                plain => out.push(plain),
            }
        }
    }
    out
}

/// A statement's actions (one string or a list).
pub fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::Sequence(s) => s.iter().filter_map(scalar).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

/// A statement's resources as text (one or a list; `!Sub` lists give their string).
pub fn resources(statement: &Value) -> Vec<String> {
    match &statement["Resource"] {
        Value::Sequence(s) => s.iter().map(sub_text).collect(),
        other => vec![sub_text(other)],
    }
}

fn sub_text(v: &Value) -> String {
    match v {
        Value::Tagged(t) => match &t.value {
            Value::Sequence(s) => s.first().map(tagged_text).unwrap_or_default(),
            _ => tagged_text(v),
        },
        other => scalar(other).unwrap_or_default(),
    }
}
