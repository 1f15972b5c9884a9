//! The scheduler Lambda: on every EventBridge Scheduler tick, list the managed
//! accounts with the master key, alert on the ones nobody onboarded, and queue one
//! sync request per onboarded account. The job itself is
//! [`reconciliation::schedule::run_tick`]; this crate reads its configuration and
//! hands the tick to it. The ports are built by `lambda_shell::build_ports` at cold start.
//!
//! - [`config`]: the typed configuration, read once at cold start.
//! - [`handler`]: the invocation handler (a free fn tests call directly).

pub mod config;
pub mod handler;
