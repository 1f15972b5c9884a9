//! [`reconciliation::ports::TelnyxApi`] for [`TelnyxClient`]: the core's view of Telnyx.
//!
//! Errors become [`PortError`]s whose transience is [`TelnyxError::is_transient`] and whose
//! context says what was being read; the [`TelnyxError`] (naming endpoint and page) is
//! kept as the source. A 401 or 403 is marked as a [`KeyRefusal`] (the operator must fix
//! the key, not the data). No context ever holds the key.

use crate::client::TelnyxClient;
use crate::error::TelnyxError;
use crate::walk::DetailRecordPages;
use async_trait::async_trait;
use reconciliation::domain::{DetailRecord, ManagedAccount, RecordType, TelnyxSnapshot};
use reconciliation::ports::{ApiKey, PortResult, RecordPages, TelnyxApi, TimeWindow};
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
        record_type: RecordType,
        window: TimeWindow,
    ) -> PortResult<Box<dyn RecordPages>> {
        Ok(Box::new(self.detail_record_pages(key, record_type, window)))
    }
}

#[async_trait]
impl RecordPages for DetailRecordPages {
    async fn next_page(&mut self) -> PortResult<Option<Vec<DetailRecord>>> {
        DetailRecordPages::next_page(self).await.map_err(|e| {
            let context = format!(
                "reading Telnyx {} detail records (page {})",
                self.record_type(),
                self.pages_fetched() + 1
            );
            to_port_error(context, e)
        })
    }
}
