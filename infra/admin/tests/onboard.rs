//! Onboarding on the in-memory store: validation first, nothing written on bad input,
//! and onboarding twice converges on one reseller customer.

#![allow(clippy::expect_used)]

use billing_admin::onboard::{
    AdminError, Mode, OnboardRequest, onboard, put_department, reseller_customer_id,
};
use reconciliation::domain::*;
use reconciliation::fakes::InMemoryStore;
use reconciliation::ports::OnboardingStore;

fn department(id: &str, parent: Option<&str>) -> Department {
    Department {
        id: id.into(),
        name: format!("{id} name"),
        billing_email: Some(format!("billing@{id}.example")),
        parent: parent.map(DepartmentId::from),
    }
}

fn wholesale(parent: &str, child: &str) -> OnboardRequest {
    OnboardRequest {
        account: "acct-acme".into(),
        organization_name: "Acme Reseller".into(),
        mode: Mode::Wholesale {
            parent_department: parent.into(),
            child_department: child.into(),
            reseller_name: "Acme Reseller".into(),
        },
        mapping: MappingPreference::PerBillingGroup,
    }
}

async fn store_with_departments() -> InMemoryStore {
    let store = InMemoryStore::new();
    put_department(&store, department("operator", None))
        .await
        .expect("operator");
    put_department(&store, department("acme-child", Some("operator")))
        .await
        .expect("child");
    store
}

#[tokio::test]
async fn a_wholesale_onboarding_creates_the_reseller_customer_in_the_parent_department() {
    let store = store_with_departments().await;
    let onboarding = onboard(&store, wholesale("operator", "acme-child"))
        .await
        .expect("onboarded");
    let reseller = reseller_customer_id(&"operator".into(), &"acct-acme".into());
    assert_eq!(
        onboarding.mode,
        BillingMode::Wholesale {
            parent_department: "operator".into(),
            reseller_customer: reseller.clone(),
            child_department: "acme-child".into(),
        }
    );
    assert_eq!(
        store.onboarding(&"acct-acme".into()).await.expect("read"),
        Some(onboarding)
    );
    let customers = store.data().state.customers;
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0].id, reseller);
    assert_eq!(customers[0].department.as_str(), "operator");
    assert_eq!(customers[0].company_name, "Acme Reseller");
}

#[tokio::test]
async fn onboarding_twice_converges_on_one_reseller_customer() {
    let store = store_with_departments().await;
    onboard(&store, wholesale("operator", "acme-child"))
        .await
        .expect("first");
    onboard(&store, wholesale("operator", "acme-child"))
        .await
        .expect("second");
    assert_eq!(store.data().state.customers.len(), 1);
    assert_eq!(store.onboardings().await.expect("list").len(), 1);
}

#[tokio::test]
async fn an_unknown_department_is_named_and_nothing_is_written() {
    let store = store_with_departments().await;
    let before = store.data().business();
    let err = onboard(&store, wholesale("operator", "no-such-dept"))
        .await
        .expect_err("rejected");
    assert!(
        matches!(&err, AdminError::UnknownDepartment(d) if d.as_str() == "no-such-dept"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("billing-admin department --id no-such-dept"),
        "{err}"
    );
    assert_eq!(store.data().business(), before);
    assert!(store.onboardings().await.expect("list").is_empty());
}

#[tokio::test]
async fn a_child_department_under_another_parent_is_rejected() {
    let store = store_with_departments().await;
    put_department(&store, department("elsewhere", None))
        .await
        .expect("dept");
    put_department(&store, department("orphan-child", Some("elsewhere")))
        .await
        .expect("dept");
    let err = onboard(&store, wholesale("operator", "orphan-child"))
        .await
        .expect_err("rejected");
    assert!(
        matches!(err, AdminError::ChildNotUnderParent { .. }),
        "{err}"
    );
    assert!(store.data().state.customers.is_empty());
}

#[tokio::test]
async fn a_direct_onboarding_needs_only_its_department_and_creates_no_reseller() {
    let store = store_with_departments().await;
    let request = OnboardRequest {
        account: "acct-beta".into(),
        organization_name: "Beta".into(),
        mode: Mode::Direct {
            department: "operator".into(),
        },
        mapping: MappingPreference::OneCustomer,
    };
    let onboarding = onboard(&store, request).await.expect("onboarded");
    assert_eq!(onboarding.mapping, MappingPreference::OneCustomer);
    assert!(store.data().state.customers.is_empty());
}

#[tokio::test]
async fn a_department_cannot_be_its_own_parent() {
    let store = InMemoryStore::new();
    let err = put_department(&store, department("loop", Some("loop")))
        .await
        .expect_err("rejected");
    assert!(err.to_string().contains("its own parent"), "{err}");
}
