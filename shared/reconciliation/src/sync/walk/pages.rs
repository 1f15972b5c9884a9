//! One page of a walk: the usage it shows (planned again if a connection is used as a
//! new service type), records linked through their call, attributed, written (checked
//! against what is stored when below the type's reach), and what it leaves for later
//! pages and runs (call-session links, orphans), beside the write.

use super::Walker;
use super::tally::WalkTally;
use crate::domain::{DetailRecordId, MatchedBy, RecordType, StoredDetailRecord};
use crate::plan::RecordTally;
use crate::ports::{Ports, RecordPage, RecordWriteReport, TimeWindow};
use crate::sync::SyncError;
use crate::sync::run::Job;
use crate::sync::structure::Structure;
use std::collections::HashSet;

impl Walker<'_> {
    /// One page: learn its usage (and plan again if a connection is used as a new type),
    /// attribute it, write it (with `check`, looking for records stored already).
    pub(super) async fn page(
        &mut self,
        structure: &mut Structure<'_>,
        (record_type, window): (RecordType, TimeWindow),
        page: &RecordPage,
        check: bool,
    ) -> Result<(), SyncError> {
        let run = self.run;
        *self.tally.fetched.entry(record_type).or_default() += page.records.len() as u64;
        self.note_found(record_type, &page.records);
        let relinked = self.link_sessions(structure, &page.records).await?;
        let (records, linked) = match &relinked {
            Some((records, linked)) => (records.as_slice(), Some(linked)),
            None => (page.records.as_slice(), None),
        };
        if structure.learn(records) {
            structure
                .settle(run.ports, run.request.dry_run, false)
                .await?;
        }
        let mut attributed = structure.attribution().attribute(records);
        for r in &mut attributed.records {
            let via_session = linked.is_some_and(|l| l.contains(&r.record.id));
            if via_session && r.matched_by == MatchedBy::Connection {
                r.matched_by = MatchedBy::Session;
                self.tally.linked_by_session += 1;
            }
        }
        self.tally.duplicates_in_pages += attributed.duplicates;
        self.tally
            .matched
            .merge(&RecordTally::of(&attributed.records));
        if run.writes() {
            let links = self.wants_links(window).await;
            let remember = self.remember_sessions(&attributed.records, links);
            let (written, remembered) = futures::join!(
                self.writer.write(
                    &run,
                    &mut self.tally,
                    (record_type, &attributed.records),
                    check
                ),
                remember
            );
            written?;
            remembered?;
        }
        Ok(())
    }
}

/// Writes a walk's pages; remembers the ids of the page before (an unchecked write skips
/// a row repeated from it: a record arriving mid-walk shifts the last row of a page onto
/// the next).
#[derive(Debug, Default)]
pub(super) struct PageWriter {
    previous_page: HashSet<DetailRecordId>,
}

impl PageWriter {
    /// Stores one page's records: `check`ed against what is stored (below the type's
    /// reach), else written without looking, less any row the page before held.
    async fn write(
        &mut self,
        job: &Job<'_>,
        tally: &mut WalkTally,
        (record_type, records): (RecordType, &[StoredDetailRecord]),
        check: bool,
    ) -> Result<(), SyncError> {
        let ports: &Ports = job.ports;
        let store = &ports.store;
        let page: HashSet<DetailRecordId> = records.iter().map(|r| r.record.id.clone()).collect();
        let previous = std::mem::replace(&mut self.previous_page, page);
        let mut repeated_rows = 0;
        let written = if check {
            store.put_detail_records(records).await
        } else if records.iter().any(|r| previous.contains(&r.record.id)) {
            let (repeated, new): (Vec<_>, Vec<_>) = records
                .iter()
                .cloned()
                .partition(|r| previous.contains(&r.record.id));
            repeated_rows = repeated.len() as u64;
            store.put_new_detail_records(&new).await
        } else {
            store.put_new_detail_records(records).await
        };
        let written: RecordWriteReport = written.map_err(SyncError::store(
            job.account(),
            format!("storing {record_type} detail records"),
        ))?;
        tally.written.duplicates += repeated_rows;
        tally.written.written += written.written;
        tally.written.duplicates += written.duplicates;
        tally.written.raw_trimmed += written.raw_trimmed;
        *tally.raw_trimmed.entry(record_type).or_default() += written.raw_trimmed;
        Ok(())
    }
}
