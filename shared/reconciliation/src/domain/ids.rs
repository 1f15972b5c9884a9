//! Newtype ids. Telnyx ids are kept verbatim; our own ids are derived from them
//! deterministically (see the `derive` helpers in [`crate::plan::identity`]).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! newtype_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id verbatim (no validation: Telnyx ids are opaque).
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }
            /// The id as written.
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// The id as an owned string.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

newtype_id!(
    /// A Telnyx managed account id (the account a reseller owns).
    ManagedAccountId
);
newtype_id!(
    /// A Telnyx billing group id (a uuid).
    BillingGroupId
);
newtype_id!(
    /// A Telnyx connection id (any kind: SIP, call control, TeXML, fax…).
    ConnectionId
);
newtype_id!(
    /// A Telnyx outbound voice profile id.
    OutboundVoiceProfileId
);
newtype_id!(
    /// A Telnyx phone number resource id (not the E.164 number).
    PhoneNumberId
);
newtype_id!(
    /// A Telnyx messaging profile id.
    MessagingProfileId
);
newtype_id!(
    /// A Telnyx detail record id (`id`, or `uuid` for messaging), unique within its record type.
    DetailRecordId
);
newtype_id!(
    /// An operator department (billing entity).
    DepartmentId
);
newtype_id!(
    /// An operator customer.
    CustomerId
);
newtype_id!(
    /// A service (billable line) on a customer.
    ServiceId
);
newtype_id!(
    /// A service type in one department.
    ServiceTypeId
);
newtype_id!(
    /// One run of the sync for one account (for logs and the run log).
    RunId
);
