//! What the product stores on the operator's side: departments, customers, service
//! types (with wholesale links), services (with twins) and attributed detail records.

use super::ids::*;
use super::record_type::{Category, RecordType, ServiceTypeName};
use super::telnyx::DetailRecord;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// An operator department (a billing entity). Created by the operator, read by us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub id: DepartmentId,
    pub name: String,
    /// Where new-customer emails go.
    pub billing_email: Option<String>,
    /// The parent department in a wholesale structure.
    pub parent: Option<DepartmentId>,
}

/// A customer in a department. `billing_group_id` is `None` for a reseller customer,
/// a one-customer mapping, or a customer created by the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: CustomerId,
    pub department: DepartmentId,
    pub company_name: String,
    pub account: Option<ManagedAccountId>,
    pub billing_group_id: Option<BillingGroupId>,
    /// The Telnyx name the customer was created from (a rename is detected against it).
    pub source_name: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

/// A service type in one department, optionally wholesale-linked to the parent's type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceType {
    pub id: ServiceTypeId,
    pub department: DepartmentId,
    pub name: ServiceTypeName,
    pub category: Category,
    /// The parent department's type of the same name (child types only).
    pub wholesale_parent: Option<ServiceTypeId>,
}

/// What a service stands for on the Telnyx side.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum ServiceSource {
    Connection(ConnectionId),
    PhoneNumber(PhoneNumberId),
}

/// Active, or ceased on a date (never deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ServiceStatus {
    Active,
    Ceased { on: NaiveDate },
}

/// A billable service on a customer. A wholesale twin has `twin_of` set to the child
/// service it mirrors and lives under the reseller customer in the parent department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: ServiceId,
    pub account: ManagedAccountId,
    pub department: DepartmentId,
    pub customer: CustomerId,
    pub service_type: ServiceTypeId,
    pub service_type_name: ServiceTypeName,
    pub source: ServiceSource,
    /// Human label: connection name or E.164 number.
    pub label: String,
    pub status: ServiceStatus,
    pub twin_of: Option<ServiceId>,
}

/// The stored state the planner compares the snapshot against, for one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredState {
    pub departments: Vec<Department>,
    pub customers: Vec<Customer>,
    pub service_types: Vec<ServiceType>,
    pub services: Vec<Service>,
}

/// How a detail record was matched to an end customer and service (DESIGN rule 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    BillingGroup,
    Connection,
    /// `cli` of an outbound record.
    CallingNumber,
    /// `cld` of an inbound record.
    CalledNumber,
    /// Stored under the reseller, flagged, counted in the import log.
    Unmatched,
}

/// A detail record as stored: the record plus where it is billed and whom it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDetailRecord {
    pub account: ManagedAccountId,
    /// The billing department (the parent in wholesale mode).
    pub department: DepartmentId,
    /// The customer billed (the reseller in wholesale mode); `None` in direct mode
    /// when the record matched nobody.
    pub billing_customer: Option<CustomerId>,
    pub end_customer: Option<CustomerId>,
    pub service: Option<ServiceId>,
    pub matched_by: MatchedBy,
    pub record: DetailRecord,
}

impl StoredDetailRecord {
    pub fn record_type(&self) -> RecordType {
        self.record.record_type
    }
}
