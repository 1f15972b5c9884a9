//! [`InMemoryTelnyx`]: accounts, per-account keys, snapshots and detail records served
//! by type and window, newest first, in pages of 50 (like Telnyx); keys can be revoked,
//! now or after a number of calls.

use super::lock;
use crate::domain::{DetailRecord, ManagedAccount, ManagedAccountId, RecordType, TelnyxSnapshot};
use crate::error::{KeyRefusal, PortError, Transience};
use crate::ports::{ApiKey, PortResult, RecordPages, TelnyxApi, TimeWindow};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;

#[derive(Debug, Default)]
struct TelnyxData {
    master_key: String,
    accounts: Vec<ManagedAccount>,
    /// Account key → account.
    keys: BTreeMap<String, ManagedAccountId>,
    revoked: BTreeSet<String>,
    /// Revoke a key once it has made this many more calls.
    revoke_after: BTreeMap<String, usize>,
    snapshots: BTreeMap<ManagedAccountId, TelnyxSnapshot>,
    records: BTreeMap<ManagedAccountId, Vec<DetailRecord>>,
    calls: Vec<String>,
}

/// An in-memory [`TelnyxApi`]: accounts, per-account keys, snapshots and detail records
/// served by type and window, newest first, in pages of `page_size` (50, like Telnyx).
#[derive(Debug)]
pub struct InMemoryTelnyx {
    data: Mutex<TelnyxData>,
    page_size: usize,
}

impl Default for InMemoryTelnyx {
    fn default() -> Self {
        Self::new("master-key")
    }
}

fn unauthorized() -> PortError {
    PortError::message(
        "unauthorized (401): key missing or revoked",
        Transience::Permanent,
    )
    .with_key_refusal(KeyRefusal::Unauthorized)
}

impl InMemoryTelnyx {
    pub fn new(master_key: &str) -> Self {
        Self {
            data: Mutex::new(TelnyxData {
                master_key: master_key.to_owned(),
                ..TelnyxData::default()
            }),
            page_size: 50,
        }
    }

    pub fn with_page_size(mut self, size: usize) -> Self {
        self.page_size = size.max(1);
        self
    }

    /// A managed account readable with `key`, with its configuration.
    pub fn with_account(
        self,
        account: ManagedAccount,
        key: &str,
        snapshot: TelnyxSnapshot,
    ) -> Self {
        {
            let mut d = lock(&self.data);
            d.keys.insert(key.to_owned(), account.id.clone());
            d.snapshots.insert(account.id.clone(), snapshot);
            d.accounts.push(account);
        }
        self
    }

    /// Adds detail records to an account.
    pub fn add_records(
        &self,
        account: &ManagedAccountId,
        records: impl IntoIterator<Item = DetailRecord>,
    ) {
        lock(&self.data)
            .records
            .entry(account.clone())
            .or_default()
            .extend(records);
    }

    /// Replaces an account's configuration.
    pub fn set_snapshot(&self, account: &ManagedAccountId, snapshot: TelnyxSnapshot) {
        lock(&self.data).snapshots.insert(account.clone(), snapshot);
    }

    /// Revokes a key now.
    pub fn revoke(&self, key: &str) {
        lock(&self.data).revoked.insert(key.to_owned());
    }

    /// Revokes a key after it has made `calls` more successful calls (a key revoked mid-run).
    pub fn revoke_after(&self, key: &str, calls: usize) {
        lock(&self.data).revoke_after.insert(key.to_owned(), calls);
    }

    /// Every call made, e.g. `snapshot`, `detail_records sip-trunking`.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.data).calls.clone()
    }

    fn authorize(&self, key: &ApiKey, call: String) -> PortResult<ManagedAccountId> {
        let mut d = lock(&self.data);
        let k = key.expose().to_owned();
        if let Some(left) = d.revoke_after.get_mut(&k) {
            if *left == 0 {
                d.revoked.insert(k.clone());
            } else {
                *left -= 1;
            }
        }
        if d.revoked.contains(&k) {
            return Err(unauthorized());
        }
        let account = d.keys.get(&k).cloned().ok_or_else(unauthorized)?;
        d.calls.push(call);
        Ok(account)
    }
}

struct Pages(VecDeque<Vec<DetailRecord>>);

#[async_trait]
impl RecordPages for Pages {
    async fn next_page(&mut self) -> PortResult<Option<Vec<DetailRecord>>> {
        Ok(self.0.pop_front())
    }
}

#[async_trait]
impl TelnyxApi for InMemoryTelnyx {
    async fn managed_accounts(
        &self,
        master_key: &ApiKey,
        _include_cancelled: bool,
    ) -> PortResult<Vec<ManagedAccount>> {
        let mut d = lock(&self.data);
        if master_key.expose() != d.master_key || d.revoked.contains(master_key.expose()) {
            return Err(unauthorized());
        }
        d.calls.push("managed_accounts".into());
        Ok(d.accounts.clone())
    }

    async fn snapshot(&self, key: &ApiKey) -> PortResult<TelnyxSnapshot> {
        let account = self.authorize(key, "snapshot".into())?;
        Ok(lock(&self.data)
            .snapshots
            .get(&account)
            .cloned()
            .unwrap_or_default())
    }

    async fn detail_records(
        &self,
        key: &ApiKey,
        record_type: RecordType,
        window: TimeWindow,
    ) -> PortResult<Box<dyn RecordPages>> {
        let account = self.authorize(key, format!("detail_records {record_type}"))?;
        let mut rows: Vec<DetailRecord> = lock(&self.data)
            .records
            .get(&account)
            .into_iter()
            .flatten()
            .filter(|r| {
                r.record_type == record_type
                    && r.occurred_at >= window.from
                    && r.occurred_at < window.to
            })
            .cloned()
            .collect();
        // Telnyx ignores `sort`: newest first.
        rows.sort_by_key(|r| std::cmp::Reverse(r.occurred_at));
        let pages = rows
            .chunks(self.page_size)
            .map(<[DetailRecord]>::to_vec)
            .collect();
        Ok(Box::new(Pages(pages)))
    }
}
