//! Telnyx's usage report, learned rather than assumed (docs/telnyx.md "Usage reports";
//! docs/audit.md "The usage report, learned"). It is the second witness of every
//! record: which record types a run may skip, and what the audit compares the stored
//! records with. Its shape is not the detail records' shape, so nothing about it is
//! taken on faith:
//!
//! - [`shape`]: per record type, the product, count, usage and cost metrics — each taken
//!   only when `GET /usage_reports/options` lists it;
//! - [`catalog`]: those options cached and refreshed daily, with the count metrics that
//!   walked records confirmed; a type without product or count is *not auditable*, with
//!   its reason;
//! - [`evidence`]: what a report says of a type in a window; only a confirmed count of
//!   zero is evidence of no records.
//!
//! Telnyx's sums are compared with ours by [`crate::domain::sums`]: counts exactly, sums
//! within the binary-double noise Telnyx's sums carry.

pub mod catalog;
pub mod evidence;
pub mod shape;

pub use catalog::{NotAuditable, OPTIONS_MAX_AGE, UsageCatalog};
pub use evidence::Evidence;
pub use shape::UsageShape;
