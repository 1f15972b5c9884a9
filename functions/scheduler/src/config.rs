//! The scheduler's configuration, from the environment, validated at cold start.

use chrono::Duration;
use lambda_shell::AdapterConfig;
use reconciliation::config::{ConfigError, EnvReader};
use reconciliation::schedule::ScheduleSettings;

/// Everything the scheduler reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Table, key prefix (the master key is `<prefix>master`), Telnyx URL, SES sender,
    /// the account-sync queue.
    pub adapters: AdapterConfig,
    /// Where unknown-account alerts go (`ALERT_EMAIL`, comma-separated) and how often
    /// (`ALERT_INTERVAL_HOURS`); the monthly automatic close (`AUTO_CLOSE_MONTHS`, off
    /// by default) and its time budget per tick (`AUTO_CLOSE_BUDGET_SECONDS`, 30).
    pub schedule: ScheduleSettings,
}

impl Config {
    /// Reads the process environment; the error names every missing or malformed variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads from any lookup (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(lookup);
        let defaults = ScheduleSettings::new(Vec::new());
        let alert_hours =
            env.parsed_or("ALERT_INTERVAL_HOURS", defaults.alert_interval.num_hours());
        if alert_hours <= 0 {
            env.malformed("ALERT_INTERVAL_HOURS", "must be positive");
        }
        let usage_hours = env.parsed_or("USAGE_HINT_HOURS", 24i64);
        if usage_hours < 0 {
            env.malformed(
                "USAGE_HINT_HOURS",
                "must not be negative (0 turns the hints off)",
            );
        }
        let auto_close = env.parsed_or("AUTO_CLOSE_MONTHS", false);
        let close_budget = env.parsed_or("AUTO_CLOSE_BUDGET_SECONDS", 30i64);
        if close_budget <= 0 {
            env.malformed("AUTO_CLOSE_BUDGET_SECONDS", "must be positive");
        }
        let config = Config {
            adapters: AdapterConfig::read(&mut env),
            schedule: ScheduleSettings {
                alert_to: env.emails("ALERT_EMAIL", "where unknown-account alerts go"),
                alert_interval: Duration::hours(alert_hours),
                usage_lookback: (usage_hours > 0).then(|| Duration::hours(usage_hours)),
                auto_close: auto_close.then(|| Duration::seconds(close_budget)),
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
            config.schedule.alert_to,
            vec!["ops@operator.example", "noc@operator.example"]
        );
        assert_eq!(config.schedule.alert_interval, Duration::days(3));
        assert_eq!(config.schedule.auto_close, None, "the monthly close is off");
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

    #[test]
    fn the_monthly_close_is_turned_on_with_its_budget_and_a_bad_value_is_named() {
        let base = [
            ("TABLE_NAME", "billing"),
            ("QUEUE_URL", "http://127.0.0.1:5000/123/account-sync"),
            ("SES_SENDER", "billing-sync@operator.example"),
            ("ALERT_EMAIL", "ops@operator.example"),
        ];
        let on = Config::from_lookup(lookup(
            &[&base[..], &[("AUTO_CLOSE_MONTHS", "true")]].concat(),
        ))
        .expect("valid config");
        assert_eq!(on.schedule.auto_close, Some(Duration::seconds(30)));
        let err = Config::from_lookup(lookup(
            &[
                &base[..],
                &[
                    ("AUTO_CLOSE_MONTHS", "yes"),
                    ("AUTO_CLOSE_BUDGET_SECONDS", "0"),
                ],
            ]
            .concat(),
        ))
        .expect_err("malformed")
        .to_string();
        assert!(err.contains("AUTO_CLOSE_MONTHS"), "{err}");
        assert!(err.contains("AUTO_CLOSE_BUDGET_SECONDS"), "{err}");
    }
}
