//! One worker per account: the run's lease, taken before anything is read (until the
//! invocation's deadline, plus a little so a run killed at its deadline frees the
//! account soon after), renewed as it goes by a run without a deadline (a manual invoke,
//! `billing-admin sync`), given back when the run is done.

use super::SyncError;
use super::run::Job;
use crate::ports::{Lease, LeaseGrant};
use chrono::{DateTime, Duration, Utc};

/// The account's lease as this run holds it.
#[derive(Debug, Clone)]
pub(crate) struct LeaseKeeper {
    /// Until when it holds (renewed before half of it is used, without a deadline).
    until: DateTime<Utc>,
    /// A dry run holds none (it writes nothing), and renews nothing.
    held: bool,
}

impl LeaseKeeper {
    /// The lease of a dry run: none.
    pub fn not_held(job: &Job<'_>) -> Self {
        Self {
            until: job.started,
            held: false,
        }
    }

    /// Takes the account's lease; `Err(lease)` names the run that holds it.
    pub async fn take(job: &Job<'_>) -> Result<Result<Self, Lease>, SyncError> {
        let now = job.ports.clock.now();
        let until = match job.ctx.deadline {
            Some(deadline) => deadline + Duration::seconds(30),
            None => now + job.settings.lease_without_deadline,
        };
        let grant = job
            .ports
            .store
            .acquire_lease(job.account(), &job.ctx.run_id, now, until)
            .await
            .map_err(SyncError::store(
                job.account(),
                "taking the account's lease",
            ))?;
        Ok(match grant {
            LeaseGrant::Granted => Ok(Self {
                until: job.started + job.settings.lease_without_deadline,
                held: true,
            }),
            LeaseGrant::HeldBy(lease) => Err(lease),
        })
    }

    /// A run without a deadline renews its lease before half of it is used; false when
    /// another run has taken it meanwhile (this one must stop).
    pub async fn renew(&mut self, job: &Job<'_>) -> Result<bool, SyncError> {
        if job.ctx.deadline.is_some() || !self.held {
            return Ok(true);
        }
        let now = job.ports.clock.now();
        if now + job.settings.lease_without_deadline / 2 < self.until {
            return Ok(true);
        }
        let until = now + job.settings.lease_without_deadline;
        let grant = job
            .ports
            .store
            .acquire_lease(job.account(), &job.ctx.run_id, now, until)
            .await
            .map_err(SyncError::store(job.account(), "renewing the lease"))?;
        match grant {
            LeaseGrant::Granted => {
                self.until = until;
                Ok(true)
            }
            LeaseGrant::HeldBy(other) => {
                tracing::warn!(account_id = %job.account(), held_by = %other.holder, "the lease was taken by another run; stopping");
                Ok(false)
            }
        }
    }

    /// Gives the lease back (best effort: it expires on its own).
    pub async fn release(self, job: &Job<'_>) {
        if !self.held {
            return;
        }
        if let Err(e) = job
            .ports
            .store
            .release_lease(job.account(), &job.ctx.run_id)
            .await
        {
            tracing::warn!(account_id = %job.account(), error = %e.chain(), "lease not released; it expires on its own");
        }
    }
}
