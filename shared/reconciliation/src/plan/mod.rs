//! The plan: what one run must do for one account, computed purely.
//!
//! - [`model`]: the plan's types (actions, attributions, notifications, import log).
//! - [`plan()`]: `(onboarding, snapshot, usage, records, state, settings) -> Plan`.
//! - [`identity`]: the deterministic ids of everything a plan creates.
//! - [`codes`]: the stable import-log codes.
//! - [`apply_to_state`]: the pure meaning of applying actions to a stored state.

pub mod apply;
pub mod codes;
pub mod identity;
pub mod model;
pub mod planner;
mod render;

pub use apply::apply_to_state;
pub use model::*;
pub use planner::{PlanInput, PlanSettings, Usage, default_service_type, plan};

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
