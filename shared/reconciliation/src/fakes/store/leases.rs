//! Account leases of the in-memory store.

use super::InMemoryStore;
use crate::domain::{ManagedAccountId, RunId};
use crate::fakes::{lock, yield_now};
use crate::ports::{Lease, LeaseGrant, LeaseStore, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
impl LeaseStore for InMemoryStore {
    async fn acquire_lease(
        &self,
        account: &ManagedAccountId,
        holder: &RunId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> PortResult<LeaseGrant> {
        self.check("acquire_lease")?;
        // Two workers may ask at once, as with a real store; the lock decides.
        yield_now().await;
        let mut d = lock(&self.data);
        if let Some(held) = d.leases.get(account) {
            if &held.holder != holder && held.until > now {
                return Ok(LeaseGrant::HeldBy(held.clone()));
            }
        }
        d.leases.insert(
            account.clone(),
            Lease {
                account: account.clone(),
                holder: holder.clone(),
                until,
            },
        );
        Ok(LeaseGrant::Granted)
    }

    async fn release_lease(&self, account: &ManagedAccountId, holder: &RunId) -> PortResult<()> {
        self.check("release_lease")?;
        let mut d = lock(&self.data);
        if d.leases.get(account).is_some_and(|l| &l.holder == holder) {
            d.leases.remove(account);
        }
        Ok(())
    }

    async fn active_leases(
        &self,
        accounts: &[ManagedAccountId],
        now: DateTime<Utc>,
    ) -> PortResult<Vec<Lease>> {
        self.check("active_leases")?;
        let d = lock(&self.data);
        Ok(accounts
            .iter()
            .filter_map(|a| d.leases.get(a))
            .filter(|l| l.until > now)
            .cloned()
            .collect())
    }
}
