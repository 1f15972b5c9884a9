//! The scheduler Lambda: on every EventBridge Scheduler tick, list the managed
//! accounts with the master key, alert on the ones nobody onboarded, and queue one
//! sync request per onboarded account. The job itself is
//! [`reconciliation::schedule::run_schedule`]; this crate only wires it.
//!
//! - [`config`]: the typed configuration, read once at cold start.
//! - [`handler`]: the invocation handler (a free fn tests call directly).
//! - [`wiring`]: builds the real adapters from the config.

pub mod config;
pub mod handler;
pub mod wiring;
