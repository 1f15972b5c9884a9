//! The domain vocabulary shared by the core, the adapters and the functions.
//!
//! - [`ids`]: newtype ids so a billing group id can never be passed as a customer id.
//! - [`record_type`]: the 21 detail-record types, their time fields, and the 20 service types.
//! - [`telnyx`]: the normalized Telnyx snapshot (managed accounts, billing groups, connections,
//!   outbound voice profiles, phone numbers, detail records), free of wire quirks.
//! - [`onboarding`]: how an account is billed (wholesale or direct) and mapped.
//! - [`entities`]: what we store: departments, customers, service types, services, CDR.
//! - [`month`]: the billing month (`2026-11`), the period an invoice covers and the operator closes.
//! - [`window`]: a half-open stretch of time (a walk's, a report's, a backfill's).
//! - [`sums`]: Telnyx's double sums against our exact decimal ones.

pub mod entities;
pub mod ids;
pub mod month;
pub mod onboarding;
pub mod record_type;
pub mod sums;
pub mod telnyx;
pub mod window;

pub use entities::*;
pub use ids::*;
pub use month::{BillingMonth, Level, NotAMonth};
pub use onboarding::*;
pub use record_type::*;
pub use telnyx::*;
pub use window::TimeWindow;
