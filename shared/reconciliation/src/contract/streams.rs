//! The stream-state part of the store contract: one state per (account, record type),
//! read back and replaced whole, each write naming the version it makes.

use super::store::Ns;
use super::{Check, at, ensure, port};
use crate::domain::RecordType;
use crate::ports::{Cursor, Store, StreamState, TimeWindow};
use std::collections::BTreeMap;

fn sorted(mut states: Vec<StreamState>) -> Vec<StreamState> {
    states.sort_by_key(|s| s.record_type);
    states
}

/// Fax with every field set: a watermark, a reach, a found time field, a regular cursor
/// mid-slice and a backfill's.
fn fax() -> StreamState {
    let window = TimeWindow {
        from: at(-48),
        to: at(0),
    };
    let mut regular = Cursor::start(Cursor::REGULAR, RecordType::Fax, window);
    regular.done_until = at(-24);
    regular.slice_to = Some(at(-12));
    regular.next_page = 7;
    let mut state = StreamState::new(RecordType::Fax);
    state.watermark = Some(at(-48));
    state.reach = Some(at(0));
    state.time_field = Some("created_at".to_owned());
    state.save_cursor(regular);
    state.save_cursor(Cursor::start("backfill#1#2", RecordType::Fax, window));
    state
}

pub(super) async fn states(store: &dyn Store, ns: &Ns) -> Check {
    let account = ns.account(1);
    let none = port("streams", store.streams(&account).await)?;
    ensure!(none.is_empty(), "a new account has streams {none:?}");
    let mut fax = fax();
    port(
        "put_stream",
        store.put_stream(&account, &fax.next_version()).await,
    )?;
    let mut tts = StreamState::new(RecordType::Tts);
    tts.watermark = Some(at(-1));
    port(
        "put_stream",
        store.put_stream(&account, &tts.next_version()).await,
    )?;
    let read = sorted(port("streams", store.streams(&account).await)?);
    ensure!(
        read == vec![fax.clone(), tts.clone()],
        "streams read back as {read:?}"
    );
    // The regular walk's slice is done: its cursor goes, the watermark follows.
    fax.clear_cursor(Cursor::REGULAR);
    fax.advance_watermark(at(-12));
    port(
        "put_stream",
        store.put_stream(&account, &fax.next_version()).await,
    )?;
    let read = sorted(port("streams", store.streams(&account).await)?);
    ensure!(
        read == vec![fax.clone(), tts],
        "after replacing fax (version {}): {read:?}",
        fax.version
    );
    let cursors = port("cursors", store.cursors(&account).await)?;
    ensure!(
        cursors.len() == 1 && cursors[0].stream == "backfill#1#2",
        "open walks: {cursors:?}"
    );
    let watermarks = port("watermarks", store.watermarks(&account).await)?;
    ensure!(
        watermarks == BTreeMap::from([(RecordType::Fax, at(-12)), (RecordType::Tts, at(-1))]),
        "watermarks: {watermarks:?}"
    );
    let other = port("streams", store.streams(&ns.account(2)).await)?;
    ensure!(other.is_empty(), "another account has streams: {other:?}");
    Ok(())
}

pub(super) async fn versions(store: &dyn Store, ns: &Ns) -> Check {
    let account = ns.account(1);
    let mut fax = fax();
    let first = fax.next_version();
    port("put_stream", store.put_stream(&account, &first).await)?;
    let again = store.put_stream(&account, &first).await;
    ensure!(again.is_err(), "version 1 written twice");
    let mut stale = first.clone();
    stale.watermark = Some(at(-100));
    ensure!(
        store.put_stream(&account, &stale).await.is_err(),
        "a stale version 1 overwrote version 1"
    );
    let mut skipped = first.clone();
    skipped.version = 3;
    ensure!(
        store.put_stream(&account, &skipped).await.is_err(),
        "version 3 written over version 1"
    );
    let read = port("streams", store.streams(&account).await)?;
    ensure!(read == vec![first], "after refused writes: {read:?}");
    fax.advance_watermark(at(-1));
    port(
        "put_stream",
        store.put_stream(&account, &fax.next_version()).await,
    )?;
    let read = port("streams", store.streams(&account).await)?;
    ensure!(
        read.first().map(|s| (s.version, s.watermark)) == Some((2, Some(at(-1)))),
        "version 2 reads back as {read:?}"
    );
    Ok(())
}
