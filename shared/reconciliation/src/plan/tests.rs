//! Scenario tests of `plan()`, one or more per mapping rule (docs/mapping-rules.md),
//! named after what they check.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::codes::LogCode;
use super::identity;
use super::*;
use crate::domain::*;
use crate::fixtures::*;

fn conn(id: &str) -> ServiceSource {
    ServiceSource::Connection(id.into())
}

fn num(id: &str) -> ServiceSource {
    ServiceSource::PhoneNumber(id.into())
}

fn service_on<'p>(plan: &'p Plan, source: &ServiceSource) -> Vec<&'p Service> {
    plan.created_services()
        .into_iter()
        .filter(|s| &s.source == source)
        .collect()
}

// ---- Rules 1, 2, 3, 4, 5: billing groups and customers --------------------------------

#[test]
fn new_billing_group_yields_exactly_one_customer_and_one_notification_with_every_required_field() {
    let mut s = Scenario::wholesale()
        .billing_group("bg-a", "Customer A")
        .sip_connection("conn-1", "Main trunk", Some("bg-a"))
        .sip_connection("conn-2", "Backup trunk", Some("bg-a"));
    let plan = s.settle();

    let customers = plan.created_customers();
    assert_eq!(customers.len(), 1);
    let c = customers[0];
    assert_eq!(c.id, s.customer_of_group("bg-a"));
    assert_eq!(c.company_name, "Customer A");
    assert_eq!(c.department.as_str(), CHILD_DEPT);
    assert_eq!(c.billing_group_id, Some("bg-a".into()));
    assert_eq!(c.account, Some(ACCOUNT.into()));

    let notes: Vec<_> = plan.notifications().collect();
    assert_eq!(notes.len(), 1);
    let Notification::NewCustomer {
        to,
        account,
        customer_id,
        customer_name,
        department_id,
        department_name,
        billing_group_id,
        connections,
        link,
    } = notes[0]
    else {
        panic!("expected a new-customer notification, got {:?}", notes[0]);
    };
    assert_eq!(to, &vec!["billing@acme.example".to_owned()]);
    assert_eq!(account.as_str(), ACCOUNT);
    assert_eq!(customer_id, &c.id);
    assert_eq!(customer_name, "Customer A");
    assert_eq!(department_id.as_str(), CHILD_DEPT);
    assert_eq!(department_name, "Acme customers");
    assert_eq!(billing_group_id, &Some("bg-a".into()));
    assert_eq!(
        connections,
        &vec![
            "Main trunk (conn-1)".to_owned(),
            "Backup trunk (conn-2)".to_owned()
        ]
    );
    assert_eq!(
        link,
        &format!("https://billing.example.com/customers/{}", c.id)
    );

    let again = s.plan();
    assert!(again.created_customers().is_empty());
    assert_eq!(again.notifications().count(), 0);
}

#[test]
fn the_portal_link_fills_customer_department_and_account_ids_wherever_they_appear() {
    let mut s = Scenario::wholesale().billing_group("bg-a", "A");
    s.settings.portal_url_template =
        "https://portal.example/{account_id}/depts/{department_id}/customers/{customer_id}?back={department_id}"
            .into();
    let plan = s.plan();
    let Some(Notification::NewCustomer { link, .. }) = plan.notifications().next() else {
        panic!("no notification: {plan}");
    };
    assert_eq!(
        link,
        &format!(
            "https://portal.example/{ACCOUNT}/depts/{CHILD_DEPT}/customers/{}?back={CHILD_DEPT}",
            s.customer_of_group("bg-a")
        )
    );
}

#[test]
fn department_without_billing_email_creates_the_customer_queues_no_email_and_logs_it() {
    let plan = Scenario::wholesale()
        .without_billing_email()
        .billing_group("bg-a", "Customer A")
        .plan();
    assert_eq!(plan.created_customers().len(), 1);
    assert_eq!(plan.notifications().count(), 0);
    let entries = plan.entries(LogCode::DepartmentWithoutBillingEmail);
    assert_eq!(entries.len(), 1);
    assert!(entries[0].message.contains("Acme customers"));
}

#[test]
fn connection_belongs_to_the_billing_group_of_its_outbound_voice_profile() {
    let s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .billing_group("bg-b", "B")
        .sip_connection("conn-1", "Trunk", Some("bg-b"));
    let plan = s.plan();
    let svcs = service_on(&plan, &conn("conn-1"));
    assert_eq!(svcs.len(), 1);
    assert_eq!(svcs[0].customer, s.customer_of_group("bg-b"));
}

#[test]
fn single_billing_group_takes_unassigned_connections() {
    let s = Scenario::wholesale()
        .billing_group("bg-a", "Only group")
        .sip_connection("conn-1", "Unassigned trunk", None)
        .number("num-1", "+13125550100", Some("conn-1"), None)
        .messaging_number("num-2", "+13125550101", None);
    let plan = s.plan();
    let a = s.customer_of_group("bg-a");
    assert_eq!(service_on(&plan, &conn("conn-1"))[0].customer, a);
    assert_eq!(service_on(&plan, &num("num-1"))[0].customer, a);
    assert_eq!(service_on(&plan, &num("num-2"))[0].customer, a);
    assert!(
        plan.entries(LogCode::ConnectionWithoutBillingGroup)
            .is_empty()
    );
}

#[test]
fn several_billing_groups_leave_an_unassigned_connection_without_a_customer_and_log_it_every_run() {
    let mut s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .billing_group("bg-b", "B")
        .sip_connection("conn-1", "Lonely trunk", None);
    let first = s.settle();
    assert!(service_on(&first, &conn("conn-1")).is_empty());
    let entries = first.entries(LogCode::ConnectionWithoutBillingGroup);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].severity, Severity::Warning);
    assert!(entries[0].message.contains("'Lonely trunk' (conn-1)"));
    assert!(entries[0].message.contains("next run"));

    let second = s.settle();
    assert!(second.has_no_actions());
    assert_eq!(
        second.entries(LogCode::ConnectionWithoutBillingGroup).len(),
        1
    );

    // Assigned in Telnyx: picked up on the next run.
    for p in &mut s.snapshot.outbound_voice_profiles {
        p.billing_group_id = Some("bg-b".into());
    }
    let third = s.plan();
    let svcs = service_on(&third, &conn("conn-1"));
    assert_eq!(svcs.len(), 1);
    assert_eq!(svcs[0].customer, s.customer_of_group("bg-b"));
    assert!(
        third
            .entries(LogCode::ConnectionWithoutBillingGroup)
            .is_empty()
    );
}

#[test]
fn no_billing_group_logs_an_error_and_still_attributes_cdr_to_the_reseller() {
    let plan = Scenario::wholesale()
        .sip_connection("conn-1", "Trunk", None)
        .record(record(RecordType::SipTrunking, "r1").connection("conn-1"))
        .plan();
    assert!(plan.created_customers().is_empty());
    assert!(plan.created_services().is_empty());
    let e = plan.entries(LogCode::NoBillingGroup);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].severity, Severity::Error);
    assert!(e[0].message.contains("create a billing group"));
    let r = plan.record("r1").unwrap();
    assert_eq!(r.billing_customer, Some(RESELLER.into()));
    assert_eq!(r.department.as_str(), PARENT_DEPT);
    assert_eq!(r.matched_by, MatchedBy::Unmatched);
}

// ---- Rules 6, 8, 10: services and their types ----------------------------------------

#[test]
fn numbers_become_services_on_their_own_billing_group_first_else_their_connections() {
    let s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .billing_group("bg-b", "B")
        .sip_connection("conn-1", "Trunk", Some("bg-a"))
        .number("num-own", "+13125550101", Some("conn-1"), Some("bg-b"))
        .number("num-conn", "+13125550102", Some("conn-1"), None);
    let plan = s.plan();
    let own = service_on(&plan, &num("num-own"));
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].customer, s.customer_of_group("bg-b"));
    assert_eq!(own[0].label, "+13125550101");
    let via = service_on(&plan, &num("num-conn"));
    assert_eq!(via[0].customer, s.customer_of_group("bg-a"));
}

#[test]
fn several_billing_groups_leave_a_number_without_group_or_assigned_connection_without_a_customer_and_log_it()
 {
    let s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .billing_group("bg-b", "B")
        .sip_connection("conn-1", "Lonely trunk", None)
        .number("num-1", "+13125550100", Some("conn-1"), None)
        .messaging_number("num-2", "+13125550101", None);
    let plan = s.plan();
    assert!(service_on(&plan, &num("num-1")).is_empty());
    assert!(service_on(&plan, &num("num-2")).is_empty());
    let e = plan.entries(LogCode::PhoneNumberWithoutCustomer);
    assert_eq!(e.len(), 2);
    assert!(e.iter().all(|x| x.severity == Severity::Warning));
    assert!(
        e[0].message.contains("+13125550100 (num-1)"),
        "{}",
        e[0].message
    );
    assert!(
        e[1].message.contains("+13125550101 (num-2)"),
        "{}",
        e[1].message
    );
}

#[test]
fn a_number_takes_its_connections_first_service_type() {
    let plan = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .sip_connection("conn-1", "Trunk", Some("bg-a"))
        .usage("conn-1", ServiceTypeName::Webrtc)
        .usage("conn-1", ServiceTypeName::CallControl)
        .number("num-1", "+13125550100", Some("conn-1"), None)
        .plan();
    let svcs = service_on(&plan, &num("num-1"));
    assert_eq!(svcs.len(), 1);
    // CallControl precedes WebRTC in the service-type table.
    assert_eq!(svcs[0].service_type_name, ServiceTypeName::CallControl);
}

/// A fax application and a SIP connection on one customer, a number on the fax app.
fn fax_number_scenario() -> Scenario {
    Scenario::wholesale()
        .billing_group("bg-a", "A")
        .connection(
            "conn-fax",
            "Fax app",
            ConnectionKind::FaxApplication,
            Some("bg-a"),
        )
        .sip_connection("conn-sip", "Trunk", Some("bg-a"))
        .number("num-1", "+13125550100", Some("conn-fax"), None)
        .settled()
}

fn move_number(s: &mut Scenario, number: &str, connection: Option<&str>) {
    for n in &mut s.snapshot.phone_numbers {
        if n.id.as_str() == number {
            n.connection_id = connection.map(ConnectionId::new);
        }
    }
}

#[test]
fn a_number_moved_from_a_fax_application_to_a_sip_connection_is_retyped() {
    let mut s = fax_number_scenario();
    let fax = s
        .stored_service(&num("num-1"), ServiceTypeName::Fax)
        .unwrap()
        .id
        .clone();
    let fax_twin = identity::wholesale_twin(&PARENT_DEPT.into(), &fax);
    move_number(&mut s, "num-1", Some("conn-sip"));
    let plan = s
        .clone()
        .record(record(RecordType::SipTrunking, "r1").outbound("+13125550100", "+14155550000"))
        .plan();

    assert_eq!(plan.ceased(), vec![&fax, &fax_twin]);
    let created = service_on(&plan, &num("num-1"));
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].service_type_name, ServiceTypeName::SipTrunking);
    assert_eq!(created[0].customer, s.customer_of_group("bg-a"));
    assert_eq!(plan.created_twins().len(), 1);
    // The number's usage lands on its new service.
    assert_eq!(
        plan.record("r1").unwrap().service,
        Some(created[0].id.clone())
    );
    let e = plan.entries(LogCode::ServiceRetyped);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].severity, Severity::Info);
    assert!(
        e[0].message.starts_with(
            "Phone number +13125550100 (num-1) is now used as SIP Trunking (it is on connection 'Trunk' (conn-sip) now), no longer as Fax:"
        ),
        "{}",
        e[0].message
    );
    assert!(e[0].message.contains("nothing to do"), "{}", e[0].message);
    assert!(plan.entries(LogCode::ServiceMoved).is_empty());

    // Settled: stable. Moved back: the Fax service comes back, the SIP one is ceased.
    let sip = created[0].id.clone();
    s.settle();
    assert!(s.plan().has_no_actions(), "{}", s.plan());
    move_number(&mut s, "num-1", Some("conn-fax"));
    let back = s.settle();
    assert_eq!(back.reactivated(), vec![&fax, &fax_twin]);
    assert!(back.ceased().contains(&&sip));
    assert!(back.created_services().is_empty());
    assert!(s.plan().has_no_actions());
}

#[test]
fn a_number_keeps_its_type_when_its_connection_gains_another_type() {
    // The fax app starts carrying Call Control usage; Call Control precedes Fax in the
    // table, so it becomes the connection's first type.
    let mut s = fax_number_scenario()
        .record(record(RecordType::CallControl, "r1").connection("conn-fax"))
        .record(record(RecordType::Webrtc, "r2").connection("conn-fax"));
    let plan = s.settle();
    assert_eq!(service_on(&plan, &conn("conn-fax")).len(), 2);
    assert!(service_on(&plan, &num("num-1")).is_empty(), "{plan}");
    assert!(plan.ceased().is_empty());
    assert!(plan.entries(LogCode::ServiceRetyped).is_empty());
    assert!(
        s.stored_service(&num("num-1"), ServiceTypeName::Fax)
            .is_some_and(|x| x.status == ServiceStatus::Active)
    );
    // A number new on that connection takes its first type now.
    let next = s
        .no_records()
        .number("num-2", "+13125550101", Some("conn-fax"), None)
        .plan();
    assert_eq!(
        service_on(&next, &num("num-2"))[0].service_type_name,
        ServiceTypeName::CallControl
    );
    assert!(service_on(&next, &num("num-1")).is_empty());
    assert!(next.ceased().is_empty());
}

#[test]
fn a_messaging_number_put_on_a_connection_is_retyped_to_the_connections_type() {
    let mut s = Scenario::direct()
        .billing_group("bg-a", "A")
        .sip_connection("conn-1", "Trunk", Some("bg-a"))
        .messaging_number("num-1", "+13125550100", None)
        .settled();
    move_number(&mut s, "num-1", Some("conn-1"));
    let plan = s.settle();
    assert_eq!(plan.ceased().len(), 1);
    assert_eq!(
        service_on(&plan, &num("num-1"))[0].service_type_name,
        ServiceTypeName::SipTrunking
    );
    assert_eq!(plan.entries(LogCode::ServiceRetyped).len(), 1);
    assert!(s.plan().has_no_actions());
}

#[test]
fn a_number_that_loses_its_connection_and_has_no_messaging_profile_keeps_its_service_and_is_logged()
{
    let mut s = fax_number_scenario();
    move_number(&mut s, "num-1", None);
    let plan = s.plan();
    assert!(plan.has_no_actions(), "{plan}");
    let e = plan.entries(LogCode::PhoneNumberWithoutServiceType);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].message
            .contains("its Fax service stays active meanwhile"),
        "{}",
        e[0].message
    );
}

#[test]
fn messaging_profile_number_without_connection_becomes_a_messaging_service() {
    let plan = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .messaging_number("num-sms", "+13125550100", None)
        .plan();
    let svcs = service_on(&plan, &num("num-sms"));
    assert_eq!(svcs.len(), 1);
    assert_eq!(svcs[0].service_type_name, ServiceTypeName::Messaging);
    let types = plan.created_service_types();
    assert!(
        types
            .iter()
            .all(|t| t.name == ServiceTypeName::Messaging && t.category == Category::Sms)
    );
}

#[test]
fn a_number_with_neither_connection_nor_messaging_profile_gets_no_service_and_is_logged() {
    let plan = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .number("num-1", "+13125550100", None, None)
        .plan();
    assert!(service_on(&plan, &num("num-1")).is_empty());
    assert_eq!(
        plan.entries(LogCode::PhoneNumberWithoutServiceType).len(),
        1
    );
}

#[test]
fn service_types_follow_cdr_usage_one_service_per_type_seen() {
    let plan = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .sip_connection("conn-1", "Trunk", Some("bg-a"))
        .usage("conn-1", ServiceTypeName::SipTrunking)
        .record(record(RecordType::Webrtc, "r1").connection("conn-1"))
        .record(record(RecordType::ConferenceParticipant, "r2").connection("conn-1"))
        .plan();
    let mut types: Vec<_> = service_on(&plan, &conn("conn-1"))
        .iter()
        .map(|s| s.service_type_name)
        .collect();
    types.sort();
    assert_eq!(
        types,
        vec![
            ServiceTypeName::SipTrunking,
            ServiceTypeName::Conference,
            ServiceTypeName::Webrtc
        ]
    );
    // The run's records land on the services created for them.
    let r1 = plan.record("r1").unwrap();
    let webrtc = service_on(&plan, &conn("conn-1"))
        .into_iter()
        .find(|s| s.service_type_name == ServiceTypeName::Webrtc)
        .unwrap();
    assert_eq!(r1.service, Some(webrtc.id.clone()));
}

#[test]
fn usage_is_sticky_a_later_run_without_cdr_keeps_every_type() {
    let mut s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .sip_connection("conn-1", "Trunk", Some("bg-a"))
        .record(record(RecordType::Webrtc, "r1").connection("conn-1"))
        .settled()
        .no_records();
    let plan = s.settle();
    assert!(plan.has_no_actions(), "{plan}");
    assert!(
        s.stored_service(&conn("conn-1"), ServiceTypeName::Webrtc)
            .is_some_and(|x| x.status == ServiceStatus::Active)
    );
}

#[test]
fn service_types_fall_back_to_the_connection_kind_without_usage() {
    let cases = [
        (
            ConnectionKind::Credential,
            Some(ServiceTypeName::SipTrunking),
        ),
        (ConnectionKind::Ip, Some(ServiceTypeName::SipTrunking)),
        (ConnectionKind::Fqdn, Some(ServiceTypeName::SipTrunking)),
        (
            ConnectionKind::CallControlApplication,
            Some(ServiceTypeName::CallControl),
        ),
        (
            ConnectionKind::TexmlApplication,
            Some(ServiceTypeName::CallControl),
        ),
        (ConnectionKind::FaxApplication, Some(ServiceTypeName::Fax)),
        (ConnectionKind::Other("mystery".into()), None),
    ];
    for (kind, expected) in cases {
        let plan = Scenario::wholesale()
            .billing_group("bg-a", "A")
            .connection("conn-1", "C", kind.clone(), Some("bg-a"))
            .plan();
        let got: Vec<_> = service_on(&plan, &conn("conn-1"))
            .iter()
            .map(|s| s.service_type_name)
            .collect();
        assert_eq!(got, expected.into_iter().collect::<Vec<_>>(), "{kind:?}");
        if expected.is_none() {
            let e = plan.entries(LogCode::ConnectionKindWithoutServiceType);
            assert_eq!(e.len(), 1);
            assert!(
                e[0].message.ends_with("; nothing to do"),
                "{}",
                e[0].message
            );
        }
    }
}

#[test]
fn every_record_type_bills_as_its_service_type_with_its_category() {
    let mut s = Scenario::direct()
        .billing_group("bg-a", "A")
        .sip_connection("conn-1", "Trunk", Some("bg-a"));
    for (i, t) in RecordType::ALL.iter().enumerate() {
        s = s.record(record(*t, &format!("r{i}")).connection("conn-1"));
    }
    let plan = s.plan();
    let types = plan.created_service_types();
    assert_eq!(types.len(), 20);
    for t in types {
        assert_eq!(t.category, t.name.category());
    }
    for (i, t) in RecordType::ALL.iter().enumerate() {
        let r = plan.record(&format!("r{i}")).unwrap();
        let svc = plan
            .created_services()
            .into_iter()
            .find(|x| Some(&x.id) == r.service.as_ref())
            .unwrap();
        assert_eq!(svc.service_type_name, t.service_type(), "{t}");
    }
}

// ---- Rule 9 and wholesale twins ------------------------------------------------------

#[test]
fn service_types_are_created_in_both_departments_and_the_child_type_is_linked() {
    let mut s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .sip_connection("conn-1", "Trunk", Some("bg-a"));
    let plan = s.settle();
    let types = plan.created_service_types();
    assert_eq!(types.len(), 2);
    let parent = types
        .iter()
        .find(|t| t.department.as_str() == PARENT_DEPT)
        .unwrap();
    let child = types
        .iter()
        .find(|t| t.department.as_str() == CHILD_DEPT)
        .unwrap();
    assert_eq!(parent.name, ServiceTypeName::SipTrunking);
    assert_eq!(parent.category, Category::Voice);
    assert_eq!(child.wholesale_parent, Some(parent.id.clone()));
    assert_eq!(plan.links(), vec![(&child.id, &parent.id)]);
    assert!(s.plan().created_service_types().is_empty());
}

#[test]
fn every_child_service_gets_a_wholesale_twin_under_the_reseller_in_the_parent_department() {
    let plan = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .sip_connection("conn-1", "Trunk", Some("bg-a"))
        .number("num-1", "+13125550100", Some("conn-1"), None)
        .plan();
    let services = plan.created_services();
    let twins = plan.created_twins();
    assert_eq!(services.len(), 2);
    assert_eq!(twins.len(), 2);
    for svc in services {
        let twin = twins
            .iter()
            .find(|t| t.twin_of.as_ref() == Some(&svc.id))
            .unwrap();
        assert_eq!(
            twin.id,
            identity::wholesale_twin(&PARENT_DEPT.into(), &svc.id)
        );
        assert_eq!(twin.customer.as_str(), RESELLER);
        assert_eq!(twin.department.as_str(), PARENT_DEPT);
        assert_eq!(twin.source, svc.source);
        assert_eq!(
            twin.service_type,
            identity::service_type(&PARENT_DEPT.into(), svc.service_type_name)
        );
    }
}

#[test]
fn a_missing_wholesale_link_logs_a_warning_and_makes_no_twin() {
    let mut s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .sip_connection("conn-1", "Trunk", Some("bg-a"))
        .settled();
    // An operator removes the link; a new connection of the same type appears.
    for t in &mut s.state.service_types {
        t.wholesale_parent = None;
    }
    let s = s.sip_connection("conn-2", "Second trunk", Some("bg-a"));
    let plan = s.plan();
    assert_eq!(service_on(&plan, &conn("conn-2")).len(), 1);
    assert!(plan.created_twins().is_empty());
    assert!(
        plan.links().is_empty(),
        "an operator's unlink is not undone"
    );
    let e = plan.entries(LogCode::WholesaleLinkMissing);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].severity, Severity::Warning);
    assert!(e[0].message.contains("SIP Trunking"));
}

#[test]
fn direct_mode_makes_no_twins_and_keeps_everything_in_one_department() {
    let plan = Scenario::direct()
        .billing_group("bg-a", "A")
        .sip_connection("conn-1", "Trunk", Some("bg-a"))
        .record(record(RecordType::SipTrunking, "r1").connection("conn-1"))
        .plan();
    assert!(plan.created_twins().is_empty());
    assert!(plan.links().is_empty());
    assert_eq!(plan.created_service_types().len(), 1);
    assert!(
        plan.created_service_types()
            .iter()
            .all(|t| t.department.as_str() == PARENT_DEPT && t.wholesale_parent.is_none())
    );
    let r = plan.record("r1").unwrap();
    let a = plan.created_customers()[0].id.clone();
    assert_eq!(r.department.as_str(), PARENT_DEPT);
    assert_eq!(r.billing_customer, Some(a.clone()));
    assert_eq!(r.end_customer, Some(a));
}

#[test]
fn direct_mode_bills_unmatched_records_to_its_billing_customer() {
    let plan = Scenario::direct()
        .direct_billing_customer("cus-direct")
        .billing_group("bg-a", "A")
        .record(record(RecordType::Messaging, "r1"))
        .plan();
    let r = plan.record("r1").unwrap();
    assert_eq!(r.matched_by, MatchedBy::Unmatched);
    assert_eq!(r.billing_customer, Some("cus-direct".into()));
}

// ---- Rule 7: one customer ------------------------------------------------------------

#[test]
fn one_customer_preference_puts_everything_on_one_customer_named_after_the_organization() {
    let s = Scenario::wholesale()
        .one_customer()
        .billing_group("bg-a", "A")
        .billing_group("bg-b", "B")
        .sip_connection("conn-1", "Trunk 1", Some("bg-a"))
        .sip_connection("conn-2", "Trunk 2", None)
        .messaging_number("num-1", "+13125550100", Some("bg-b"))
        .record(record(RecordType::SipTrunking, "r1").billing_group("bg-b"));
    let plan = s.plan();
    let customers = plan.created_customers();
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0].company_name, "Acme Telecom");
    assert_eq!(customers[0].id, s.account_customer());
    assert_eq!(customers[0].billing_group_id, None);
    assert!(
        plan.created_services()
            .iter()
            .all(|x| x.customer == s.account_customer())
    );
    assert_eq!(plan.created_services().len(), 3);
    assert!(
        plan.entries(LogCode::ConnectionWithoutBillingGroup)
            .is_empty()
    );
    assert_eq!(
        plan.record("r1").unwrap().end_customer,
        Some(s.account_customer())
    );
    let Some(Notification::NewCustomer { connections, .. }) = plan.notifications().next() else {
        panic!("no notification");
    };
    assert_eq!(connections.len(), 2);
}

// ---- Rule 11 -------------------------------------------------------------------------

#[test]
fn connection_whose_numbers_point_elsewhere_keeps_its_profiles_group_and_logs_the_difference() {
    let s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .billing_group("bg-b", "B")
        .sip_connection("conn-1", "Trunk", Some("bg-a"))
        .number("num-1", "+13125550100", Some("conn-1"), Some("bg-b"));
    let plan = s.plan();
    assert_eq!(
        service_on(&plan, &conn("conn-1"))[0].customer,
        s.customer_of_group("bg-a")
    );
    assert_eq!(
        service_on(&plan, &num("num-1"))[0].customer,
        s.customer_of_group("bg-b")
    );
    let e = plan.entries(LogCode::ConnectionBillingGroupMismatch);
    assert_eq!(e.len(), 1);
    assert!(e[0].message.contains("bg-b"));
}

// ---- Rules 12, 13 --------------------------------------------------------------------

#[test]
fn renamed_billing_group_creates_no_second_customer_keeps_the_name_and_logs_it() {
    let mut s = Scenario::wholesale()
        .billing_group("bg-a", "Old name")
        .settled()
        .rename_billing_group("bg-a", "New name");
    let plan = s.settle();
    assert!(plan.created_customers().is_empty());
    assert!(plan.has_no_actions());
    let stored = s
        .state
        .customers
        .iter()
        .find(|c| c.id == s.customer_of_group("bg-a"))
        .unwrap();
    assert_eq!(stored.company_name, "Old name");
    let e = plan.entries(LogCode::BillingGroupRenamed);
    assert_eq!(e.len(), 1);
    assert!(e[0].message.contains("'Old name' to 'New name'"));
}

#[test]
fn deleted_billing_group_keeps_customer_and_services_and_warns() {
    for deleted_how in ["deleted_at", "gone"] {
        let s = Scenario::wholesale()
            .billing_group("bg-a", "A")
            .billing_group("bg-b", "B")
            .sip_connection("conn-1", "Trunk", Some("bg-a"))
            .record(record(RecordType::SipTrunking, "r0").connection("conn-1"))
            .settled()
            .no_records()
            .record(record(RecordType::SipTrunking, "r1").billing_group("bg-a"));
        let mut s = if deleted_how == "gone" {
            s.remove_billing_group("bg-a")
        } else {
            let mut s = s;
            for g in &mut s.snapshot.billing_groups {
                if g.id.as_str() == "bg-a" {
                    g.deleted_at = Some(fixed_now());
                }
            }
            s
        };
        let plan = s.settle();
        assert!(plan.has_no_actions(), "{deleted_how}: {plan}");
        assert!(plan.ceased().is_empty());
        let e = plan.entries(LogCode::BillingGroupDeleted);
        assert_eq!(e.len(), 1, "{deleted_how}");
        assert_eq!(e[0].severity, Severity::Warning);
        // Records naming the deleted group still land on its customer.
        assert_eq!(
            plan.record("r1").unwrap().end_customer,
            Some(s.customer_of_group("bg-a"))
        );
        assert!(
            s.stored_service(&conn("conn-1"), ServiceTypeName::SipTrunking)
                .is_some_and(|x| x.status == ServiceStatus::Active)
        );
    }
}

#[test]
fn a_deleted_billing_group_without_a_customer_gets_none_and_what_points_at_it_is_reported_accurately()
 {
    let s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .billing_group("bg-b", "B")
        .deleted_billing_group("bg-c", "Closed C")
        .sip_connection("conn-c", "Trunk C", Some("bg-c"))
        .sip_connection("conn-x", "Trunk X", Some("bg-unknown"));
    let plan = s.plan();
    let groups: Vec<_> = plan
        .created_customers()
        .iter()
        .map(|c| c.billing_group_id.clone())
        .collect();
    assert_eq!(groups, vec![Some("bg-a".into()), Some("bg-b".into())]);
    let e = plan.entries(LogCode::DeletedBillingGroupWithoutCustomer);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].severity, Severity::Info);
    assert!(
        e[0].message.starts_with(
            "Billing group 'Closed C' (bg-c) is deleted in Telnyx and has no customer here: none is created for a deleted group; nothing to do"
        ),
        "{}",
        e[0].message
    );
    assert!(plan.entries(LogCode::BillingGroupDeleted).is_empty());
    let e = plan.entries(LogCode::ConnectionWithoutBillingGroup);
    assert_eq!(e.len(), 2);
    assert!(
        e[0].message.starts_with(
            "Connection 'Trunk C' (conn-c) points at billing group 'Closed C' (bg-c), which is deleted in Telnyx (a deleted group gets no new customer): assign it"
        ),
        "{}",
        e[0].message
    );
    assert!(
        e[1].message.starts_with(
            "Connection 'Trunk X' (conn-x) points at billing group bg-unknown, which Telnyx does not list: assign it"
        ),
        "{}",
        e[1].message
    );
}

#[test]
fn a_number_whose_connection_vanished_keeps_its_service_on_its_customer_and_the_log_says_so() {
    let mut s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .billing_group("bg-b", "B")
        .sip_connection("conn-1", "Trunk", Some("bg-a"))
        .number("num-1", "+13125550100", Some("conn-1"), None)
        .settled()
        .remove_connection("conn-1")
        .record(record(RecordType::SipTrunking, "r1").inbound("+14155550000", "+13125550100"));
    let a = s.customer_of_group("bg-a");
    let number_service = s
        .stored_service(&num("num-1"), ServiceTypeName::SipTrunking)
        .unwrap()
        .id
        .clone();
    let plan = s.settle();
    // The connection is gone: its service is ceased. The number is still there: kept.
    assert_eq!(plan.ceased().len(), 2, "{plan}");
    assert!(!plan.ceased().contains(&&number_service));
    let e = plan.entries(LogCode::PhoneNumberWithoutCustomer);
    assert_eq!(e.len(), 1);
    assert_eq!(
        e[0].message,
        format!(
            "Phone number +13125550100 (num-1) has no billing group and its connection conn-1 is gone from Telnyx, so it belongs to no customer: its SIP Trunking service {number_service} stays on customer {a}, where its usage is still attributed (cease it by hand if the customer gave it up); set its billing group, or put it on a connection whose outbound voice profile has one, in Telnyx; it will be picked up on the next run"
        )
    );
    // Consistent with the message: its usage goes to that customer and service.
    let r = plan.record("r1").unwrap();
    assert_eq!(r.end_customer, Some(a));
    assert_eq!(r.service, Some(number_service));
    assert!(s.plan().has_no_actions());
}

#[test]
fn a_connection_that_loses_its_billing_group_keeps_its_services_and_the_log_says_so() {
    let mut s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .billing_group("bg-b", "B")
        .sip_connection("conn-1", "Trunk", Some("bg-a"))
        .settled();
    for p in &mut s.snapshot.outbound_voice_profiles {
        p.billing_group_id = None;
    }
    let svc = s
        .stored_service(&conn("conn-1"), ServiceTypeName::SipTrunking)
        .unwrap()
        .id
        .clone();
    let plan = s.plan();
    assert!(plan.has_no_actions(), "{plan}");
    let e = plan.entries(LogCode::ConnectionWithoutBillingGroup);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].message.ends_with(&format!(
            "it will be picked up on the next run; meanwhile its SIP Trunking service {svc} stays on customer {}, where its usage is still attributed (cease it by hand if the customer gave it up)",
            s.customer_of_group("bg-a")
        )),
        "{}",
        e[0].message
    );
}

// ---- Rule 14 -------------------------------------------------------------------------

#[test]
fn a_vanished_connection_ceases_its_service_and_twin_and_a_returning_one_reactivates_them() {
    let mut s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .sip_connection("conn-1", "Trunk", Some("bg-a"))
        .settled();
    let child = s
        .stored_service(&conn("conn-1"), ServiceTypeName::SipTrunking)
        .unwrap()
        .id
        .clone();
    let twin = identity::wholesale_twin(&PARENT_DEPT.into(), &child);
    let full = s.snapshot.clone();

    s = s.remove_connection("conn-1").days_later(1);
    let on = s.settings.today;
    let gone = s.settle();
    assert_eq!(gone.ceased(), vec![&child, &twin]);
    assert!(
        s.state
            .services
            .iter()
            .filter(|x| x.id == child || x.id == twin)
            .all(|x| x.status == ServiceStatus::Ceased { on })
    );
    let e = gone.entries(LogCode::ServiceCeased);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].message.starts_with(&format!(
            "'Trunk' (connection conn-1) is gone from Telnyx: its SIP Trunking service {child} on customer {} is ceased on {on} with its wholesale twin; nothing to do if it was removed on purpose",
            s.customer_of_group("bg-a")
        )),
        "{}",
        e[0].message
    );
    assert!(s.plan().has_no_actions(), "ceasing is not repeated");

    s.snapshot = full;
    let back = s.settle();
    assert_eq!(back.reactivated(), vec![&child, &twin]);
    let e = back.entries(LogCode::ServiceReactivated);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].severity, Severity::Info);
    assert!(
        e[0].message.starts_with(&format!(
            "Connection 'Trunk' (conn-1) is in Telnyx again as customer {}'s SIP Trunking: its service {child}, ceased on {on}, is reactivated with its wholesale twin; nothing to do"
        , s.customer_of_group("bg-a"))),
        "{}",
        e[0].message
    );
    assert!(back.created_services().is_empty() && back.created_twins().is_empty());
    assert!(s.plan().has_no_actions());
}

#[test]
fn a_twin_out_of_step_with_its_service_follows_it_again_and_is_logged() {
    let mut s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .sip_connection("conn-1", "Trunk", Some("bg-a"))
        .sip_connection("conn-2", "Old trunk", Some("bg-a"))
        .settled()
        .remove_connection("conn-2")
        .settled();
    let child = |s: &Scenario, c: &str| {
        s.stored_service(&conn(c), ServiceTypeName::SipTrunking)
            .unwrap()
            .id
            .clone()
    };
    let (active, ceased) = (child(&s, "conn-1"), child(&s, "conn-2"));
    let twin_of = |id: &ServiceId| identity::wholesale_twin(&PARENT_DEPT.into(), id);
    // By hand: the active service's twin ceased, the ceased service's twin reactivated.
    for x in &mut s.state.services {
        if x.id == twin_of(&active) {
            x.status = ServiceStatus::Ceased {
                on: fixed_now().date_naive(),
            };
        } else if x.id == twin_of(&ceased) {
            x.status = ServiceStatus::Active;
        }
    }
    let plan = s.settle();
    assert_eq!(plan.reactivated(), vec![&twin_of(&active)]);
    assert_eq!(plan.ceased(), vec![&twin_of(&ceased)]);
    let back = plan.entries(LogCode::WholesaleTwinReactivated);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].severity, Severity::Warning);
    assert!(
        back[0].message.starts_with(&format!(
            "Wholesale twin {} of 'Trunk' (SIP Trunking service {active} on customer {}) is ceased while its service is active",
            twin_of(&active),
            s.customer_of_group("bg-a")
        )),
        "{}",
        back[0].message
    );
    assert!(back[0].message.contains("nothing to do"));
    let off = plan.entries(LogCode::WholesaleTwinCeased);
    assert_eq!(off.len(), 1);
    assert!(
        off[0]
            .message
            .contains(&format!("service {ceased} on customer"))
    );
    assert!(plan.entries(LogCode::ServiceCeased).is_empty());
    assert!(plan.entries(LogCode::ServiceReactivated).is_empty());
    assert!(s.plan().has_no_actions());
}

#[test]
fn a_vanished_number_ceases_its_service_never_deletes_it() {
    let mut s = Scenario::direct()
        .billing_group("bg-a", "A")
        .messaging_number("num-1", "+13125550100", None)
        .settled()
        .remove_number("num-1");
    let plan = s.settle();
    assert_eq!(plan.ceased().len(), 1);
    assert!(
        s.stored_service(&num("num-1"), ServiceTypeName::Messaging)
            .is_some_and(|x| matches!(x.status, ServiceStatus::Ceased { .. }))
    );
}

#[test]
fn a_connection_moving_to_another_billing_group_ceases_the_old_service_and_creates_a_new_one() {
    let mut s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .billing_group("bg-b", "B")
        .sip_connection("conn-1", "Trunk", Some("bg-a"))
        .settled();
    let old = s
        .stored_service(&conn("conn-1"), ServiceTypeName::SipTrunking)
        .unwrap()
        .id
        .clone();
    for p in &mut s.snapshot.outbound_voice_profiles {
        p.billing_group_id = Some("bg-b".into());
    }
    let plan = s.settle();
    let new = service_on(&plan, &conn("conn-1"));
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].customer, s.customer_of_group("bg-b"));
    assert!(plan.ceased().contains(&&old));
    assert_eq!(plan.created_twins().len(), 1);
    let e = plan.entries(LogCode::ServiceMoved);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].message.starts_with(&format!(
            "Connection 'Trunk' (conn-1) now belongs to customer {}: its SIP Trunking service {old} on customer {} is ceased on",
            s.customer_of_group("bg-b"),
            s.customer_of_group("bg-a")
        )),
        "{}",
        e[0].message
    );
    assert!(
        e[0].message
            .contains("; nothing to do, unless the move in Telnyx is a mistake")
    );
    assert!(s.plan().has_no_actions());
}

// ---- Rule 15: attribution ------------------------------------------------------------

fn attribution_scenario() -> Scenario {
    Scenario::wholesale()
        .billing_group("bg-a", "A")
        .billing_group("bg-b", "B")
        .sip_connection("conn-a", "Trunk A", Some("bg-a"))
        .sip_connection("conn-b", "Trunk B", Some("bg-b"))
        .number("num-a", "+13125550100", Some("conn-a"), None)
        .number("num-b", "+13125550200", Some("conn-b"), None)
        .settled()
}

#[test]
fn a_record_naming_a_known_billing_group_lands_on_that_groups_customer() {
    let s = attribution_scenario().record(
        record(RecordType::SipTrunking, "r1")
            .billing_group("bg-b")
            .connection("conn-a"),
    );
    let plan = s.plan();
    let r = plan.record("r1").unwrap();
    assert_eq!(r.matched_by, MatchedBy::BillingGroup);
    assert_eq!(r.end_customer, Some(s.customer_of_group("bg-b")));
    assert_eq!(r.billing_customer, Some(RESELLER.into()));
    assert_eq!(r.department.as_str(), PARENT_DEPT);
    // conn-a is not a service of bg-b's customer: no service rather than a wrong one.
    assert_eq!(r.service, None);
}

#[test]
fn a_billing_group_id_like_60_that_names_no_known_group_falls_through_to_the_connection() {
    let s = attribution_scenario().record(
        record(RecordType::SipTrunking, "r1")
            .billing_group("60")
            .connection("conn-a"),
    );
    let plan = s.plan();
    let r = plan.record("r1").unwrap();
    assert_eq!(r.matched_by, MatchedBy::Connection);
    assert_eq!(r.end_customer, Some(s.customer_of_group("bg-a")));
    let svc = s
        .stored_service(&conn("conn-a"), ServiceTypeName::SipTrunking)
        .unwrap();
    assert_eq!(r.service, Some(svc.id.clone()));
}

#[test]
fn an_outbound_record_without_connection_is_matched_by_its_calling_number() {
    let s = attribution_scenario()
        .record(record(RecordType::SipTrunking, "r1").outbound("13125550200", "+14155550000"));
    let plan = s.plan();
    let r = plan.record("r1").unwrap();
    assert_eq!(r.matched_by, MatchedBy::CallingNumber);
    assert_eq!(r.end_customer, Some(s.customer_of_group("bg-b")));
    let svc = s
        .stored_service(&num("num-b"), ServiceTypeName::SipTrunking)
        .unwrap();
    assert_eq!(r.service, Some(svc.id.clone()));
}

#[test]
fn an_inbound_record_without_connection_is_matched_by_its_called_number() {
    let s = attribution_scenario()
        .record(record(RecordType::SipTrunking, "r1").inbound("+13125550200", "+13125550100"));
    let plan = s.plan();
    let r = plan.record("r1").unwrap();
    assert_eq!(r.matched_by, MatchedBy::CalledNumber);
    assert_eq!(r.end_customer, Some(s.customer_of_group("bg-a")));
    let svc = s
        .stored_service(&num("num-a"), ServiceTypeName::SipTrunking)
        .unwrap();
    assert_eq!(r.service, Some(svc.id.clone()));
}

#[test]
fn a_record_on_a_number_falls_back_to_its_connections_service_of_that_type() {
    // conn-a is used as SIP trunking and WebRTC; its number only has the first type.
    let s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .sip_connection("conn-a", "Trunk A", Some("bg-a"))
        .usage("conn-a", ServiceTypeName::SipTrunking)
        .usage("conn-a", ServiceTypeName::Webrtc)
        .number("num-a", "+13125550100", Some("conn-a"), None)
        .settled()
        .record(record(RecordType::Webrtc, "r1").outbound("+13125550100", "+14155550000"))
        .record(record(RecordType::Fax, "r2").outbound("+13125550100", "+14155550000"));
    let plan = s.plan();
    let r1 = plan.record("r1").unwrap();
    assert_eq!(r1.matched_by, MatchedBy::CallingNumber);
    assert!(
        s.stored_service(&num("num-a"), ServiceTypeName::Webrtc)
            .is_none()
    );
    let conn_webrtc = s
        .stored_service(&conn("conn-a"), ServiceTypeName::Webrtc)
        .unwrap();
    assert_eq!(r1.service, Some(conn_webrtc.id.clone()));
    // No fax service anywhere: the customer is known, the service is not.
    let r2 = plan.record("r2").unwrap();
    assert_eq!(r2.end_customer, Some(s.customer_of_group("bg-a")));
    assert_eq!(r2.service, None);
}

#[test]
fn a_record_without_direction_is_matched_by_its_calling_number_then_its_called_number() {
    let s = attribution_scenario()
        // Only the called number is known.
        .record(record(RecordType::Messaging, "r1").undirected("+19995550000", "+13125550200"))
        // Both are known, to different customers: the calling number wins.
        .record(record(RecordType::Messaging, "r2").undirected("+13125550100", "+13125550200"));
    let plan = s.plan();
    let r1 = plan.record("r1").unwrap();
    assert_eq!(r1.matched_by, MatchedBy::CalledNumber);
    assert_eq!(r1.end_customer, Some(s.customer_of_group("bg-b")));
    let r2 = plan.record("r2").unwrap();
    assert_eq!(r2.matched_by, MatchedBy::CallingNumber);
    assert_eq!(r2.end_customer, Some(s.customer_of_group("bg-a")));
}

#[test]
fn an_unmatched_record_is_stored_flagged_and_counted() {
    let s = attribution_scenario()
        .record(record(RecordType::Messaging, "r1").outbound("+19995550000", "+18885550000"))
        .record(record(RecordType::Verify, "r2"))
        .record(record(RecordType::SipTrunking, "r3").connection("conn-a"));
    let plan = s.plan();
    assert_eq!(plan.records.len(), 3);
    for id in ["r1", "r2"] {
        let r = plan.record(id).unwrap();
        assert_eq!(r.matched_by, MatchedBy::Unmatched);
        assert_eq!(r.end_customer, None);
        assert_eq!(r.billing_customer, Some(RESELLER.into()));
    }
    assert_eq!(plan.unmatched, 2, "counted for the run's log");
}

#[test]
fn records_of_a_vanished_connection_still_find_their_customer() {
    let s = attribution_scenario()
        .remove_connection("conn-b")
        .record(record(RecordType::SipTrunking, "late").connection("conn-b"));
    let plan = s.plan();
    let r = plan.record("late").unwrap();
    assert_eq!(r.matched_by, MatchedBy::Connection);
    assert_eq!(r.end_customer, Some(s.customer_of_group("bg-b")));
    assert!(r.service.is_some());
}

#[test]
fn a_record_received_twice_is_kept_once_and_counted() {
    let plan = attribution_scenario()
        .record(record(RecordType::SipTrunking, "r1").connection("conn-a"))
        .record(record(RecordType::SipTrunking, "r1").connection("conn-a"))
        .record(record(RecordType::Webrtc, "r1").connection("conn-a"))
        .plan();
    assert_eq!(plan.records.len(), 2);
    assert_eq!(plan.duplicates, 1, "counted for the run's log");
}

// ---- Rule 16, ordering, isolation, rendering -----------------------------------------

#[test]
fn created_records_carry_ids_derived_from_telnyx_ids() {
    let s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .sip_connection("conn-1", "Trunk", Some("bg-a"));
    let plan = s.plan();
    let customer = s.customer_of_group("bg-a");
    assert_eq!(plan.created_customers()[0].id, customer);
    assert_eq!(
        service_on(&plan, &conn("conn-1"))[0].id,
        identity::service(
            &CHILD_DEPT.into(),
            &customer,
            &conn("conn-1"),
            ServiceTypeName::SipTrunking
        )
    );
    assert_eq!(plan, s.plan());
}

#[test]
fn actions_are_ordered_types_links_customers_services_twins_then_statuses() {
    let mut s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .sip_connection("conn-old", "Old", Some("bg-a"))
        .settled()
        .remove_connection("conn-old")
        .billing_group("bg-b", "B")
        .connection(
            "conn-new",
            "New",
            ConnectionKind::FaxApplication,
            Some("bg-b"),
        );
    let plan = s.settle();
    let rank = |a: &Action| match a {
        Action::CreateServiceType(t) if t.department.as_str() == PARENT_DEPT => 0,
        Action::CreateServiceType(_) => 1,
        Action::LinkServiceType { .. } => 2,
        Action::CreateCustomer { .. } => 3,
        Action::CreateService(_) => 4,
        Action::CreateWholesaleTwin(_) => 5,
        Action::CeaseService { .. } | Action::ReactivateService { .. } => 6,
    };
    let ranks: Vec<_> = plan.actions.iter().map(rank).collect();
    let mut sorted = ranks.clone();
    sorted.sort();
    assert_eq!(ranks, sorted);
    assert_eq!(
        ranks
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        7
    );
}

#[test]
fn the_plan_never_touches_another_accounts_records_in_the_same_departments() {
    let other = Scenario::wholesale()
        .billing_group("bg-x", "Other's group")
        .sip_connection("conn-x", "Other's trunk", Some("bg-x"))
        .settled();
    let mut foreign = other.state.clone();
    for c in &mut foreign.customers {
        c.account = Some("acc-other".into());
    }
    for x in &mut foreign.services {
        x.account = "acc-other".into();
    }
    let s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .stored(|st| {
            st.customers.extend(
                foreign
                    .customers
                    .iter()
                    .filter(|c| c.id.as_str() != RESELLER)
                    .cloned(),
            );
            st.services.extend(foreign.services.iter().cloned());
            st.service_types
                .extend(foreign.service_types.iter().cloned());
        });
    let plan = s.plan();
    let foreign_ids: Vec<_> = foreign.services.iter().map(|x| x.id.clone()).collect();
    assert!(plan.ceased().iter().all(|id| !foreign_ids.contains(id)));
    assert!(plan.ceased().is_empty());
    assert_eq!(plan.created_customers().len(), 1);
    assert!(plan.entries(LogCode::BillingGroupDeleted).is_empty());
    // Shared service types of the department are reused, not re-created.
    assert!(plan.created_service_types().is_empty());
}

#[test]
fn the_rendered_diff_shows_creations_changes_warnings_and_a_record_summary() {
    let mut s = Scenario::wholesale()
        .billing_group("bg-a", "Acme Corp")
        .billing_group("bg-b", "B")
        .sip_connection("conn-1", "Trunk", Some("bg-a"))
        .sip_connection("conn-2", "Loose", None)
        .record(record(RecordType::SipTrunking, "r1").connection("conn-1"))
        .record(record(RecordType::SipTrunking, "r2"));
    let text = s.settle().render_diff();
    let customer = s.customer_of_group("bg-a");
    assert!(
        text.contains(&format!(
            "+ customer \"Acme Corp\" ({customer}) in dept {CHILD_DEPT}"
        )),
        "{text}"
    );
    assert!(text.contains("+ service type \"SIP Trunking\""), "{text}");
    assert!(text.contains("+ wholesale twin \"Trunk\""), "{text}");
    assert!(text.contains("~ link service type"), "{text}");
    assert!(
        text.contains("! WARNING CONNECTION_WITHOUT_BILLING_GROUP Connection 'Loose'"),
        "{text}"
    );
    assert!(
        text.contains("= 2 detail record(s): billing group 0, connection 1, calling number 0, called number 0, call session 0, unmatched 1"),
        "{text}"
    );
}

#[test]
fn every_action_kind_renders_what_it_is_about_not_only_ids() {
    let mut s = Scenario::wholesale()
        .billing_group("bg-a", "Acme Corp")
        .sip_connection("conn-1", "Trunk", Some("bg-a"));
    let customer = s.customer_of_group("bg-a");
    let child_type = identity::service_type(&CHILD_DEPT.into(), ServiceTypeName::SipTrunking);
    let parent_type = identity::service_type(&PARENT_DEPT.into(), ServiceTypeName::SipTrunking);
    let svc = identity::service(
        &CHILD_DEPT.into(),
        &customer,
        &conn("conn-1"),
        ServiceTypeName::SipTrunking,
    );
    let twin = identity::wholesale_twin(&PARENT_DEPT.into(), &svc);
    let svc_line = format!(
        "service \"Trunk\" [SIP Trunking] ({svc}) on customer {customer} in dept {CHILD_DEPT} (connection conn-1)"
    );
    let twin_line = format!(
        "wholesale twin \"Trunk\" [SIP Trunking] ({twin}) of {svc} on customer {RESELLER} in dept {PARENT_DEPT}"
    );
    let lines = |p: &Plan| -> Vec<String> {
        p.render_diff()
            .lines()
            .filter(|l| l.starts_with('+') || l.starts_with('~'))
            .map(str::to_owned)
            .collect()
    };

    let created = s.settle();
    assert_eq!(
        lines(&created),
        vec![
            format!(
                "+ service type \"SIP Trunking\" ({parent_type}) [Voice] in dept {PARENT_DEPT}"
            ),
            format!(
                "+ service type \"SIP Trunking\" ({child_type}) [Voice] in dept {CHILD_DEPT}, linked to {parent_type}"
            ),
            format!(
                "~ link service type \"SIP Trunking\" ({child_type}) in dept {CHILD_DEPT} -> \"SIP Trunking\" ({parent_type}) in dept {PARENT_DEPT}"
            ),
            format!(
                "+ customer \"Acme Corp\" ({customer}) in dept {CHILD_DEPT}, billing group bg-a, email to billing@acme.example"
            ),
            format!("+ {svc_line}"),
            format!("+ {twin_line}"),
        ]
    );

    let full = s.snapshot.clone();
    s = s.remove_connection("conn-1").days_later(1);
    let on = s.settings.today;
    assert_eq!(
        lines(&s.settle()),
        vec![
            format!("~ cease {svc_line} on {on}"),
            format!("~ cease {twin_line} on {on}"),
        ]
    );

    s.snapshot = full;
    assert_eq!(
        lines(&s.settle()),
        vec![
            format!("~ reactivate {svc_line}"),
            format!("~ reactivate {twin_line}"),
        ]
    );

    // A link to a stored parent names both stored types.
    let hand_made = ServiceType {
        id: "sty-by-hand".into(),
        department: CHILD_DEPT.into(),
        name: ServiceTypeName::Fax,
        category: Category::Voice,
        wholesale_parent: None,
    };
    let linked = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .connection(
            "conn-f",
            "Fax",
            ConnectionKind::FaxApplication,
            Some("bg-a"),
        )
        .stored(|st| st.service_types.push(hand_made))
        .plan();
    let fax_parent = identity::service_type(&PARENT_DEPT.into(), ServiceTypeName::Fax);
    assert!(
        lines(&linked).contains(&format!(
            "~ link service type \"Fax\" (sty-by-hand) in dept {CHILD_DEPT} -> \"Fax\" ({fax_parent}) in dept {PARENT_DEPT}"
        )),
        "{linked}"
    );
}

#[test]
fn a_missing_department_or_reseller_is_reported_as_an_error() {
    let plan = Scenario::wholesale()
        .stored(|st| {
            st.departments.clear();
            st.customers.clear();
        })
        .billing_group("bg-a", "A")
        .plan();
    assert_eq!(plan.entries(LogCode::DepartmentNotFound).len(), 2);
    assert_eq!(plan.entries(LogCode::ResellerCustomerNotFound).len(), 1);
    assert_eq!(plan.created_customers().len(), 1);
    assert_eq!(plan.notifications().count(), 0);
}

#[test]
fn a_child_type_made_by_hand_before_the_parent_type_exists_is_linked_when_the_parent_is_created() {
    let hand_made = ServiceType {
        id: "sty-by-hand".into(),
        department: CHILD_DEPT.into(),
        name: ServiceTypeName::SipTrunking,
        category: Category::Voice,
        wholesale_parent: None,
    };
    let mut s = Scenario::wholesale()
        .billing_group("bg-a", "A")
        .sip_connection("conn-1", "Trunk", Some("bg-a"))
        .stored(|st| st.service_types.push(hand_made));
    let plan = s.settle();
    let parent = identity::service_type(&PARENT_DEPT.into(), ServiceTypeName::SipTrunking);
    let by_hand = ServiceTypeId::new("sty-by-hand");
    assert_eq!(plan.links(), vec![(&by_hand, &parent)]);
    assert!(plan.entries(LogCode::WholesaleLinkMissing).is_empty());
    assert_eq!(plan.created_twins().len(), 1);
    assert_eq!(service_on(&plan, &conn("conn-1"))[0].service_type, by_hand);
    assert!(s.plan().has_no_actions());
}

#[test]
fn a_record_naming_its_billing_group_and_connection_lands_on_that_connections_service() {
    let s = attribution_scenario().record(
        record(RecordType::SipTrunking, "r1")
            .billing_group("bg-a")
            .connection("conn-a"),
    );
    let plan = s.plan();
    let r = plan.record("r1").unwrap();
    assert_eq!(r.matched_by, MatchedBy::BillingGroup);
    assert_eq!(r.end_customer, Some(s.customer_of_group("bg-a")));
    let svc = s
        .stored_service(&conn("conn-a"), ServiceTypeName::SipTrunking)
        .unwrap();
    assert_eq!(r.service, Some(svc.id.clone()));
}
