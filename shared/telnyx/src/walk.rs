//! The detail-record walk: one record type's rows in one window, page by page, with
//! the rows a shifting page repeats dropped (bounded memory).

use crate::client::{PageRequest, TelnyxClient, is_last_page};
use crate::error::TelnyxError;
use crate::records::{DETAIL_RECORDS, parse_detail_page_by};
use reconciliation::domain::{DetailRecord, DetailRecordId, RecordType};
use reconciliation::ports::{ApiKey, TimeWindow};
use std::collections::{HashSet, VecDeque};
use std::fmt;

/// How many of the latest pages' ids a walk remembers to drop shifted duplicates.
pub const REMEMBERED_PAGES: usize = 3;

/// A walk over one record type's detail records in one window, one page at a time.
///
/// Rows are not assumed to be in any order (Telnyx sends newest first and ignores
/// `sort`). A record that arrives while the walk is under way lands at the top and
/// shifts every later page down by one row, so the last row of one page comes back as
/// the first row of the next: the walk drops a row whose id was on one of the last
/// [`REMEMBERED_PAGES`] pages (or earlier on the same page).
///
/// Memory is bounded: at most `REMEMBERED_PAGES × page size` ids (150 with the default
/// 50 rows a page), whatever the length of the walk. That covers up to 150 records
/// arriving between two page requests; a row shifted further than that would be
/// returned twice, and the store, which keys records by (account, type, id), writes
/// it once anyway.
pub struct DetailRecordPages {
    client: TelnyxClient,
    key: ApiKey,
    record_type: RecordType,
    /// The field the window filters on and the records' time is read from.
    time_field: &'static str,
    window: TimeWindow,
    next_page: u32,
    done: bool,
    recent: RecentIds,
    pages_fetched: u32,
    duplicates_dropped: u64,
    total_results: Option<u64>,
    /// The page number of the last page returned.
    last_page: u32,
    /// No page is requested (or waited for) after this.
    not_after: Option<chrono::DateTime<chrono::Utc>>,
}

impl fmt::Debug for DetailRecordPages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DetailRecordPages")
            .field("record_type", &self.record_type)
            .field("window", &self.window)
            .field("next_page", &self.next_page)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl TelnyxClient {
    /// A lazy walk over the detail records of `record_type` whose time field
    /// ([`RecordType::time_field`]) lies in `window` (`[gte from, lt to)`). Nothing is
    /// requested until [`DetailRecordPages::next_page`] is called.
    pub fn detail_record_pages(
        &self,
        key: &ApiKey,
        record_type: RecordType,
        window: TimeWindow,
    ) -> DetailRecordPages {
        DetailRecordPages::new(self.clone(), key.clone(), record_type, window)
    }
}

impl DetailRecordPages {
    fn new(client: TelnyxClient, key: ApiKey, record_type: RecordType, window: TimeWindow) -> Self {
        Self {
            client,
            key,
            record_type,
            time_field: record_type.time_field(),
            window,
            next_page: 1,
            done: false,
            recent: RecentIds::default(),
            pages_fetched: 0,
            duplicates_dropped: 0,
            total_results: None,
            last_page: 0,
            not_after: None,
        }
    }

    /// Filters on (and reads each record's time from) `field` instead of the type's own
    /// [`RecordType::time_field`].
    pub fn time_field(mut self, field: &'static str) -> Self {
        self.time_field = field;
        self
    }

    /// Starts the walk at `page` (a resumed walk).
    pub fn from_page(mut self, page: u32) -> Self {
        self.next_page = page.max(1);
        self
    }

    /// No page is requested, or waited for under the rate limit, after `deadline`: the
    /// page fails with [`TelnyxError::DeadlineReached`] instead.
    pub fn not_after(mut self, deadline: Option<chrono::DateTime<chrono::Utc>>) -> Self {
        self.not_after = deadline;
        self
    }

    /// The next page, within the walk's deadline.
    pub async fn next_page(&mut self) -> Result<Option<Vec<DetailRecord>>, TelnyxError> {
        let Some(deadline) = self.not_after else {
            return self.next_page_now().await;
        };
        let left = (deadline - chrono::Utc::now()).to_std().unwrap_or_default();
        let reached = TelnyxError::DeadlineReached {
            endpoint: DETAIL_RECORDS,
            page: self.next_page,
        };
        if left.is_zero() {
            return Err(reached);
        }
        tokio::time::timeout(left, self.next_page_now())
            .await
            .unwrap_or(Err(reached))
    }

    /// The next page of records not returned before, or `None` when the walk is over.
    /// After an error the same page is requested again on the next call.
    async fn next_page_now(&mut self) -> Result<Option<Vec<DetailRecord>>, TelnyxError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let page = self.next_page;
            if page > self.client.inner.config.page_cap {
                self.done = true;
                return Err(TelnyxError::PageCapReached {
                    endpoint: DETAIL_RECORDS,
                    cap: self.client.inner.config.page_cap,
                });
            }
            let field = self.time_field;
            let at = |t: &chrono::DateTime<chrono::Utc>| {
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            };
            let params = [
                (
                    "filter[record_type]".to_owned(),
                    self.record_type.filter_name().to_owned(),
                ),
                (format!("filter[{field}][gte]"), at(&self.window.from)),
                (format!("filter[{field}][lt]"), at(&self.window.to)),
            ];
            let page_size = self.client.inner.config.detail_page_size;
            let request = PageRequest {
                endpoint: DETAIL_RECORDS,
                page,
                page_size,
                params: &params,
                record_type: Some(self.record_type),
            };
            let (record_type, time_field) = (self.record_type, self.time_field);
            let parsed = self
                .client
                .get(&self.key, &request, |body| {
                    parse_detail_page_by(body, record_type, time_field, page)
                })
                .await?;
            self.pages_fetched += 1;
            self.last_page = page;
            self.next_page += 1;
            if let Some(total) = parsed.meta.and_then(|m| m.total_results) {
                self.total_results = Some(total);
            }
            let count = parsed.records.len();
            self.done = is_last_page(page, page_size, count, parsed.meta.as_ref());
            let mut records = parsed.records;
            let mut page_ids = HashSet::with_capacity(count);
            records.retain(|r| page_ids.insert(r.id.clone()) && !self.recent.contains(&r.id));
            self.recent.remember(page_ids);
            let dropped = count - records.len();
            self.duplicates_dropped += dropped as u64;
            tracing::debug!(
                endpoint = DETAIL_RECORDS,
                page,
                record_type = record_type.filter_name(),
                rows = count,
                duplicates = dropped,
                "detail record page"
            );
            if records.is_empty() && !self.done {
                // A page holding only rows already returned: keep walking.
                continue;
            }
            if records.is_empty() {
                return Ok(None);
            }
            return Ok(Some(records));
        }
    }

    /// The page number of the last page requested.
    pub fn last_page(&self) -> u32 {
        self.last_page
    }

    /// Pages requested so far.
    pub fn pages_fetched(&self) -> u32 {
        self.pages_fetched
    }

    /// How many ids the walk holds to drop duplicates (at most [`REMEMBERED_PAGES`]
    /// pages' worth).
    pub fn remembered_ids(&self) -> usize {
        self.recent.len()
    }

    /// Rows dropped because an earlier page of this walk already returned their id.
    pub fn duplicates_dropped(&self) -> u64 {
        self.duplicates_dropped
    }

    /// `meta.total_results` of the last page read, if Telnyx sent it.
    pub fn total_results(&self) -> Option<u64> {
        self.total_results
    }

    /// The record type walked.
    pub fn record_type(&self) -> RecordType {
        self.record_type
    }
}

/// The ids of the last [`REMEMBERED_PAGES`] pages of a walk.
#[derive(Debug, Default)]
struct RecentIds {
    pages: VecDeque<HashSet<DetailRecordId>>,
}

impl RecentIds {
    fn contains(&self, id: &DetailRecordId) -> bool {
        self.pages.iter().any(|page| page.contains(id))
    }

    /// Adds the ids of the page just read, forgetting the oldest page beyond the bound.
    fn remember(&mut self, page: HashSet<DetailRecordId>) {
        self.pages.push_back(page);
        while self.pages.len() > REMEMBERED_PAGES {
            self.pages.pop_front();
        }
    }

    fn len(&self) -> usize {
        self.pages.iter().map(HashSet::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(range: std::ops::Range<u32>) -> HashSet<DetailRecordId> {
        range
            .map(|i| DetailRecordId::new(format!("r-{i}")))
            .collect()
    }

    #[test]
    fn a_walk_remembers_the_ids_of_its_last_three_pages_only() {
        let mut recent = RecentIds::default();
        for page in 0..10 {
            recent.remember(ids(page * 50..page * 50 + 50));
        }
        assert_eq!(recent.len(), REMEMBERED_PAGES * 50);
        assert!(recent.contains(&DetailRecordId::new("r-499")));
        assert!(recent.contains(&DetailRecordId::new("r-350")));
        assert!(!recent.contains(&DetailRecordId::new("r-349")));
    }
}
