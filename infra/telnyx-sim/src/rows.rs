//! Builds realistic detail-record rows, type by type, the way the live API shapes them
//! (field names, ids as strings or numbers, costs as decimal strings sometimes in
//! scientific notation, 0/1 integers for booleans). Used by the volume generator and by
//! the simulated "record arrived mid-walk" fault.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::record_types::RecordType;
use crate::scenario::AccountSpec;

/// A small deterministic random source (SplitMix64): the same seed gives the same rows
/// on every run and every machine, independent of any crate's algorithm choices.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub(crate) fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    /// A Telnyx-style int64 id as a numeric string.
    pub(crate) fn numeric_id(&mut self) -> String {
        (1_000_000_000_000_000_000 + self.below(8_000_000_000_000_000_000)).to_string()
    }

    /// A decimal string cost; about one in eight comes in scientific notation.
    pub(crate) fn money(&mut self) -> String {
        if self.below(8) == 0 {
            let mantissa = 1000 + self.below(9000);
            let exponent = 4 + self.below(2);
            let digits = mantissa.to_string();
            format!("{}.{}E-{}", &digits[..1], &digits[1..], exponent)
        } else {
            let micros = 100 + self.below(90_000);
            format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
        }
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            let i = self.below(items.len() as u64) as usize;
            items.get(i)
        }
    }
}

pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Turns a numeric string id into a JSON number (the drift seen live); anything else
/// stays a string.
fn maybe_number(id: &str, as_number: bool) -> Value {
    match id.parse::<u64>() {
        Ok(n) if as_number => json!(n),
        _ => json!(id),
    }
}

/// Everything a row needs from the account, picked once per row.
struct Picks {
    connection_id: Option<String>,
    connection_name: Option<String>,
    billing_group_id: Option<String>,
    billing_group_name: Option<String>,
    our_number: String,
    their_number: String,
    messaging_profile_id: Option<String>,
}

fn picks(account: &AccountSpec, rng: &mut SplitMix) -> Picks {
    let connection = rng.pick(&account.connections).cloned();
    let billing_group = connection
        .as_ref()
        .and_then(|c| c.outbound_voice_profile_id.as_ref())
        .and_then(|p| account.outbound_voice_profiles.iter().find(|o| &o.id == p))
        .and_then(|o| o.billing_group_id.as_ref())
        .and_then(|g| account.billing_groups.iter().find(|b| &b.id == g));
    let number = rng
        .pick(&account.phone_numbers)
        .map(|n| n.phone_number.clone());
    let their_number = format!("+1{}", 2_000_000_000 + rng.below(7_000_000_000));
    Picks {
        connection_id: connection.as_ref().map(|c| c.id.clone()),
        connection_name: connection.as_ref().map(|c| c.connection_name.clone()),
        billing_group_id: billing_group.map(|b| b.id.clone()),
        billing_group_name: billing_group.map(|b| b.name.clone()),
        our_number: number.unwrap_or_else(|| format!("+1{}", 3_000_000_000 + rng.below(10_000))),
        their_number,
        messaging_profile_id: account
            .phone_numbers
            .iter()
            .find_map(|n| n.messaging_profile_id.clone()),
    }
}

/// What every row of one record draws first (in this order, so a seed always gives the
/// same rows): the account's picks, direction, durations, ids, money.
struct Common {
    p: Picks,
    cli: String,
    cld: String,
    direction: &'static str,
    call_sec: u64,
    billed_sec: u64,
    answered: bool,
    session: String,
    leg: String,
    /// The record's time and its end, formatted.
    t: String,
    t_end: String,
    cost: String,
    rate: String,
    response: &'static str,
}

impl Common {
    fn draw(
        kind: RecordType,
        at: DateTime<Utc>,
        account: &AccountSpec,
        rng: &mut SplitMix,
    ) -> Self {
        let p = picks(account, rng);
        let outbound = rng.below(2) == 0;
        let (cli, cld) = if outbound {
            (p.our_number.clone(), p.their_number.clone())
        } else {
            (p.their_number.clone(), p.our_number.clone())
        };
        let call_sec = rng.below(900);
        let answered = call_sec > 0;
        let billed_sec = if answered {
            call_sec.div_ceil(60) * 60
        } else {
            0
        };
        let finished = at + Duration::seconds(call_sec as i64 + 3);
        let session = rng.uuid();
        let leg = rng.uuid();
        Common {
            p,
            cli,
            cld,
            direction: if outbound { "outbound" } else { "inbound" },
            call_sec,
            billed_sec,
            answered,
            session,
            leg,
            t: timestamp(at),
            t_end: timestamp(finished),
            cost: rng.money(),
            rate: rng.money(),
            response: kind.response_name(),
        }
    }
}

/// Builds one row of `kind` at time `at` for `account`. `index` is the record's place in
/// its generator; it decides the deliberate drifts (e.g. every 7th webrtc row carries a
/// numeric `connection_id`).
pub(crate) fn build_row(
    kind: RecordType,
    at: DateTime<Utc>,
    index: u64,
    account: &AccountSpec,
    rng: &mut SplitMix,
) -> Value {
    let c = Common::draw(kind, at, account, rng);
    match kind {
        RecordType::SipTrunking
        | RecordType::CallControl
        | RecordType::Fax
        | RecordType::SiprecClient
        | RecordType::MediaStreaming => call_leg(kind, &c, at, rng),
        RecordType::Webrtc => webrtc(&c, index, rng),
        RecordType::Recording => recording(&c),
        RecordType::Conference => conference(&c, at, rng),
        RecordType::ConferenceParticipant => conference_participant(&c, rng),
        RecordType::Amd => amd(&c, rng),
        RecordType::Stt => stt(&c),
        RecordType::Tts | RecordType::Embedding | RecordType::Inference => ai_text(kind, &c, rng),
        RecordType::InferenceSpeechToText | RecordType::NoiseSuppression => ai_audio(&c, rng),
        RecordType::AiVoiceAssistant => voice_assistant(&c, rng),
        RecordType::Messaging => messaging(&c, at, rng),
        RecordType::Wireless => wireless(&c, at, rng),
        RecordType::MediaStorage => media_storage(&c, rng),
        RecordType::Verify => verify(&c, at, rng),
    }
}

/// sip-trunking, call-control, fax, siprec-client, media-streaming: one call leg.
fn call_leg(kind: RecordType, c: &Common, at: DateTime<Utc>, rng: &mut SplitMix) -> Value {
    let at_answer = if c.answered {
        json!(timestamp(at + Duration::seconds(3)))
    } else {
        Value::Null
    };
    let mut row = json!({
        "record_type": c.response,
        "telnyx_session_id": c.session,
        "started_at": c.t,
        "answered_at": at_answer,
        "finished_at": c.t_end,
        "connection_id": c.p.connection_id,
        "cli": c.cli,
        "cld": c.cld,
        "direction": c.direction,
        "leg_direction": c.direction,
        "attempted": 1,
        "connected": u8::from(c.answered),
        "completed": u8::from(c.answered),
        "call_sec": c.call_sec,
        "billed_sec": c.billed_sec,
        "rate": c.rate,
        "cost": c.cost,
        "currency": "USD",
        "flow_source": if kind == RecordType::CallControl { "telnyx_cc_app" } else { "telnyx_connection" },
    });
    if kind == RecordType::CallControl {
        row["telnyx_leg_id"] = json!(c.leg);
    } else {
        row["id"] = json!(c.leg);
        row["sip_call_id"] = json!(format!("{}@sip.example", rng.uuid()));
        row["outbound_profile_id"] = json!(rng.numeric_id());
    }
    row
}

fn webrtc(c: &Common, index: u64, rng: &mut SplitMix) -> Value {
    let connection =
        c.p.connection_id
            .as_deref()
            .map(|id| maybe_number(id, index % 7 == 0))
            .unwrap_or(Value::Null);
    json!({
        "record_type": c.response,
        "id": c.leg,
        "telnyx_leg_id": c.leg,
        "telnyx_session_id": c.session,
        "call_id": rng.uuid(),
        "session_id": rng.uuid(),
        "started_at": c.t,
        "finished_at": c.t_end,
        "connection_id": connection,
        "connection_name": c.p.connection_name,
        "billing_group_id": 60,
        "billing_group_name": "",
        "cli": c.cli,
        "cld": c.cld,
        "caller_number": c.cli.trim_start_matches('+'),
        "country_code": 1,
        "call_sec": c.call_sec,
        "billed_sec": c.billed_sec,
        "rate": c.rate,
        "cost": c.cost,
        "currency": "USD",
    })
}

fn recording(c: &Common) -> Value {
    json!({
        "record_type": c.response,
        "telnyx_session_id": c.session,
        "call_leg_id": c.leg,
        "started_at": c.t,
        "finished_at": c.t_end,
        "connection_id": c.p.connection_id,
        "recording_sec": c.call_sec,
        "channels": "dual",
        "rate": c.rate,
        "cost": c.cost,
        "currency": "USD",
    })
}

fn conference(c: &Common, at: DateTime<Utc>, rng: &mut SplitMix) -> Value {
    json!({
        "record_type": c.response,
        "id": rng.uuid(),
        "name": format!("room-{}", rng.below(1000)),
        "call_leg_id": c.leg,
        "call_session_id": c.session,
        "connection_id": c.p.connection_id,
        "started_at": c.t,
        "ended_at": c.t_end,
        "expires_at": timestamp(at + Duration::hours(24)),
        "call_sec": c.call_sec,
        "participant_call_sec": c.call_sec * 2,
        "participant_count": 2 + rng.below(4),
        "region": "us-east",
        "is_telnyx_billable": true,
    })
}

fn conference_participant(c: &Common, rng: &mut SplitMix) -> Value {
    json!({
        "record_type": c.response,
        "id": rng.uuid(),
        "conference_id": rng.uuid(),
        "call_leg_id": c.leg,
        "call_session_id": c.session,
        "joined_at": c.t,
        "left_at": c.t_end,
        "originating_number": c.cli,
        "destination_number": c.cld,
        "call_sec": c.call_sec,
        "billed_sec": c.billed_sec,
        "rate": c.rate,
        "rate_measured_in": "minutes",
        "cost": c.cost,
        "currency": "USD",
        "is_telnyx_billable": true,
    })
}

fn amd(c: &Common, rng: &mut SplitMix) -> Value {
    json!({
        "record_type": c.response,
        "id": rng.uuid(),
        "call_leg_id": c.leg,
        "call_session_id": c.session,
        "invoked_at": c.t,
        "connection_id": c.p.connection_id,
        "connection_name": c.p.connection_name,
        "billing_group_id": c.p.billing_group_id,
        "billing_group_name": c.p.billing_group_name,
        "feature": "PREMIUM",
        "rate": c.rate,
        "rate_measured_in": "invocations",
        "cost": c.cost,
        "currency": "USD",
        "is_telnyx_billable": true,
    })
}

fn stt(c: &Common) -> Value {
    json!({
        "record_type": c.response,
        "call_leg_id": c.leg,
        "call_session_id": c.session,
        "start_time": c.t,
        "end_time": c.t_end,
        "duration_sec": c.call_sec,
        "rate": c.rate,
        "cost": c.cost,
        "currency": "USD",
    })
}

/// tts, embedding, inference: characters, no duration.
fn ai_text(kind: RecordType, c: &Common, rng: &mut SplitMix) -> Value {
    json!({
        "record_type": c.response,
        "call_leg_id": c.leg,
        "call_session_id": c.session,
        "created_at": c.t,
        "provider": if kind == RecordType::Tts { "telnyx" } else { "meta-llama" },
        "number_of_characters": 20 + rng.below(2000),
        "cost": c.cost,
        "currency": "USD",
    })
}

/// inference-speech-to-text, noise-suppression: audio seconds of one call leg.
fn ai_audio(c: &Common, rng: &mut SplitMix) -> Value {
    json!({
        "record_type": c.response,
        "id": rng.uuid(),
        "call_leg_id": c.leg,
        "created_at": c.t,
        "duration_sec": c.call_sec,
        "billed_sec": c.billed_sec,
        "rate": c.rate,
        "cost": c.cost,
        "currency": "USD",
    })
}

fn voice_assistant(c: &Common, rng: &mut SplitMix) -> Value {
    json!({
        "record_type": c.response,
        "conversation_id": rng.uuid(),
        "call_control_id": format!("v3:{}", rng.uuid()),
        "telnyx_leg_id": c.leg,
        "telnyx_session_id": c.session,
        "created_at": c.t,
        "completed_at": c.t_end,
        "duration_sec": c.call_sec,
        "billed_sec": c.billed_sec,
        "rate": c.rate,
        "rate_measured_in": "ai_voice_assistant_minutes",
        "cost": c.cost,
        "currency": "USD",
    })
}

fn messaging(c: &Common, at: DateTime<Utc>, rng: &mut SplitMix) -> Value {
    let parts = 1 + rng.below(3);
    json!({
        "record_type": c.response,
        "uuid": rng.uuid(),
        "created_at": c.t,
        "sent_at": timestamp(at + Duration::seconds(1)),
        "completed_at": timestamp(at + Duration::seconds(4)),
        "updated_at": timestamp(at + Duration::seconds(4)),
        "profile_id": c.p.messaging_profile_id,
        "cli": c.cli,
        "cld": c.cld,
        "direction": c.direction,
        "message_type": "SMS",
        "status": "delivered",
        "parts": parts,
        "rate": c.rate,
        "cost": c.cost,
        "carrier_fee": "0.0025",
        "currency": "USD",
        "country_code": "US",
    })
}

fn wireless(c: &Common, at: DateTime<Utc>, rng: &mut SplitMix) -> Value {
    let uplink = rng.below(5_000_000);
    let downlink = rng.below(50_000_000);
    json!({
        "record_type": c.response,
        "id": rng.uuid(),
        "created_at": c.t,
        "closed_at": timestamp(at + Duration::hours(1)),
        "sim_card_id": rng.uuid(),
        "sim_group_id": rng.uuid(),
        "phone_number": c.p.our_number,
        "uplink_data": uplink,
        "downlink_data": downlink,
        "data_unit": "B",
        "data_rate": "0.0045",
        "data_cost": ((uplink + downlink) as f64 / 1_000_000.0 * 0.0045 * 10_000.0).round() / 10_000.0,
        "currency": "USD",
    })
}

fn media_storage(c: &Common, rng: &mut SplitMix) -> Value {
    json!({
        "record_type": c.response,
        "id": rng.uuid(),
        "created_at": c.t,
        "link_channel_id": rng.uuid(),
        "link_channel_type": "call",
        "action_type": "upload",
        "rate": c.rate,
        "rate_measured_in": "gb",
        "cost": c.cost,
        "currency": "USD",
    })
}

fn verify(c: &Common, at: DateTime<Utc>, rng: &mut SplitMix) -> Value {
    json!({
        "record_type": c.response,
        "id": rng.uuid(),
        "created_at": c.t,
        "updated_at": timestamp(at + Duration::seconds(20)),
        "verify_profile_id": rng.uuid(),
        "destination_phone_number": c.p.their_number,
        "verify_channel_type": "sms",
        "verification_status": "accepted",
        "delivery_status": "delivered",
        "rate": c.rate,
        "rate_measured_in": "attempts",
        "verify_usage_fee": "0.03",
        "currency": "USD",
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn account() -> AccountSpec {
        serde_yaml::from_str(
            "{id: a, organization_name: A, email: a@x, api_key: KEYa, \
             connections: [{id: '1684641123236054244', connection_name: c, record_type: credential_connection}]}",
        )
        .unwrap()
    }

    #[test]
    fn every_type_carries_its_response_spelling_and_its_time_field() {
        let account = account();
        let at = Utc::now();
        for kind in RecordType::ALL {
            let row = build_row(kind, at, 1, &account, &mut SplitMix::new(9));
            assert_eq!(row["record_type"], kind.response_name());
            assert_eq!(row[kind.time_field()], timestamp(at), "{kind}");
            assert!(row.get(kind.id_field()).is_some(), "{kind} lacks its id");
        }
    }

    #[test]
    fn every_seventh_webrtc_row_has_a_numeric_connection_id() {
        let account = account();
        let row = build_row(
            RecordType::Webrtc,
            Utc::now(),
            14,
            &account,
            &mut SplitMix::new(1),
        );
        assert!(row["connection_id"].is_u64());
        let row = build_row(
            RecordType::Webrtc,
            Utc::now(),
            15,
            &account,
            &mut SplitMix::new(1),
        );
        assert!(row["connection_id"].is_string());
    }

    #[test]
    fn money_is_a_decimal_string_sometimes_in_scientific_notation() {
        let mut rng = SplitMix::new(3);
        let costs: Vec<String> = (0..200).map(|_| rng.money()).collect();
        assert!(costs.iter().any(|c| c.contains("E-")));
        for c in &costs {
            let parsed = if c.contains('E') {
                rust_decimal::Decimal::from_scientific(c)
            } else {
                c.parse()
            };
            assert!(parsed.is_ok(), "{c}");
        }
    }
}
