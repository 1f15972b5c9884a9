//! The stable import-log codes, as a typed enum. Dashboards, alerts and tests key on
//! their text (`CONNECTION_WITHOUT_BILLING_GROUP`, …): never rename one. Each code has
//! one severity; the messages that go with them live in [`super::messages`], and the
//! README's troubleshooting table explains every one (tested below).

use serde::{Deserialize, Serialize};

/// How serious an import-log entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Something changed or is worth knowing; nothing is wrong.
    Info,
    /// Something is not billed as it should be until someone acts.
    Warning,
    /// The account's setup is broken: customers or emails cannot be made.
    Error,
}

/// One import-log code. Serialized (and displayed) as its `SCREAMING_SNAKE_CASE` name.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::VariantArray,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumString,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum LogCode {
    /// Rule 4 (docs/mapping-rules.md): several billing groups and this connection's
    /// outbound voice profile has none (or names a group Telnyx does not know).
    /// Repeated every run until assigned.
    ConnectionWithoutBillingGroup,
    /// Rule 5: the account has no billing group; no customer is created, CDR still lands
    /// under the billing customer.
    NoBillingGroup,
    /// Rule 12: a billing group's Telnyx name differs from the name its customer was created from.
    BillingGroupRenamed,
    /// Rule 13: a billing group with a customer was deleted in Telnyx; customer and services kept.
    BillingGroupDeleted,
    /// A billing group listed as deleted in Telnyx never had a customer here: none is
    /// created for it (what still points at it is reported on its own).
    DeletedBillingGroupWithoutCustomer,
    /// Rule 11: a connection's numbers point at another billing group than its profile.
    ConnectionBillingGroupMismatch,
    /// Rule 9: a child service type has no wholesale link (an operator removed it); its
    /// services get no twin.
    WholesaleLinkMissing,
    /// Rule 15: detail records that matched no customer; stored under the billing customer.
    UnmatchedDetailRecords,
    /// The same detail record (type + id) was given twice to one plan; kept once.
    DuplicateDetailRecords,
    /// A customer is created but its department has no billing email: no email is queued.
    DepartmentWithoutBillingEmail,
    /// A department named by the onboarding is not in the store.
    DepartmentNotFound,
    /// Wholesale: the reseller customer named by the onboarding is not in the store.
    ResellerCustomerNotFound,
    /// A phone number belongs to no customer (several billing groups, none of its own,
    /// no connection with one): it gets no service, or, if it has one, keeps it on the
    /// customer it is on.
    PhoneNumberWithoutCustomer,
    /// A phone number has a customer but no service type (no connection type, no messaging
    /// profile): it gets no service, or, if it has one, keeps it.
    PhoneNumberWithoutServiceType,
    /// A connection of a kind with no default service type and no usage yet: no service
    /// until its first detail record.
    ConnectionKindWithoutServiceType,
    /// A connection or number moved to another customer: the old service is ceased, a new one created.
    ServiceMoved,
    /// A phone number's service type changed (rule 10: it moved to a connection of another
    /// kind, lost its connection, or got one while it was Messaging): the old service (and
    /// twin) is ceased and one of the new type created on the same customer.
    ServiceRetyped,
    /// A connection or number disappeared from Telnyx: its service (and twin) is ceased.
    ServiceCeased,
    /// A connection or number came back (or moved back): its service (and twin) is reactivated.
    ServiceReactivated,
    /// A wholesale twin was ceased while its child service is active: it is reactivated.
    WholesaleTwinReactivated,
    /// A wholesale twin was active while its child service is ceased: it is ceased.
    WholesaleTwinCeased,
    /// Detail records too large for one stored item were stored without Telnyx's raw JSON
    /// (normalized fields and money intact); logged by the sync run, not the planner.
    DetailRecordsRawTrimmed,
    /// A final difference between stored records and Telnyx's usage report for an
    /// account, type and day: more stored than Telnyx counts, or still short after the
    /// day was re-walked. The operator is alerted.
    AuditMismatch,
    /// Stored records and Telnyx's usage report agree for these days.
    AuditClean,
    /// Record types the usage report offers no product or count for: their completeness
    /// is not proven (each with its reason).
    AuditNotAuditable,
    /// A difference that is not final yet: the day is not settled, or it is settled and
    /// short and its re-walk is due.
    AuditPending,
    /// A settled day Telnyx counted more on was re-walked and now audits clean.
    AuditHealed,
    /// A walk found records in a window the usage report counted none in: the report
    /// decides no skip of that type for the account until an audit of it is clean.
    UsageReportDisagrees,
    /// A type's table time field returned nothing while Telnyx reports usage; its
    /// records carry another field, which the run used.
    TimeFieldDiscovered,
    /// A type's walk returned nothing while Telnyx reports usage, and no other time
    /// field explains it.
    RecordTypeSilent,
    /// Records linked to their customer through their call's session or leg id.
    RecordsLinkedBySession,
    /// Onboarded accounts the manager key no longer lists (cancelled, or moved to
    /// another manager): not synced; offboarding them is suggested (the scheduler's
    /// tick log).
    AccountsNotListed,
}

impl LogCode {
    /// Every code.
    pub const ALL: &'static [LogCode] = <LogCode as strum::VariantArray>::VARIANTS;

    /// The code as dashboards and the README spell it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// How serious an entry with this code is (fixed per code).
    pub fn severity(self) -> Severity {
        use LogCode::*;
        match self {
            NoBillingGroup | DepartmentNotFound | ResellerCustomerNotFound => Severity::Error,
            ConnectionWithoutBillingGroup
            | BillingGroupDeleted
            | WholesaleLinkMissing
            | UnmatchedDetailRecords
            | DepartmentWithoutBillingEmail
            | PhoneNumberWithoutCustomer
            | WholesaleTwinReactivated
            | WholesaleTwinCeased
            | DetailRecordsRawTrimmed
            | AuditMismatch
            | UsageReportDisagrees
            | TimeFieldDiscovered
            | RecordTypeSilent
            | AccountsNotListed => Severity::Warning,
            BillingGroupRenamed
            | DeletedBillingGroupWithoutCustomer
            | ConnectionBillingGroupMismatch
            | DuplicateDetailRecords
            | PhoneNumberWithoutServiceType
            | ConnectionKindWithoutServiceType
            | ServiceMoved
            | ServiceRetyped
            | ServiceCeased
            | ServiceReactivated
            | AuditClean
            | AuditNotAuditable
            | AuditPending
            | AuditHealed
            | RecordsLinkedBySession => Severity::Info,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The operator's reference: README.md § Troubleshooting.
    const README: &str = include_str!("../../../../README.md");

    #[test]
    fn every_code_is_explained_in_the_readme_troubleshooting_table() {
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
        for code in LogCode::ALL {
            let quoted = format!("`{code}`");
            assert!(
                first_cells.iter().any(|cell| cell.contains(&quoted)),
                "{code} is not in README's troubleshooting table"
            );
        }
        assert!(
            LogCode::ALL.len() >= 22,
            "only {} codes",
            LogCode::ALL.len()
        );
    }

    #[test]
    fn a_code_is_stored_and_read_back_as_its_screaming_name() {
        let json = serde_json::to_string(&LogCode::ConnectionWithoutBillingGroup).ok();
        assert_eq!(
            json.as_deref(),
            Some("\"CONNECTION_WITHOUT_BILLING_GROUP\"")
        );
        assert_eq!(
            "SERVICE_RETYPED".parse::<LogCode>().ok(),
            Some(LogCode::ServiceRetyped)
        );
        assert_eq!(
            LogCode::DetailRecordsRawTrimmed.as_str(),
            "DETAIL_RECORDS_RAW_TRIMMED"
        );
    }
}
