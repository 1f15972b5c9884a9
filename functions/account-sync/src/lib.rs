//! The account-sync Lambda: one SQS message (batch size 1) or one manual invoke
//! syncs one Telnyx account. The run itself is [`reconciliation::sync::sync_account`];
//! this crate reads its configuration, parses the invocation and reports partial batch
//! failures. The ports are built by `lambda_shell::build_ports` at cold start.
//!
//! - [`config`]: the typed configuration, read once at cold start.
//! - [`handler`]: the invocation handler (a free fn tests call directly).

pub mod config;
pub mod handler;
