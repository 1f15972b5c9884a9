//! The sync's configuration, from the environment, validated at cold start: what
//! account-sync reads, and what `billing-admin sync` reads to run the same sync from an
//! operator's shell.

use crate::AdapterConfig;
use chrono::Duration;
use reconciliation::config::{ConfigError, EnvReader};
use reconciliation::domain::RecordType;
use reconciliation::sync::SyncSettings;
use std::collections::BTreeMap;

/// Messaging's publication delay by default: Telnyx warns that messages of the last 4
/// hours may not appear yet.
const MESSAGING_DELAY: Duration = Duration::hours(4);

/// The per-type publication delays: messaging at least [`MESSAGING_DELAY`] (and at least
/// the general overlap), then `spec` (`type=minutes,…`, e.g. `messaging=300,tts=180`).
fn overlaps_by_type(
    spec: &str,
    overlap: Duration,
) -> Result<BTreeMap<RecordType, Duration>, String> {
    let mut out = BTreeMap::from([(RecordType::Messaging, MESSAGING_DELAY.max(overlap))]);
    for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (name, minutes) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?} is not `record-type=minutes`"))?;
        let t: RecordType = name
            .trim()
            .parse()
            .map_err(|e| format!("{e} in {item:?}"))?;
        let minutes: i64 = minutes
            .trim()
            .parse()
            .ok()
            .filter(|m| *m >= 0)
            .ok_or_else(|| format!("{item:?}: minutes must be a whole number >= 0"))?;
        out.insert(t, Duration::minutes(minutes));
    }
    Ok(out)
}

/// Everything a sync (account-sync, `billing-admin sync`) reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    /// Table, key prefix (account keys are `<prefix>accounts/<id>`), Telnyx URL, SES sender.
    pub adapters: AdapterConfig,
    pub sync: SyncSettings,
}

impl SyncConfig {
    /// Reads the process environment; the error names every missing or malformed variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads from any lookup (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(lookup);
        let d = SyncSettings::default();
        let portal_url_template = env.url("PORTAL_URL_TEMPLATE", None);
        if !portal_url_template.is_empty() && !portal_url_template.contains("{customer_id}") {
            env.malformed("PORTAL_URL_TEMPLATE", "it must contain {customer_id}");
        }
        let initial_lookback = env.parsed_opt::<i64>("INITIAL_LOOKBACK_HOURS");
        if initial_lookback.is_some_and(|h| h <= 0) {
            env.malformed("INITIAL_LOOKBACK_HOURS", "must be positive");
        }
        let overlap = env.duration_or(
            "SYNC_OVERLAP_MINUTES",
            Duration::minutes,
            d.overlap.num_minutes(),
            0,
        );
        let by_type = env.or("SYNC_OVERLAP_BY_TYPE", "");
        let overlaps = match overlaps_by_type(&by_type, overlap) {
            Ok(o) => o,
            Err(reason) => {
                env.malformed("SYNC_OVERLAP_BY_TYPE", &reason);
                BTreeMap::new()
            }
        };
        let sync = SyncSettings {
            portal_url_template,
            overlap,
            overlaps,
            full_walk: env.duration_or(
                "FULL_WALK_HOURS",
                Duration::hours,
                d.full_walk.num_hours(),
                1,
            ),
            initial_lookback: initial_lookback.map(Duration::hours),
            alert_interval: env.duration_or(
                "ALERT_INTERVAL_HOURS",
                Duration::hours,
                d.alert_interval.num_hours(),
                1,
            ),
            deadline_margin: env.duration_or(
                "DEADLINE_MARGIN_SECONDS",
                Duration::seconds,
                d.deadline_margin.num_seconds(),
                5,
            ),
            continuation_delay: env.duration_or(
                "CONTINUATION_DELAY_SECONDS",
                Duration::seconds,
                d.continuation_delay.num_seconds(),
                0,
            ),
            slice_records: env.parsed_or("SLICE_RECORDS", d.slice_records).max(50),
            alert_to: Vec::new(),
            lease_without_deadline: d.lease_without_deadline,
        };
        let config = SyncConfig {
            adapters: AdapterConfig::read(&mut env),
            sync: SyncSettings {
                alert_to: env.emails("ALERT_EMAIL", "where key-problem alerts go"),
                ..sync
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
        let config = SyncConfig::from_lookup(lookup(&COMPLETE)).expect("valid config");
        assert_eq!(config.sync.overlap, Duration::hours(2));
        assert_eq!(
            config.sync.initial_lookback, None,
            "from the start of the month"
        );
        assert_eq!(config.sync.deadline_margin, Duration::seconds(30));
        assert_eq!(config.sync.alert_to, vec!["ops@operator.example"]);
        assert_eq!(config.sync.alert_interval, Duration::days(3));
        assert_eq!(
            config.sync.overlap_for(RecordType::Messaging),
            Duration::hours(4),
            "Telnyx's own warning for the last 4 hours of messages"
        );
        assert_eq!(config.sync.overlap_for(RecordType::Tts), Duration::hours(2));
        assert_eq!(config.sync.full_walk, Duration::hours(24));
    }

    #[test]
    fn publication_delays_per_type_override_the_overlap_and_a_bad_one_is_named() {
        let mut vars = COMPLETE.to_vec();
        vars.push(("SYNC_OVERLAP_BY_TYPE", "tts=180, messaging=300"));
        vars.push(("FULL_WALK_HOURS", "6"));
        let config = SyncConfig::from_lookup(lookup(&vars)).expect("valid config");
        assert_eq!(config.sync.overlap_for(RecordType::Tts), Duration::hours(3));
        assert_eq!(
            config.sync.overlap_for(RecordType::Messaging),
            Duration::hours(5)
        );
        assert_eq!(config.sync.full_walk, Duration::hours(6));
        let mut bad = COMPLETE.to_vec();
        bad.push(("SYNC_OVERLAP_BY_TYPE", "sms=240"));
        let err = SyncConfig::from_lookup(lookup(&bad))
            .expect_err("bad")
            .to_string();
        assert!(
            err.contains("SYNC_OVERLAP_BY_TYPE is malformed") && err.contains("sms"),
            "{err}"
        );
    }

    #[test]
    fn a_portal_template_without_the_customer_placeholder_is_rejected() {
        let mut vars = COMPLETE.to_vec();
        vars[4] = (
            "PORTAL_URL_TEMPLATE",
            "https://billing.example.com/customers/",
        );
        vars.push(("SYNC_OVERLAP_MINUTES", "two hours"));
        let err = SyncConfig::from_lookup(lookup(&vars))
            .expect_err("bad config")
            .to_string();
        assert!(
            err.contains("PORTAL_URL_TEMPLATE is malformed: it must contain {customer_id}"),
            "{err}"
        );
        assert!(err.contains("SYNC_OVERLAP_MINUTES is malformed"), "{err}");
    }
}
