//! [`RecordingDispatcher`]: remembers the requests it queues; refuses those of accounts
//! told to fail.

use super::{injected, lock};
use crate::domain::ManagedAccountId;
use crate::invocation::SyncRequest;
use crate::ports::{Dispatcher, PortResult};
use async_trait::async_trait;
use chrono::Duration;
use std::collections::BTreeSet;
use std::sync::Mutex;

/// A [`Dispatcher`] that records requests; refuses those of accounts told to fail.
#[derive(Debug, Default)]
pub struct RecordingDispatcher {
    dispatched: Mutex<Vec<SyncRequest>>,
    /// Continuations, with their delay.
    later: Mutex<Vec<(SyncRequest, Duration)>>,
    refuse: Mutex<BTreeSet<ManagedAccountId>>,
}

impl RecordingDispatcher {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn dispatched(&self) -> Vec<SyncRequest> {
        lock(&self.dispatched).clone()
    }
    /// The requests queued for later (continuations), with their delay.
    pub fn later(&self) -> Vec<(SyncRequest, Duration)> {
        lock(&self.later).clone()
    }
    /// Takes the queued continuations (a test delivers them).
    pub fn take_later(&self) -> Vec<SyncRequest> {
        std::mem::take(&mut *lock(&self.later))
            .into_iter()
            .map(|(r, _)| r)
            .collect()
    }
    /// Requests for `account` are refused from now on.
    pub fn refuse(&self, account: &ManagedAccountId) {
        lock(&self.refuse).insert(account.clone());
    }
}

#[async_trait]
impl Dispatcher for RecordingDispatcher {
    async fn dispatch(&self, requests: &[SyncRequest]) -> PortResult<Vec<SyncRequest>> {
        let refuse = lock(&self.refuse).clone();
        let (refused, ok): (Vec<SyncRequest>, Vec<SyncRequest>) = requests
            .iter()
            .cloned()
            .partition(|r| refuse.contains(&r.managed_account_id));
        lock(&self.dispatched).extend(ok);
        Ok(refused)
    }

    async fn dispatch_later(&self, request: &SyncRequest, delay: Duration) -> PortResult<()> {
        if lock(&self.refuse).contains(&request.managed_account_id) {
            return Err(injected("dispatch_later"));
        }
        lock(&self.later).push((request.clone(), delay));
        Ok(())
    }
}
