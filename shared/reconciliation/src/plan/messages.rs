//! The planner's operator-facing import-log messages, keyed by [`LogCode`]: customers,
//! connections, numbers, services and twins. Each message names the Telnyx and stored
//! records involved and says what the operator should do (or "nothing to do" and why).
//! The stages decide *that* an entry is logged; this module decides *what it says*. The
//! run's own messages (detail records, the audit, the usage report) are in
//! `sync/messages.rs`; every code is in [`super::codes`].

use super::codes::LogCode;
use super::context::{Context, ServiceKey};
use super::model::LogEntry;
use crate::domain::{
    BillingGroup, BillingGroupId, Connection, Customer, CustomerId, Department, DepartmentId,
    ManagedAccountId, PhoneNumber, Service, ServiceSource, ServiceStatus, ServiceType,
    ServiceTypeName,
};

fn entry(code: LogCode, message: String) -> LogEntry {
    LogEntry::new(code, message)
}

// ---- describing things -------------------------------------------------------------

/// `connection conn-1` or `number num-1`.
pub(super) fn source_name(source: &ServiceSource) -> String {
    match source {
        ServiceSource::Connection(c) => format!("connection {c}"),
        ServiceSource::PhoneNumber(n) => format!("number {n}"),
    }
}

/// `Connection 'Name' (id)` or `Phone number +1… (id)`, named as Telnyx names it now
/// (else by the stored label).
fn describe(ctx: &Context<'_>, source: &ServiceSource, label: &str) -> String {
    match source {
        ServiceSource::Connection(c) => {
            let name = ctx.connections.get(c).map_or(label, |x| x.name.as_str());
            format!("Connection '{name}' ({c})")
        }
        ServiceSource::PhoneNumber(n) => {
            let e164 = ctx
                .numbers
                .get(n)
                .map_or(label, |x| x.phone_number.as_str());
            format!("Phone number {e164} ({n})")
        }
    }
}

/// Why a number has the type rule 10 (docs/mapping-rules.md) gives it now.
fn number_situation(ctx: &Context<'_>, source: &ServiceSource) -> String {
    let ServiceSource::PhoneNumber(n) = source else {
        return "its usage".to_owned();
    };
    let connection = ctx
        .numbers
        .get(n)
        .and_then(|x| x.connection_id.as_ref())
        .and_then(|c| ctx.connections.get(c));
    match connection {
        Some(c) => format!("it is on connection '{}' ({}) now", c.name, c.id),
        None => "it has no connection now, only a messaging profile".to_owned(),
    }
}

/// `billing group 'Name' (id), which is deleted in Telnyx` and the like: a billing
/// group that has no customer, described as Telnyx lists it.
fn group_status(ctx: &Context<'_>, g: &BillingGroupId) -> String {
    match ctx.groups.get(g) {
        Some(bg) if bg.deleted_at.is_some() => format!(
            "billing group '{}' ({g}), which is deleted in Telnyx (a deleted group gets no new customer)",
            bg.name
        ),
        Some(bg) => format!("billing group '{}' ({g})", bg.name),
        None => format!("billing group {g}, which Telnyx does not list"),
    }
}

/// For a connection or number Telnyx gives no customer now: what happens to its
/// active stored services (kept on the customer they are on, so nothing stops being
/// billed because of a missing assignment). `None` when it has none.
fn kept_services(ctx: &Context<'_>, source: &ServiceSource) -> Option<String> {
    let kept: Vec<String> = ctx
        .services
        .values()
        .filter(|s| &s.source == source && matches!(s.status, ServiceStatus::Active))
        .map(|s| {
            format!(
                "its {} service {} stays on customer {}",
                s.service_type_name, s.id, s.customer
            )
        })
        .collect();
    (!kept.is_empty()).then(|| {
        format!(
            "{}, where its usage is still attributed (cease it by hand if the customer gave it up)",
            kept.join(", ")
        )
    })
}

// ---- the onboarding ------------------------------------------------------------------

pub(super) fn reseller_customer_not_found(
    reseller: &CustomerId,
    account: &ManagedAccountId,
    parent: &DepartmentId,
) -> LogEntry {
    entry(
        LogCode::ResellerCustomerNotFound,
        format!(
            "Reseller customer {reseller} of account {account} is not in department {parent}: create it, or fix the account's onboarding; detail records and twins are filed under it meanwhile"
        ),
    )
}

pub(super) fn department_not_found(d: &DepartmentId, account: &ManagedAccountId) -> LogEntry {
    entry(
        LogCode::DepartmentNotFound,
        format!(
            "Department {d} named by the onboarding of account {account} does not exist: create it, or fix the onboarding; no new-customer email can be sent meanwhile"
        ),
    )
}

// ---- customers (rules 1, 5, 12, 13) ----------------------------------------------------

pub(super) fn billing_group_renamed(g: &BillingGroup, was: &str, c: &Customer) -> LogEntry {
    entry(
        LogCode::BillingGroupRenamed,
        format!(
            "Billing group {} was renamed in Telnyx from '{was}' to '{}': customer '{}' ({}) keeps its name; rename it by hand if wanted",
            g.id, g.name, c.company_name, c.id
        ),
    )
}

pub(super) fn deleted_billing_group_without_customer(g: &BillingGroup) -> LogEntry {
    entry(
        LogCode::DeletedBillingGroupWithoutCustomer,
        format!(
            "Billing group '{}' ({}) is deleted in Telnyx and has no customer here: none is created for a deleted group; nothing to do (a connection or number still pointing at it is reported on its own)",
            g.name, g.id
        ),
    )
}

/// `listed`: the group as Telnyx still lists it (deleted), `None` when it is gone.
pub(super) fn billing_group_deleted(
    g: &BillingGroupId,
    listed: Option<&BillingGroup>,
    c: &Customer,
) -> LogEntry {
    let how = match listed {
        Some(bg) => format!("Billing group '{}' ({g}) was deleted in Telnyx", bg.name),
        None => format!("Billing group {g} no longer exists in Telnyx"),
    };
    entry(
        LogCode::BillingGroupDeleted,
        format!(
            "{how}: customer '{}' ({}) and its services are kept; cease them by hand if the customer left, or move its connections to another billing group",
            c.company_name, c.id
        ),
    )
}

pub(super) fn no_billing_group(account: &ManagedAccountId) -> LogEntry {
    entry(
        LogCode::NoBillingGroup,
        format!(
            "Account {account} has no billing group, so no customer is created: create a billing group in Telnyx and assign it to the outbound voice profiles; detail records are still imported under the billing customer"
        ),
    )
}

pub(super) fn department_without_billing_email(d: &Department, new_customers: usize) -> LogEntry {
    entry(
        LogCode::DepartmentWithoutBillingEmail,
        format!(
            "Department '{}' ({}) has no billing email, so no new-customer email is sent for {new_customers} new customer(s): set its billing email; complete the new customers by hand",
            d.name, d.id
        ),
    )
}

// ---- assignment (rules 2–4, 10, 11) ----------------------------------------------------

pub(super) fn connection_without_billing_group(
    ctx: &Context<'_>,
    c: &Connection,
    own: Option<&BillingGroupId>,
) -> LogEntry {
    let why = match own {
        None => "has no billing group".to_owned(),
        Some(g) => format!("points at {}", group_status(ctx, g)),
    };
    let meanwhile = kept_services(ctx, &ServiceSource::Connection(c.id.clone()))
        .map(|kept| format!("; meanwhile {kept}"))
        .unwrap_or_default();
    entry(
        LogCode::ConnectionWithoutBillingGroup,
        format!(
            "Connection '{}' ({}) {why}: assign it an outbound voice profile with a billing group in Telnyx; it will be picked up on the next run{meanwhile}",
            c.name, c.id
        ),
    )
}

pub(super) fn connection_billing_group_mismatch(
    c: &Connection,
    g: &BillingGroupId,
    others: &[&str],
) -> LogEntry {
    entry(
        LogCode::ConnectionBillingGroupMismatch,
        format!(
            "Connection '{}' ({}) bills to billing group {g} through its outbound voice profile, but some of its numbers point at {}: the connection stays with {g} and those numbers go to their own group; align them in Telnyx if this is a mistake",
            c.name,
            c.id,
            others.join(", ")
        ),
    )
}

pub(super) fn phone_number_without_customer(ctx: &Context<'_>, n: &PhoneNumber) -> LogEntry {
    let own = match &n.billing_group_id {
        None => "has no billing group".to_owned(),
        Some(g) => format!("names {}", group_status(ctx, g)),
    };
    let connection = match &n.connection_id {
        None => "no connection".to_owned(),
        Some(c) => match ctx.connections.get(c) {
            None => format!("its connection {c} is gone from Telnyx"),
            Some(x) => format!(
                "its connection '{}' ({}) has no customer either",
                x.name, x.id
            ),
        },
    };
    let consequence = kept_services(ctx, &ServiceSource::PhoneNumber(n.id.clone()))
        .unwrap_or_else(|| "it gets no service".to_owned());
    entry(
        LogCode::PhoneNumberWithoutCustomer,
        format!(
            "Phone number {} ({}) {own} and {connection}, so it belongs to no customer: {consequence}; set its billing group, or put it on a connection whose outbound voice profile has one, in Telnyx; it will be picked up on the next run",
            n.phone_number, n.id
        ),
    )
}

// ---- service types (rules 8–10) ------------------------------------------------------

pub(super) fn connection_kind_without_service_type(c: &Connection) -> LogEntry {
    entry(
        LogCode::ConnectionKindWithoutServiceType,
        format!(
            "Connection '{}' ({}) is of a kind with no default service type ({:?}) and has no usage yet: it gets its service, typed by its usage, with its first detail record; nothing to do",
            c.name, c.id, c.kind
        ),
    )
}

/// `kept`: the type of the service the number keeps, if it has one.
pub(super) fn phone_number_without_service_type(
    number: &PhoneNumber,
    kept: Option<ServiceTypeName>,
) -> LogEntry {
    let what = match kept {
        None => "it will get its service on the next run".to_owned(),
        Some(t) => format!(
            "its {t} service stays active meanwhile (the number is still in the account), or cease it by hand if the customer gave the number up"
        ),
    };
    entry(
        LogCode::PhoneNumberWithoutServiceType,
        format!(
            "Phone number {} ({}) has no connection with a service type and no messaging profile: assign it a connection or a messaging profile in Telnyx; {what}",
            number.phone_number, number.id
        ),
    )
}

pub(super) fn wholesale_link_missing(
    name: ServiceTypeName,
    t: &ServiceType,
    dept: &DepartmentId,
) -> LogEntry {
    entry(
        LogCode::WholesaleLinkMissing,
        format!(
            "Service type '{name}' ({}) in department {dept} has no wholesale link to the parent department's '{name}': its services get no wholesale twin, so their usage is not billed to the reseller as a service; restore the link to re-enable twins",
            t.id
        ),
    )
}

// ---- statuses (rule 14) ----------------------------------------------------------------

/// Ceasing the active child service `s`: `replaced_by` are the desired services of the
/// same source (none if it vanished). `with_twin` is `""` or `" with its wholesale twin"`.
pub(super) fn service_ceased(
    ctx: &Context<'_>,
    s: &Service,
    replaced_by: Option<&[&ServiceKey]>,
    with_twin: &str,
) -> LogEntry {
    let today = ctx.today();
    let what = format!(
        "its {} service {} on customer {}",
        s.service_type_name, s.id, s.customer
    );
    let same_customer = replaced_by
        .into_iter()
        .flatten()
        .find(|k| k.0 == s.customer);
    match (replaced_by.and_then(|r| r.first()), same_customer) {
        (None, _) => entry(
            LogCode::ServiceCeased,
            format!(
                "'{}' ({}) is gone from Telnyx: {what} is ceased on {today}{with_twin}; nothing to do if it was removed on purpose (it is reactivated if it comes back), else restore it in Telnyx",
                s.label,
                source_name(&s.source)
            ),
        ),
        (Some(_), Some(now)) => entry(
            LogCode::ServiceRetyped,
            format!(
                "{} is now used as {} ({}), no longer as {}: {what} is ceased on {today}{with_twin} and its {} service bills it from now on; nothing to do, unless the change in Telnyx is a mistake (undo it there and the {} service is reactivated)",
                describe(ctx, &s.source, &s.label),
                now.2,
                number_situation(ctx, &s.source),
                s.service_type_name,
                now.2,
                s.service_type_name
            ),
        ),
        (Some(now), None) => entry(
            LogCode::ServiceMoved,
            format!(
                "{} now belongs to customer {}{}: {what} is ceased on {today}{with_twin} and a service is created on the new customer; nothing to do, unless the move in Telnyx is a mistake (undo it there and the old service is reactivated)",
                describe(ctx, &s.source, &s.label),
                now.0,
                if now.2 == s.service_type_name {
                    String::new()
                } else {
                    format!(" as {}", now.2)
                }
            ),
        ),
    }
}

pub(super) fn service_reactivated(ctx: &Context<'_>, s: &Service, with_twin: &str) -> LogEntry {
    let since = match &s.status {
        ServiceStatus::Ceased { on } => format!(", ceased on {on},"),
        ServiceStatus::Active => String::new(),
    };
    entry(
        LogCode::ServiceReactivated,
        format!(
            "{} is in Telnyx again as customer {}'s {}: its service {}{since} is reactivated{with_twin}; nothing to do, it is billed again from today",
            describe(ctx, &s.source, &s.label),
            s.customer,
            s.service_type_name,
            s.id
        ),
    )
}

/// A twin that drifted from its unchanged child `s` and is realigned.
pub(super) fn wholesale_twin_realigned(
    ctx: &Context<'_>,
    s: &Service,
    twin: &Service,
    want_active: bool,
) -> LogEntry {
    let today = ctx.today();
    let (code, drift, fix) = if want_active {
        (
            LogCode::WholesaleTwinReactivated,
            "is ceased while its service is active",
            "reactivated, so the reseller is billed for the line".to_owned(),
        )
    } else {
        (
            LogCode::WholesaleTwinCeased,
            "is active while its service is ceased",
            format!("ceased on {today}, so the reseller is not billed for a ceased line"),
        )
    };
    entry(
        code,
        format!(
            "Wholesale twin {} of '{}' ({} service {} on customer {}) {drift} (changed by hand, or an interrupted run): it is {fix}; nothing to do, a twin always follows its service (to stop billing a line, remove or move it in Telnyx)",
            twin.id, s.label, s.service_type_name, s.id, s.customer
        ),
    )
}
