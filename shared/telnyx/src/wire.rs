//! Wire shapes of the list endpoints and their conversion into the core's domain types.
//!
//! Tolerant where the live API drifts: ids as strings or numbers, flags as booleans or
//! `0`/`1`, empty strings meaning "none", and a connection's outbound voice profile
//! either at the top level (`GET /connections`) or under `outbound` (per-kind lists).

use crate::flex::{self, FlexBool, FlexString};
use crate::records::PageMeta;
use reconciliation::domain::{
    BillingGroup, BillingGroupId, Connection, ConnectionId, ConnectionKind, ManagedAccount,
    ManagedAccountId, MessagingProfileId, OutboundVoiceProfile, OutboundVoiceProfileId,
    PhoneNumber, PhoneNumberId,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// One page of a list endpoint.
#[derive(Debug, Deserialize)]
pub(crate) struct ListPage<T> {
    pub(crate) data: Option<Vec<T>>,
    #[serde(default)]
    pub(crate) meta: Option<PageMeta>,
}

/// A wire object that converts into a domain value (or says which field is wrong).
pub(crate) trait IntoDomain: DeserializeOwned {
    type Domain;
    fn into_domain(self) -> Result<Self::Domain, String>;
}

fn opt(s: Option<FlexString>) -> Option<String> {
    s.and_then(FlexString::non_empty)
}

fn required(s: Option<FlexString>, field: &str) -> Result<String, String> {
    opt(s).ok_or_else(|| format!("`{field}` is missing or empty"))
}

/// A timestamp that is informative only: unreadable becomes `None`.
fn lenient_time(s: Option<FlexString>) -> Option<chrono::DateTime<chrono::Utc>> {
    opt(s).and_then(|t| flex::parse_time(&t))
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireManagedAccount {
    id: Option<FlexString>,
    email: Option<FlexString>,
    organization_name: Option<FlexString>,
    manager_account_id: Option<FlexString>,
    rollup_billing: Option<FlexBool>,
    created_at: Option<FlexString>,
    updated_at: Option<FlexString>,
}

impl IntoDomain for WireManagedAccount {
    type Domain = ManagedAccount;
    fn into_domain(self) -> Result<ManagedAccount, String> {
        Ok(ManagedAccount {
            id: ManagedAccountId::new(required(self.id, "id")?),
            email: opt(self.email),
            organization_name: opt(self.organization_name),
            manager_account_id: opt(self.manager_account_id),
            rollup_billing: self.rollup_billing.is_some_and(|b| b.0),
            created_at: lenient_time(self.created_at),
            updated_at: lenient_time(self.updated_at),
        })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireBillingGroup {
    id: Option<FlexString>,
    name: Option<FlexString>,
    deleted_at: Option<FlexString>,
}

impl IntoDomain for WireBillingGroup {
    type Domain = BillingGroup;
    fn into_domain(self) -> Result<BillingGroup, String> {
        // `deleted_at` decides whether a customer is warned about: unreadable is an error.
        let deleted_at = match opt(self.deleted_at) {
            None => None,
            Some(t) => Some(
                flex::parse_time(&t)
                    .ok_or_else(|| format!("`deleted_at` {t:?} is not a timestamp"))?,
            ),
        };
        Ok(BillingGroup {
            id: BillingGroupId::new(required(self.id, "id")?),
            name: opt(self.name).unwrap_or_default(),
            deleted_at,
        })
    }
}

#[derive(Debug, Deserialize)]
struct WireOutbound {
    outbound_voice_profile_id: Option<FlexString>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireConnection {
    id: Option<FlexString>,
    connection_name: Option<FlexString>,
    record_type: Option<FlexString>,
    active: Option<FlexBool>,
    outbound_voice_profile_id: Option<FlexString>,
    outbound: Option<WireOutbound>,
}

impl IntoDomain for WireConnection {
    type Domain = Connection;
    fn into_domain(self) -> Result<Connection, String> {
        let profile = opt(self.outbound_voice_profile_id)
            .or_else(|| self.outbound.and_then(|o| opt(o.outbound_voice_profile_id)));
        Ok(Connection {
            id: ConnectionId::new(required(self.id, "id")?),
            name: opt(self.connection_name).unwrap_or_default(),
            kind: ConnectionKind::from_record_type(&opt(self.record_type).unwrap_or_default()),
            // Absent means Telnyx did not say; a connection is listed because it exists.
            active: self.active.is_none_or(|a| a.0),
            outbound_voice_profile_id: profile.map(OutboundVoiceProfileId::new),
        })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireOutboundVoiceProfile {
    id: Option<FlexString>,
    name: Option<FlexString>,
    billing_group_id: Option<FlexString>,
}

impl IntoDomain for WireOutboundVoiceProfile {
    type Domain = OutboundVoiceProfile;
    fn into_domain(self) -> Result<OutboundVoiceProfile, String> {
        Ok(OutboundVoiceProfile {
            id: OutboundVoiceProfileId::new(required(self.id, "id")?),
            name: opt(self.name).unwrap_or_default(),
            billing_group_id: opt(self.billing_group_id).map(BillingGroupId::new),
        })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct WirePhoneNumber {
    id: Option<FlexString>,
    phone_number: Option<FlexString>,
    status: Option<FlexString>,
    connection_id: Option<FlexString>,
    billing_group_id: Option<FlexString>,
    messaging_profile_id: Option<FlexString>,
    phone_number_type: Option<FlexString>,
}

impl IntoDomain for WirePhoneNumber {
    type Domain = PhoneNumber;
    fn into_domain(self) -> Result<PhoneNumber, String> {
        Ok(PhoneNumber {
            id: PhoneNumberId::new(required(self.id, "id")?),
            phone_number: required(self.phone_number, "phone_number")?,
            status: opt(self.status),
            connection_id: opt(self.connection_id).map(ConnectionId::new),
            billing_group_id: opt(self.billing_group_id).map(BillingGroupId::new),
            messaging_profile_id: opt(self.messaging_profile_id).map(MessagingProfileId::new),
            phone_number_type: opt(self.phone_number_type),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn parse<T: IntoDomain>(json: &str) -> Result<T::Domain, String> {
        serde_json::from_str::<T>(json)
            .map_err(|e| e.to_string())
            .and_then(IntoDomain::into_domain)
    }

    #[test]
    fn connection_reads_zero_one_active_and_numeric_ids() {
        let c = parse::<WireConnection>(
            r#"{"id":1293384261075731499,"connection_name":"Main","record_type":"ip_connection","active":0,"outbound_voice_profile_id":42}"#,
        )
        .unwrap();
        assert_eq!(c.id.as_str(), "1293384261075731499");
        assert!(!c.active);
        assert_eq!(c.kind, ConnectionKind::Ip);
        assert_eq!(
            c.outbound_voice_profile_id
                .map(|p| p.into_inner())
                .as_deref(),
            Some("42")
        );
    }

    #[test]
    fn connection_profile_is_also_found_under_outbound() {
        let c = parse::<WireConnection>(
            r#"{"id":"1","connection_name":"x","record_type":"credential_connection","active":true,"outbound":{"outbound_voice_profile_id":"p-1"}}"#,
        )
        .unwrap();
        assert_eq!(
            c.outbound_voice_profile_id,
            Some(OutboundVoiceProfileId::new("p-1"))
        );
    }

    #[test]
    fn empty_strings_mean_none_on_phone_numbers() {
        let n = parse::<WirePhoneNumber>(
            r#"{"id":"n1","phone_number":"+13125550100","status":"active","connection_id":"","billing_group_id":null,"messaging_profile_id":"mp-1"}"#,
        )
        .unwrap();
        assert_eq!(n.connection_id, None);
        assert_eq!(n.billing_group_id, None);
        assert_eq!(
            n.messaging_profile_id,
            Some(MessagingProfileId::new("mp-1"))
        );
    }

    #[test]
    fn billing_group_deleted_at_is_read_and_a_bad_one_is_an_error() {
        let g = parse::<WireBillingGroup>(
            r#"{"id":"bg","name":"Acme","deleted_at":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert!(g.deleted_at.is_some());
        assert!(
            parse::<WireBillingGroup>(r#"{"id":"bg","name":"A","deleted_at":"never"}"#).is_err()
        );
    }

    #[test]
    fn managed_account_without_id_is_rejected() {
        let e = parse::<WireManagedAccount>(r#"{"email":"a@b.c"}"#).unwrap_err();
        assert!(e.contains("`id`"), "{e}");
        let a = parse::<WireManagedAccount>(r#"{"id":"ma","rollup_billing":1}"#).unwrap();
        assert!(a.rollup_billing);
    }
}
