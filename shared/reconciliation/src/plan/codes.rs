//! Stable import-log codes. Dashboards, alerts and tests key on these strings; never
//! rename one. Each entry's message says what the operator should do.

/// Rule 4: several billing groups and this connection's outbound voice profile has none
/// (or names a group Telnyx does not know). Repeated every run until assigned.
pub const CONNECTION_WITHOUT_BILLING_GROUP: &str = "CONNECTION_WITHOUT_BILLING_GROUP";
/// Rule 5: the account has no billing group; no customer is created, CDR still lands
/// under the billing customer.
pub const NO_BILLING_GROUP: &str = "NO_BILLING_GROUP";
/// Rule 12: a billing group's Telnyx name differs from the name its customer was created from.
pub const BILLING_GROUP_RENAMED: &str = "BILLING_GROUP_RENAMED";
/// Rule 13: a billing group with a customer was deleted in Telnyx; customer and services kept.
pub const BILLING_GROUP_DELETED: &str = "BILLING_GROUP_DELETED";
/// A billing group listed as deleted in Telnyx never had a customer here: none is
/// created for it (what still points at it is reported on its own).
pub const DELETED_BILLING_GROUP_WITHOUT_CUSTOMER: &str = "DELETED_BILLING_GROUP_WITHOUT_CUSTOMER";
/// Rule 11: a connection's numbers point at another billing group than its profile.
pub const CONNECTION_BILLING_GROUP_MISMATCH: &str = "CONNECTION_BILLING_GROUP_MISMATCH";
/// Rule 9: a child service type has no wholesale link (an operator removed it); its
/// services get no twin.
pub const WHOLESALE_LINK_MISSING: &str = "WHOLESALE_LINK_MISSING";
/// Rule 15: detail records that matched no customer; stored under the billing customer.
pub const UNMATCHED_DETAIL_RECORDS: &str = "UNMATCHED_DETAIL_RECORDS";
/// The same detail record (type + id) was given twice to one plan; kept once.
pub const DUPLICATE_DETAIL_RECORDS: &str = "DUPLICATE_DETAIL_RECORDS";
/// A customer is created but its department has no billing email: no email is queued.
pub const DEPARTMENT_WITHOUT_BILLING_EMAIL: &str = "DEPARTMENT_WITHOUT_BILLING_EMAIL";
/// A department named by the onboarding is not in the store.
pub const DEPARTMENT_NOT_FOUND: &str = "DEPARTMENT_NOT_FOUND";
/// Wholesale: the reseller customer named by the onboarding is not in the store.
pub const RESELLER_CUSTOMER_NOT_FOUND: &str = "RESELLER_CUSTOMER_NOT_FOUND";
/// A phone number belongs to no customer (several billing groups, none of its own,
/// no connection with one): it gets no service, or, if it has one, keeps it on the
/// customer it is on.
pub const PHONE_NUMBER_WITHOUT_CUSTOMER: &str = "PHONE_NUMBER_WITHOUT_CUSTOMER";
/// A phone number has a customer but no service type (no connection type, no messaging
/// profile): it gets no service, or, if it has one, keeps it.
pub const PHONE_NUMBER_WITHOUT_SERVICE_TYPE: &str = "PHONE_NUMBER_WITHOUT_SERVICE_TYPE";
/// A connection of a kind with no default service type and no usage yet: no service until
/// its first detail record.
pub const CONNECTION_KIND_WITHOUT_SERVICE_TYPE: &str = "CONNECTION_KIND_WITHOUT_SERVICE_TYPE";
/// A connection or number moved to another customer: the old service is ceased, a new one created.
pub const SERVICE_MOVED: &str = "SERVICE_MOVED";
/// A phone number's service type changed (rule 10: it moved to a connection of another
/// kind, lost its connection, or got one while it was Messaging): the old service (and
/// twin) is ceased and one of the new type created on the same customer.
pub const SERVICE_RETYPED: &str = "SERVICE_RETYPED";
/// A connection or number disappeared from Telnyx: its service (and twin) is ceased.
pub const SERVICE_CEASED: &str = "SERVICE_CEASED";
/// A connection or number came back (or moved back): its service (and twin) is reactivated.
pub const SERVICE_REACTIVATED: &str = "SERVICE_REACTIVATED";
/// A wholesale twin was ceased while its child service is active: it is reactivated.
pub const WHOLESALE_TWIN_REACTIVATED: &str = "WHOLESALE_TWIN_REACTIVATED";
/// A wholesale twin was active while its child service is ceased: it is ceased.
pub const WHOLESALE_TWIN_CEASED: &str = "WHOLESALE_TWIN_CEASED";
/// Detail records too large for one stored item were stored without Telnyx's raw JSON
/// (normalized fields and money intact); logged by the sync run, not the planner.
pub const DETAIL_RECORDS_RAW_TRIMMED: &str = "DETAIL_RECORDS_RAW_TRIMMED";

#[cfg(test)]
mod tests {
    /// The operator's reference: README.md § Troubleshooting.
    const README: &str = include_str!("../../../../README.md");

    #[test]
    fn every_code_is_its_own_name_and_is_explained_in_the_readme_troubleshooting_table() {
        // The "you see" cells of the table.
        let table = README
            .split("## Troubleshooting")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap_or_default();
        let first_cells: Vec<&str> = table
            .lines()
            .filter_map(|row| row.strip_prefix("| "))
            .filter_map(|row| row.split(" |").next())
            .collect();
        let mut seen = 0;
        for line in include_str!("codes.rs").lines() {
            let Some(decl) = line.strip_prefix("pub const ") else {
                continue;
            };
            let (name, value) = decl.split_once(": &str = ").unwrap_or_default();
            assert_eq!(value, format!("\"{name}\";"), "{line}");
            let quoted = format!("`{name}`");
            assert!(
                first_cells.iter().any(|cell| cell.contains(&quoted)),
                "{name} is not in README's troubleshooting table"
            );
            seen += 1;
        }
        assert!(seen >= 20, "only {seen} codes found");
    }
}
