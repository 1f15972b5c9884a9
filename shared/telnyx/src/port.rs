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
use reconciliation::domain::{
    ManagedAccount, ManagedAccountId, RawRecord, RecordType, TelnyxSnapshot,
};
use reconciliation::ports::{
    ApiKey, PortResult, RecordPage, RecordPages, RecordQuery, RequestCounts, TelnyxApi, TimeWindow,
    UsageCounts, UsageQuery, UsageTotals,
};
use reconciliation::{KeyRefusal, PortError, Transience};
use std::collections::BTreeMap;

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

    async fn usage_counts(&self, key: &ApiKey, query: UsageQuery) -> PortResult<UsageCounts> {
        let t = query.record_type;
        let product = t.usage_product().ok_or_else(|| {
            PortError::message(
                format!("Telnyx's usage report does not cover {t} records"),
                Transience::Permanent,
            )
        })?;
        let report = UsageReportQuery {
            product: product.to_owned(),
            // A dimension is required; every product's rows carry a currency (or none).
            dimensions: vec!["currency".to_owned()],
            metrics: vec!["count".to_owned()],
            start_date: Some(query.window.from),
            end_date: Some(query.window.to),
            managed_accounts: query.across_accounts,
        };
        let rows = self
            .usage_report(key, &report)
            .await
            .map_err(|e| to_port_error(format!("reading Telnyx's usage report of {t}"), e))?;
        Ok(usage_counts(rows, query.across_accounts))
    }

    async fn usage_totals(
        &self,
        key: &ApiKey,
        record_type: RecordType,
        window: TimeWindow,
    ) -> PortResult<UsageTotals> {
        let t = record_type;
        let product = t.usage_product().ok_or_else(|| {
            PortError::message(
                format!("Telnyx's usage report does not cover {t} records"),
                Transience::Permanent,
            )
        })?;
        let mut metrics = vec!["count".to_owned(), t.audit_cost_metric().to_owned()];
        metrics.extend(t.audit_metrics().iter().map(|m| (*m).to_owned()));
        let report = UsageReportQuery {
            product: product.to_owned(),
            dimensions: vec!["currency".to_owned()],
            metrics,
            start_date: Some(window.from),
            end_date: Some(window.to),
            managed_accounts: false,
        };
        let rows = self
            .usage_report(key, &report)
            .await
            .map_err(|e| to_port_error(format!("reading Telnyx's usage totals of {t}"), e))?;
        Ok(usage_totals(&rows, t))
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

/// Sums report rows' `count`, the type's usage metrics and `cost`.
fn usage_totals(rows: &[UsageReportRow], record_type: RecordType) -> UsageTotals {
    let mut totals = UsageTotals::default();
    for row in rows {
        totals.count += row
            .metrics
            .get("count")
            .and_then(rust_decimal::prelude::ToPrimitive::to_u64)
            .unwrap_or_default();
        for m in record_type.audit_metrics() {
            if let Some(v) = row.metrics.get(*m) {
                *totals.quantity.get_or_insert_default() += *v;
            }
        }
        if let Some(v) = row.metrics.get(record_type.audit_cost_metric()) {
            *totals.cost.get_or_insert_default() += *v;
        }
    }
    if !record_type.audit_metrics().is_empty() && totals.count > 0 {
        totals.quantity.get_or_insert_default();
    }
    totals
}

/// Sums the `count` metric of report rows, per `user_id` (the managed account) when the
/// report spans managed accounts.
fn usage_counts(rows: Vec<UsageReportRow>, across_accounts: bool) -> UsageCounts {
    let mut by_account: BTreeMap<Option<ManagedAccountId>, u64> = BTreeMap::new();
    for row in rows {
        let account = across_accounts
            .then(|| {
                row.dimensions
                    .get("user_id")
                    .map(|a| ManagedAccountId::new(a.as_str()))
            })
            .flatten();
        let n = row
            .metrics
            .get("count")
            .and_then(rust_decimal::prelude::ToPrimitive::to_u64)
            .unwrap_or_default();
        *by_account.entry(account).or_default() += n;
    }
    UsageCounts(by_account.into_iter().filter(|(_, n)| *n > 0).collect())
}

#[async_trait]
impl RecordPages for DetailRecordPages {
    async fn next_page(&mut self) -> PortResult<Option<RecordPage>> {
        match DetailRecordPages::next_page(self).await {
            Ok(Some(records)) => Ok(Some(RecordPage {
                records,
                number: self.last_page(),
                total_results: self.total_results(),
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
