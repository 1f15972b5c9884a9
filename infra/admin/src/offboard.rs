//! `billing-admin offboard --account ID [--delete-key]`: the operator stops billing an
//! account. Its onboarding is set aside (the scheduler neither syncs it nor reports it
//! as unknown), every stored record, watermark, customer and service stays, and
//! `onboard` with the same arguments undoes it: the next sync resumes from the
//! watermarks. `--delete-key` also deletes its key (a revoked key would otherwise keep
//! failing a manual sync).

use crate::onboard::AdminError;
use chrono::{DateTime, Utc};
use reconciliation::domain::{ManagedAccountId, Offboarding};
use reconciliation::ports::{KeyStore, Store};

/// What offboarding did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offboarded {
    pub offboarding: Offboarding,
    /// True when the account was offboarded before this command (nothing changed).
    pub already: bool,
    /// `Some(true)` when a key was deleted, `Some(false)` when there was none,
    /// `None` when not asked to.
    pub key_deleted: Option<bool>,
}

/// Offboards `account`; an account neither onboarded nor offboarded is refused with
/// nothing written.
pub async fn offboard(
    store: &dyn Store,
    keys: &dyn KeyStore,
    account: &ManagedAccountId,
    delete_key: bool,
    now: DateTime<Utc>,
) -> Result<Offboarded, AdminError> {
    let (offboarding, already) = match store
        .offboard(account, now)
        .await
        .map_err(AdminError::Store)?
    {
        Some(offboarding) => (offboarding, false),
        None => {
            let earlier = store
                .offboardings()
                .await
                .map_err(AdminError::Store)?
                .into_iter()
                .find(|o| &o.onboarding.account == account);
            match earlier {
                Some(offboarding) => (offboarding, true),
                None => {
                    return Err(AdminError::Invalid(format!(
                        "--account: {account} is not onboarded (billing-admin accounts lists what is); nothing done"
                    )));
                }
            }
        }
    };
    let key_deleted = if delete_key {
        Some(
            keys.delete_account_key(account)
                .await
                .map_err(AdminError::Store)?,
        )
    } else {
        None
    };
    Ok(Offboarded {
        offboarding,
        already,
        key_deleted,
    })
}
