//! What the in-memory store keeps of Telnyx's usage report: cached options, confirmed
//! count metrics, distrusted reports.

use super::InMemoryStore;
use crate::domain::{ManagedAccountId, RecordType};
use crate::fakes::lock;
use crate::ports::{CachedUsageOptions, ConfirmedCount, Distrust, PortResult, UsageStore};
use async_trait::async_trait;

#[async_trait]
impl UsageStore for InMemoryStore {
    async fn usage_options(&self) -> PortResult<Option<CachedUsageOptions>> {
        self.check("usage_options")?;
        Ok(lock(&self.data).usage_options.clone())
    }

    async fn put_usage_options(&self, cached: &CachedUsageOptions) -> PortResult<()> {
        self.check("put_usage_options")?;
        lock(&self.data).usage_options = Some(cached.clone());
        Ok(())
    }

    async fn confirmed_counts(&self) -> PortResult<Vec<ConfirmedCount>> {
        self.check("confirmed_counts")?;
        Ok(lock(&self.data)
            .confirmed_counts
            .values()
            .cloned()
            .collect())
    }

    async fn confirm_count(&self, confirmed: &ConfirmedCount) -> PortResult<()> {
        self.check("confirm_count")?;
        lock(&self.data)
            .confirmed_counts
            .entry((confirmed.product.clone(), confirmed.metric.clone()))
            .or_insert_with(|| confirmed.clone());
        Ok(())
    }

    async fn distrusts(&self, account: &ManagedAccountId) -> PortResult<Vec<Distrust>> {
        self.check("distrusts")?;
        Ok(lock(&self.data)
            .distrusts
            .iter()
            .filter(|((a, _), _)| a == account)
            .map(|(_, d)| d.clone())
            .collect())
    }

    async fn distrust(&self, account: &ManagedAccountId, distrust: &Distrust) -> PortResult<()> {
        self.check("distrust")?;
        lock(&self.data)
            .distrusts
            .insert((account.clone(), distrust.record_type), distrust.clone());
        Ok(())
    }

    async fn trust_again(
        &self,
        account: &ManagedAccountId,
        record_type: RecordType,
    ) -> PortResult<()> {
        self.check("trust_again")?;
        lock(&self.data)
            .distrusts
            .remove(&(account.clone(), record_type));
        Ok(())
    }
}
