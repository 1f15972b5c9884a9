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
