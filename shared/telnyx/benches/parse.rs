//! Parse throughput: realistic `/detail_records` pages (JSON bytes, 50 rows each) →
//! `Vec<DetailRecord>`, on one core. Pages are one record type each, as Telnyx serves
//! them; the set of pages mixes the types (call legs, messaging, AI with scientific-
//! notation costs, wireless with numeric money, hidden pricing, numeric ids).
//!
//! Prints `parse_records_per_sec: N`. Run with `cargo bench -p telnyx-client --bench parse`.

use mimalloc::MiMalloc;
use reconciliation::domain::RecordType;
use std::hint::black_box;
use std::time::{Duration, Instant};
use telnyx_client::parse_detail_page;

// Rebuilding each row's `raw` JSON (`serde_json::Value`, ~35 allocations a row) is
// allocation-bound: with glibc malloc this bench runs at roughly a third of the speed.
// The Lambda binaries should set the same allocator.
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

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

fn row(kind: RecordType, i: usize) -> String {
    let t = ts(i);
    let direction = if i % 2 == 0 { "outbound" } else { "inbound" };
    let (cost, rate) = if i % 11 == 0 {
        // Hidden pricing.
        (String::from("\"\""), String::from("\"\""))
    } else {
        (format!("\"{}\"", money(i)), format!("\"{}\"", money(i + 3)))
    };
    match kind {
        RecordType::SipTrunking | RecordType::CallControl | RecordType::Fax => format!(
            r#"{{"record_type":"sip_trunking_detail_record","id":"{id}","telnyx_session_id":"{s}","sip_call_id":"{s}@10.0.0.1","started_at":"{t}","answered_at":"{t}","finished_at":"{t}","connection_id":"1684641123236054244","outbound_profile_id":"1293384261075731499","cli":"+1312555{n:04}","cld":"+1415555{n:04}","direction":"{direction}","leg_direction":"{direction}","attempted":1,"connected":1,"completed":1,"call_sec":{cs},"billed_sec":{bs},"rate":{rate},"cost":{cost},"currency":"USD","flow_source":"telnyx_connection"}}"#,
            id = uuid(i, 1),
            s = uuid(i, 2),
            n = i % 10_000,
            cs = i % 900,
            bs = (i % 900).div_ceil(60) * 60,
        ),
        RecordType::Webrtc => format!(
            r#"{{"record_type":"webrtc_detail_record","id":"{id}","telnyx_leg_id":"{id}","telnyx_session_id":"{s}","call_id":"{s}","session_id":"{s}","started_at":"{t}","finished_at":"{t}","connection_id":{conn},"connection_name":"acme-sip-trunk","billing_group_id":60,"billing_group_name":"","cli":"+13125550102","cld":"+15125550100","caller_number":"1 (312) 555-0102","country_code":1,"call_sec":{cs},"billed_sec":{cs},"rate":{rate},"cost":{cost},"currency":"USD"}}"#,
            id = uuid(i, 3),
            s = uuid(i, 4),
            conn = if i % 7 == 0 {
                "1684641123236054244".to_owned()
            } else {
                "\"1684641123236054244\"".to_owned()
            },
            cs = i % 600,
        ),
        RecordType::Messaging => format!(
            r#"{{"record_type":"message_detail_record","uuid":"{id}","created_at":"{t}","sent_at":"{t}","completed_at":"{t}","updated_at":"{t}","profile_id":"40017f7a-2b3c-4d5e-8f90-a1b2c3d4e5f6","profile_name":"acme-notifications","cli":"+13125550106","cld":"+1312555{n:04}","direction":"{direction}","message_type":"SMS","status":"delivered","parts":{parts},"rate":{rate},"cost":{cost},"carrier_fee":"0.0030","currency":"USD","country_code":"US","mcc":"310","mnc":"260"}}"#,
            id = uuid(i, 5),
            n = i % 10_000,
            parts = 1 + i % 3,
        ),
        RecordType::Tts | RecordType::Inference | RecordType::Embedding => format!(
            r#"{{"record_type":"tts_detail_record","call_leg_id":"{leg}","call_session_id":"{s}","created_at":"{t}","provider":"telnyx","voice":"Telnyx.KokoroTTS.af","number_of_characters":{chars},"cost":"{m}.{e:03}E-4","currency":"USD"}}"#,
            leg = uuid(i, 6),
            s = uuid(i, 7),
            chars = 20 + i % 2000,
            m = 1 + i % 9,
            e = i % 1000,
        ),
        RecordType::Wireless => format!(
            r#"{{"record_type":"sim_card_usage","id":"{id}","created_at":"{t}","closed_at":"{t}","sim_card_id":"{s}","sim_group_id":"{s}","phone_number":"+13125550101","uplink_data":{up},"downlink_data":{down},"data_unit":"B","data_rate":"0.0045","data_cost":0.{dc:04},"currency":"USD"}}"#,
            id = uuid(i, 8),
            s = uuid(i, 9),
            up = i * 1013 % 5_000_000,
            down = i * 7919 % 50_000_000,
            dc = 1 + i % 9999,
        ),
        _ => format!(
            r#"{{"record_type":"amd_detail_record","id":"{id}","call_leg_id":"{leg}","call_session_id":"{s}","invoked_at":"{t}","started_at":"{t}","joined_at":"{t}","start_time":"{t}","created_at":"{t}","connection_id":"1684641123236054246","connection_name":"acme-ivr","billing_group_id":"f5586561-8ff0-4291-a0ac-84fe544797bd","billing_group_name":"Retail","feature":"premium","duration_sec":{d},"rate":{rate},"rate_measured_in":"invocations","cost":{cost},"currency":"USD","is_telnyx_billable":true}}"#,
            id = uuid(i, 10),
            leg = uuid(i, 11),
            s = uuid(i, 12),
            d = i % 900,
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
        RecordType::Messaging,
        RecordType::Messaging,
        RecordType::CallControl,
        RecordType::Webrtc,
        RecordType::Tts,
        RecordType::Inference,
        RecordType::Wireless,
        RecordType::Amd,
        RecordType::Verify,
        RecordType::Conference,
    ];
    let pages: Vec<(RecordType, Vec<u8>)> = mix
        .iter()
        .enumerate()
        .map(|(n, kind)| (*kind, page(*kind, n * ROWS_PER_PAGE * 17 + 1)))
        .collect();
    let bytes: usize = pages.iter().map(|(_, p)| p.len()).sum();

    // Every page must parse in full before anything is timed.
    for (kind, body) in &pages {
        match parse_detail_page(body, *kind, 1) {
            Ok(p) if p.records.len() == ROWS_PER_PAGE => {}
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
        "parsed {records} records in {elapsed:.2}s ({} pages, {:.0} bytes/row average)",
        pages.len(),
        bytes as f64 / (pages.len() * ROWS_PER_PAGE) as f64
    );
    println!("parse_records_per_sec: {per_sec}");
}
