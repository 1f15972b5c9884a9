//! What the product stores on the operator's side: departments, customers, service
//! types (with wholesale links), services (with twins) and attributed detail records.

use super::ids::*;
use super::record_type::{Category, RecordType, ServiceTypeName};
use super::telnyx::{DetailRecord, RawRecord};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// An operator department (a billing entity). Created by the operator, read by us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    /// The operator's id for the department.
    pub id: DepartmentId,
    /// Display name (shown in new-customer emails).
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
    /// Derived from Telnyx ids for customers we create ([`crate::plan::identity`]).
    pub id: CustomerId,
    /// The department the customer lives in.
    pub department: DepartmentId,
    /// The name staff see and may edit; never overwritten once created (rule 12,
    /// docs/mapping-rules.md).
    pub company_name: String,
    /// The managed account the customer was created for; `None` for one made by hand.
    pub account: Option<ManagedAccountId>,
    /// The billing group the customer stands for (rule 1).
    pub billing_group_id: Option<BillingGroupId>,
    /// The Telnyx name the customer was created from (a rename is detected against it).
    pub source_name: Option<String>,
    /// When we created the customer; `None` for one made by hand.
    pub created_at: Option<DateTime<Utc>>,
}

/// A service type in one department, optionally wholesale-linked to the parent's type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceType {
    /// Derived from department + name for types we create; any id for one made by hand.
    pub id: ServiceTypeId,
    /// The department the type belongs to (shared by every account of it).
    pub department: DepartmentId,
    /// One of the 20 names of docs/mapping-rules.md "Service types".
    pub name: ServiceTypeName,
    /// The name's category.
    pub category: Category,
    /// The parent department's type of the same name (child types only).
    pub wholesale_parent: Option<ServiceTypeId>,
}

/// What a service stands for on the Telnyx side.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum ServiceSource {
    /// A connection of any kind (rule 8).
    Connection(ConnectionId),
    /// A phone number (rules 6, 10).
    PhoneNumber(PhoneNumberId),
}

/// Active, or ceased on a date (never deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ServiceStatus {
    /// Billed.
    Active,
    /// No longer billed from `on` (the UTC date of the run that ceased it).
    Ceased {
        /// The date the service was ceased.
        on: NaiveDate,
    },
}

/// A billable service on a customer. A wholesale twin has `twin_of` set to the child
/// service it mirrors and lives under the reseller customer in the parent department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// Derived from department, customer, source and type ([`crate::plan::identity`]).
    pub id: ServiceId,
    /// The managed account the service comes from.
    pub account: ManagedAccountId,
    /// The customer department (child services) or the parent department (twins).
    pub department: DepartmentId,
    /// The end customer (child services) or the reseller (twins).
    pub customer: CustomerId,
    /// The service type in `department`.
    pub service_type: ServiceTypeId,
    /// The type's name, kept on the service so it reads without a join.
    pub service_type_name: ServiceTypeName,
    /// The connection or number the service stands for.
    pub source: ServiceSource,
    /// Human label: connection name or E.164 number.
    pub label: String,
    /// Active or ceased (never deleted, rule 14).
    pub status: ServiceStatus,
    /// For a wholesale twin, the child service it mirrors; `None` for a child service.
    pub twin_of: Option<ServiceId>,
    /// The day the service started: the UTC date of the run that created it (with its
    /// status's ceased date, what lets a billing system prorate a line). `None` for a
    /// service stored before start dates were kept.
    #[serde(default)]
    pub started_on: Option<NaiveDate>,
}

impl Service {
    /// The day it ceased, while it is ceased.
    pub fn ceased_on(&self) -> Option<NaiveDate> {
        match self.status {
            ServiceStatus::Active => None,
            ServiceStatus::Ceased { on } => Some(on),
        }
    }
}

/// The stored state the planner compares the snapshot against, for one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredState {
    /// The departments the onboarding names (and possibly others).
    pub departments: Vec<Department>,
    /// Customers of the departments, of any account (the planner filters).
    pub customers: Vec<Customer>,
    /// Service types of the departments (shared by their accounts).
    pub service_types: Vec<ServiceType>,
    /// Services and twins, of any account (the planner filters).
    pub services: Vec<Service>,
}

/// How a detail record was matched to an end customer and service (rule 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// The record's `billing_group_id` names a known billing group.
    BillingGroup,
    /// The record's `connection_id` names a connection with a customer.
    Connection,
    /// `cli` of an outbound record (tried first on a record without direction).
    CallingNumber,
    /// `cld` of an inbound record (tried second on a record without direction).
    CalledNumber,
    /// Linked through a call record of the same account that carries one of its
    /// session or leg ids: that call's connection, customer and service.
    Session,
    /// Stored under the reseller, flagged, counted in the import log.
    Unmatched,
}

/// A detail record as stored: the record plus where it is billed and whom it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDetailRecord {
    /// The managed account the record was read from.
    pub account: ManagedAccountId,
    /// The billing department (the parent in wholesale mode).
    pub department: DepartmentId,
    /// The customer billed (the reseller in wholesale mode); `None` in direct mode
    /// when the record matched nobody.
    pub billing_customer: Option<CustomerId>,
    /// The end customer the record belongs to; `None` when unmatched.
    pub end_customer: Option<CustomerId>,
    /// The end customer's service the usage belongs to, when one exists for the
    /// record's type; `None` when the customer is known but the service is not.
    pub service: Option<ServiceId>,
    /// How `end_customer` was found (rule 15).
    pub matched_by: MatchedBy,
    /// The record as normalized from Telnyx.
    pub record: DetailRecord,
}

impl StoredDetailRecord {
    /// The record type that was queried (part of the record's key).
    pub fn record_type(&self) -> RecordType {
        self.record.record_type
    }

    /// The stored record with its normalized fields only: the raw JSON is not copied
    /// (an item keeps it apart, compressed; an orphan not at all).
    pub fn without_raw(&self) -> StoredDetailRecord {
        let DetailRecord {
            record_type,
            id,
            occurred_at,
            connection_id,
            billing_group_id,
            cli,
            cld,
            direction,
            cost,
            rate,
            currency,
            billed_quantity,
            sessions,
            raw: _,
        } = &self.record;
        StoredDetailRecord {
            account: self.account.clone(),
            department: self.department.clone(),
            billing_customer: self.billing_customer.clone(),
            end_customer: self.end_customer.clone(),
            service: self.service.clone(),
            matched_by: self.matched_by,
            record: DetailRecord {
                record_type: *record_type,
                id: id.clone(),
                occurred_at: *occurred_at,
                connection_id: connection_id.clone(),
                billing_group_id: billing_group_id.clone(),
                cli: cli.clone(),
                cld: cld.clone(),
                direction: *direction,
                cost: *cost,
                rate: *rate,
                currency: currency.clone(),
                billed_quantity: *billed_quantity,
                sessions: sessions.clone(),
                raw: RawRecord::null(),
            },
        }
    }
}
