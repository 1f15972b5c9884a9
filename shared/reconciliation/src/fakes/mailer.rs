//! [`RecordingMailer`]: remembers what it sends; can be told to fail.

use super::{injected, lock};
use crate::plan::Notification;
use crate::ports::{Mailer, PortResult};
use async_trait::async_trait;
use std::sync::Mutex;

/// A [`Mailer`] that records what it sends; can be told to fail.
#[derive(Debug, Default)]
pub struct RecordingMailer {
    sent: Mutex<Vec<Notification>>,
    failing: Mutex<bool>,
}

impl RecordingMailer {
    pub fn new() -> Self {
        Self::default()
    }
    /// Everything sent so far, in order.
    pub fn sent(&self) -> Vec<Notification> {
        lock(&self.sent).clone()
    }
    /// Makes later sends fail (transient) or succeed again.
    pub fn set_failing(&self, failing: bool) {
        *lock(&self.failing) = failing;
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, notification: &Notification) -> PortResult<String> {
        if *lock(&self.failing) {
            return Err(injected("send"));
        }
        let mut sent = lock(&self.sent);
        sent.push(notification.clone());
        Ok(format!("message-{}", sent.len()))
    }
}
