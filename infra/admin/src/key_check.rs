//! A Telnyx key is tried before it is stored: an account key must read everything a
//! sync reads (billing groups, connections, outbound voice profiles, phone numbers,
//! detail records), the manager key must list managed accounts. A refusal names the
//! endpoint Telnyx refused, never the key.

use chrono::{DateTime, Duration, Utc};
use reconciliation::domain::RecordType;
use reconciliation::ports::{ApiKey, RecordQuery, TelnyxApi, TimeWindow};

/// Which key is being stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// The manager (master) key: lists the managed accounts.
    Manager,
    /// A managed account's own key: reads its resources and records.
    Account,
}

/// One permission tried, and what Telnyx said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// What was read, e.g. "detail records".
    pub what: &'static str,
    /// `Err`: Telnyx's refusal or the failure, with the endpoint (no key).
    pub result: Result<(), String>,
}

/// Every permission the key needs, tried in turn (a refused snapshot stops at the first
/// endpoint refused, which its error names).
pub async fn check_key(
    telnyx: &dyn TelnyxApi,
    kind: KeyKind,
    key: &ApiKey,
    now: DateTime<Utc>,
) -> Vec<Permission> {
    match kind {
        KeyKind::Manager => vec![Permission {
            what: "managed accounts",
            result: telnyx
                .managed_accounts(key, false)
                .await
                .map(|_| ())
                .map_err(|e| e.chain()),
        }],
        KeyKind::Account => {
            let snapshot = Permission {
                what: "billing groups, connections, outbound voice profiles and phone numbers",
                result: telnyx
                    .snapshot(key)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.chain()),
            };
            let window = TimeWindow {
                from: now - Duration::hours(1),
                to: now,
            };
            let query = RecordQuery::new(RecordType::SipTrunking, window);
            let records = match telnyx.detail_records(key, query).await {
                Ok(mut pages) => pages.next_page().await.map(|_| ()).map_err(|e| e.chain()),
                Err(e) => Err(e.chain()),
            };
            vec![
                snapshot,
                Permission {
                    what: "detail records",
                    result: records,
                },
            ]
        }
    }
}

/// The refusals among `checked`, one line each (empty: the key may do everything).
pub fn refusals(checked: &[Permission]) -> Vec<String> {
    checked
        .iter()
        .filter_map(|p| p.result.as_ref().err().map(|e| format!("{}: {e}", p.what)))
        .collect()
}
