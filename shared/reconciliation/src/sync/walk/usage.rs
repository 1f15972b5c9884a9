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
