//! The scheduler's configuration, from the environment, validated at cold start.

use lambda_shell::AdapterConfig;
use reconciliation::config::{ConfigError, EnvReader};

/// Everything the scheduler reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Table, key prefix (the master key is `<prefix>master`), Telnyx URL, SES sender.
    pub adapters: AdapterConfig,
    /// The account-sync queue.
    pub queue_url: String,
    /// Operator address(es) for unknown-account alerts (comma-separated).
    pub alert_to: Vec<String>,
}

impl Config {
    /// Reads the process environment; the error names every missing or malformed variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads from any lookup (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(lookup);
        let config = Config {
            adapters: AdapterConfig::read(&mut env),
            queue_url: env.url("QUEUE_URL", None),
            alert_to: env.emails("ALERT_EMAIL", "where unknown-account alerts go"),
        };
        env.finish()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn a_complete_environment_yields_the_config_with_defaults() {
        let config = Config::from_lookup(lookup(&[
            ("TABLE_NAME", "billing"),
            ("QUEUE_URL", "http://127.0.0.1:5000/123/account-sync"),
            ("SES_SENDER", "billing-sync@operator.example"),
            ("ALERT_EMAIL", "ops@operator.example,noc@operator.example"),
        ]))
        .expect("valid config");
        assert_eq!(config.adapters.telnyx_base_url, "https://api.telnyx.com/v2");
        assert_eq!(
            config.alert_to,
            vec!["ops@operator.example", "noc@operator.example"]
        );
        assert_eq!(
            config.adapters.secret_prefix,
            aws_adapters::secrets::DEFAULT_PREFIX
        );
    }

    #[test]
    fn an_empty_environment_names_every_required_variable() {
        let err = Config::from_lookup(lookup(&[]))
            .expect_err("config is incomplete")
            .to_string();
        for var in ["TABLE_NAME", "QUEUE_URL", "SES_SENDER", "ALERT_EMAIL"] {
            assert!(err.contains(var), "{var} missing from: {err}");
        }
    }
}
