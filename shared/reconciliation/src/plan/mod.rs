//! The plan: what one run must do for one account, computed purely.
//!
//! - [`model`]: the plan's types (actions, attributions, notifications, import log).
//! - `plan()` (to be built here): `(onboarding, snapshot, usage, records, state, settings) -> Plan`.

pub mod model;

pub use model::*;
