//! Builder fixtures for scenario tests (feature `test-util`): a [`Scenario`] holds an
//! onboarding, a Telnyx snapshot, a stored state and this run's records, and plans
//! over them. Other crates' tests use them too.
//!
//! ```
//! use reconciliation::fixtures::*;
//!
//! let plan = Scenario::wholesale()
//!     .billing_group("bg-a", "Customer A")
//!     .sip_connection("conn-1", "Main trunk", Some("bg-a"))
//!     .plan();
//! assert_eq!(plan.created_customers().len(), 1);
//! ```

use crate::domain::*;
use crate::plan::*;
use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;

/// The account every fixture scenario syncs.
pub const ACCOUNT: &str = "acc-1";
/// Wholesale: the operator's department; direct: the only department.
pub const PARENT_DEPT: &str = "dept-operator";
/// Wholesale: the reseller's child department.
pub const CHILD_DEPT: &str = "dept-acme-child";
/// Wholesale: the reseller customer in the parent department.
pub const RESELLER: &str = "cus-acme-reseller";
/// The portal link template of fixture settings.
pub const PORTAL: &str = "https://billing.example.com/customers/{customer_id}";

/// 2026-11-23 12:00 UTC, the fixtures' "now".
pub fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A managed account as Telnyx lists it, with only its id and organization name set.
pub fn managed_account(id: &str, organization_name: &str) -> ManagedAccount {
    ManagedAccount {
        id: id.into(),
        email: None,
        organization_name: Some(organization_name.into()),
        manager_account_id: None,
        rollup_billing: false,
        created_at: None,
        updated_at: None,
    }
}

/// One account's world for one run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The account and how it is billed.
    pub onboarding: Onboarding,
    /// What Telnyx says this run.
    pub snapshot: TelnyxSnapshot,
    /// What is stored before this run.
    pub state: StoredState,
    /// Usage seen in earlier CDR.
    pub usage: Usage,
    /// This run's detail records.
    pub records: Vec<DetailRecord>,
    /// The run's date and portal link.
    pub settings: PlanSettings,
}

impl Scenario {
    /// A managed account of reseller "Acme", billed wholesale: operator department
    /// (parent) with the reseller customer, child department for end customers, both
    /// with a billing email. No billing group, connection or number yet.
    pub fn wholesale() -> Self {
        let parent = DepartmentId::new(PARENT_DEPT);
        let child = DepartmentId::new(CHILD_DEPT);
        Self {
            onboarding: Onboarding {
                account: ManagedAccountId::new(ACCOUNT),
                organization_name: "Acme Telecom".into(),
                mode: BillingMode::Wholesale {
                    parent_department: parent.clone(),
                    reseller_customer: CustomerId::new(RESELLER),
                    child_department: child.clone(),
                },
                mapping: MappingPreference::PerBillingGroup,
            },
            snapshot: TelnyxSnapshot::default(),
            state: StoredState {
                departments: vec![
                    Department {
                        id: parent.clone(),
                        name: "Operator".into(),
                        billing_email: Some("billing@operator.example".into()),
                        parent: None,
                    },
                    Department {
                        id: child,
                        name: "Acme customers".into(),
                        billing_email: Some("billing@acme.example".into()),
                        parent: Some(parent.clone()),
                    },
                ],
                customers: vec![Customer {
                    id: CustomerId::new(RESELLER),
                    department: parent,
                    company_name: "Acme Reseller".into(),
                    account: Some(ManagedAccountId::new(ACCOUNT)),
                    billing_group_id: None,
                    source_name: None,
                    created_at: None,
                }],
                ..StoredState::default()
            },
            usage: Usage::new(),
            records: Vec::new(),
            settings: PlanSettings::at(PORTAL, fixed_now()),
        }
    }

    /// A standard account billed directly: one department, no reseller, no twins.
    pub fn direct() -> Self {
        let dept = DepartmentId::new(PARENT_DEPT);
        Self {
            onboarding: Onboarding {
                account: ManagedAccountId::new(ACCOUNT),
                organization_name: "Direct Co".into(),
                mode: BillingMode::Direct {
                    department: dept.clone(),
                    billing_customer: None,
                },
                mapping: MappingPreference::PerBillingGroup,
            },
            snapshot: TelnyxSnapshot::default(),
            state: StoredState {
                departments: vec![Department {
                    id: dept,
                    name: "Operator".into(),
                    billing_email: Some("billing@operator.example".into()),
                    parent: None,
                }],
                ..StoredState::default()
            },
            usage: Usage::new(),
            records: Vec::new(),
            settings: PlanSettings::at(PORTAL, fixed_now()),
        }
    }

    /// "One customer for the whole account" (rule 7, docs/mapping-rules.md).
    pub fn one_customer(mut self) -> Self {
        self.onboarding.mapping = MappingPreference::OneCustomer;
        self
    }

    /// Direct mode: bill unattributed records to this customer.
    pub fn direct_billing_customer(mut self, id: &str) -> Self {
        if let BillingMode::Direct {
            billing_customer, ..
        } = &mut self.onboarding.mode
        {
            *billing_customer = Some(CustomerId::new(id));
        }
        self
    }

    /// Removes the billing email of the department end customers are created in.
    pub fn without_billing_email(mut self) -> Self {
        let dept = self.onboarding.customer_department().clone();
        for d in &mut self.state.departments {
            if d.id == dept {
                d.billing_email = None;
            }
        }
        self
    }

    /// A billing group listed in Telnyx.
    pub fn billing_group(mut self, id: &str, name: &str) -> Self {
        self.snapshot.billing_groups.push(BillingGroup {
            id: id.into(),
            name: name.into(),
            deleted_at: None,
        });
        self
    }

    /// A billing group listed with `deleted_at` set.
    pub fn deleted_billing_group(mut self, id: &str, name: &str) -> Self {
        self.snapshot.billing_groups.push(BillingGroup {
            id: id.into(),
            name: name.into(),
            deleted_at: Some(fixed_now()),
        });
        self
    }

    /// Renames a billing group in the snapshot.
    pub fn rename_billing_group(mut self, id: &str, name: &str) -> Self {
        for g in &mut self.snapshot.billing_groups {
            if g.id.as_str() == id {
                g.name = name.into();
            }
        }
        self
    }

    /// Removes a billing group from the snapshot.
    pub fn remove_billing_group(mut self, id: &str) -> Self {
        self.snapshot.billing_groups.retain(|g| g.id.as_str() != id);
        self
    }

    /// A connection of `kind` whose outbound voice profile (`ovp-<id>`) has `group`.
    pub fn connection(
        mut self,
        id: &str,
        name: &str,
        kind: ConnectionKind,
        group: Option<&str>,
    ) -> Self {
        let ovp = OutboundVoiceProfileId::new(format!("ovp-{id}"));
        self.snapshot
            .outbound_voice_profiles
            .push(OutboundVoiceProfile {
                id: ovp.clone(),
                name: format!("profile of {name}"),
                billing_group_id: group.map(BillingGroupId::new),
            });
        self.snapshot.connections.push(Connection {
            id: id.into(),
            name: name.into(),
            kind,
            active: true,
            outbound_voice_profile_id: Some(ovp),
        });
        self
    }

    /// A SIP (credential) connection.
    pub fn sip_connection(self, id: &str, name: &str, group: Option<&str>) -> Self {
        self.connection(id, name, ConnectionKind::Credential, group)
    }

    /// Removes a connection from the snapshot.
    pub fn remove_connection(mut self, id: &str) -> Self {
        self.snapshot.connections.retain(|c| c.id.as_str() != id);
        self
    }

    /// A phone number on `connection` with its own `group`.
    pub fn number(
        mut self,
        id: &str,
        e164: &str,
        connection: Option<&str>,
        group: Option<&str>,
    ) -> Self {
        self.snapshot.phone_numbers.push(PhoneNumber {
            id: id.into(),
            phone_number: e164.into(),
            status: Some("active".into()),
            connection_id: connection.map(ConnectionId::new),
            billing_group_id: group.map(BillingGroupId::new),
            messaging_profile_id: None,
            phone_number_type: Some("local".into()),
        });
        self
    }

    /// A phone number with a messaging profile and no connection.
    pub fn messaging_number(mut self, id: &str, e164: &str, group: Option<&str>) -> Self {
        self.snapshot.phone_numbers.push(PhoneNumber {
            id: id.into(),
            phone_number: e164.into(),
            status: Some("active".into()),
            connection_id: None,
            billing_group_id: group.map(BillingGroupId::new),
            messaging_profile_id: Some(MessagingProfileId::new(format!("mp-{id}"))),
            phone_number_type: Some("local".into()),
        });
        self
    }

    /// Removes a phone number from the snapshot.
    pub fn remove_number(mut self, id: &str) -> Self {
        self.snapshot.phone_numbers.retain(|n| n.id.as_str() != id);
        self
    }

    /// Usage of `connection` as `service_type` seen in earlier CDR.
    pub fn usage(mut self, connection: &str, service_type: ServiceTypeName) -> Self {
        self.usage
            .entry(connection.into())
            .or_default()
            .insert(service_type);
        self
    }

    /// A detail record of this run.
    pub fn record(mut self, record: RecordBuilder) -> Self {
        self.records.push(record.build());
        self
    }

    /// Replaces this run's records.
    pub fn no_records(mut self) -> Self {
        self.records.clear();
        self
    }

    /// Adds stored state (e.g. another account's records).
    pub fn stored(mut self, f: impl FnOnce(&mut StoredState)) -> Self {
        f(&mut self.state);
        self
    }

    /// The settings' "today" moved forward by `days`.
    pub fn days_later(mut self, days: i64) -> Self {
        let now = self.settings.now + chrono::Duration::days(days);
        self.settings = PlanSettings::at(self.settings.portal_url_template.clone(), now);
        self
    }

    /// The plan input of this scenario: its usage and the service types its records
    /// show per connection (as a run learns them page by page, rule 8).
    pub fn input(&self) -> PlanInput<'_> {
        let mut usage = self.usage.clone();
        learn_usage(&mut usage, &self.records);
        PlanInput::new(
            &self.onboarding,
            &self.snapshot,
            &self.state,
            self.settings.clone(),
        )
        .with_usage(usage)
    }

    /// Plans this scenario (the state is not changed), and attributes its records with
    /// the plan, as a run attributes each page.
    pub fn plan(&self) -> Planned {
        let mut plan = plan(&self.input());
        let attributed = plan.attribution.attribute(self.records.iter().cloned());
        plan.tally = RecordTally::of(&attributed.records);
        Planned {
            plan,
            records: attributed.records,
            unmatched: attributed.unmatched,
            duplicates: attributed.duplicates,
        }
    }

    /// Plans, applies the plan to the stored state, and returns the plan.
    pub fn settle(&mut self) -> Planned {
        let p = self.plan();
        apply_to_state(&mut self.state, &p.actions);
        p
    }

    /// [`Scenario::settle`] by value, for chaining.
    pub fn settled(mut self) -> Self {
        self.settle();
        self
    }

    /// The customer a billing group maps to (per-billing-group mapping).
    pub fn customer_of_group(&self, group: &str) -> CustomerId {
        crate::plan::identity::customer_for_billing_group(
            self.onboarding.customer_department(),
            &self.onboarding.account,
            &group.into(),
        )
    }

    /// The customer of the one-customer mapping.
    pub fn account_customer(&self) -> CustomerId {
        crate::plan::identity::customer_for_account(
            self.onboarding.customer_department(),
            &self.onboarding.account,
        )
    }

    /// The stored service of `source` with `service_type`, if any.
    pub fn stored_service(
        &self,
        source: &ServiceSource,
        service_type: ServiceTypeName,
    ) -> Option<&Service> {
        self.state.services.iter().find(|s| {
            &s.source == source && s.service_type_name == service_type && s.twin_of.is_none()
        })
    }
}

/// A detail record under construction: `record(RecordType::SipTrunking, "r1").connection("c1")`.
#[derive(Debug, Clone)]
pub struct RecordBuilder(DetailRecord);

/// Starts a detail record of `record_type` with Telnyx id `id`.
pub fn record(record_type: RecordType, id: &str) -> RecordBuilder {
    RecordBuilder(DetailRecord {
        record_type,
        id: id.into(),
        occurred_at: fixed_now() - chrono::Duration::minutes(30),
        connection_id: None,
        billing_group_id: None,
        cli: None,
        cld: None,
        direction: None,
        cost: Some(Decimal::new(12, 3)),
        rate: None,
        currency: Some("USD".into()),
        billed_quantity: Some(Decimal::new(60, 0)),
        sessions: Vec::new(),
        raw: RawRecord::from_value(&serde_json::json!({ "id": id })),
    })
}

impl RecordBuilder {
    /// The record's `connection_id`.
    pub fn connection(mut self, id: &str) -> Self {
        self.0.connection_id = Some(id.into());
        self
    }
    /// The record's `billing_group_id`, verbatim (may be an unrelated number like `60`).
    pub fn billing_group(mut self, value: &str) -> Self {
        self.0.billing_group_id = Some(value.into());
        self
    }
    /// An outbound record from `cli` to `cld`.
    pub fn outbound(mut self, cli: &str, cld: &str) -> Self {
        self.0.direction = Some(Direction::Outbound);
        self.0.cli = Some(cli.into());
        self.0.cld = Some(cld.into());
        self
    }
    /// An inbound record from `cli` to `cld`.
    pub fn inbound(mut self, cli: &str, cld: &str) -> Self {
        self.0.direction = Some(Direction::Inbound);
        self.0.cli = Some(cli.into());
        self.0.cld = Some(cld.into());
        self
    }
    /// A record from `cli` to `cld` without a direction (some record types have none).
    pub fn undirected(mut self, cli: &str, cld: &str) -> Self {
        self.0.direction = None;
        self.0.cli = Some(cli.into());
        self.0.cld = Some(cld.into());
        self
    }
    /// A call session or leg id the record names.
    pub fn session(mut self, id: &str) -> Self {
        self.0.sessions.push(id.into());
        self
    }
    /// No cost: pricing hidden from the managed account.
    pub fn hidden_pricing(mut self) -> Self {
        self.0.cost = None;
        self.0.rate = None;
        self
    }
    /// The record's billed quantity (`0`: an unanswered call).
    pub fn billed(mut self, quantity: &str) -> Self {
        self.0.billed_quantity = quantity.parse().ok();
        self
    }
    /// The record's cost.
    pub fn cost(mut self, cost: &str) -> Self {
        self.0.cost = cost.parse().ok();
        self
    }
    /// The record's time field.
    pub fn at(mut self, t: DateTime<Utc>) -> Self {
        self.0.occurred_at = t;
        self
    }
    /// The finished record.
    pub fn build(self) -> DetailRecord {
        self.0
    }
}

/// A plan and a scenario's records attributed by it.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub plan: Plan,
    /// Every record, attributed or flagged (never dropped), in (record type, id) order.
    pub records: Vec<StoredDetailRecord>,
    /// Records that matched nobody.
    pub unmatched: u64,
    /// Records given twice (same type and id), kept once.
    pub duplicates: u64,
}

impl std::ops::Deref for Planned {
    type Target = Plan;
    fn deref(&self) -> &Plan {
        &self.plan
    }
}

impl std::fmt::Display for Planned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.plan.fmt(f)
    }
}

impl Planned {
    /// The attribution of the record with this id.
    pub fn record(&self, id: &str) -> Option<&StoredDetailRecord> {
        self.records.iter().find(|r| r.record.id.as_str() == id)
    }
}

/// Questions tests ask of a plan.
pub trait PlanExt {
    /// The customers of `CreateCustomer` actions, in plan order.
    fn created_customers(&self) -> Vec<&Customer>;
    /// The services of `CreateService` actions, in plan order.
    fn created_services(&self) -> Vec<&Service>;
    /// The twins of `CreateWholesaleTwin` actions, in plan order.
    fn created_twins(&self) -> Vec<&Service>;
    /// The types of `CreateServiceType` actions, in plan order.
    fn created_service_types(&self) -> Vec<&ServiceType>;
    /// `(child, parent)` of `LinkServiceType` actions, in plan order.
    fn links(&self) -> Vec<(&ServiceTypeId, &ServiceTypeId)>;
    /// The services (children and twins) ceased, in plan order.
    fn ceased(&self) -> Vec<&ServiceId>;
    /// The services (children and twins) reactivated, in plan order.
    fn reactivated(&self) -> Vec<&ServiceId>;
    /// The log entries with `code`.
    fn entries(&self, code: LogCode) -> Vec<&LogEntry>;
}

impl PlanExt for Plan {
    fn created_customers(&self) -> Vec<&Customer> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::CreateCustomer { customer, .. } => Some(customer),
                _ => None,
            })
            .collect()
    }
    fn created_services(&self) -> Vec<&Service> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::CreateService(s) => Some(s),
                _ => None,
            })
            .collect()
    }
    fn created_twins(&self) -> Vec<&Service> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::CreateWholesaleTwin(s) => Some(s),
                _ => None,
            })
            .collect()
    }
    fn created_service_types(&self) -> Vec<&ServiceType> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::CreateServiceType(t) => Some(t),
                _ => None,
            })
            .collect()
    }
    fn links(&self) -> Vec<(&ServiceTypeId, &ServiceTypeId)> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::LinkServiceType { child, parent } => Some((child, parent)),
                _ => None,
            })
            .collect()
    }
    fn ceased(&self) -> Vec<&ServiceId> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::CeaseService { service, .. } => Some(service),
                _ => None,
            })
            .collect()
    }
    fn reactivated(&self) -> Vec<&ServiceId> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::ReactivateService { service } => Some(service),
                _ => None,
            })
            .collect()
    }
    fn entries(&self, code: LogCode) -> Vec<&LogEntry> {
        self.log.iter().filter(|e| e.code == code).collect()
    }
}
