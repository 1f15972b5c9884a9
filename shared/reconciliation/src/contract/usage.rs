//! The `UsageStore` part of the store contract: the cached usage options replaced whole,
//! a count metric's first confirmation kept, distrusted reports per account and type.
//! Run by [`super::store::check_store`]; every name is tagged, so the checks hold on a
//! table other tests share.

use super::{Check, at, ensure, port, unique_tag};
use crate::domain::{ManagedAccountId, RecordType};
use crate::ports::{
    CachedUsageOptions, ConfirmedCount, Distrust, Store, TimeWindow, UsageOptions, UsageProduct,
};
use chrono::NaiveDate;

fn options(product: &str) -> UsageOptions {
    UsageOptions {
        products: vec![UsageProduct {
            product: product.to_owned(),
            dimensions: vec!["date".into(), "currency".into()],
            metrics: vec!["attempted".into(), "billed_sec".into(), "cost".into()],
        }],
    }
}

/// Cached options read back as written, replaced whole by the next put.
pub(super) async fn options_cache(store: &dyn Store) -> Check {
    let tag = unique_tag();
    let first = CachedUsageOptions {
        options: options(&format!("p1-{tag}")),
        fetched_at: at(0),
    };
    port("put_usage_options", store.put_usage_options(&first).await)?;
    let back = port("usage_options", store.usage_options().await)?;
    ensure!(
        back.as_ref() == Some(&first),
        "the options read back as {back:?}"
    );
    let second = CachedUsageOptions {
        options: options(&format!("p2-{tag}")),
        fetched_at: at(24),
    };
    port("put_usage_options", store.put_usage_options(&second).await)?;
    let back = port("usage_options", store.usage_options().await)?;
    ensure!(
        back.as_ref() == Some(&second),
        "the replaced options read back as {back:?}"
    );
    Ok(())
}

/// A (product, metric)'s first confirmation is kept; others are listed beside it.
pub(super) async fn confirmations(store: &dyn Store, account: &ManagedAccountId) -> Check {
    let product = format!("sip-{}", unique_tag());
    let confirmed = |metric: &str, day: u32| ConfirmedCount {
        product: product.clone(),
        metric: metric.to_owned(),
        record_type: RecordType::SipTrunking,
        account: account.clone(),
        day: NaiveDate::from_ymd_opt(2026, 11, day).unwrap_or_default(),
        records: u64::from(day),
        confirmed_at: at(i64::from(day)),
    };
    port(
        "confirm_count",
        store.confirm_count(&confirmed("attempted", 20)).await,
    )?;
    port(
        "confirm_count",
        store.confirm_count(&confirmed("attempted", 21)).await,
    )?;
    port(
        "confirm_count",
        store.confirm_count(&confirmed("count", 22)).await,
    )?;
    let mine: Vec<ConfirmedCount> = port("confirmed_counts", store.confirmed_counts().await)?
        .into_iter()
        .filter(|c| c.product == product)
        .collect();
    ensure!(
        mine.len() == 2,
        "{} confirmations read back: {mine:?}",
        mine.len()
    );
    ensure!(
        mine.contains(&confirmed("attempted", 20)) && mine.contains(&confirmed("count", 22)),
        "the first confirmation of each metric is kept: {mine:?}"
    );
    Ok(())
}

/// Distrusted reports read back per account, replaced per type, lifted per type.
pub(super) async fn distrusts(
    store: &dyn Store,
    account: &ManagedAccountId,
    other: &ManagedAccountId,
) -> Check {
    let distrust = |t: RecordType, found: u64| Distrust {
        record_type: t,
        since: at(0),
        window: TimeWindow {
            from: at(-24),
            to: at(0),
        },
        found,
    };
    let none = port("distrusts", store.distrusts(account).await)?;
    ensure!(none.is_empty(), "a new account distrusts {none:?}");
    for d in [
        distrust(RecordType::Messaging, 1),
        distrust(RecordType::Fax, 2),
        distrust(RecordType::Messaging, 3),
    ] {
        port("distrust", store.distrust(account, &d).await)?;
    }
    port(
        "distrust",
        store.distrust(other, &distrust(RecordType::Tts, 4)).await,
    )?;
    port(
        "trust_again",
        store.trust_again(account, RecordType::Fax).await,
    )?;
    let back = port("distrusts", store.distrusts(account).await)?;
    ensure!(
        back == vec![distrust(RecordType::Messaging, 3)],
        "the account distrusts {back:?}"
    );
    Ok(())
}
