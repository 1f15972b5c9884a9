//! What the store keeps of Telnyx's usage report ([`UsageStore`]): the cached options
//! (one item for the table), the count metrics confirmed against walked records (one
//! partition, the first confirmation of each kept by a conditional put), and per account
//! the reports it distrusts.

use super::items;
use super::{DynamoStore, SortKey, keys};
use crate::error::AwsError;
use async_trait::async_trait;
use reconciliation::domain::{ManagedAccountId, RecordType};
use reconciliation::ports::{CachedUsageOptions, ConfirmedCount, Distrust, PortResult, UsageStore};

fn port(context: &str) -> impl FnOnce(AwsError) -> reconciliation::PortError + '_ {
    move |e| e.into_port(context.to_owned())
}

#[async_trait]
impl UsageStore for DynamoStore {
    async fn usage_options(&self) -> PortResult<Option<CachedUsageOptions>> {
        let run = async {
            match self.get(&keys::usage_options()).await? {
                Some(item) => items::from_item(item).map(Some),
                None => Ok(None),
            }
        };
        run.await
            .map_err(port("reading the cached usage report options"))
    }

    async fn put_usage_options(&self, cached: &CachedUsageOptions) -> PortResult<()> {
        let run = async {
            let item = items::entity_item("usage_options", cached, &keys::usage_options(), None)?;
            self.put(item).await
        };
        run.await.map_err(port("caching the usage report options"))
    }

    async fn confirmed_counts(&self) -> PortResult<Vec<ConfirmedCount>> {
        let run = async {
            self.query(None, keys::CONFIRMED_COUNTS, SortKey::Any, false, None)
                .await?
                .into_iter()
                .map(items::from_item)
                .collect::<Result<Vec<ConfirmedCount>, AwsError>>()
        };
        run.await
            .map_err(port("reading the confirmed count metrics"))
    }

    async fn confirm_count(&self, confirmed: &ConfirmedCount) -> PortResult<()> {
        let run = async {
            let key = keys::confirmed_count(&confirmed.product, &confirmed.metric);
            let item = items::entity_item("confirmed_count", confirmed, &key, None)?;
            // The first confirmation stays; a later one is already there.
            self.put_new(item).await.map(|_| ())
        };
        run.await.map_err(port("storing a confirmed count metric"))
    }

    async fn distrusts(&self, account: &ManagedAccountId) -> PortResult<Vec<Distrust>> {
        let run = async {
            self.query(
                None,
                &keys::account_partition(account),
                SortKey::BeginsWith(keys::DISTRUST_PREFIX.to_owned()),
                false,
                None,
            )
            .await?
            .into_iter()
            .map(items::from_item)
            .collect::<Result<Vec<Distrust>, AwsError>>()
        };
        run.await
            .map_err(port("reading the distrusted usage reports"))
    }

    async fn distrust(&self, account: &ManagedAccountId, distrust: &Distrust) -> PortResult<()> {
        let run = async {
            let key = keys::distrust(account, distrust.record_type);
            self.put(items::entity_item("distrust", distrust, &key, None)?)
                .await
        };
        run.await
            .map_err(port("recording a distrusted usage report"))
    }

    async fn trust_again(
        &self,
        account: &ManagedAccountId,
        record_type: RecordType,
    ) -> PortResult<()> {
        self.delete(&keys::distrust(account, record_type))
            .await
            .map_err(port("trusting a usage report again"))
    }
}
