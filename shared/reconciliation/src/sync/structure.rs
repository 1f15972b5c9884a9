//! The account's structure during one run: the Telnyx snapshot, the stored state (kept
//! current in memory with the pure meaning of every applied action), and the usage seen
//! in this run's records (the small summary rule 8 of docs/mapping-rules.md needs: per
//! connection, the service types seen). Planned once at the start and again whenever a
//! page shows a connection used as a type it has no service for yet, so every record
//! finds its service; the import log of all those plans is merged, each entry once.

use super::{SyncError, SyncSettings};
use crate::domain::{DetailRecord, Onboarding, StoredState, TelnyxSnapshot};
use crate::plan::{
    Action, Attribution, LogEntry, Plan, PlanContext, PlanInput, PlanSettings, Usage,
    apply_to_state, plan,
};
use crate::ports::{ApplyReport, Ports};
use chrono::{DateTime, Utc};

pub(super) struct Structure<'o> {
    onboarding: &'o Onboarding,
    snapshot: TelnyxSnapshot,
    state: StoredState,
    usage: Usage,
    settings: PlanSettings,
    attribution: Attribution,
    /// Every action applied this run, in order (what the run's diff shows).
    applied: Vec<Action>,
    context: PlanContext,
    pub log: Vec<LogEntry>,
    pub report: ApplyReport,
    /// The last plan (a dry run shows it: it holds every action the run would apply).
    last: Plan,
}

impl<'o> Structure<'o> {
    pub fn new(
        onboarding: &'o Onboarding,
        snapshot: TelnyxSnapshot,
        state: StoredState,
        settings: &SyncSettings,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            onboarding,
            snapshot,
            state,
            usage: Usage::new(),
            settings: PlanSettings::at(settings.portal_url_template.clone(), now),
            attribution: Attribution::default(),
            applied: Vec::new(),
            context: PlanContext::default(),
            log: Vec::new(),
            report: ApplyReport::default(),
            last: Plan::default(),
        }
    }

    /// The account's onboarding.
    pub fn onboarding(&self) -> &'o Onboarding {
        self.onboarding
    }

    /// The stored state as this run left it (its applied actions included).
    pub fn state(&self) -> &StoredState {
        &self.state
    }

    /// What records are attributed with now.
    pub fn attribution(&self) -> &Attribution {
        &self.attribution
    }

    /// Adds the service types `records` show per connection; true when one is new.
    pub fn learn(&mut self, records: &[DetailRecord]) -> bool {
        crate::plan::learn_usage(&mut self.usage, records)
    }

    /// Plans with the usage seen so far and applies what is missing (a dry run applies
    /// nothing). `default_types`: a connection with no usage and no stored type gets its
    /// kind's default — only once every window of the run is walked.
    pub async fn settle(
        &mut self,
        ports: &Ports,
        dry_run: bool,
        default_types: bool,
    ) -> Result<(), SyncError> {
        let settings = PlanSettings {
            default_types,
            ..self.settings.clone()
        };
        let plan = plan(
            &PlanInput::new(self.onboarding, &self.snapshot, &self.state, settings)
                .with_usage(self.usage.clone()),
        );
        for entry in &plan.log {
            if !self.log.contains(entry) {
                self.log.push(entry.clone());
            }
        }
        if !dry_run && !plan.actions.is_empty() {
            let applied = ports
                .store
                .apply(&plan.actions, self.settings.now)
                .await
                .map_err(SyncError::store(
                    &self.onboarding.account,
                    "applying the plan",
                ))?;
            self.report.created += applied.created;
            self.report.already_existed += applied.already_existed;
            self.report.updated += applied.updated;
            self.report.notifications_queued += applied.notifications_queued;
            self.report.customers_created += applied.customers_created;
            self.report.services_created += applied.services_created;
            self.report.twins_created += applied.twins_created;
            apply_to_state(&mut self.state, &plan.actions);
            self.applied.extend(plan.actions.iter().cloned());
            self.context.services.extend(plan.context.services.clone());
            self.context
                .service_types
                .extend(plan.context.service_types.clone());
        }
        self.attribution = plan.attribution.clone();
        self.last = plan;
        Ok(())
    }

    /// The run's plan as an operator reads it: in a dry run the last plan (over the
    /// unchanged state: every action the run would apply, and its log), else every
    /// action applied with the merged import log of all the run's plans.
    pub fn diff(&self, dry_run: bool) -> Plan {
        if dry_run {
            return self.last.clone();
        }
        Plan {
            actions: self.applied.clone(),
            log: self.log.clone(),
            context: self.context.clone(),
            ..Plan::default()
        }
    }
}
