//! The account-sync configuration, from the environment, validated at cold start.

use chrono::Duration;
use lambda_shell::AdapterConfig;
use reconciliation::config::{ConfigError, EnvReader};
use reconciliation::sync::SyncSettings;

/// Everything account-sync reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Table, key prefix (account keys are `<prefix>accounts/<id>`), Telnyx URL, SES sender.
    pub adapters: AdapterConfig,
    pub sync: SyncSettings,
}

impl Config {
    /// Reads the process environment; the error names every missing or malformed variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads from any lookup (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(lookup);
        let defaults = SyncSettings::default();
        let portal_url_template = env.url("PORTAL_URL_TEMPLATE", None);
        if !portal_url_template.is_empty() && !portal_url_template.contains("{customer_id}") {
            env.malformed("PORTAL_URL_TEMPLATE", "it must contain {customer_id}");
        }
        let overlap = env.parsed_or("SYNC_OVERLAP_MINUTES", defaults.overlap.num_minutes());
        let alert_hours =
            env.parsed_or("ALERT_INTERVAL_HOURS", defaults.alert_interval.num_hours());
        let lookback = env.parsed_or(
            "INITIAL_LOOKBACK_HOURS",
            defaults.initial_lookback.num_hours(),
        );
        if overlap < 0 {
            env.malformed("SYNC_OVERLAP_MINUTES", "must not be negative");
        }
        if lookback <= 0 {
            env.malformed("INITIAL_LOOKBACK_HOURS", "must be positive");
        }
        if alert_hours <= 0 {
            env.malformed("ALERT_INTERVAL_HOURS", "must be positive");
        }
        let config = Config {
            adapters: AdapterConfig::read(&mut env),
            sync: SyncSettings {
                portal_url_template,
                overlap: Duration::minutes(overlap),
                initial_lookback: Duration::hours(lookback),
                alert_to: env.emails("ALERT_EMAIL", "where key-problem alerts go"),
                alert_interval: Duration::hours(alert_hours),
            },
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

    const COMPLETE: [(&str, &str); 5] = [
        ("TABLE_NAME", "billing"),
        ("QUEUE_URL", "http://127.0.0.1:5000/123/account-sync"),
        ("SES_SENDER", "billing-sync@operator.example"),
        ("ALERT_EMAIL", "ops@operator.example"),
        (
            "PORTAL_URL_TEMPLATE",
            "https://billing.example.com/customers/{customer_id}",
        ),
    ];

    #[test]
    fn a_complete_environment_yields_the_config_with_defaults() {
        let config = Config::from_lookup(lookup(&COMPLETE)).expect("valid config");
        assert_eq!(config.sync.overlap, Duration::hours(2));
        assert_eq!(config.sync.initial_lookback, Duration::days(1));
        assert_eq!(config.sync.alert_to, vec!["ops@operator.example"]);
        assert_eq!(config.sync.alert_interval, Duration::days(3));
    }

    #[test]
    fn a_portal_template_without_the_customer_placeholder_is_rejected() {
        let mut vars = COMPLETE.to_vec();
        vars[4] = (
            "PORTAL_URL_TEMPLATE",
            "https://billing.example.com/customers/",
        );
        vars.push(("SYNC_OVERLAP_MINUTES", "two hours"));
        let err = Config::from_lookup(lookup(&vars))
            .expect_err("bad config")
            .to_string();
        assert!(
            err.contains("PORTAL_URL_TEMPLATE is malformed: it must contain {customer_id}"),
            "{err}"
        );
        assert!(err.contains("SYNC_OVERLAP_MINUTES is malformed"), "{err}");
    }
}
