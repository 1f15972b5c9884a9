//! The usage report as Telnyx offers it now: every record type's [`UsageShape`] learned
//! from `GET /usage_reports/options`, and which count metrics walked records confirmed.
//!
//! The options are cached in the store and read again once a day ([`OPTIONS_MAX_AGE`]),
//! with whichever key the caller holds (the scheduler's manager key or an account's).
//! Options that cannot be read leave the last cached ones in force; with none, every
//! type is not auditable and nothing is skipped on the report's word — said, never
//! silent.

use super::shape::{UsageShape, learn};
use crate::domain::RecordType;
use crate::ports::{ApiKey, CachedUsageOptions, ConfirmedCount, Ports, UsageOptions};
use chrono::Duration;
use std::collections::{BTreeMap, BTreeSet};

/// How long cached options are used before they are read again.
pub const OPTIONS_MAX_AGE: Duration = Duration::hours(24);

/// A record type the audit cannot prove complete, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAuditable {
    pub record_type: RecordType,
    pub reason: String,
}

/// What the usage report offers per record type, and which counts are confirmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageCatalog {
    /// Per type, its shape or why no product covers it.
    shapes: BTreeMap<RecordType, Result<UsageShape, String>>,
    /// (product, metric) pairs confirmed to count records.
    confirmed: BTreeSet<(String, String)>,
}

impl UsageCatalog {
    /// The catalog `options` describe, with the confirmations known.
    pub fn learn<'c>(
        options: &UsageOptions,
        confirmed: impl IntoIterator<Item = &'c ConfirmedCount>,
    ) -> Self {
        Self {
            shapes: RecordType::ALL
                .iter()
                .map(|&t| (t, learn(options, t)))
                .collect(),
            confirmed: confirmed
                .into_iter()
                .map(|c| (c.product.clone(), c.metric.clone()))
                .collect(),
        }
    }

    /// No options could ever be read: every type is not auditable for `reason`.
    pub fn unavailable(reason: &str) -> Self {
        Self {
            shapes: RecordType::ALL
                .iter()
                .map(|&t| {
                    let why = format!("Telnyx's usage report options could not be read ({reason})");
                    (t, Err(why))
                })
                .collect(),
            confirmed: BTreeSet::new(),
        }
    }

    /// The type's product and metrics, when a product covers it.
    pub fn shape(&self, t: RecordType) -> Option<&UsageShape> {
        self.shapes.get(&t).and_then(|s| s.as_ref().ok())
    }

    /// The type's shape when it can be audited (a product with a count metric), else why not.
    pub fn auditable(&self, t: RecordType) -> Result<&UsageShape, NotAuditable> {
        let why = |reason: String| NotAuditable {
            record_type: t,
            reason,
        };
        match self.shapes.get(&t) {
            Some(Ok(shape)) => match shape.not_auditable() {
                None => Ok(shape),
                Some(reason) => Err(why(reason)),
            },
            Some(Err(reason)) => Err(why(reason.clone())),
            None => Err(why("not in the catalog".to_owned())),
        }
    }

    /// Every type that cannot be audited, with its reason, in type order.
    pub fn not_auditable(&self) -> Vec<NotAuditable> {
        RecordType::ALL
            .iter()
            .filter_map(|&t| self.auditable(t).err())
            .collect()
    }

    /// True once `metric` of `product` has been confirmed to count records.
    pub fn is_confirmed(&self, product: &str, metric: &str) -> bool {
        self.confirmed
            .contains(&(product.to_owned(), metric.to_owned()))
    }

    /// The type's count metric when it is confirmed: only then may a report of zero say
    /// the type has no record.
    pub fn trusted_count(&self, t: RecordType) -> Option<&str> {
        let shape = self.shape(t)?;
        let metric = shape.count.as_deref()?;
        self.is_confirmed(&shape.product, metric).then_some(metric)
    }

    /// Remembers a confirmation made in this process.
    pub fn confirm(&mut self, product: &str, metric: &str) {
        self.confirmed
            .insert((product.to_owned(), metric.to_owned()));
    }
}

/// The catalog for this run: the cached options when younger than a day, else read now
/// with `key` (and cached when `writes`); the confirmed count metrics. Never fails: a
/// failure to read is logged, the stale options are used when there are any.
pub async fn load(ports: &Ports, key: &ApiKey, writes: bool) -> UsageCatalog {
    let now = ports.clock.now();
    let cached = match ports.store.usage_options().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e.chain(), "cached usage options unreadable; reading them from Telnyx");
            None
        }
    };
    let fresh = cached
        .as_ref()
        .filter(|c| now - c.fetched_at < OPTIONS_MAX_AGE)
        .map(|c| c.options.clone());
    let options = match fresh {
        Some(options) => Ok(options),
        None => match ports.telnyx.usage_options(key).await {
            Ok(options) => {
                let entry = CachedUsageOptions {
                    options: options.clone(),
                    fetched_at: now,
                };
                let cached = if writes {
                    ports.store.put_usage_options(&entry).await
                } else {
                    Ok(())
                };
                if let Err(e) = cached {
                    tracing::warn!(error = %e.chain(), "usage options not cached; the next run reads them again");
                }
                Ok(options)
            }
            Err(e) => match cached {
                Some(stale) => {
                    tracing::warn!(error = %e.chain(), fetched_at = %stale.fetched_at, "usage options unreadable; using the cached ones");
                    Ok(stale.options)
                }
                None => Err(e.chain()),
            },
        },
    };
    let confirmed = ports.store.confirmed_counts().await.unwrap_or_else(|e| {
        tracing::warn!(error = %e.chain(), "confirmed count metrics unreadable; none trusted this run");
        Vec::new()
    });
    match options {
        Ok(options) => UsageCatalog::learn(&options, &confirmed),
        Err(reason) => {
            tracing::warn!(error = %reason, "usage options unreadable and none cached: no type is audited or skipped on the report's word");
            UsageCatalog::unavailable(&reason)
        }
    }
}

/// The catalog as the last run learned it, from the store alone (no Telnyx call): for
/// reports (`billing-admin audit`). `None` when no run has read the options yet.
pub async fn cached(
    store: &dyn crate::ports::Store,
) -> crate::ports::PortResult<Option<UsageCatalog>> {
    let Some(cached) = store.usage_options().await? else {
        return Ok(None);
    };
    let confirmed = store.confirmed_counts().await?;
    Ok(Some(UsageCatalog::learn(&cached.options, &confirmed)))
}
