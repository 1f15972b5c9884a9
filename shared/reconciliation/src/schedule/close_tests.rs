//! The monthly automatic close on the in-memory fakes: a ready month closes once and
//! the operator hears once; a month that is not ready waits, named with why, and the
//! waiting-only email repeats at most once per interval; closes start only within the
//! tick's budget.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::close::{CLOSED_BY, close_previous_month};
use super::{ScheduleReport, ScheduleSettings};
use crate::domain::{BillingMonth, RecordType};
use crate::fakes::*;
use crate::fixtures::*;
use crate::plan::Notification;
use crate::ports::*;
use chrono::{Duration, NaiveDate};
use std::collections::BTreeSet;
use std::sync::Arc;

struct World {
    store: Arc<InMemoryStore>,
    mailer: Arc<RecordingMailer>,
    clock: Arc<ManualClock>,
    onboarding: crate::domain::Onboarding,
}

impl World {
    /// One onboarded account whose previous month (2026-10, `fixed_now` is in
    /// November) is audited clean for messaging on every day but `unsettled`, every
    /// type walked past its end, Telnyx's options offering messaging only.
    async fn new(unsettled: Option<u32>) -> Self {
        let onboarding = Scenario::wholesale().onboarding;
        let store = Arc::new(InMemoryStore::new().with_onboarding(onboarding.clone()));
        let month = previous();
        store
            .put_usage_options(&CachedUsageOptions {
                options: UsageOptions {
                    products: vec![UsageProduct {
                        product: "messaging".into(),
                        dimensions: vec!["date".into()],
                        metrics: vec!["count".into(), "parts".into(), "cost".into()],
                    }],
                },
                fetched_at: fixed_now(),
            })
            .await
            .unwrap();
        let days: Vec<AuditDay> = month
            .days()
            .map(|day| AuditDay {
                account: onboarding.account.clone(),
                record_type: RecordType::Messaging,
                day,
                verdict: AuditVerdict::Clean,
                telnyx: AuditFigures::default(),
                stored: AuditFigures::default(),
                cost_compared: false,
                settled: unsettled.and_then(|d| NaiveDate::from_ymd_opt(2026, 10, d)) != Some(day),
                checked_at: fixed_now(),
                product: "messaging".into(),
                count_metric: "count".into(),
                rewalk: None,
            })
            .collect();
        store.put_audit_days(&days).await.unwrap();
        for &t in RecordType::ALL {
            let mut state = StreamState::new(t);
            state.advance_watermark(month.end() + Duration::hours(6));
            store
                .put_stream(&onboarding.account, &state.next_version())
                .await
                .unwrap();
        }
        Self {
            store,
            mailer: Arc::new(RecordingMailer::new()),
            clock: Arc::new(ManualClock::new(fixed_now())),
            onboarding,
        }
    }

    async fn tick(&self, budget: Duration) -> ScheduleReport {
        let ports = Ports {
            telnyx: Arc::new(InMemoryTelnyx::new("master")),
            secrets: Arc::new(InMemorySecrets::new()),
            store: self.store.clone(),
            mailer: self.mailer.clone(),
            dispatcher: Arc::new(RecordingDispatcher::new()),
            clock: self.clock.clone(),
        };
        let settings = ScheduleSettings {
            auto_close: Some(budget),
            ..ScheduleSettings::new(vec!["ops@operator.example".into()])
        };
        let mut report = ScheduleReport::default();
        let onboardings = [self.onboarding.clone()];
        close_previous_month(
            &ports,
            &settings,
            (&onboardings, &BTreeSet::new()),
            self.clock.now(),
            &mut report,
        )
        .await;
        crate::outbox::flush_outbox(&*ports.store, &*ports.mailer, &*ports.clock)
            .await
            .unwrap();
        report
    }

    fn emails(&self) -> Vec<Notification> {
        self.mailer
            .sent()
            .into_iter()
            .filter(|n| matches!(n, Notification::MonthsClosed { .. }))
            .collect()
    }

    async fn state(&self) -> Option<MonthState> {
        self.store
            .month_states(&self.onboarding.account)
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.month == previous())
    }
}

fn previous() -> BillingMonth {
    BillingMonth::of(fixed_now()).prev()
}

#[tokio::test]
async fn a_ready_month_closes_once_by_the_scheduler_and_the_operator_hears_once() {
    let w = World::new(None).await;
    let report = w.tick(Duration::seconds(30)).await;
    assert_eq!(report.months_closed, vec![w.onboarding.account.clone()]);
    assert!(report.months_waiting.is_empty());
    let state = w.state().await.expect("closed");
    assert_eq!((state.status, state.version), (MonthStatus::Closed, 1));
    let log = w
        .store
        .month_events(&w.onboarding.account, previous())
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].by, CLOSED_BY);
    let emails = w.emails();
    assert_eq!(emails.len(), 1);
    let Notification::MonthsClosed {
        month,
        closed,
        waiting,
        ..
    } = &emails[0]
    else {
        unreachable!()
    };
    assert_eq!(*month, previous());
    assert_eq!(closed.len(), 1);
    assert!(
        closed[0].details[0].starts_with("version 1, "),
        "{closed:?}"
    );
    assert!(waiting.is_empty());

    w.clock.advance(Duration::hours(1));
    let again = w.tick(Duration::seconds(30)).await;
    assert!(again.months_closed.is_empty() && again.months_waiting.is_empty());
    assert_eq!(w.emails().len(), 1, "nothing new, nothing sent");
}

#[tokio::test]
async fn an_unsettled_day_waits_named_and_the_waiting_email_repeats_once_per_interval() {
    let w = World::new(Some(31)).await;
    let report = w.tick(Duration::seconds(30)).await;
    assert!(report.months_closed.is_empty());
    assert_eq!(report.months_waiting, vec![w.onboarding.account.clone()]);
    assert_eq!(w.state().await, None, "nothing written");
    let emails = w.emails();
    assert_eq!(emails.len(), 1);
    let Notification::MonthsClosed { waiting, .. } = &emails[0] else {
        unreachable!()
    };
    assert_eq!(
        waiting[0].details,
        vec!["messaging: not settled (or a difference waits for its re-walk) on 2026-10-31"]
    );

    w.clock.advance(Duration::hours(1));
    w.tick(Duration::seconds(30)).await;
    assert_eq!(w.emails().len(), 1, "within the interval: quiet");
    w.clock
        .advance(crate::plan::RepeatEvery::DEFAULT.duration());
    w.tick(Duration::seconds(30)).await;
    assert_eq!(w.emails().len(), 2, "after it: reminded");
}

#[tokio::test]
async fn no_close_starts_once_the_ticks_budget_is_spent() {
    let w = World::new(None).await;
    let report = w.tick(Duration::zero()).await;
    assert!(report.months_closed.is_empty());
    assert_eq!(report.months_waiting, vec![w.onboarding.account.clone()]);
    assert_eq!(w.state().await, None);
    let Notification::MonthsClosed { waiting, .. } = &w.emails()[0] else {
        unreachable!()
    };
    assert!(
        waiting[0].details[0].contains("time budget"),
        "{:?}",
        waiting[0].details
    );
}
