//! [`reconciliation::ports::TelnyxApi`] for [`TelnyxClient`]: the core's view of Telnyx.
//!
//! Errors become [`PortError`]s whose transience is [`TelnyxError::is_transient`] and whose
//! context says what was being read; the [`TelnyxError`] (naming endpoint and page) is
//! kept as the source. A 401 or 403 is marked as a [`KeyRefusal`] (the operator must fix
//! the key, not the data). No context ever holds the key.

use crate::client::TelnyxClient;
use crate::error::TelnyxError;
use crate::usage::{UsageReportQuery, UsageReportRow};
use crate::walk::DetailRecordPages;
use async_trait::async_trait;
use chrono::NaiveDate;
use reconciliation::domain::{
    ManagedAccount, ManagedAccountId, RawRecord, RecordType, TelnyxSnapshot,
};
use reconciliation::ports::{
    ApiKey, PortResult, RecordPage, RecordPages, RecordQuery, RequestCounts, TelnyxApi,
    UsageOptions, UsageProduct, UsageRequest, UsageRow,
};
use reconciliation::{KeyRefusal, PortError, Transience};

/// Wraps a client error for the port boundary.
pub fn to_port_error(context: impl Into<String>, error: TelnyxError) -> PortError {
    let transience = if error.is_transient() {
        Transience::Transient
    } else {
        Transience::Permanent
    };
    let refusal = match &error {
        TelnyxError::Unauthorized { .. } => Some(KeyRefusal::Unauthorized),
        TelnyxError::Forbidden { .. } => Some(KeyRefusal::Forbidden),
        _ => None,
    };
    let port_error = PortError::new(context, transience, error);
    match refusal {
        Some(refusal) => port_error.with_key_refusal(refusal),
        None => port_error,
    }
}

#[async_trait]
impl TelnyxApi for TelnyxClient {
    fn request_counts(&self) -> RequestCounts {
        let (requests, throttled) = TelnyxClient::request_counts(self);
        RequestCounts {
            requests,
            throttled,
        }
    }

    async fn managed_accounts(
        &self,
        master_key: &ApiKey,
        include_cancelled: bool,
    ) -> PortResult<Vec<ManagedAccount>> {
        TelnyxClient::managed_accounts(self, master_key, include_cancelled)
            .await
            .map_err(|e| to_port_error("listing Telnyx managed accounts", e))
    }

    async fn snapshot(&self, key: &ApiKey) -> PortResult<TelnyxSnapshot> {
        TelnyxClient::snapshot(self, key)
            .await
            .map_err(|e| to_port_error("reading the Telnyx account snapshot", e))
    }

    async fn detail_records(
        &self,
        key: &ApiKey,
        query: RecordQuery,
    ) -> PortResult<Box<dyn RecordPages>> {
        let pages = self
            .detail_record_pages(key, query.record_type, query.window)
            .time_field(query.time_field)
            .from_page(query.first_page)
            .not_after(query.not_after);
        Ok(Box::new(pages))
    }

    async fn usage_options(&self, key: &ApiKey) -> PortResult<UsageOptions> {
        let products = self
            .usage_report_options(key)
            .await
            .map_err(|e| to_port_error("reading Telnyx's usage report options", e))?;
        Ok(UsageOptions {
            products: products
                .into_iter()
                .map(|p| UsageProduct {
                    product: p.product,
                    dimensions: p.dimensions,
                    metrics: p.metrics,
                })
                .collect(),
        })
    }

    async fn usage_report(
        &self,
        key: &ApiKey,
        request: &UsageRequest,
    ) -> PortResult<Vec<UsageRow>> {
        let query = UsageReportQuery {
            product: request.product.clone(),
            dimensions: request.dimensions.clone(),
            metrics: request.metrics.clone(),
            start_date: Some(request.window.from),
            end_date: Some(request.window.to),
            managed_accounts: request.across_accounts,
        };
        let context = || format!("reading Telnyx's {} usage report", request.product);
        let rows = TelnyxClient::usage_report(self, key, &query)
            .await
            .map_err(|e| to_port_error(context(), e))?;
        rows.into_iter()
            .map(|row| usage_row(row, request.across_accounts))
            .collect::<Result<_, _>>()
            .map_err(|e| to_port_error(context(), e))
    }

    async fn newest_rows(
        &self,
        key: &ApiKey,
        record_type: RecordType,
    ) -> PortResult<Vec<RawRecord>> {
        TelnyxClient::newest_rows(self, key, record_type)
            .await
            .map_err(|e| to_port_error(format!("reading the newest {record_type} rows"), e))
    }
}

/// A report row for the core: its account (`user_id`, across accounts) and day (`date`:
/// `YYYY-MM-DD`, or a timestamp whose date part is the day); a `date` that is neither is
/// a malformed page, never a row without a day.
fn usage_row(row: UsageReportRow, across_accounts: bool) -> Result<UsageRow, TelnyxError> {
    let account = across_accounts
        .then(|| {
            row.dimensions
                .get("user_id")
                .map(|a| ManagedAccountId::new(a.as_str()))
        })
        .flatten();
    let day = match row.dimensions.get("date") {
        None => None,
        Some(text) => Some(
            text.get(..10)
                .and_then(|d| d.parse::<NaiveDate>().ok())
                .ok_or_else(|| TelnyxError::MalformedBody {
                    endpoint: crate::usage::USAGE_REPORTS,
                    page: 1,
                    detail: format!("`date` {text:?} is not a day"),
                    source: None,
                })?,
        ),
    };
    Ok(UsageRow {
        account,
        day,
        metrics: row.metrics,
    })
}

#[async_trait]
impl RecordPages for DetailRecordPages {
    async fn next_page(&mut self) -> PortResult<Option<RecordPage>> {
        match DetailRecordPages::next_page(self).await {
            Ok(Some(records)) => Ok(Some(RecordPage {
                records,
                number: self.last_page(),
                total_results: self.total_results(),
                repeated: self.take_repeated(),
            })),
            Ok(None) => Ok(None),
            Err(e) => {
                let context = format!(
                    "reading Telnyx {} detail records (page {})",
                    self.record_type(),
                    self.pages_fetched() + 1
                );
                let deadline = matches!(e, TelnyxError::DeadlineReached { .. });
                let error = to_port_error(context, e);
                Err(if deadline {
                    error.past_deadline()
                } else {
                    error
                })
            }
        }
    }
}
