//! The account-sync Lambda: one SQS message (batch size 1) or one manual invoke
//! syncs one Telnyx account. The run itself is [`reconciliation::sync::sync_account`];
//! this crate parses the invocation and reports partial batch failures. Its typed
//! configuration (`lambda_shell::sync_config`) and its ports (`lambda_shell::build_ports`)
//! are read and built once at cold start.
//!
//! - [`handler`]: the invocation handler (a free fn tests call directly).

pub mod handler;
