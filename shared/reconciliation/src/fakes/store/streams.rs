//! Record streams of the in-memory store: one state per (account, record type),
//! replaced whole when the stored version is the one before it.

use super::InMemoryStore;
use crate::domain::ManagedAccountId;
use crate::error::{PortError, Transience};
use crate::fakes::lock;
use crate::ports::{PortResult, StreamState, StreamStore};
use async_trait::async_trait;

#[async_trait]
impl StreamStore for InMemoryStore {
    async fn streams(&self, account: &ManagedAccountId) -> PortResult<Vec<StreamState>> {
        self.check("streams")?;
        Ok(lock(&self.data)
            .streams
            .iter()
            .filter(|((a, _), _)| a == account)
            .map(|(_, s)| s.clone())
            .collect())
    }

    async fn put_stream(&self, account: &ManagedAccountId, state: &StreamState) -> PortResult<()> {
        self.check("put_stream")?;
        let mut d = lock(&self.data);
        let key = (account.clone(), state.record_type);
        let stored = d.streams.get(&key).map_or(0, |s| s.version);
        if stored + 1 != state.version {
            return Err(PortError::message(
                format!(
                    "the {} stream of account {account} is at version {stored}, not {}: \
                     another run wrote it; this run stops and the next reads it again",
                    state.record_type,
                    state.version.saturating_sub(1)
                ),
                Transience::Transient,
            ));
        }
        d.streams.insert(key, state.clone());
        Ok(())
    }
}
