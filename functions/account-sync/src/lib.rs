//! The account-sync Lambda: one SQS message (batch size 1) or one manual invoke
//! syncs one Telnyx account. The run itself is [`reconciliation::sync::sync_account`];
//! this crate parses the invocation, reports partial batch failures and wires the
//! adapters.
//!
//! - [`config`]: the typed configuration, read once at cold start.
//! - [`handler`]: the invocation handler (a free fn tests call directly).
//! - [`wiring`]: builds the real adapters from the config.

pub mod config;
pub mod handler;
pub mod wiring;
