//! The reconciliation core of Telnyx Billing Sync.
//!
//! Pure and deterministic: it turns a Telnyx snapshot, the stored state and an
//! account's onboarding (mapping) into a [`plan::Plan`]. It knows nothing of HTTP,
//! DynamoDB, SES or Lambda; the outside world is reached only through the small
//! traits in [`ports`], each with an in-memory implementation behind the
//! `test-util` feature.
//!
//! Modules:
//! - [`domain`]: newtype ids, record and service types, the Telnyx snapshot, stored entities.
//! - [`plan`]: the plan model (actions, attributions, notifications, import log) and `plan()`.
//! - [`ports`]: the traits adapters implement (`TelnyxApi`, the `Store` concerns, `Secrets`,
//!   `Mailer`, `Clock`, `Dispatcher`) and the one edge struct, [`ports::Ports`].
//! - [`invocation`]: [`invocation::SyncRequest`], what starts a sync (SQS body or manual invoke).
//! - [`config`]: typed configuration reading that names every bad variable at once.
//! - [`error`]: the port error and its transient/permanent classification.
//! - [`schedule`]: the scheduler's job (list accounts, alert unknown ones, fan out).
//! - [`sync`]: one account's sync run over the ports (read, plan, apply, records, watermarks, emails).
//! - [`usage`]: Telnyx's usage report, learned from its options (products, count, usage and
//!   cost metrics), what it proves of a type in a window, and the accountant's comparison.
//! - [`billing`]: billing you can prove — the completeness audit against Telnyx's usage
//!   report and the two invoices (reseller and end customer) of a month.
//! - [`metrics`]: the runs' CloudWatch metrics as Embedded Metric Format lines.
//! - [`outbox`]: sending queued notifications exactly once (claim, send, mark sent).
//! - `fakes`, `fixtures`, `contract` (feature `test-util`): in-memory ports, scenario
//!   builders, and the store contract suite every store implementation passes.

pub mod billing;
pub mod config;
pub mod domain;
pub mod error;
pub mod invocation;
pub mod metrics;
pub mod outbox;
pub mod plan;
pub mod ports;
pub mod schedule;
pub mod sync;
pub mod usage;

#[cfg(any(test, feature = "test-util"))]
pub mod contract;
#[cfg(any(test, feature = "test-util"))]
pub mod fakes;
#[cfg(any(test, feature = "test-util"))]
pub mod fixtures;

pub use error::{KeyRefusal, PortError, Transience, error_chain};
