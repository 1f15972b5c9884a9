//! Why a run failed, classified once by [`SyncError::is_transient`].

use crate::domain::ManagedAccountId;
use crate::error::PortError;
use crate::invocation::InvalidInvocation;

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The request itself is malformed (e.g. a backfill window that ends before it starts).
    #[error("invalid sync request: {0}")]
    InvalidRequest(#[source] InvalidInvocation),
    /// Nobody onboarded this account: nothing is read or written.
    #[error("managed account {0} is not onboarded; onboard it before syncing")]
    UnknownAccount(ManagedAccountId),
    #[error("reading the API key of account {account} failed")]
    Secret {
        account: ManagedAccountId,
        #[source]
        source: PortError,
    },
    #[error("reading {what} of account {account} from Telnyx failed")]
    Telnyx {
        account: ManagedAccountId,
        what: String,
        #[source]
        source: PortError,
    },
    #[error("{what} for account {account} failed")]
    Store {
        account: ManagedAccountId,
        what: String,
        #[source]
        source: PortError,
    },
}

impl SyncError {
    /// True when running the same request again can succeed (throttling, 5xx, timeouts);
    /// false for bad input, an unknown account, a revoked key or a missing secret.
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::InvalidRequest(_) | SyncError::UnknownAccount(_) => false,
            SyncError::Secret { source, .. }
            | SyncError::Telnyx { source, .. }
            | SyncError::Store { source, .. } => source.is_transient(),
        }
    }

    /// True when Telnyx refused the account's key (revoked, or lacking a permission).
    pub fn is_key_problem(&self) -> bool {
        matches!(self, SyncError::Telnyx { source, .. } if source.key_refusal().is_some())
    }

    /// Wraps a store error: `what` says what was being done.
    pub(super) fn store(
        account: &ManagedAccountId,
        what: impl Into<String>,
    ) -> impl FnOnce(PortError) -> SyncError {
        let (account, what) = (account.clone(), what.into());
        move |source| SyncError::Store {
            account,
            what,
            source,
        }
    }

    /// Wraps a Telnyx error: `what` says what was being read.
    pub(super) fn telnyx(
        account: &ManagedAccountId,
        what: impl Into<String>,
    ) -> impl FnOnce(PortError) -> SyncError {
        let (account, what) = (account.clone(), what.into());
        move |source| SyncError::Telnyx {
            account,
            what,
            source,
        }
    }
}
