//! How an account is onboarded: billed wholesale (managed account of a reseller) or
//! direct, and mapped per billing group or as one customer; and an account the
//! operator stopped syncing ([`Offboarding`]).

use super::ids::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Wholesale (reseller with a child department) or direct billing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum BillingMode {
    /// CDR and twins land in `parent_department` under `reseller_customer`; end customers
    /// are created in `child_department`.
    Wholesale {
        /// The operator's department: CDR and wholesale twins.
        parent_department: DepartmentId,
        /// The reseller's customer in `parent_department` (made at onboarding).
        reseller_customer: CustomerId,
        /// The reseller's department: end customers and their services.
        child_department: DepartmentId,
    },
    /// Customers, services and CDR all live in `department`; no twins.
    Direct {
        /// The one department customers, services and CDR live in.
        department: DepartmentId,
        /// The customer CDR is billed to when it cannot be attributed to an end customer.
        billing_customer: Option<CustomerId>,
    },
}

/// One customer per billing group, or one for the whole account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MappingPreference {
    /// One customer per billing group (rule 1, docs/mapping-rules.md).
    #[default]
    PerBillingGroup,
    /// One customer named after the managed account's organization.
    OneCustomer,
}

/// An onboarded account: the operator's decision to sync it, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Onboarding {
    /// The Telnyx managed account (or standard account) synced.
    pub account: ManagedAccountId,
    /// The managed account's organization name (names the one customer in `OneCustomer`).
    pub organization_name: String,
    /// Wholesale or direct billing.
    pub mode: BillingMode,
    /// Per billing group (default) or one customer (rule 7).
    #[serde(default)]
    pub mapping: MappingPreference,
}

impl Onboarding {
    /// The department end customers are created in.
    pub fn customer_department(&self) -> &DepartmentId {
        match &self.mode {
            BillingMode::Wholesale {
                child_department, ..
            } => child_department,
            BillingMode::Direct { department, .. } => department,
        }
    }

    /// The department CDR is stored under (the parent in wholesale mode).
    pub fn billing_department(&self) -> &DepartmentId {
        match &self.mode {
            BillingMode::Wholesale {
                parent_department, ..
            } => parent_department,
            BillingMode::Direct { department, .. } => department,
        }
    }

    /// The customer a detail record is billed to when it is not billed to its end
    /// customer: the reseller in wholesale mode (always), the onboarding's
    /// `billing_customer` in direct mode (for unmatched records; may be `None`).
    pub fn billing_customer(&self) -> Option<&CustomerId> {
        match &self.mode {
            BillingMode::Wholesale {
                reseller_customer, ..
            } => Some(reseller_customer),
            BillingMode::Direct {
                billing_customer, ..
            } => billing_customer.as_ref(),
        }
    }
}

/// An account the operator stopped syncing: its onboarding as it was, and when. Every
/// stored record, watermark, customer and service stays; onboarding it again resumes
/// from its watermarks. The scheduler neither syncs it nor reports it as unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offboarding {
    /// The onboarding it had (what `onboard` would restore).
    pub onboarding: Onboarding,
    /// When it was offboarded.
    pub offboarded_at: DateTime<Utc>,
}
