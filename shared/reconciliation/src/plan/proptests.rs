//! Property tests of `plan()` over generated snapshots, stored states and records:
//! determinism (whatever the order of the input lists), idempotence (plan, apply, plan
//! again ⇒ no action), isolation from other accounts, and "every record exactly once".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::domain::*;
use crate::fixtures::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const GROUPS: [&str; 4] = ["bg-0", "bg-1", "bg-2", "bg-3"];
const NUMBERS: [&str; 4] = [
    "+13125550100",
    "+13125550101",
    "+13125550102",
    "13125550100",
];

fn kind() -> impl Strategy<Value = ConnectionKind> {
    prop_oneof![
        Just(ConnectionKind::Credential),
        Just(ConnectionKind::Ip),
        Just(ConnectionKind::Fqdn),
        Just(ConnectionKind::CallControlApplication),
        Just(ConnectionKind::TexmlApplication),
        Just(ConnectionKind::FaxApplication),
        Just(ConnectionKind::Other("x".into())),
    ]
}

/// A group reference: one of the pool, an unknown one, or none.
fn group_ref() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        2 => (0..GROUPS.len()).prop_map(|i| Some(GROUPS[i].to_owned())),
        1 => Just(Some("bg-unknown".to_owned())),
        2 => Just(None),
    ]
}

fn record_type() -> impl Strategy<Value = RecordType> {
    (0..RecordType::ALL.len()).prop_map(|i| RecordType::ALL[i])
}

/// (index, e164 index, connection index, group, messaging)
type NumberRow = (usize, usize, Option<usize>, Option<String>, bool);

#[derive(Debug, Clone)]
struct World {
    /// (index, name, deleted)
    groups: Vec<(usize, String, bool)>,
    /// (index, kind, group)
    connections: Vec<(usize, ConnectionKind, Option<String>)>,
    /// (index, e164 index, connection index, group, messaging)
    numbers: Vec<NumberRow>,
    usage: Vec<(usize, RecordType)>,
}

fn world() -> impl Strategy<Value = World> {
    (
        proptest::collection::btree_map(0..GROUPS.len(), ("[AB]", any::<bool>()), 0..4),
        proptest::collection::btree_map(0..5usize, (kind(), group_ref()), 0..5),
        proptest::collection::btree_map(
            0..5usize,
            (
                0..NUMBERS.len(),
                proptest::option::of(0..6usize),
                group_ref(),
                any::<bool>(),
            ),
            0..5,
        ),
        proptest::collection::vec((0..5usize, record_type()), 0..4),
    )
        .prop_map(|(g, c, n, usage)| World {
            groups: g
                .into_iter()
                .map(|(i, (name, del))| (i, name, del))
                .collect(),
            connections: c.into_iter().map(|(i, (k, g))| (i, k, g)).collect(),
            numbers: n
                .into_iter()
                .map(|(i, (e, c, g, m))| (i, e, c, g, m))
                .collect(),
            usage,
        })
}

impl World {
    /// Replaces `s`'s snapshot and usage with this world's.
    fn apply_to(&self, mut s: Scenario) -> Scenario {
        s.snapshot = TelnyxSnapshot::default();
        s.usage = BTreeMap::new();
        for (i, name, deleted) in &self.groups {
            s = if *deleted {
                s.deleted_billing_group(GROUPS[*i], name)
            } else {
                s.billing_group(GROUPS[*i], name)
            };
        }
        for (i, kind, group) in &self.connections {
            s = s.connection(
                &format!("conn-{i}"),
                &format!("C{i}"),
                kind.clone(),
                group.as_deref(),
            );
        }
        for (i, e, conn, group, messaging) in &self.numbers {
            let id = format!("num-{i}");
            s = if *messaging && conn.is_none() {
                s.messaging_number(&id, NUMBERS[*e], group.as_deref())
            } else {
                let c = conn.map(|c| format!("conn-{c}"));
                s.number(&id, NUMBERS[*e], c.as_deref(), group.as_deref())
            };
        }
        for (c, t) in &self.usage {
            s = s.usage(&format!("conn-{c}"), t.service_type());
        }
        s
    }
}

fn records() -> impl Strategy<Value = Vec<DetailRecord>> {
    proptest::collection::vec(
        (
            0..12usize,
            record_type(),
            proptest::option::of(0..6usize),
            prop_oneof![group_ref(), Just(Some("60".to_owned()))],
            proptest::option::of(0..NUMBERS.len()),
            0..4usize,
        ),
        0..12,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .map(|(id, t, conn, group, number, how)| {
                let mut r = record(t, &format!("rec-{id}"));
                if let Some(c) = conn {
                    r = r.connection(&format!("conn-{c}"));
                }
                if let Some(g) = group {
                    r = r.billing_group(&g);
                }
                if let Some(n) = number {
                    // Outbound, inbound, or without direction (the known number as
                    // calling or as called number).
                    r = match how {
                        0 => r.outbound(NUMBERS[n], "+14155550000"),
                        1 => r.inbound("+14155550000", NUMBERS[n]),
                        2 => r.undirected(NUMBERS[n], "+14155550000"),
                        _ => r.undirected("+14155550000", NUMBERS[n]),
                    };
                }
                r.build()
            })
            .collect()
    })
}

#[derive(Debug, Clone)]
struct Case {
    scenario: Scenario,
    /// Ids of another account's customers and services planted in the state.
    foreign_customers: Vec<CustomerId>,
    foreign_services: Vec<ServiceId>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<bool>(),
        any::<bool>(),
        world(),
        world(),
        world(),
        records(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(wholesale, one, before, now, foreign, recs, unlink, cease_some)| {
                let base = || {
                    let s = if wholesale {
                        Scenario::wholesale()
                    } else {
                        Scenario::direct()
                    };
                    if one { s.one_customer() } else { s }
                };
                // Another account, same departments, settled first.
                let mut other = foreign.apply_to(base());
                other.onboarding.account = "acc-other".into();
                other.onboarding.organization_name = "Other Org".into();
                let mut state = other.settled().state;
                let foreign_customers: Vec<CustomerId> = state
                    .customers
                    .iter()
                    .filter(|c| {
                        c.account
                            .as_ref()
                            .is_some_and(|a| a.as_str() == "acc-other")
                    })
                    .map(|c| c.id.clone())
                    .collect();
                let foreign_services: Vec<ServiceId> =
                    state.services.iter().map(|s| s.id.clone()).collect();

                // Our account: an earlier world settled, then perturbed.
                let mut earlier = before.apply_to(base());
                earlier.state = state.clone();
                let earlier = earlier.settled();
                state = earlier.state;
                if unlink {
                    for t in state.service_types.iter_mut().step_by(2) {
                        t.wholesale_parent = None;
                    }
                }
                if cease_some {
                    for s in state.services.iter_mut().step_by(3) {
                        if s.account.as_str() == ACCOUNT {
                            s.status = ServiceStatus::Ceased {
                                on: fixed_now().date_naive(),
                            };
                        }
                    }
                }
                let mut scenario = now.apply_to(base()).days_later(1);
                scenario.state = state;
                scenario.records = recs;
                Case {
                    scenario,
                    foreign_customers,
                    foreign_services,
                }
            },
        )
}

fn touched_ids(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .filter_map(|a| match a {
            Action::CreateCustomer { customer, .. } => Some(customer.id.to_string()),
            Action::CreateService(s) | Action::CreateWholesaleTwin(s) => Some(s.id.to_string()),
            Action::CeaseService { service, .. } | Action::ReactivateService { service } => {
                Some(service.to_string())
            }
            _ => None,
        })
        .collect()
}

/// Fisher–Yates with a xorshift generator seeded by the test case (deterministic, so a
/// failing case shrinks and replays).
fn shuffle<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let j = (*seed % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// Makes the copies of a duplicated record identical (as Telnyx's are): which copy is
/// kept is the one order-dependent choice, by design (the first).
fn identical_duplicates(records: &mut [DetailRecord]) {
    let mut first: BTreeMap<(RecordType, DetailRecordId), DetailRecord> = BTreeMap::new();
    for r in records {
        *r = first
            .entry((r.record_type, r.id.clone()))
            .or_insert_with(|| r.clone())
            .clone();
    }
}

/// `s` with every input list in another order (`usage` is a map: it has none).
fn shuffled(s: &Scenario, seed: u64) -> Scenario {
    let mut s = s.clone();
    let mut seed = seed | 1;
    shuffle(&mut s.snapshot.billing_groups, &mut seed);
    shuffle(&mut s.snapshot.connections, &mut seed);
    shuffle(&mut s.snapshot.outbound_voice_profiles, &mut seed);
    shuffle(&mut s.snapshot.phone_numbers, &mut seed);
    shuffle(&mut s.records, &mut seed);
    shuffle(&mut s.state.departments, &mut seed);
    shuffle(&mut s.state.customers, &mut seed);
    shuffle(&mut s.state.service_types, &mut seed);
    shuffle(&mut s.state.services, &mut seed);
    s
}

/// `s` with every input list reversed.
fn reversed(s: &Scenario) -> Scenario {
    let mut s = s.clone();
    s.snapshot.billing_groups.reverse();
    s.snapshot.connections.reverse();
    s.snapshot.outbound_voice_profiles.reverse();
    s.snapshot.phone_numbers.reverse();
    s.records.reverse();
    s.state.departments.reverse();
    s.state.customers.reverse();
    s.state.service_types.reverse();
    s.state.services.reverse();
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_order_of_the_input_lists_does_not_change_the_plan(c in case(), seed in any::<u64>()) {
        let mut s = c.scenario;
        identical_duplicates(&mut s.records);
        let plan = s.plan();
        prop_assert_eq!(&plan, &shuffled(&s, seed).plan());
        prop_assert_eq!(&plan, &reversed(&s).plan());
    }

    #[test]
    fn applying_the_same_actions_twice_changes_nothing_the_second_time(c in case()) {
        let plan = c.scenario.plan();
        let mut once = c.scenario.state.clone();
        apply_to_state(&mut once, &plan.actions);
        let mut twice = once.clone();
        let report = apply_to_state(&mut twice, &plan.actions);
        prop_assert_eq!(&once, &twice);
        prop_assert_eq!(report.created + report.updated + report.notifications_queued, 0);
    }

    #[test]
    fn applying_a_plan_then_planning_again_yields_no_action(c in case()) {
        let mut s = c.scenario;
        let first = s.settle();
        let second = s.plan();
        prop_assert!(second.has_no_actions(), "first:\n{}\nsecond:\n{}", first, second);
        // And the records land on the same customers and services both times
        // (a service created by the first plan now exists).
        prop_assert_eq!(
            first.records.iter().map(|r| (&r.end_customer, &r.service, r.matched_by)).collect::<Vec<_>>(),
            second.records.iter().map(|r| (&r.end_customer, &r.service, r.matched_by)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_plan_never_touches_another_accounts_records(c in case()) {
        let plan = c.scenario.plan();
        for id in touched_ids(&plan) {
            prop_assert!(!c.foreign_customers.iter().any(|f| f.as_str() == id), "touched customer {}", id);
            prop_assert!(!c.foreign_services.iter().any(|f| f.as_str() == id), "touched service {}", id);
        }
        for a in &plan.actions {
            match a {
                Action::CreateCustomer { customer, .. } => {
                    prop_assert_eq!(customer.account.as_ref().map(|a| a.as_str()), Some(ACCOUNT));
                }
                Action::CreateService(s) | Action::CreateWholesaleTwin(s) => {
                    prop_assert_eq!(s.account.as_str(), ACCOUNT);
                }
                _ => {}
            }
        }
        let before: Vec<_> = c.scenario.state.services.iter().filter(|s| s.account.as_str() != ACCOUNT).cloned().collect();
        let mut after = c.scenario.state.clone();
        apply_to_state(&mut after, &plan.actions);
        let after: Vec<_> = after.services.into_iter().filter(|s| s.account.as_str() != ACCOUNT).collect();
        prop_assert_eq!(before, after);
    }

    #[test]
    fn every_input_record_is_in_the_plan_exactly_once(c in case()) {
        let plan = c.scenario.plan();
        let mut wanted: Vec<_> = c.scenario.records.iter().map(|r| (r.record_type, r.id.clone())).collect();
        wanted.sort();
        wanted.dedup();
        let mut got: Vec<_> = plan.records.iter().map(|r| (r.record.record_type, r.record.id.clone())).collect();
        got.sort();
        prop_assert_eq!(got, wanted);
        for r in &plan.records {
            prop_assert_eq!(r.account.as_str(), ACCOUNT);
            prop_assert_eq!(r.department.as_str(), PARENT_DEPT);
            prop_assert_eq!(r.matched_by == MatchedBy::Unmatched, r.end_customer.is_none());
        }
    }
}
