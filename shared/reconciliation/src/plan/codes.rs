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
/// no connection with one).
pub const PHONE_NUMBER_WITHOUT_CUSTOMER: &str = "PHONE_NUMBER_WITHOUT_CUSTOMER";
/// A phone number has a customer but no service type (no connection type, no messaging profile).
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
/// A connection or number came back: its service (and twin) is reactivated.
pub const SERVICE_REACTIVATED: &str = "SERVICE_REACTIVATED";
