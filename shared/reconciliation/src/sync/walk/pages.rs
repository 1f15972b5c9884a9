//! One page of a walk: the usage it shows (planned again if a connection is used as a
//! new service type), records linked through their call, attributed, written (checked
//! against what is stored when below the type's reach), and what it leaves for later
//! pages and runs (call-session links, orphans), beside the write. The page's records
//! are moved, not copied, from the Telnyx port to the store: their raw JSON is copied
//! once, out of the response body, by the client.

use super::Walker;
use super::tally::WalkTally;
use crate::domain::{MatchedBy, RecordType, StoredDetailRecord};
use crate::plan::RecordTally;
use crate::ports::{Ports, RecordPage, RecordWriteReport, TimeWindow};
use crate::sync::SyncError;
use crate::sync::run::Job;
use crate::sync::structure::Structure;

impl Walker<'_> {
    /// One page: learn its usage (and plan again if a connection is used as a new type),
    /// attribute it, write it (with `check`, looking for records stored already).
    pub(super) async fn page(
        &mut self,
        structure: &mut Structure<'_>,
        (record_type, window): (RecordType, TimeWindow),
        page: RecordPage,
        check: bool,
    ) -> Result<(), SyncError> {
        let run = self.run;
        let mut records = page.records;
        *self.tally.fetched.entry(record_type).or_default() += records.len() as u64;
        self.note_found(record_type, &records);
        let linked = self.link_sessions(structure, &mut records).await?;
        if structure.learn(&records) {
            structure
                .settle(run.ports, run.request.dry_run, false)
                .await?;
        }
        let mut attributed = structure.attribution().attribute(records);
        for r in &mut attributed.records {
            if linked.contains(&r.record.id) && r.matched_by == MatchedBy::Connection {
                r.matched_by = MatchedBy::Session;
                self.tally.linked_by_session += 1;
            }
        }
        self.tally.duplicates_in_pages += page.repeated + attributed.duplicates;
        self.tally
            .matched
            .merge(&RecordTally::of(&attributed.records));
        if run.writes() {
            let links = self.wants_links(window).await;
            let remember = self.remember_sessions(&attributed.records, links);
            let (written, remembered) = futures::join!(
                write_page(
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

/// Stores one page's records: `check`ed against what is stored (below the type's
/// reach), else written without looking. A row repeated by a shifted page never gets
/// here (the Telnyx port drops it, [`RecordPage::records`]); a record stored by an
/// earlier run is found by the checked write below the type's reach.
async fn write_page(
    job: &Job<'_>,
    tally: &mut WalkTally,
    (record_type, records): (RecordType, &[StoredDetailRecord]),
    check: bool,
) -> Result<(), SyncError> {
    let ports: &Ports = job.ports;
    let store = &ports.store;
    let written = if check {
        store.put_detail_records(records).await
    } else {
        store.put_new_detail_records(records).await
    };
    let written: RecordWriteReport = written.map_err(SyncError::store(
        job.account(),
        format!("storing {record_type} detail records"),
    ))?;
    tally.written.written += written.written;
    tally.written.duplicates += written.duplicates;
    tally.written.raw_trimmed += written.raw_trimmed;
    *tally.raw_trimmed.entry(record_type).or_default() += written.raw_trimmed;
    Ok(())
}
