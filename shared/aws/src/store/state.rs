//! The planner's state: loading an account's departments with three precise queries
//! each, and applying a plan's actions, every creation conditional (a customer and its
//! new-customer email in one transaction).

use super::items::{self, Item, entity_item, from_item, s};
use super::transact::{self, Transacted};
use super::{DynamoStore, Outcome, SortKey, keys};
use crate::error::AwsError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reconciliation::domain::{
    BillingMode, Customer, CustomerId, DepartmentId, ManagedAccountId, Onboarding, ServiceId,
    ServiceStatus, StoredState,
};
use reconciliation::plan::{Action, Notification};
use reconciliation::ports::{ApplyReport, PortResult, StateStore};
use std::collections::BTreeSet;

impl DynamoStore {
    async fn load_department(
        &self,
        department: &DepartmentId,
        account: &ManagedAccountId,
    ) -> Result<Vec<Item>, AwsError> {
        let partition = keys::department_partition(department);
        // Three precise queries on the department's gsi1 partition: the department and
        // its customers (they sort below "SERVICE#"), its service types, and this
        // account's services (other accounts' twins in a shared parent are not read).
        let (head, types, services) = futures::try_join!(
            self.query(
                Some(keys::GSI1),
                &partition,
                SortKey::Below("SERVICE#".to_owned()),
                false,
                None
            ),
            self.query(
                Some(keys::GSI1),
                &partition,
                SortKey::BeginsWith(keys::SERVICE_TYPE_INDEX_PREFIX.to_owned()),
                false,
                None
            ),
            self.query(
                Some(keys::GSI1),
                &partition,
                SortKey::BeginsWith(keys::service_index_prefix(account)),
                false,
                None
            ),
        )?;
        Ok(head.into_iter().chain(types).chain(services).collect())
    }

    async fn load_state_inner(&self, onboarding: &Onboarding) -> Result<StoredState, AwsError> {
        let departments: BTreeSet<&DepartmentId> = [
            onboarding.customer_department(),
            onboarding.billing_department(),
        ]
        .into_iter()
        .collect();
        let referenced: BTreeSet<&CustomerId> = match &onboarding.mode {
            BillingMode::Wholesale {
                reseller_customer, ..
            } => [reseller_customer].into_iter().collect(),
            BillingMode::Direct {
                billing_customer, ..
            } => billing_customer.iter().collect(),
        };
        let loaded = futures::future::try_join_all(
            departments
                .iter()
                .map(|d| self.load_department(d, &onboarding.account)),
        )
        .await?;
        let mut state = StoredState::default();
        for item in loaded.into_iter().flatten() {
            match items::entity_of(&item) {
                Some("department") => state.departments.push(from_item(item)?),
                Some("customer") => {
                    let customer: Customer = from_item(item)?;
                    // The planner needs this account's customers, the customer the
                    // onboarding bills to, and operator-made customers (no account).
                    let wanted = customer
                        .account
                        .as_ref()
                        .is_none_or(|a| *a == onboarding.account)
                        || referenced.contains(&customer.id);
                    if wanted {
                        state.customers.push(customer);
                    }
                }
                Some("service_type") => state.service_types.push(from_item(item)?),
                Some("service") => state.services.push(from_item(item)?),
                _ => {}
            }
        }
        Ok(state)
    }

    /// Creates a customer and queues its notification in one transaction.
    async fn create_customer_with_notification(
        &self,
        customer: &Customer,
        notification: &Notification,
        now: DateTime<Utc>,
    ) -> Result<(Outcome, bool), AwsError> {
        let customer_item = customer_item(customer)?;
        let outbox_item = self.outbox_item(notification, now)?;
        let items = [
            self.conditional_put(customer_item.clone())?,
            self.conditional_put(outbox_item)?,
        ];
        match transact::transact_write(&self.client, &items, &self.retry).await? {
            Transacted::Committed => Ok((Outcome::Done, true)),
            // The customer exists: another writer created it and queued its email in
            // the same transaction (whatever else conflicted meanwhile).
            Transacted::ConditionsFailed(failed) if failed.first() == Some(&true) => {
                Ok((Outcome::AlreadyThere, false))
            }
            // Only the outbox entry exists (queued earlier, customer since removed):
            // create the customer alone; the email is already queued.
            Transacted::ConditionsFailed(_) => Ok((self.put_new(customer_item).await?, false)),
        }
    }

    async fn set_service_status(
        &self,
        service: &ServiceId,
        to: ServiceStatus,
    ) -> Result<Outcome, AwsError> {
        let (from_tag, what) = match to {
            ServiceStatus::Active => ("ceased", format!("service {service} (reactivate)")),
            ServiceStatus::Ceased { .. } => ("active", format!("service {service} (cease)")),
        };
        let key = keys::service(service);
        let update = Self::update_if_exists(&key, "SET #status = :to", "#status.#status = :from")
            .name("#status", "status")
            .value(":to", items::attribute(&what, &to)?)
            .value(":from", s(from_tag));
        self.update_existing(&key, what, update).await
    }

    /// Sets a child type's wholesale link (an update; already there if it is set).
    async fn link_service_type(
        &self,
        child: &reconciliation::domain::ServiceTypeId,
        parent: &reconciliation::domain::ServiceTypeId,
    ) -> Result<Outcome, AwsError> {
        let key = keys::service_type(child);
        let update = Self::update_if_exists(
            &key,
            "SET #link = :parent",
            "attribute_not_exists(#link) OR #link <> :parent",
        )
        .name("#link", "wholesale_parent")
        .value(":parent", s(parent.as_str()));
        self.update_existing(&key, format!("service type {child}"), update)
            .await
    }

    /// One action; its outcome is counted in `report`.
    async fn apply_one(
        &self,
        action: &Action,
        now: DateTime<Utc>,
        report: &mut ApplyReport,
    ) -> Result<(), AwsError> {
        let created = |report: &mut ApplyReport, outcome: Outcome| match outcome {
            Outcome::Done => report.created += 1,
            Outcome::AlreadyThere => report.already_existed += 1,
        };
        let updated = |report: &mut ApplyReport, outcome: Outcome| match outcome {
            Outcome::Done => report.updated += 1,
            Outcome::AlreadyThere => report.already_existed += 1,
        };
        match action {
            Action::CreateServiceType(t) => {
                let item = entity_item(
                    "service_type",
                    t,
                    &keys::service_type(&t.id),
                    Some(&keys::service_type_index(&t.department, &t.id)),
                )?;
                created(report, self.put_new(item).await?);
            }
            Action::LinkServiceType { child, parent } => {
                updated(report, self.link_service_type(child, parent).await?);
            }
            Action::CreateCustomer { customer, notify } => {
                let (outcome, queued) = match notify {
                    None => (self.put_new(customer_item(customer)?).await?, false),
                    Some(n) => {
                        self.create_customer_with_notification(customer, n, now)
                            .await?
                    }
                };
                created(report, outcome);
                report.customers_created += u64::from(outcome == Outcome::Done);
                report.notifications_queued += u64::from(queued);
            }
            Action::CreateService(service) | Action::CreateWholesaleTwin(service) => {
                let outcome = self.put_new(service_item(service)?).await?;
                created(report, outcome);
                let done = u64::from(outcome == Outcome::Done);
                if matches!(action, Action::CreateService(_)) {
                    report.services_created += done;
                } else {
                    report.twins_created += done;
                }
            }
            Action::CeaseService { service, on } => {
                let to = ServiceStatus::Ceased { on: *on };
                updated(report, self.set_service_status(service, to).await?);
            }
            Action::ReactivateService { service } => {
                let to = ServiceStatus::Active;
                updated(report, self.set_service_status(service, to).await?);
            }
        }
        Ok(())
    }
}

/// The item of a service or twin (the only place it is built).
fn service_item(service: &reconciliation::domain::Service) -> Result<Item, AwsError> {
    entity_item(
        "service",
        service,
        &keys::service(&service.id),
        Some(&keys::service_index(
            &service.department,
            &service.account,
            &service.id,
        )),
    )
}

#[async_trait]
impl StateStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(account_id = %onboarding.account))]
    async fn load_state(&self, onboarding: &Onboarding) -> PortResult<StoredState> {
        let state = self.load_state_inner(onboarding).await.map_err(|e| {
            e.into_port(format!(
                "loading the stored state of account {}",
                onboarding.account
            ))
        })?;
        tracing::debug!(
            departments = state.departments.len(),
            customers = state.customers.len(),
            service_types = state.service_types.len(),
            services = state.services.len(),
            "stored state loaded"
        );
        Ok(state)
    }

    #[tracing::instrument(skip_all, fields(actions = actions.len()))]
    async fn apply(&self, actions: &[Action], now: DateTime<Utc>) -> PortResult<ApplyReport> {
        let mut report = ApplyReport::default();
        for action in actions {
            self.apply_one(action, now, &mut report)
                .await
                .map_err(|e| e.into_port(describe_action(action)))?;
        }
        tracing::info!(
            created = report.created,
            already_existed = report.already_existed,
            updated = report.updated,
            notifications_queued = report.notifications_queued,
            "actions applied"
        );
        Ok(report)
    }
}

/// The item of a customer (the only place it is built).
fn customer_item(customer: &Customer) -> Result<Item, AwsError> {
    entity_item(
        "customer",
        customer,
        &keys::customer(&customer.id),
        Some(&keys::customer_index(&customer.department, &customer.id)),
    )
}

/// What an action is about, for error contexts (ids only, never content).
fn describe_action(action: &Action) -> String {
    match action {
        Action::CreateServiceType(t) => format!(
            "creating service type {} in department {}",
            t.id, t.department
        ),
        Action::LinkServiceType { child, parent } => {
            format!("linking service type {child} to {parent}")
        }
        Action::CreateCustomer { customer, .. } => format!(
            "creating customer {} in department {}",
            customer.id, customer.department
        ),
        Action::CreateService(s) => format!("creating service {} of account {}", s.id, s.account),
        Action::CreateWholesaleTwin(s) => {
            format!("creating wholesale twin {} of account {}", s.id, s.account)
        }
        Action::CeaseService { service, .. } => format!("ceasing service {service}"),
        Action::ReactivateService { service } => format!("reactivating service {service}"),
    }
}
