//! Operator actions behind the `billing-admin` CLI: put a department, onboard an
//! account (wholesale or direct), store an API key. Each action validates first and
//! writes nothing when its input is wrong.
//!
//! - [`onboard`]: checks the departments exist, creates the reseller customer (wholesale),
//!   then stores the onboarding.
//! - [`keys`]: writes a key into Secrets Manager under the naming convention.

pub mod keys;
pub mod onboard;
