//! Records stored before their call: an AI or media record naming only a session or
//! leg id whose call record had not arrived yet is stored unmatched and remembered as
//! an orphan. Every complete run looks at the orphans again: one whose session is now
//! linked to a call's connection gets that connection's customer and service, in one
//! conditional write that only changes a record still stored unmatched (linking twice
//! changes nothing; money is never moved twice: the invoices are read from the records).

use super::SyncError;
use super::structure::Structure;
use crate::domain::{ManagedAccountId, MatchedBy};
use crate::ports::Ports;
use std::collections::BTreeMap;

/// Orphans looked at per run, at most (the rest on the next runs).
pub(super) const ORPHANS_PER_RUN: usize = 500;

/// Links what it can; returns how many stored records it re-attributed.
pub(super) async fn relink(
    ports: &Ports,
    structure: &mut Structure<'_>,
    account: &ManagedAccountId,
    dry_run: bool,
) -> Result<u64, SyncError> {
    let store = &ports.store;
    let orphans = store
        .orphans(account, ORPHANS_PER_RUN)
        .await
        .map_err(SyncError::store(
            account,
            "reading records waiting for their call",
        ))?;
    if orphans.is_empty() {
        return Ok(0);
    }
    let sessions: Vec<String> = orphans
        .iter()
        .flat_map(|o| o.record.sessions.iter().cloned())
        .collect();
    let links = store
        .session_links(account, &sessions)
        .await
        .map_err(SyncError::store(account, "reading call-session links"))?;
    let by_session: BTreeMap<&str, _> = links
        .iter()
        .map(|l| (l.session.as_str(), &l.connection))
        .collect();
    let records: Vec<_> = orphans
        .iter()
        .filter_map(|o| {
            let connection = o
                .record
                .sessions
                .iter()
                .find_map(|s| by_session.get(s.as_str()))?;
            let mut r = o.record.clone();
            r.connection_id = Some((*connection).clone());
            Some(r)
        })
        .collect();
    if records.is_empty() {
        return Ok(0);
    }
    if structure.learn(&records) {
        structure.settle(ports, dry_run, false).await?;
    }
    let attributed = structure.attribution().attribute(records);
    let mut relinked = 0;
    for mut r in attributed.records {
        if r.matched_by != MatchedBy::Connection || dry_run {
            continue;
        }
        r.matched_by = MatchedBy::Session;
        let changed = store.reattribute(&r).await.map_err(SyncError::store(
            account,
            "linking a stored record to its call",
        ))?;
        relinked += u64::from(changed);
    }
    Ok(relinked)
}
