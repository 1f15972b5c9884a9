//! Onboardings and departments of the in-memory store.

use super::InMemoryStore;
use crate::domain::{Department, ManagedAccountId, Offboarding, Onboarding};
use crate::fakes::lock;
use crate::ports::{OnboardingStore, PortResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
impl OnboardingStore for InMemoryStore {
    async fn onboarding(&self, account: &ManagedAccountId) -> PortResult<Option<Onboarding>> {
        self.check("onboarding")?;
        Ok(lock(&self.data).onboardings.get(account).cloned())
    }

    async fn onboardings(&self) -> PortResult<Vec<Onboarding>> {
        self.check("onboardings")?;
        Ok(lock(&self.data).onboardings.values().cloned().collect())
    }

    async fn put_onboarding(&self, onboarding: &Onboarding) -> PortResult<()> {
        self.check("put_onboarding")?;
        let mut d = lock(&self.data);
        d.onboardings
            .insert(onboarding.account.clone(), onboarding.clone());
        d.offboardings.remove(&onboarding.account);
        Ok(())
    }

    async fn offboard(
        &self,
        account: &ManagedAccountId,
        at: DateTime<Utc>,
    ) -> PortResult<Option<Offboarding>> {
        self.check("offboard")?;
        let mut d = lock(&self.data);
        let Some(onboarding) = d.onboardings.remove(account) else {
            return Ok(None);
        };
        let offboarding = Offboarding {
            onboarding,
            offboarded_at: at,
        };
        d.offboardings.insert(account.clone(), offboarding.clone());
        Ok(Some(offboarding))
    }

    async fn offboardings(&self) -> PortResult<Vec<Offboarding>> {
        self.check("offboardings")?;
        Ok(lock(&self.data).offboardings.values().cloned().collect())
    }

    async fn put_department(&self, department: &Department) -> PortResult<()> {
        self.check("put_department")?;
        let mut d = lock(&self.data);
        d.state.departments.retain(|x| x.id != department.id);
        d.state.departments.push(department.clone());
        Ok(())
    }
}
