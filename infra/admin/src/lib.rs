//! Operator actions behind the `billing-admin` CLI. Each action validates first and
//! writes nothing when its input is wrong.
//!
//! - [`onboard`]: checks the departments exist, creates the reseller customer (wholesale),
//!   then stores the onboarding; [`onboard::preview`] shows the first sync's plan before.
//! - [`bulk`]: `onboard --csv`, many accounts all or nothing, every bad row named.
//! - [`offboard`]: stops syncing an account, keeping what is stored.
//! - [`keys`]: keys as the operator gives them (standard input, a keys file), stored
//!   through the `KeyStore` port after [`key_check`] has tried them against Telnyx.
//! - [`validate`]: what the operator types, refused naming the flag or CSV cell.
//! - [`accounts`]: every managed account with onboarding, key, last run, last alert.
//! - [`runs`]: an account's recent run logs.
//! - [`sync_now`]: one account synced now through account-sync's core, with progress.
//! - [`month`]: closing and reopening a month, its state and adjustments, export sinks.
//! - [`usage`]: the two invoices of a month and the audit's verdicts for it.
//! - [`table`]: plain-text tables.

pub mod accounts;
pub mod bulk;
pub mod key_check;
pub mod keys;
pub mod month;
pub mod offboard;
pub mod onboard;
pub mod runs;
pub mod sync_now;
pub mod table;
pub mod usage;
pub mod validate;
