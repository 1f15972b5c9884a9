//! The plan: what one run must do for one account, computed purely.
//!
//! - [`model`]: the plan's types (actions, attributions, import log).
//! - [`notification`]: the emails, as data: every kind and what each carries.
//! - [`input`]: what a plan is computed from ([`PlanInput`], [`PlanSettings`], [`Usage`]).
//! - [`plan()`]: the orchestrator ([`planner`]) over the stages [`customers`],
//!   [`assignment`], [`service_types`], [`services`], [`statuses`] and [`attribution`],
//!   each a function over one read-only context.
//! - [`codes`]: the stable import-log codes ([`LogCode`]) and their [`Severity`];
//!   [`messages`]: the planner's text for them.
//! - [`identity`]: the deterministic ids of everything a plan creates.
//! - [`apply_to_state`]: the pure meaning of applying actions to a stored state.

pub mod apply;
mod assignment;
pub mod attribution;
pub mod codes;
mod context;
mod customers;
pub mod identity;
pub mod input;
pub mod messages;
pub mod model;
pub mod notification;
pub mod planner;
mod render;
mod service_types;
mod services;
mod statuses;

pub use apply::{apply_to_state, missing_target};
pub use attribution::{Attributed, Attribution};
pub use codes::{LogCode, Severity};
pub use input::{PlanInput, PlanSettings, Usage, learn_usage};
pub use model::*;
pub use notification::{EmailKind, Notification, RepeatEvery, UnknownAccount};
pub use planner::plan;
pub use service_types::default_service_type;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
