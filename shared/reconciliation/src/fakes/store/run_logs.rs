//! Run logs of the in-memory store.

use super::InMemoryStore;
use crate::domain::ManagedAccountId;
use crate::fakes::lock;
use crate::ports::{PortResult, RunLog, RunLogStore};
use async_trait::async_trait;

#[async_trait]
impl RunLogStore for InMemoryStore {
    async fn put_run_log(&self, log: &RunLog) -> PortResult<()> {
        self.check("put_run_log")?;
        let mut d = lock(&self.data);
        d.run_logs.retain(|l| {
            !(l.account == log.account && l.run_id == log.run_id && l.started_at == log.started_at)
        });
        d.run_logs.push(log.clone());
        Ok(())
    }

    async fn run_logs(&self, account: &ManagedAccountId, limit: usize) -> PortResult<Vec<RunLog>> {
        self.check("run_logs")?;
        let mut logs: Vec<RunLog> = lock(&self.data)
            .run_logs
            .iter()
            .filter(|l| &l.account == account)
            .cloned()
            .collect();
        logs.sort_by(|a, b| (b.started_at, &b.run_id).cmp(&(a.started_at, &a.run_id)));
        logs.truncate(limit);
        Ok(logs)
    }
}
