//! A run without a deadline (a manual invoke, `billing-admin sync`) keeps its account's
//! lease by renewing it as it goes, and stops when another run has taken it.

use super::Walker;
use crate::ports::LeaseGrant;
use crate::sync::SyncError;

impl Walker<'_> {
    /// A run without a deadline renews its lease before half of it is used; false when
    /// another run has taken it meanwhile (this one must stop).
    pub(super) async fn renew_lease(&mut self) -> Result<bool, SyncError> {
        if self.ctx.deadline.is_some() || !self.writes() {
            return Ok(true);
        }
        let now = self.ports.clock.now();
        if now + self.settings.lease_without_deadline / 2 < self.lease_until {
            return Ok(true);
        }
        let until = now + self.settings.lease_without_deadline;
        let grant = self
            .ports
            .store
            .acquire_lease(self.account(), &self.ctx.run_id, now, until)
            .await
            .map_err(SyncError::store(self.account(), "renewing the lease"))?;
        match grant {
            LeaseGrant::Granted => {
                self.lease_until = until;
                Ok(true)
            }
            LeaseGrant::HeldBy(other) => {
                tracing::warn!(account_id = %self.account(), held_by = %other.holder, "the lease was taken by another run; stopping");
                Ok(false)
            }
        }
    }
}
