//! Parse throughput: realistic `/detail_records` pages (JSON bytes, 50 rows each) →
//! `Vec<DetailRecord>` (normalized fields plus each row's verbatim text), on one core,
//! with the allocator the Lambda binaries use (the system one).
//!
//! Pages are one record type each, as Telnyx serves them, each in that type's own shape
//! (`shared/telnyx/record-shapes.md`: `uuid` on messaging, `invoked_at` on amd,
//! `joined_at` and no connection on conference participants, no cost on conferences,
//! `verify_usage_fee` on verify, numeric `data_cost` on wireless, `start_time` on stt,
//! scientific-notation costs on AI types, hidden pricing, numeric ids). The mix is
//! weighted like a real account: mostly call legs and messages.
//!
//! Prints `parse_records_per_sec: N`. Run with `make bench`
//! (`cargo bench -p telnyx-client --bench parse`).

use reconciliation::domain::RecordType;
use std::hint::black_box;
use std::time::{Duration, Instant};
use telnyx_client::parse_detail_page;

const ROWS_PER_PAGE: usize = 50;
const MEASURE_FOR: Duration = Duration::from_secs(5);

fn ts(i: usize) -> String {
    format!(
        "2026-11-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        20 + (i / 86_400) % 8,
        (i / 3600) % 24,
        (i / 60) % 60,
        i % 60,
        (i * 37) % 1000
    )
}

fn uuid(i: usize, salt: u32) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        i as u32 ^ salt,
        i % 0xffff,
        i % 0xfff,
        (i * 7) % 0xfff,
        (i as u64).wrapping_mul(0x9E37_79B9) & 0xffff_ffff_ffff
    )
}

fn money(i: usize) -> String {
    if i % 8 == 0 {
        format!("{}.{:03}E-4", 1 + i % 9, i % 1000)
    } else {
        format!("0.{:06}", 100 + (i * 131) % 90_000)
    }
}

/// `cost` and `rate` as JSON: decimal strings, or hidden from the managed account
/// (`""`) on one row in eleven.
fn pricing(i: usize) -> (String, String) {
    if i % 11 == 0 {
        (String::from("\"\""), String::from("\"\""))
    } else {
        (format!("\"{}\"", money(i)), format!("\"{}\"", money(i + 3)))
    }
}

fn row(kind: RecordType, i: usize) -> String {
    let t = ts(i);
    let end = ts(i + 97);
    let direction = if i % 2 == 0 { "outbound" } else { "inbound" };
    let (cost, rate) = pricing(i);
    let (leg, session) = (uuid(i, 1), uuid(i, 2));
    let cs = i % 900;
    let bs = cs.div_ceil(60) * 60;
    let n = i % 10_000;
    match kind {
        RecordType::SipTrunking => format!(
            r#"{{"record_type":"sip_trunking_detail_record","id":"{leg}","telnyx_session_id":"{session}","sip_call_id":"{session}@10.0.0.1","started_at":"{t}","answered_at":"{t}","finished_at":"{end}","connection_id":"1684641123236054244","outbound_profile_id":"1293384261075731499","cli":"+1312555{n:04}","cld":"+1415555{n:04}","direction":"{direction}","leg_direction":"{direction}","attempted":1,"connected":1,"completed":1,"call_sec":{cs},"billed_sec":{bs},"rate":{rate},"cost":{cost},"currency":"USD","flow_source":"telnyx_connection"}}"#,
        ),
        RecordType::CallControl => format!(
            r#"{{"record_type":"call_control_detail_record","telnyx_leg_id":"{leg}","telnyx_session_id":"{session}","started_at":"{t}","finished_at":"{end}","connection_id":"1684641123236054245","cli":"+1312555{n:04}","cld":"+1415555{n:04}","direction":"{direction}","leg_direction":"{direction}","attempted":1,"connected":{c},"completed":{c},"call_sec":{cs},"billed_sec":{bs},"rate":{rate},"cost":{cost},"currency":"USD","flow_source":"telnyx_cc_app"}}"#,
            c = u8::from(cs > 0),
        ),
        RecordType::Webrtc => format!(
            r#"{{"record_type":"webrtc_detail_record","id":"{leg}","telnyx_leg_id":"{leg}","telnyx_session_id":"{session}","call_id":"{session}","session_id":"{session}","started_at":"{t}","finished_at":"{end}","connection_id":{conn},"connection_name":"acme-sip-trunk","billing_group_id":60,"billing_group_name":"","cli":"+13125550102","cld":"+15125550100","caller_number":"1 (312) 555-0102","country_code":1,"call_sec":{cs},"billed_sec":{bs},"rate":{rate},"cost":{cost},"currency":"USD"}}"#,
            conn = if i % 7 == 0 {
                "1684641123236054244"
            } else {
                "\"1684641123236054244\""
            },
        ),
        RecordType::Conference => format!(
            r#"{{"record_type":"conference_detail_record","id":"{id}","name":"room-{room}","connection_id":"1684641123236054245","started_at":"{t}","ended_at":"{end}","expires_at":"{end}","call_sec":{cs},"participant_call_sec":{pcs},"participant_count":{pc},"region":"us-east","is_telnyx_billable":true}}"#,
            id = uuid(i, 3),
            room = i % 1000,
            pcs = cs * 2,
            pc = 2 + i % 4,
        ),
        RecordType::ConferenceParticipant => format!(
            r#"{{"record_type":"conference_participant_detail_record","id":"{id}","conference_id":"{conf}","call_leg_id":"{leg}","call_session_id":"{session}","joined_at":"{t}","left_at":"{end}","originating_number":"+1312555{n:04}","destination_number":"+1415555{n:04}","call_sec":{cs},"billed_sec":{bs},"rate":{rate},"rate_measured_in":"minutes","cost":{cost},"currency":"USD","is_telnyx_billable":true}}"#,
            id = uuid(i, 4),
            conf = uuid(i / 5, 5),
        ),
        RecordType::Amd => format!(
            r#"{{"record_type":"amd_detail_record","id":"{id}","call_leg_id":"{leg}","call_session_id":"{session}","invoked_at":"{t}","connection_id":"1684641123236054246","connection_name":"acme-ivr","billing_group_id":"f5586561-8ff0-4291-a0ac-84fe544797bd","billing_group_name":"Retail","feature":"PREMIUM","rate":{rate},"rate_measured_in":"invocations","cost":{cost},"currency":"USD","is_telnyx_billable":true}}"#,
            id = uuid(i, 6),
        ),
        RecordType::Messaging => format!(
            r#"{{"record_type":"message_detail_record","uuid":"{id}","created_at":"{t}","sent_at":"{t}","completed_at":"{end}","updated_at":"{end}","profile_id":"40017f7a-2b3c-4d5e-8f90-a1b2c3d4e5f6","profile_name":"acme-notifications","cli":"+13125550106","cld":"+1312555{n:04}","direction":"{direction}","message_type":"SMS","status":"delivered","parts":{parts},"rate":{rate},"cost":{cost},"carrier_fee":"0.0030","currency":"USD","country_code":"US","mcc":"310","mnc":"260"}}"#,
            id = uuid(i, 7),
            parts = 1 + i % 3,
        ),
        RecordType::Verify => format!(
            r#"{{"record_type":"verification_detail_record","id":"{id}","created_at":"{t}","updated_at":"{end}","verify_profile_id":"4900017a-2b3c-4d5e-8f90-a1b2c3d4e5f6","destination_phone_number":"+1415555{n:04}","verify_channel_type":"sms","verification_status":"accepted","delivery_status":"delivered","rate":{rate},"rate_measured_in":"attempts","verify_usage_fee":"0.03","currency":"USD"}}"#,
            id = uuid(i, 8),
        ),
        RecordType::Wireless => format!(
            r#"{{"record_type":"sim_card_usage","id":"{id}","created_at":"{t}","closed_at":"{end}","sim_card_id":"{sim}","sim_group_id":"{group}","phone_number":"+13125550101","uplink_data":{up},"downlink_data":{down},"data_unit":"B","data_rate":"0.0045","data_cost":0.{dc:04},"currency":"USD"}}"#,
            id = uuid(i, 9),
            sim = uuid(i % 40, 10),
            group = uuid(3, 11),
            up = i * 1013 % 5_000_000,
            down = i * 7919 % 50_000_000,
            dc = 1 + i % 9999,
        ),
        RecordType::Stt => format!(
            r#"{{"record_type":"stt_detail_record","call_leg_id":"{leg}","call_session_id":"{session}","start_time":"{t}","end_time":"{end}","duration_sec":{cs},"rate":{rate},"cost":{cost},"currency":"USD"}}"#,
        ),
        RecordType::AiVoiceAssistant => format!(
            r#"{{"record_type":"ai_voice_assistant_detail_record","conversation_id":"{id}","call_control_id":"v3:{cc}","telnyx_leg_id":"{leg}","telnyx_session_id":"{session}","created_at":"{t}","completed_at":"{end}","duration_sec":{cs},"billed_sec":{bs},"rate":{rate},"rate_measured_in":"ai_voice_assistant_minutes","cost":{cost},"currency":"USD"}}"#,
            id = uuid(i, 12),
            cc = uuid(i, 13),
        ),
        RecordType::MediaStorage => format!(
            r#"{{"record_type":"media_storage","id":"{id}","created_at":"{t}","link_channel_id":"{link}","link_channel_type":"call","action_type":"upload","rate":{rate},"rate_measured_in":"gb","cost":{cost},"currency":"USD"}}"#,
            id = uuid(i, 14),
            link = uuid(i, 15),
        ),
        // tts, inference, embedding (and the AI types without a public sample).
        other => format!(
            r#"{{"record_type":"{name}_detail_record","call_leg_id":"{leg}","call_session_id":"{session}","created_at":"{t}","provider":"{provider}","number_of_characters":{chars},"cost":"{m}.{e:03}E-4","currency":"USD"}}"#,
            name = other.filter_name(),
            provider = if other == RecordType::Tts {
                "telnyx"
            } else {
                "meta-llama"
            },
            chars = 20 + i % 2000,
            m = 1 + i % 9,
            e = i % 1000,
        ),
    }
}

fn page(kind: RecordType, first: usize) -> Vec<u8> {
    let rows: Vec<String> = (first..first + ROWS_PER_PAGE)
        .map(|i| row(kind, i))
        .collect();
    format!(
        r#"{{"data":[{}],"meta":{{"page_number":1,"page_size":50,"total_pages":9,"total_results":421}}}}"#,
        rows.join(",")
    )
    .into_bytes()
}

fn main() {
    // Weighted like a real account: mostly call legs and messages.
    let mix = [
        RecordType::SipTrunking,
        RecordType::SipTrunking,
        RecordType::SipTrunking,
        RecordType::Messaging,
        RecordType::Messaging,
        RecordType::Messaging,
        RecordType::CallControl,
        RecordType::Webrtc,
        RecordType::Conference,
        RecordType::ConferenceParticipant,
        RecordType::Amd,
        RecordType::Verify,
        RecordType::Wireless,
        RecordType::Tts,
        RecordType::Inference,
        RecordType::Stt,
        RecordType::AiVoiceAssistant,
        RecordType::MediaStorage,
    ];
    let pages: Vec<(RecordType, Vec<u8>)> = mix
        .iter()
        .enumerate()
        .map(|(n, kind)| (*kind, page(*kind, n * ROWS_PER_PAGE * 17 + 1)))
        .collect();
    let bytes: usize = pages.iter().map(|(_, p)| p.len()).sum();

    // Every page must parse in full, in its own shape, before anything is timed.
    for (kind, body) in &pages {
        match parse_detail_page(body, *kind, 1) {
            Ok(p) if p.records.len() == ROWS_PER_PAGE => {
                let first = &p.records[0];
                assert_eq!(first.record_type, *kind);
                assert!(!first.id.as_str().is_empty(), "{kind}: no id");
            }
            Ok(p) => panic!("{kind}: {} rows parsed", p.records.len()),
            Err(e) => panic!("{kind}: {e}"),
        }
    }
    // Warm-up.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(500) {
        for (kind, body) in &pages {
            black_box(parse_detail_page(black_box(body), *kind, 1).ok());
        }
    }

    let mut records: u64 = 0;
    let start = Instant::now();
    while start.elapsed() < MEASURE_FOR {
        for (kind, body) in &pages {
            if let Ok(page) = parse_detail_page(black_box(body), *kind, 1) {
                records += page.records.len() as u64;
                black_box(page);
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let per_sec = (records as f64 / elapsed) as u64;
    eprintln!(
        "parsed {records} records in {elapsed:.2}s ({} pages, {:.0} bytes/row average, system allocator)",
        pages.len(),
        bytes as f64 / (pages.len() * ROWS_PER_PAGE) as f64
    );
    println!("parse_records_per_sec: {per_sec}");
}
