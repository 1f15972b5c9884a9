//! Attribution through the call (docs/audit.md "Attribution through the call"): AI and
//! media records name only a call session or leg id. A page's records without a
//! connection that name a session some call record of the account carries get that
//! call's connection before they are attributed; after a page is stored, its call
//! records' sessions are linked to their connection, and its unmatched records that
//! name a session wait (as orphans) for a later run to link them (`sync::relink`).

use super::Walker;
use crate::domain::{DetailRecord, DetailRecordId, MatchedBy, StoredDetailRecord};
use crate::ports::SessionLink;
use crate::sync::SyncError;
use crate::sync::structure::Structure;
use std::collections::{BTreeMap, HashSet};

impl Walker<'_> {
    /// Records without a connection that name a session or leg id some call record of
    /// the account carries get that call's connection, in place (returned: their ids).
    pub(super) async fn link_sessions(
        &self,
        structure: &Structure<'_>,
        records: &mut [DetailRecord],
    ) -> Result<HashSet<DetailRecordId>, SyncError> {
        let wanted: Vec<String> = records
            .iter()
            .filter(|r| !r.sessions.is_empty() && r.connection_id.is_none())
            .filter(|r| !structure.attribution().matches(r))
            .flat_map(|r| r.sessions.iter().cloned())
            .collect();
        let mut linked = HashSet::new();
        if wanted.is_empty() {
            return Ok(linked);
        }
        let links = self
            .run
            .ports
            .store
            .session_links(self.run.account(), &wanted)
            .await
            .map_err(SyncError::store(
                self.run.account(),
                "reading call-session links",
            ))?;
        let by_session: BTreeMap<&str, &SessionLink> =
            links.iter().map(|l| (l.session.as_str(), l)).collect();
        for r in records.iter_mut() {
            if r.connection_id.is_none() && !structure.attribution().matches(r) {
                if let Some(link) = r.sessions.iter().find_map(|s| by_session.get(s.as_str())) {
                    r.connection_id = Some(link.connection.clone());
                    linked.insert(r.id.clone());
                }
            }
        }
        Ok(linked)
    }

    /// What a stored page leaves for later pages and runs: its call records' sessions
    /// linked to their connection, its unmatched records naming a session as orphans.
    /// Runs beside the page's own write (it holds nothing of the walker): a link or an
    /// orphan of a record whose write then fails is harmless (an orphan of a record not
    /// stored is dropped by the relink, and the record is met again).
    pub(super) fn remember_sessions(
        &self,
        records: &[StoredDetailRecord],
        links: bool,
    ) -> impl std::future::Future<Output = Result<(), SyncError>> + use<> {
        let links: Vec<SessionLink> = records
            .iter()
            .filter(|_| links)
            .filter(|r| r.end_customer.is_some() && r.matched_by != MatchedBy::Session)
            .filter_map(|r| Some((r, r.record.connection_id.clone()?)))
            .flat_map(|(r, connection)| {
                r.record.sessions.iter().map(move |s| SessionLink {
                    session: s.clone(),
                    connection: connection.clone(),
                })
            })
            .collect();
        let orphans: Vec<StoredDetailRecord> = records
            .iter()
            .filter(|r| r.matched_by == MatchedBy::Unmatched && !r.record.sessions.is_empty())
            .cloned()
            .collect();
        let store = self.run.ports.store.clone();
        let account = self.run.account().clone();
        async move {
            let (a, b) = futures::join!(
                async {
                    if links.is_empty() {
                        return Ok(());
                    }
                    store.put_session_links(&account, &links).await
                },
                async {
                    if orphans.is_empty() {
                        return Ok(());
                    }
                    store.put_orphans(&orphans).await
                }
            );
            a.map_err(SyncError::store(&account, "storing call-session links"))?;
            b.map_err(SyncError::store(
                &account,
                "storing records waiting for their call",
            ))
        }
    }
}
