//! The `KeyStore` contract (with the `Secrets` reads it implies): every promise the
//! ports' documentation makes about keys, checked against any implementation — the
//! in-memory fake, one secret per account, and keys shared in a few secrets.
//!
//! ```text
//! let report = check_key_store(&writer_a, &writer_b, [account_1, account_2]).await;
//! assert!(report.is_clean(), "{report}");
//! ```
//!
//! `a` and `b` are two independent writers (two operators' CLIs) on the same storage;
//! `pair` are two fresh accounts whose keys the storage keeps in the same place (the
//! same shared secret), so the race check races on one unit.

use super::{ContractReport, unique_tag};
use crate::domain::ManagedAccountId;
use crate::ports::{ApiKey, KeyStore};

/// The names of the checks, in the order they run.
pub const CHECKS: &[&str] = &[READ_BACK, ROTATION, MISSING, DELETE, MANY, RACE];

pub const READ_BACK: &str = "a stored key reads back, the manager key apart from every account key";
pub const ROTATION: &str = "storing an account's key again replaces it for the writer's own reads at once, and only that account's";
pub const MISSING: &str =
    "an account without a key is a permanent error naming the account, never quoting a key";
pub const DELETE: &str =
    "deleting a key removes only that account's, and deleting a missing one says there was none";
pub const MANY: &str = "many keys stored in one call each read back";
pub const RACE: &str =
    "two writers storing keys at the same time on one storage unit both keep their keys";

/// Runs every check.
pub async fn check_key_store(
    a: &dyn KeyStore,
    b: &dyn KeyStore,
    pair: [ManagedAccountId; 2],
) -> ContractReport {
    let mut report = ContractReport::default();
    report.record(READ_BACK, read_back(a, &pair).await);
    report.record(ROTATION, rotation(a, &pair).await);
    report.record(MISSING, missing(a, &pair).await);
    report.record(DELETE, delete(a, &pair).await);
    report.record(MANY, many(a).await);
    report.record(RACE, race(a, b, &pair).await);
    report
}

type Check = Result<(), String>;

/// `Err(what)` unless `cond`.
fn holds(cond: bool, what: impl Into<String>) -> Check {
    if cond { Ok(()) } else { Err(what.into()) }
}

fn port<T>(what: &str, r: crate::ports::PortResult<T>) -> Result<T, String> {
    r.map_err(|e| format!("{what} failed: {}", e.chain()))
}

/// A key no other check uses (letters and digits only, as Telnyx keys are).
fn fresh_key(label: &str) -> String {
    let tag: String = unique_tag()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    format!("KEY{label}{tag}")
}

async fn reads(store: &dyn KeyStore, account: &ManagedAccountId) -> Result<String, String> {
    port("account_key", store.account_key(account).await).map(|k| k.expose().to_owned())
}

async fn put(store: &dyn KeyStore, account: &ManagedAccountId, key: &str) -> Check {
    port(
        "put_account_keys",
        store
            .put_account_keys(&[(account.clone(), ApiKey::new(key))])
            .await,
    )
}

async fn read_back(store: &dyn KeyStore, pair: &[ManagedAccountId; 2]) -> Check {
    let (master, one, two) = (fresh_key("master"), fresh_key("one"), fresh_key("two"));
    port(
        "put_master_key",
        store.put_master_key(&ApiKey::new(&master)).await,
    )?;
    put(store, &pair[0], &one).await?;
    put(store, &pair[1], &two).await?;
    let read_master = port("master_key", store.master_key().await)?;
    holds(
        read_master.expose() == master,
        "the manager key read back changed",
    )?;
    holds(
        reads(store, &pair[0]).await? == one,
        "the first account's key read back changed",
    )?;
    holds(
        reads(store, &pair[1]).await? == two,
        "the second account's key read back changed",
    )
}

async fn rotation(store: &dyn KeyStore, pair: &[ManagedAccountId; 2]) -> Check {
    let (old, new, other) = (fresh_key("old"), fresh_key("new"), fresh_key("other"));
    put(store, &pair[0], &old).await?;
    put(store, &pair[1], &other).await?;
    holds(
        reads(store, &pair[0]).await? == old,
        "the key just stored did not read back",
    )?;
    put(store, &pair[0], &new).await?;
    holds(
        reads(store, &pair[0]).await? == new,
        "the writer still reads the replaced key",
    )?;
    holds(
        reads(store, &pair[1]).await? == other,
        "replacing one account's key changed another's",
    )
}

async fn missing(store: &dyn KeyStore, pair: &[ManagedAccountId; 2]) -> Check {
    let stored = fresh_key("neighbour");
    put(store, &pair[1], &stored).await?;
    let nobody = ManagedAccountId::new(format!("no-key-{}", unique_tag()));
    match store.account_key(&nobody).await {
        Ok(_) => Err(format!("account {nobody} has no key, yet one was read")),
        Err(e) => {
            let text = format!("{} {e:?}", e.chain());
            holds(!e.is_transient(), "a missing key is a permanent error")?;
            holds(
                text.contains(nobody.as_str()),
                format!("the error does not name the account: {text}"),
            )?;
            holds(!text.contains(&stored), "the error quotes a stored key")
        }
    }
}

async fn delete(store: &dyn KeyStore, pair: &[ManagedAccountId; 2]) -> Check {
    let (gone, kept) = (fresh_key("gone"), fresh_key("kept"));
    put(store, &pair[0], &gone).await?;
    put(store, &pair[1], &kept).await?;
    holds(
        port(
            "delete_account_key",
            store.delete_account_key(&pair[0]).await,
        )?,
        "deleting a stored key said there was none",
    )?;
    holds(
        store.account_key(&pair[0]).await.is_err(),
        "a deleted key still reads back",
    )?;
    holds(
        reads(store, &pair[1]).await? == kept,
        "deleting one account's key changed another's",
    )?;
    holds(
        !port(
            "delete_account_key",
            store.delete_account_key(&pair[0]).await,
        )?,
        "deleting a missing key said there was one",
    )
}

async fn many(store: &dyn KeyStore) -> Check {
    let tag = unique_tag();
    let keys: Vec<(ManagedAccountId, String)> = (0..40)
        .map(|n| {
            (
                ManagedAccountId::new(format!("many-{tag}-{n}")),
                fresh_key(&format!("m{n}")),
            )
        })
        .collect();
    let batch: Vec<(ManagedAccountId, ApiKey)> = keys
        .iter()
        .map(|(a, k)| (a.clone(), ApiKey::new(k)))
        .collect();
    port("put_account_keys", store.put_account_keys(&batch).await)?;
    for (account, key) in &keys {
        holds(
            &reads(store, account).await? == key,
            format!("{account}'s key did not read back"),
        )?;
    }
    Ok(())
}

async fn race(a: &dyn KeyStore, b: &dyn KeyStore, pair: &[ManagedAccountId; 2]) -> Check {
    for round in 0..5 {
        let (ka, kb) = (
            fresh_key(&format!("a{round}")),
            fresh_key(&format!("b{round}")),
        );
        let (ra, rb) = futures::join!(put(a, &pair[0], &ka), put(b, &pair[1], &kb));
        ra?;
        rb?;
        // Each writer reads its own key back from the storage (its write dropped any
        // cached copy): a writer that overwrote the other's change has lost one of them.
        holds(
            reads(a, &pair[0]).await? == ka,
            format!("round {round}: the first writer's key was lost"),
        )?;
        holds(
            reads(b, &pair[1]).await? == kb,
            format!("round {round}: the second writer's key was lost"),
        )?;
    }
    Ok(())
}
