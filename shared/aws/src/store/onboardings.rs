//! Onboardings and departments: one item each, onboardings listed through `gsi1`;
//! offboardings in one partition of their own. Offboarding writes the offboarding
//! before deleting the onboarding, and onboarding writes the onboarding before
//! forgetting the offboarding: a crash between the two leaves both, and then the
//! onboarding counts (the account is synced) until the operator's command is repeated.

use super::DynamoStore;
use super::SortKey;
use super::items::{entity_item, from_item};
use super::keys;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reconciliation::domain::{Department, ManagedAccountId, Offboarding, Onboarding};
use reconciliation::ports::{OnboardingStore, PortResult};

#[async_trait]
impl OnboardingStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(account_id = %account))]
    async fn onboarding(&self, account: &ManagedAccountId) -> PortResult<Option<Onboarding>> {
        self.get(&keys::onboarding(account))
            .await
            .and_then(|item| item.map(from_item).transpose())
            .map_err(|e| e.into_port(format!("reading the onboarding of account {account}")))
    }

    #[tracing::instrument(skip_all)]
    async fn onboardings(&self) -> PortResult<Vec<Onboarding>> {
        self.query(
            Some(keys::GSI1),
            keys::ONBOARDINGS_PARTITION,
            SortKey::Any,
            false,
            None,
        )
        .await
        .and_then(|items| items.into_iter().map(from_item).collect())
        .map_err(|e| e.into_port("listing onboardings"))
    }

    #[tracing::instrument(skip_all, fields(account_id = %onboarding.account))]
    async fn put_onboarding(&self, onboarding: &Onboarding) -> PortResult<()> {
        let account = &onboarding.account;
        async {
            let item = entity_item(
                "onboarding",
                onboarding,
                &keys::onboarding(account),
                Some(&keys::onboarding_index(account)),
            )?;
            self.put(item).await?;
            self.delete(&keys::offboarding(account)).await
        }
        .await
        .map_err(|e| e.into_port(format!("storing the onboarding of account {account}")))
    }

    #[tracing::instrument(skip_all, fields(account_id = %account))]
    async fn offboard(
        &self,
        account: &ManagedAccountId,
        at: DateTime<Utc>,
    ) -> PortResult<Option<Offboarding>> {
        let Some(onboarding) = self.onboarding(account).await? else {
            return Ok(None);
        };
        let offboarding = Offboarding {
            onboarding,
            offboarded_at: at,
        };
        async {
            let item = entity_item(
                "offboarding",
                &offboarding,
                &keys::offboarding(account),
                None,
            )?;
            self.put(item).await?;
            self.delete(&keys::onboarding(account)).await
        }
        .await
        .map_err(|e| e.into_port(format!("offboarding account {account}")))?;
        Ok(Some(offboarding))
    }

    #[tracing::instrument(skip_all)]
    async fn offboardings(&self) -> PortResult<Vec<Offboarding>> {
        self.query(
            None,
            keys::OFFBOARDINGS_PARTITION,
            SortKey::Any,
            false,
            None,
        )
        .await
        .and_then(|items| items.into_iter().map(from_item).collect())
        .map_err(|e| e.into_port("listing offboardings"))
    }

    #[tracing::instrument(skip_all, fields(department = %department.id))]
    async fn put_department(&self, department: &Department) -> PortResult<()> {
        let id = &department.id;
        async {
            let item = entity_item(
                "department",
                department,
                &keys::department(id),
                Some(&keys::department_index(id)),
            )?;
            self.put(item).await
        }
        .await
        .map_err(|e| e.into_port(format!("storing department {id}")))
    }
}
