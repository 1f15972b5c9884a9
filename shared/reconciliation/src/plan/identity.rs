//! Deterministic identity (rule 16, docs/mapping-rules.md): every record the product
//! creates gets an id derived only from the Telnyx ids (and our department ids) it
//! comes from, so two runs, or two concurrent runs, converge on the same records and a
//! conditional create is enough to make creation idempotent.
//!
//! Scheme: a readable prefix (`cus-`, `svc-`, `twn-`, `sty-`) followed by the first
//! 20 hex digits (80 bits) of a SHA-256 over the length-prefixed parts. Length
//! prefixes make the encoding injective (`("ab","c")` and `("a","bc")` differ), and
//! each function hashes its own kind tag first, so two kinds never collide. The ids
//! are opaque: never parse them; derive again instead.
//!
//! | id | derived from |
//! |---|---|
//! | customer (per billing group) | department, managed account, billing group id |
//! | customer (one per account) | department, managed account |
//! | service | department, customer, source (connection or number id), service type name |
//! | wholesale twin | parent department, child service id |
//! | service type | department, service type name |
//!
//! The managed account is part of a customer id, beside department and billing group
//! (docs/architecture.md "Deterministic identity"): billing group ids are globally
//! unique uuids, so this changes nothing in practice, but it guarantees that two
//! accounts sharing a department can never derive the same customer. The service type
//! name is part of a service id, so a connection used as two service types yields two
//! services.

use crate::domain::{
    BillingGroupId, CustomerId, DepartmentId, ManagedAccountId, ServiceId, ServiceSource,
    ServiceTypeId, ServiceTypeName,
};
use sha2::{Digest, Sha256};

/// Hex digits of the digest kept in an id (80 bits).
const HASH_HEX_LEN: usize = 20;

fn derive(prefix: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut out = String::with_capacity(prefix.len() + 1 + HASH_HEX_LEN);
    out.push_str(prefix);
    out.push('-');
    for byte in digest.iter().take(HASH_HEX_LEN / 2) {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// The customer created for a billing group of `account` in `department`.
pub fn customer_for_billing_group(
    department: &DepartmentId,
    account: &ManagedAccountId,
    billing_group: &BillingGroupId,
) -> CustomerId {
    CustomerId::new(derive(
        "cus",
        &[
            "customer/billing-group",
            department.as_str(),
            account.as_str(),
            billing_group.as_str(),
        ],
    ))
}

/// The single customer of an account onboarded with "one customer for the whole account".
pub fn customer_for_account(department: &DepartmentId, account: &ManagedAccountId) -> CustomerId {
    CustomerId::new(derive(
        "cus",
        &["customer/account", department.as_str(), account.as_str()],
    ))
}

/// The service for one (customer, connection or number, service type) in `department`.
pub fn service(
    department: &DepartmentId,
    customer: &CustomerId,
    source: &ServiceSource,
    service_type: ServiceTypeName,
) -> ServiceId {
    let (kind, id) = match source {
        ServiceSource::Connection(c) => ("connection", c.as_str()),
        ServiceSource::PhoneNumber(n) => ("phone-number", n.as_str()),
    };
    ServiceId::new(derive(
        "svc",
        &[
            "service",
            department.as_str(),
            customer.as_str(),
            kind,
            id,
            service_type.as_str(),
        ],
    ))
}

/// The wholesale twin of `child` in the parent department.
pub fn wholesale_twin(parent_department: &DepartmentId, child: &ServiceId) -> ServiceId {
    ServiceId::new(derive(
        "twn",
        &["twin", parent_department.as_str(), child.as_str()],
    ))
}

/// The service type `name` in `department` (shared by every account of the department).
pub fn service_type(department: &DepartmentId, name: ServiceTypeName) -> ServiceTypeId {
    ServiceTypeId::new(derive(
        "sty",
        &["service-type", department.as_str(), name.as_str()],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dept(s: &str) -> DepartmentId {
        DepartmentId::new(s)
    }

    #[test]
    fn ids_are_stable_prefixed_and_short() {
        let a = customer_for_billing_group(&dept("d1"), &"acc".into(), &"bg-1".into());
        let b = customer_for_billing_group(&dept("d1"), &"acc".into(), &"bg-1".into());
        assert_eq!(a, b);
        assert!(a.as_str().starts_with("cus-"));
        assert_eq!(a.as_str().len(), 4 + HASH_HEX_LEN);
    }

    #[test]
    fn length_prefixing_keeps_adjacent_parts_apart() {
        let a = customer_for_billing_group(&dept("d1"), &"ab".into(), &"c".into());
        let b = customer_for_billing_group(&dept("d1"), &"a".into(), &"bc".into());
        assert_ne!(a, b);
    }

    #[test]
    fn a_connection_used_as_two_service_types_yields_two_services() {
        let source = ServiceSource::Connection("c1".into());
        let customer = CustomerId::new("cus-1");
        let sip = service(&dept("d"), &customer, &source, ServiceTypeName::SipTrunking);
        let rtc = service(&dept("d"), &customer, &source, ServiceTypeName::Webrtc);
        assert_ne!(sip, rtc);
    }

    #[test]
    fn a_number_and_a_connection_with_the_same_id_are_different_services() {
        let customer = CustomerId::new("cus-1");
        let conn = service(
            &dept("d"),
            &customer,
            &ServiceSource::Connection("x".into()),
            ServiceTypeName::Messaging,
        );
        let num = service(
            &dept("d"),
            &customer,
            &ServiceSource::PhoneNumber("x".into()),
            ServiceTypeName::Messaging,
        );
        assert_ne!(conn, num);
    }

    #[test]
    fn service_types_differ_per_department_and_twins_per_child() {
        assert_ne!(
            service_type(&dept("parent"), ServiceTypeName::Fax),
            service_type(&dept("child"), ServiceTypeName::Fax)
        );
        assert_ne!(
            wholesale_twin(&dept("p"), &"svc-1".into()),
            wholesale_twin(&dept("p"), &"svc-2".into())
        );
        assert!(
            wholesale_twin(&dept("p"), &"svc-1".into())
                .as_str()
                .starts_with("twn-")
        );
    }

    #[test]
    fn the_account_customer_differs_from_every_billing_group_customer() {
        let one = customer_for_account(&dept("d"), &"acc".into());
        let per = customer_for_billing_group(&dept("d"), &"acc".into(), &"acc".into());
        assert_ne!(one, per);
    }
}
