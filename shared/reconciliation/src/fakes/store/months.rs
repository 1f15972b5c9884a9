//! Billing months in the in-memory store: change counters, states, frozen lines, events.

use super::InMemoryStore;
use crate::billing::rollup::Level;
use crate::domain::{BillingMonth, ManagedAccountId};
use crate::fakes::lock;
use crate::ports::{InvoiceLine, MonthEvent, MonthState, MonthStatus, MonthStore, PortResult};
use async_trait::async_trait;

impl InMemoryStore {
    /// Writes lines whether or not their version is committed: what a store without
    /// the port's guard would do (the contract's defect tests).
    pub fn put_invoice_lines_unguarded(
        &self,
        account: &ManagedAccountId,
        month: BillingMonth,
        version: u32,
        lines: &[InvoiceLine],
    ) {
        let mut d = lock(&self.data);
        let mut next: std::collections::BTreeMap<Level, u32> = Default::default();
        for line in lines {
            let n = next.entry(line.level).or_default();
            d.invoice_lines.insert(
                (account.clone(), month, version, line.level, *n),
                line.clone(),
            );
            *n += 1;
        }
    }
}

#[async_trait]
impl MonthStore for InMemoryStore {
    async fn month_changes(
        &self,
        account: &ManagedAccountId,
        month: BillingMonth,
    ) -> PortResult<u64> {
        self.check("month_changes")?;
        let d = lock(&self.data);
        Ok(d.month_changes
            .get(&(account.clone(), month))
            .copied()
            .unwrap_or_default())
    }

    async fn month_states(&self, account: &ManagedAccountId) -> PortResult<Vec<MonthState>> {
        self.check("month_states")?;
        let d = lock(&self.data);
        Ok(d.months
            .iter()
            .filter(|((a, _), _)| a == account)
            .map(|(_, s)| s.clone())
            .collect())
    }

    async fn put_invoice_lines(
        &self,
        account: &ManagedAccountId,
        month: BillingMonth,
        version: u32,
        lines: &[InvoiceLine],
    ) -> PortResult<()> {
        self.check("put_invoice_lines")?;
        let d = lock(&self.data);
        let committed = d
            .months
            .get(&(account.clone(), month))
            .is_some_and(|s| s.version >= version);
        if committed {
            return Ok(());
        }
        drop(d);
        self.put_invoice_lines_unguarded(account, month, version, lines);
        Ok(())
    }

    async fn invoice_lines(
        &self,
        account: &ManagedAccountId,
        month: BillingMonth,
        version: u32,
        level: Level,
        count: u32,
    ) -> PortResult<Vec<InvoiceLine>> {
        self.check("invoice_lines")?;
        let d = lock(&self.data);
        Ok((0..count)
            .filter_map(|n| {
                d.invoice_lines
                    .get(&(account.clone(), month, version, level, n))
                    .cloned()
            })
            .collect())
    }

    async fn commit_close(&self, state: &MonthState, event: &MonthEvent) -> PortResult<bool> {
        self.check("commit_close")?;
        let mut d = lock(&self.data);
        let key = (state.account.clone(), state.month);
        let stored_version = d.months.get(&key).map_or(0, |s| s.version);
        let closed = d
            .months
            .get(&key)
            .is_some_and(|s| s.status == MonthStatus::Closed);
        if closed || stored_version + 1 != state.version {
            return Ok(false);
        }
        d.months.insert(key, state.clone());
        d.month_events.push(event.clone());
        Ok(true)
    }

    async fn reopen(&self, event: &MonthEvent) -> PortResult<bool> {
        self.check("reopen")?;
        let mut d = lock(&self.data);
        let Some(state) = d.months.get_mut(&(event.account.clone(), event.month)) else {
            return Ok(false);
        };
        if state.status != MonthStatus::Closed || state.version != event.version {
            return Ok(false);
        }
        state.status = MonthStatus::Open;
        state.reopened_at = Some(event.at);
        d.month_events.push(event.clone());
        Ok(true)
    }

    async fn month_events(
        &self,
        account: &ManagedAccountId,
        month: BillingMonth,
    ) -> PortResult<Vec<MonthEvent>> {
        self.check("month_events")?;
        let d = lock(&self.data);
        let mut events: Vec<MonthEvent> = d
            .month_events
            .iter()
            .filter(|e| &e.account == account && e.month == month)
            .cloned()
            .collect();
        // In time order, as DynamoDB reads them back (the sort key starts with the time).
        events.sort_by_key(|e| (e.at, e.version));
        Ok(events)
    }
}
