//! Operator actions behind the `billing-admin` CLI. Each action validates first and
//! writes nothing when its input is wrong.
//!
//! - [`onboard`]: checks the departments exist, creates the reseller customer (wholesale),
//!   then stores the onboarding; [`onboard::preview`] shows the first sync's plan before.
//! - [`keys`]: writes a key into Secrets Manager under the naming convention, after
//!   [`key_check`] has tried it against Telnyx.
//! - [`accounts`]: every managed account with onboarding, key, last run, last alert.
//! - [`runs`]: an account's recent run logs.
//! - [`sync_now`]: one account synced now through account-sync's core, with progress.
//! - [`usage`]: the two invoices of a month and the audit's verdicts for it.
//! - [`table`]: plain-text tables.

pub mod accounts;
pub mod key_check;
pub mod keys;
pub mod onboard;
pub mod runs;
pub mod sync_now;
pub mod table;
pub mod usage;
