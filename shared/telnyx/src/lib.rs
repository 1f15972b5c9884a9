//! The Telnyx v2 API client of Telnyx Billing Sync.
//!
//! A concrete async client ([`TelnyxClient`]) with an injectable base URL, a timeout,
//! bounded retries with backoff, per-key rate limiting from Telnyx's `x-ratelimit-*`
//! headers, page-number walks with a page cap, and tolerant parsing of Telnyx's drifting
//! field types into the core's domain types (`reconciliation::domain`). It implements
//! the core's [`reconciliation::ports::TelnyxApi`] port.
//!
//! Modules:
//! - [`config`]: [`ClientConfig`] and its defaults.
//! - [`client`]: the client and its endpoints.
//! - [`walk`]: the detail-record walk ([`DetailRecordPages`]).
//! - [`records`]: detail-record page parsing (public for benchmarks and tools).
//! - [`usage`]: `GET /usage_reports` query and rows.
//! - [`error`]: [`TelnyxError`] and its transient/permanent classification.
//! - `port`: the `TelnyxApi` / `RecordPages` implementations.
//!
//! Keys: methods take `&ApiKey`; the key is put only in the `Authorization` header
//! (marked sensitive), never in a log, an error, or the rate limiter (which keys its
//! budgets by a SHA-256 fingerprint).

pub mod client;
pub mod config;
pub mod error;
mod flex;
mod port;
mod rate_limit;
pub mod records;
pub mod usage;
pub mod walk;
mod wire;

pub use client::TelnyxClient;
pub use config::{ClientConfig, TELNYX_BASE_URL};
pub use error::{ApiErrorDetail, TelnyxError};
pub use flex::{parse_decimal, parse_flag, parse_time};
pub use port::to_port_error;
pub use records::{DetailPage, PageMeta, parse_detail_page, parse_detail_record};
pub use usage::{UsageReportQuery, UsageReportRow};
pub use walk::{DetailRecordPages, REMEMBERED_PAGES};
