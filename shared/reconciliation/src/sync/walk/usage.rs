//! The usage report before a type's window is walked: a type Telnyx shows no record
//! for costs no request, and the count it shows is what an empty walk is checked
//! against (a wrong time field).

use super::Walker;
use crate::domain::RecordType;
use crate::ports::{TimeWindow, UsageQuery};
use crate::sync::windows;

impl Walker<'_> {
    /// True when a usage report proves the type has no record in `window`: the
    /// scheduler's hint, else the account's own report (31 days at a time). A report
    /// that cannot be read proves nothing: the type is walked.
    pub(super) async fn shows_no_usage(
        &mut self,
        record_type: RecordType,
        window: TimeWindow,
    ) -> bool {
        let key = (record_type, window.from, window.to);
        if let Some((nothing, expected)) = self.usage_seen.get(&key).copied() {
            self.expected.remove(&record_type);
            if let Some(n) = expected {
                self.expected.insert(record_type, n);
            }
            return nothing;
        }
        let nothing = self.read_usage(record_type, window).await;
        let expected = self.expected.get(&record_type).copied();
        self.usage_seen.insert(key, (nothing, expected));
        nothing
    }

    /// Whether this run writes call-session links: only while records wait for their
    /// call, or a type whose records name only their call shows usage in `window` (else
    /// nobody would read them, and an account of calls alone would pay a write per call
    /// for nothing).
    pub(super) async fn wants_links(&mut self, window: TimeWindow) -> bool {
        if let Some(wanted) = self.links_wanted {
            return wanted;
        }
        // Records stored earlier still wait for their call: its link is wanted.
        let waiting = self
            .ports
            .store
            .orphans(self.account(), 1)
            .await
            .map_or(true, |o| !o.is_empty());
        let mut wanted = waiting;
        // Only the types the report covers can say so; noise-suppression (not covered)
        // is linked when another of them shows usage.
        let named = RecordType::ALL
            .iter()
            .filter(|t| t.names_its_call() && t.usage_product().is_some());
        for &t in named {
            if wanted {
                break;
            }
            if !self.shows_no_usage(t, window).await {
                wanted = true;
                break;
            }
        }
        self.links_wanted = Some(wanted);
        wanted
    }

    async fn read_usage(&mut self, record_type: RecordType, window: TimeWindow) -> bool {
        self.expected.remove(&record_type);
        if let Some(hint) = &self.request.usage {
            if hint.checked.contains(&record_type) && hint.window.from <= window.from {
                let nothing = hint.shows_nothing(record_type, &window);
                if !nothing {
                    self.expected
                        .insert(record_type, super::USAGE_WITHOUT_COUNT);
                }
                return nothing;
            }
        }
        if record_type.usage_product().is_none() {
            return false;
        }
        for chunk in windows::report_chunks(window) {
            let query = UsageQuery {
                record_type,
                window: chunk,
                across_accounts: false,
            };
            match self.ports.telnyx.usage_counts(self.key, query).await {
                Ok(counts) if counts.of(None) == 0 => {}
                Ok(counts) => {
                    self.expected.insert(record_type, counts.of(None));
                    return false;
                }
                Err(e) => {
                    tracing::info!(account_id = %self.account(), record_type = %record_type, error = %e.chain(), "usage report unreadable; walking the type");
                    return false;
                }
            }
        }
        true
    }
}
