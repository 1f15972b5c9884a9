//! Reading typed configuration from a key-value source (the process environment in
//! the functions), collecting every problem so a cold start names all missing or
//! malformed variables at once instead of the first one.
//!
//! Pure: the lookup is a closure, so tests pass a map and `main` passes `std::env::var`.

use std::fmt;
use std::str::FromStr;

/// One configuration problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigProblem {
    Missing {
        var: &'static str,
        hint: &'static str,
    },
    Malformed {
        var: &'static str,
        reason: String,
    },
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigProblem::Missing { var, hint } => write!(f, "{var} is not set ({hint})"),
            ConfigProblem::Malformed { var, reason } => write!(f, "{var} is malformed: {reason}"),
        }
    }
}

/// Every problem found in one configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct ConfigError(pub Vec<ConfigProblem>);

/// Reads variables through `lookup`, remembering every problem.
pub struct EnvReader<F> {
    lookup: F,
    problems: Vec<ConfigProblem>,
}

impl<F: Fn(&str) -> Option<String>> EnvReader<F> {
    pub fn new(lookup: F) -> Self {
        Self {
            lookup,
            problems: Vec::new(),
        }
    }

    fn get(&self, var: &str) -> Option<String> {
        (self.lookup)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A required string; `hint` says what it is for.
    pub fn required(&mut self, var: &'static str, hint: &'static str) -> String {
        self.get(var).unwrap_or_else(|| {
            self.problems.push(ConfigProblem::Missing { var, hint });
            String::new()
        })
    }

    /// An optional string with a default.
    pub fn or(&mut self, var: &'static str, default: &str) -> String {
        self.get(var).unwrap_or_else(|| default.to_owned())
    }

    /// An optional parsed value with a default.
    pub fn parsed_or<T: FromStr>(&mut self, var: &'static str, default: T) -> T
    where
        T::Err: fmt::Display,
    {
        match self.get(var) {
            None => default,
            Some(raw) => raw.parse().unwrap_or_else(|e: T::Err| {
                self.problems.push(ConfigProblem::Malformed {
                    var,
                    reason: e.to_string(),
                });
                default
            }),
        }
    }

    /// An optional parsed value: `None` when unset.
    pub fn parsed_opt<T: FromStr>(&mut self, var: &'static str) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        let raw = self.get(var)?;
        match raw.parse() {
            Ok(v) => Some(v),
            Err(e) => {
                self.problems.push(ConfigProblem::Malformed {
                    var,
                    reason: e.to_string(),
                });
                None
            }
        }
    }

    /// An optional whole number of `unit`s with a default, at least `min`.
    pub fn duration_or(
        &mut self,
        var: &'static str,
        unit: fn(i64) -> chrono::Duration,
        default: i64,
        min: i64,
    ) -> chrono::Duration {
        let n = self.parsed_or(var, default);
        if n < min {
            self.malformed(var, format!("must be at least {min}"));
        }
        unit(n.max(min))
    }

    /// A required comma-separated list of email addresses.
    pub fn emails(&mut self, var: &'static str, hint: &'static str) -> Vec<String> {
        let raw = self.required(var, hint);
        let list: Vec<String> = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(bad) = list.iter().find(|a| !looks_like_email(a)) {
            self.problems.push(ConfigProblem::Malformed {
                var,
                reason: format!("{bad:?} is not an email address"),
            });
        }
        list
    }

    /// A required URL (http or https).
    pub fn url(&mut self, var: &'static str, default: Option<&str>) -> String {
        let value = match default {
            Some(d) => self.or(var, d),
            None => self.required(var, "a URL"),
        };
        if !(value.is_empty() || value.starts_with("http://") || value.starts_with("https://")) {
            self.problems.push(ConfigProblem::Malformed {
                var,
                reason: format!("{value:?} is not an http(s) URL"),
            });
        }
        value
    }

    /// Records a problem found by the caller's own validation.
    pub fn malformed(&mut self, var: &'static str, reason: impl Into<String>) {
        self.problems.push(ConfigProblem::Malformed {
            var,
            reason: reason.into(),
        });
    }

    /// Ok when no problem was found.
    pub fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError(self.problems))
        }
    }
}

fn looks_like_email(s: &str) -> bool {
    let mut parts = s.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(l), Some(d), None) if !l.is_empty() && d.contains('.') && !s.contains(['\r', '\n', ' ']))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::collections::HashMap;

    fn reader(vars: &[(&str, &str)]) -> EnvReader<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        EnvReader::new(move |k| map.get(k).cloned())
    }

    #[test]
    fn every_missing_and_malformed_variable_is_named_at_once() {
        let mut env = reader(&[
            ("ALERT_EMAIL", "ops@operator.example, not-an-email"),
            ("PAGE_CAP", "many"),
        ]);
        env.required("TABLE_NAME", "the DynamoDB table");
        env.emails("ALERT_EMAIL", "operator alerts");
        env.parsed_or::<u32>("PAGE_CAP", 10);
        env.url("TELNYX_BASE_URL", Some("ftp://x"));
        let err = env.finish().unwrap_err().to_string();
        assert!(
            err.contains("TABLE_NAME is not set (the DynamoDB table)"),
            "{err}"
        );
        assert!(
            err.contains("ALERT_EMAIL is malformed: \"not-an-email\""),
            "{err}"
        );
        assert!(err.contains("PAGE_CAP is malformed"), "{err}");
        assert!(err.contains("TELNYX_BASE_URL is malformed"), "{err}");
    }

    #[test]
    fn defaults_apply_and_blank_counts_as_unset() {
        let mut env = reader(&[("SECRET_PREFIX", "  "), ("TABLE_NAME", "t")]);
        assert_eq!(
            env.or("SECRET_PREFIX", "telnyx-billing-sync/"),
            "telnyx-billing-sync/"
        );
        assert_eq!(env.required("TABLE_NAME", "table"), "t");
        assert!(env.finish().is_ok());
    }
}
