//! [`InMemoryTelnyx`]: accounts, per-account keys, snapshots and detail records served
//! by type and window, newest first, in pages of 50 (like Telnyx); keys can be revoked,
//! now or after a number of calls.

mod usage;

use super::lock;
use crate::domain::{
    DetailRecord, ManagedAccount, ManagedAccountId, RawRecord, RecordType, TelnyxSnapshot,
};
use crate::error::{KeyRefusal, PortError, Transience};
use crate::ports::{
    ApiKey, PortResult, RecordPage, RecordPages, RecordQuery, TelnyxApi, TimeWindow, UsageOptions,
    UsageRequest, UsageRow,
};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

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
    /// Record types whose usage report fails.
    usage_failing: BTreeSet<RecordType>,
    /// Records that arrive when a page of this number is asked for (a late record
    /// landing mid-walk).
    arriving: BTreeMap<u32, Vec<(ManagedAccountId, DetailRecord)>>,
    /// Types whose records carry another time field than the product's table says
    /// (a filter on the table's field then returns nothing, as on Telnyx).
    time_fields: BTreeMap<RecordType, &'static str>,
    /// Records counted by the usage report that no walk is served (a dropped page).
    unserved: BTreeSet<String>,
    /// How the usage report departs from the live-like one.
    usage: usage::FakeUsage,
}

/// An in-memory [`TelnyxApi`]: accounts, per-account keys, snapshots and detail records
/// served by type and window, newest first, in pages of `page_size` (50, like Telnyx).
#[derive(Debug)]
pub struct InMemoryTelnyx {
    data: Arc<Mutex<TelnyxData>>,
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
            data: Arc::new(Mutex::new(TelnyxData {
                master_key: master_key.to_owned(),
                ..TelnyxData::default()
            })),
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

    /// Lists one more managed account (empty snapshot) from now on.
    pub fn add_account(&self, account: ManagedAccount, key: &str) {
        let mut d = lock(&self.data);
        d.keys.insert(key.to_owned(), account.id.clone());
        d.snapshots
            .insert(account.id.clone(), TelnyxSnapshot::default());
        d.accounts.push(account);
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

    /// `record` arrives at the account just before the next request for page `page` of
    /// any walk is answered.
    pub fn arrive_on_page(&self, page: u32, account: &ManagedAccountId, record: DetailRecord) {
        lock(&self.data)
            .arriving
            .entry(page)
            .or_default()
            .push((account.clone(), record));
    }

    /// Makes the usage report of `record_type` fail (transiently).
    pub fn fail_usage_report(&self, record_type: RecordType) {
        lock(&self.data).usage_failing.insert(record_type);
    }

    /// No product offers `count` (the live `sip-trunking` product, everywhere).
    pub fn usage_without_count(&self) {
        lock(&self.data).usage.without_count = true;
    }

    /// The usage report of `record_type` counts no record at or after `until` (it lags
    /// its records); `None`: it has caught up.
    pub fn lag_usage_report(
        &self,
        record_type: RecordType,
        until: Option<chrono::DateTime<chrono::Utc>>,
    ) {
        let mut d = lock(&self.data);
        match until {
            Some(t) => d.usage.lag.insert(record_type, t),
            None => d.usage.lag.remove(&record_type),
        };
    }

    /// The usage report counts one record of `record_type` fewer on `day`.
    pub fn undercount_usage(&self, record_type: RecordType, day: chrono::NaiveDate) {
        lock(&self.data).usage.undercount.push((record_type, day));
    }

    /// Every call made, e.g. `snapshot`, `detail_records sip-trunking`,
    /// `detail_records sip-trunking page 2`, `usage_report messaging`, `usage_options`.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.data).calls.clone()
    }

    fn authorize(&self, key: &ApiKey, call: String) -> PortResult<ManagedAccountId> {
        authorize(&self.data, key, call)
    }

    /// Makes the records of `record_type` carry their time in `field`: a walk filtering
    /// on another field finds none of them.
    pub fn set_time_field(&self, record_type: RecordType, field: &'static str) {
        lock(&self.data).time_fields.insert(record_type, field);
    }

    /// Counts `record` in the usage report without ever serving it to a walk: the page
    /// that held it was dropped.
    pub fn add_unserved(&self, account: &ManagedAccountId, record: DetailRecord) {
        let mut d = lock(&self.data);
        d.unserved.insert(record.id.as_str().to_owned());
        d.records.entry(account.clone()).or_default().push(record);
    }

    /// The field records of `t` carry their time in.
    fn time_field(data: &TelnyxData, t: RecordType) -> &'static str {
        data.time_fields
            .get(&t)
            .copied()
            .unwrap_or_else(|| t.time_field())
    }

    /// Records of one type in `window`, newest first (ties by id, newest last); none
    /// when the query filters on a field the type's records do not carry.
    fn rows(data: &TelnyxData, account: &ManagedAccountId, q: &RecordQuery) -> Vec<DetailRecord> {
        if Self::time_field(data, q.record_type) != q.time_field {
            return Vec::new();
        }
        let mut rows = Self::all_rows(data, account, q.record_type, q.window);
        rows.retain(|r| !data.unserved.contains(r.id.as_str()));
        rows
    }

    /// Records of one type in `window` by their time, whatever field it is in.
    fn all_rows(
        data: &TelnyxData,
        account: &ManagedAccountId,
        record_type: RecordType,
        window: TimeWindow,
    ) -> Vec<DetailRecord> {
        let q = RecordQuery::new(record_type, window);
        let mut rows: Vec<DetailRecord> = data
            .records
            .get(account)
            .into_iter()
            .flatten()
            .filter(|r| {
                r.record_type == q.record_type
                    && r.occurred_at >= q.window.from
                    && r.occurred_at < q.window.to
            })
            .cloned()
            .collect();
        // Telnyx ignores `sort`: newest first.
        rows.sort_by(|a, b| (b.occurred_at, &b.id).cmp(&(a.occurred_at, &a.id)));
        rows
    }
}

/// Checks a key (and counts down a "revoke after" budget); records the call.
fn authorize(data: &Mutex<TelnyxData>, key: &ApiKey, call: String) -> PortResult<ManagedAccountId> {
    {
        let mut d = lock(data);
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

/// A walk: each page is cut when it is asked for (records added meanwhile shift the
/// later pages, as on Telnyx).
struct Pages {
    data: Arc<Mutex<TelnyxData>>,
    key: ApiKey,
    account: ManagedAccountId,
    query: RecordQuery,
    next: u32,
    page_size: usize,
    done: bool,
    /// Ids this walk returned: a row a shifted page repeats is dropped and counted, as
    /// the port promises.
    returned: std::collections::HashSet<crate::domain::DetailRecordId>,
}

#[async_trait]
impl RecordPages for Pages {
    async fn next_page(&mut self) -> PortResult<Option<RecordPage>> {
        let mut repeated = 0;
        loop {
            if self.done {
                return Ok(None);
            }
            let number = self.next;
            let call = format!("detail_records {} page {number}", self.query.record_type);
            authorize(&self.data, &self.key, call)?;
            let rows = {
                let mut d = lock(&self.data);
                for (account, record) in d.arriving.remove(&number).unwrap_or_default() {
                    d.records.entry(account).or_default().push(record);
                }
                InMemoryTelnyx::rows(&d, &self.account, &self.query)
            };
            let start = (number as usize - 1) * self.page_size;
            let cut: Vec<&DetailRecord> = rows.iter().skip(start).take(self.page_size).collect();
            self.next += 1;
            self.done = start + self.page_size >= rows.len();
            if cut.is_empty() {
                self.done = true;
                return Ok(None);
            }
            let records: Vec<DetailRecord> = cut
                .iter()
                .filter(|r| self.returned.insert(r.id.clone()))
                .map(|r| (*r).clone())
                .collect();
            repeated += (cut.len() - records.len()) as u64;
            if records.is_empty() {
                // A page holding only rows already returned: walk on, as the client does.
                continue;
            }
            return Ok(Some(RecordPage {
                repeated,
                records,
                number,
                total_results: Some(rows.len() as u64),
            }));
        }
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
        query: RecordQuery,
    ) -> PortResult<Box<dyn RecordPages>> {
        let account = self.authorize(key, format!("detail_records {}", query.record_type))?;
        Ok(Box::new(Pages {
            data: self.data.clone(),
            key: key.clone(),
            account,
            query,
            next: query.first_page.max(1),
            page_size: self.page_size,
            done: false,
            returned: std::collections::HashSet::new(),
        }))
    }

    async fn usage_options(&self, key: &ApiKey) -> PortResult<UsageOptions> {
        {
            let d = lock(&self.data);
            if key.expose() != d.master_key {
                drop(d);
                self.authorize(key, "usage_options".into())?;
            }
        }
        let without_count = lock(&self.data).usage.without_count;
        Ok(usage::options(without_count))
    }

    async fn usage_report(
        &self,
        key: &ApiKey,
        request: &UsageRequest,
    ) -> PortResult<Vec<UsageRow>> {
        let call = format!("usage_report {}", request.product);
        let accounts: Vec<ManagedAccountId> = if request.across_accounts {
            let mut d = lock(&self.data);
            if key.expose() != d.master_key {
                return Err(unauthorized());
            }
            d.calls.push(call);
            d.accounts.iter().map(|a| a.id.clone()).collect()
        } else {
            vec![self.authorize(key, call)?]
        };
        let d = lock(&self.data);
        let product = usage::product(request, d.usage.without_count)?;
        if d.usage_failing.contains(&product.record_type) {
            return Err(PortError::message(
                "usage report unavailable",
                Transience::Transient,
            ));
        }
        let mut rows = Vec::new();
        for account in &accounts {
            let records = Self::all_rows(&d, account, product.record_type, request.window);
            let counted = d.usage.counted(product.record_type, records);
            let by = request.across_accounts.then_some(account);
            rows.extend(usage::rows(product, request, by, &counted));
        }
        Ok(rows)
    }

    async fn newest_rows(
        &self,
        key: &ApiKey,
        record_type: RecordType,
    ) -> PortResult<Vec<RawRecord>> {
        let account = self.authorize(key, format!("newest_rows {record_type}"))?;
        let d = lock(&self.data);
        let field = Self::time_field(&d, record_type);
        let all = TimeWindow {
            from: chrono::DateTime::<chrono::Utc>::MIN_UTC,
            to: chrono::DateTime::<chrono::Utc>::MAX_UTC,
        };
        Ok(Self::all_rows(&d, &account, record_type, all)
            .iter()
            .take(self.page_size)
            .map(|r| {
                let at = r.occurred_at.to_rfc3339();
                RawRecord::from_value(&serde_json::json!({"id": r.id.as_str(), field: at}))
            })
            .collect())
    }
}
