//! Onboarding an account: the operator's decision to sync it, and how.
//!
//! Wholesale: the reseller customer is created in the parent department with the id
//! the account would get as a one-customer mapping there
//! ([`identity::customer_for_account`]), so onboarding twice converges on one customer.

use reconciliation::PortError;
use reconciliation::domain::{
    BillingMode, Customer, CustomerId, Department, DepartmentId, ManagedAccountId,
    MappingPreference, Onboarding,
};
use reconciliation::plan::{Action, identity};
use reconciliation::ports::{Clock, Store, SystemClock};

/// What went wrong; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(
        "department {0} does not exist: create it first with `billing-admin department --id {0} --name ...`"
    )]
    UnknownDepartment(DepartmentId),
    #[error("the child department {child} must name {parent} as its parent (it names {actual:?})")]
    ChildNotUnderParent {
        child: DepartmentId,
        parent: DepartmentId,
        actual: Option<DepartmentId>,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("the store failed")]
    Store(#[source] PortError),
}

/// How to bill the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Wholesale {
        parent_department: DepartmentId,
        child_department: DepartmentId,
        reseller_name: String,
    },
    Direct {
        department: DepartmentId,
    },
}

/// An onboarding request as the operator types it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardRequest {
    pub account: ManagedAccountId,
    pub organization_name: String,
    pub mode: Mode,
    pub mapping: MappingPreference,
}

/// Creates or replaces a department.
pub async fn put_department(store: &dyn Store, department: Department) -> Result<(), AdminError> {
    if department.id.as_str().trim().is_empty() || department.name.trim().is_empty() {
        return Err(AdminError::Invalid(
            "a department needs a non-empty id and name".into(),
        ));
    }
    if department.parent.as_ref() == Some(&department.id) {
        return Err(AdminError::Invalid(format!(
            "department {} cannot be its own parent",
            department.id
        )));
    }
    store
        .put_department(&department)
        .await
        .map_err(AdminError::Store)
}

/// Checks a request against what is stored, as [`onboard`] does, writing nothing;
/// true when the account is onboarded already (onboarding it replaces that).
pub async fn check(store: &dyn Store, request: &OnboardRequest) -> Result<bool, AdminError> {
    let (onboarding, _) = onboarding_of(request);
    let state = store
        .load_state(&onboarding)
        .await
        .map_err(AdminError::Store)?;
    check_departments(&request.mode, &state.departments)?;
    Ok(store
        .onboarding(&request.account)
        .await
        .map_err(AdminError::Store)?
        .is_some())
}

/// Whether department `id` is stored.
pub async fn department_exists(store: &dyn Store, id: &DepartmentId) -> Result<bool, AdminError> {
    let probe = Onboarding {
        account: ManagedAccountId::new("department-probe"),
        organization_name: String::new(),
        mode: BillingMode::Direct {
            department: id.clone(),
            billing_customer: None,
        },
        mapping: MappingPreference::PerBillingGroup,
    };
    let state = store.load_state(&probe).await.map_err(AdminError::Store)?;
    Ok(state.departments.iter().any(|d| &d.id == id))
}

/// Onboards an account; returns the stored onboarding. Idempotent.
pub async fn onboard(store: &dyn Store, request: OnboardRequest) -> Result<Onboarding, AdminError> {
    if request.account.as_str().trim().is_empty() {
        return Err(AdminError::Invalid(
            "the managed account id is empty".into(),
        ));
    }
    let (onboarding, reseller) = onboarding_of(&request);
    // Validate against what is stored before writing anything.
    let state = store
        .load_state(&onboarding)
        .await
        .map_err(AdminError::Store)?;
    check_departments(&request.mode, &state.departments)?;
    if let Some(reseller) = reseller {
        store
            .apply(
                &[Action::CreateCustomer {
                    customer: reseller,
                    notify: None,
                }],
                SystemClock.now(),
            )
            .await
            .map_err(AdminError::Store)?;
    }
    store
        .put_onboarding(&onboarding)
        .await
        .map_err(AdminError::Store)?;
    Ok(onboarding)
}

/// The onboarding a request asks for, and (wholesale) the reseller customer to create.
fn onboarding_of(request: &OnboardRequest) -> (Onboarding, Option<Customer>) {
    let (mode, reseller) = match &request.mode {
        Mode::Wholesale {
            parent_department,
            child_department,
            reseller_name,
        } => {
            let reseller = Customer {
                id: identity::customer_for_account(parent_department, &request.account),
                department: parent_department.clone(),
                company_name: reseller_name.clone(),
                account: Some(request.account.clone()),
                billing_group_id: None,
                source_name: None,
                created_at: None,
            };
            let mode = BillingMode::Wholesale {
                parent_department: parent_department.clone(),
                reseller_customer: reseller.id.clone(),
                child_department: child_department.clone(),
            };
            (mode, Some(reseller))
        }
        Mode::Direct { department } => (
            BillingMode::Direct {
                department: department.clone(),
                billing_customer: None,
            },
            None,
        ),
    };
    let onboarding = Onboarding {
        account: request.account.clone(),
        organization_name: request.organization_name.clone(),
        mode,
        mapping: request.mapping,
    };
    (onboarding, reseller)
}

/// The departments the mode names exist (and a child department is under its parent).
fn check_departments(mode: &Mode, stored: &[Department]) -> Result<(), AdminError> {
    let find = |id: &DepartmentId| {
        stored
            .iter()
            .find(|d| &d.id == id)
            .cloned()
            .ok_or_else(|| AdminError::UnknownDepartment(id.clone()))
    };
    match mode {
        Mode::Wholesale {
            parent_department,
            child_department,
            ..
        } => {
            find(parent_department)?;
            let child = find(child_department)?;
            if child.parent.as_ref() != Some(parent_department) {
                return Err(AdminError::ChildNotUnderParent {
                    child: child_department.clone(),
                    parent: parent_department.clone(),
                    actual: child.parent,
                });
            }
        }
        Mode::Direct { department } => {
            find(department)?;
        }
    }
    Ok(())
}

/// The reseller customer's id for a wholesale onboarding (what [`onboard`] creates).
pub fn reseller_customer_id(
    parent_department: &DepartmentId,
    account: &ManagedAccountId,
) -> CustomerId {
    identity::customer_for_account(parent_department, account)
}

/// The plan the first sync of `request` would apply, as its readable diff, before
/// anything is onboarded: the departments are checked as [`onboard`] checks them, the
/// reseller customer is assumed created, the snapshot is read with the key stored for
/// the account. Writes nothing.
pub async fn preview(
    ports: &reconciliation::ports::Ports,
    request: &OnboardRequest,
    portal_url_template: &str,
) -> Result<String, AdminError> {
    let (onboarding, reseller) = onboarding_of(request);
    let mut state = ports
        .store
        .load_state(&onboarding)
        .await
        .map_err(AdminError::Store)?;
    check_departments(&request.mode, &state.departments)?;
    if let Some(reseller) = reseller {
        if !state.customers.iter().any(|c| c.id == reseller.id) {
            state.customers.push(reseller);
        }
    }
    let key = ports.secrets.account_key(&request.account).await.map_err(|e| {
        AdminError::Invalid(format!(
            "no usable key for account {}: {} (store it first: billing-admin put-key --account {} < key.txt)",
            request.account,
            e.chain(),
            request.account
        ))
    })?;
    let snapshot = ports.telnyx.snapshot(&key).await.map_err(|e| {
        AdminError::Invalid(format!(
            "reading account {} from Telnyx: {}",
            request.account,
            e.chain()
        ))
    })?;
    let settings = reconciliation::plan::PlanSettings::at(portal_url_template, ports.clock.now());
    let plan = reconciliation::plan::plan(&reconciliation::plan::PlanInput::new(
        &onboarding,
        &snapshot,
        &state,
        settings,
    ));
    Ok(plan.render_diff())
}
