//! `make bench`: the product's figures, measured in one run on this machine with the
//! release build, printed as `name: value` lines. `bench [part ...]` runs some parts
//! only (`import`, `rate`, `rss`, `fanout`, `sweep`, `init`, `export`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod export;
mod fanout;
mod import;
mod init;
mod null_queue;
mod rate;
mod rss;
mod sweep;
mod world;

use aws_adapters::store::keys;
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use reconciliation::domain::RecordType;
use std::time::Duration;

/// The template's default `MaxConcurrentAccounts`.
const DEFAULT_CONCURRENCY: usize = 10;

/// Records stored for an account (a count query per record type).
pub async fn count_records(world: &world::World, account: &str) -> u64 {
    let ddb = aws_sdk_dynamodb::Client::new(&world.stack.sdk);
    let mut total = 0;
    for &t in RecordType::ALL {
        let pk = keys::detail_record(&account.into(), t, &"x".into()).pk;
        let mut start = None;
        loop {
            let out = ddb
                .query()
                .table_name(&world.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("count query");
            total += out.count as u64;
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
    }
    total
}

/// A number from the environment (the knobs `make bench` leaves at their defaults).
fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.parse().ok()
}

#[tokio::main]
async fn main() {
    let parts: Vec<String> = std::env::args().skip(1).collect();
    let wants = |p: &str| parts.is_empty() || parts.iter().any(|x| x == p);
    let print = |figures: Vec<(String, String)>| {
        for (name, value) in figures {
            println!("{name}: {value}");
        }
    };
    if wants("init") {
        print(init::run(5).await);
    }
    if wants("import") {
        print(import::run(10_000).await);
    }
    if wants("fanout") {
        print(fanout::run(env_number("BENCH_ACCOUNTS").unwrap_or(3_000)).await);
    }
    if wants("sweep") {
        let accounts = env_number("BENCH_SWEEP_ACCOUNTS").unwrap_or(100);
        let concurrency = env_number("BENCH_CONCURRENCY").unwrap_or(DEFAULT_CONCURRENCY);
        print(sweep::run(accounts, concurrency, Duration::from_millis(150)).await);
    }
    if wants("rate") {
        print(rate::run(8_000, Duration::from_secs(120)).await);
    }
    if wants("export") {
        print(export::run(env_number("BENCH_EXPORT_RECORDS").unwrap_or(1_000_000)).await);
    }
    if wants("rss") {
        print(rss::run(env_number("BENCH_RSS_RECORDS").unwrap_or(1_000_000) as u64).await);
    }
}
