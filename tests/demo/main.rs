//! `make demo`: the product's main job end to end, on what AWS runs. Both function
//! binaries (`target/debug/scheduler`, `target/debug/account-sync`: their `main.rs`,
//! `Config::from_env` and the Lambda runtime loop) run under a local Lambda Runtime API
//! (`infra/lambda-local`); the schedule's event goes to the scheduler, and an SQS event
//! source delivers each queued message to account-sync (deleted when acknowledged,
//! left for redelivery when not), continuations included. The data: the sample
//! reseller grown into a few thousand records of all 21 types (`world`); Telnyx is the
//! simulator (with Telnyx's 40 detail-record requests a minute per key); DynamoDB,
//! Secrets Manager, SQS and SES are the local stack. Two rounds: the second shows that
//! a run over unchanged data writes nothing and sends nothing. Then the summary
//! (`report`).

mod report;
mod world;

use integration_tests::e2e::*;
use integration_tests::stack::Stack;
use lambda_local::{Function, SqsEventSource, function::binary};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// account-sync's timeout under the demo: short, so a busy account shows its
/// continuation (the deployed default is 300 s).
const SYNC_TIMEOUT: Duration = Duration::from_secs(25);

fn name_of(account: &str) -> &'static str {
    match account {
        ACME => "Acme Reseller",
        BETA => "Beta Telecom",
        GAMMA => "Gamma New Co",
        world::EPSILON => "Epsilon Media",
        _ => "?",
    }
}

async fn start(name: &str, env: &[(String, String)]) -> Function {
    match Function::start(&binary(name), env).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "demo: cannot start {} ({e}); `make demo` builds it first",
                binary(name).display()
            );
            std::process::exit(1);
        }
    }
}

/// One scheduler tick through the binary.
async fn tick(scheduler: &mut Function) {
    match scheduler.invoke(json!({}), Duration::from_secs(60)).await {
        Ok(answer) => {
            let names = |v: &Value| -> Vec<&str> {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(name_of)
                    .collect()
            };
            println!(
                "  scheduler: listed {} managed accounts, queued {:?}, not onboarded {:?}, alerted now {:?}",
                answer["accounts_listed"],
                names(&answer["dispatched"]),
                names(&answer["unknown"]),
                names(&answer["alerted"])
            );
        }
        Err(e) => {
            eprintln!("demo: the scheduler failed: {e}");
            std::process::exit(1);
        }
    }
}

/// Delivers the queue to account-sync until it stays empty.
async fn deliver(source: &SqsEventSource, sync: &mut Function) {
    let started = Instant::now();
    let deliveries = match source.drain(sync, Duration::from_secs(4)).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("demo: the queue could not be read: {e}");
            std::process::exit(1);
        }
    };
    for d in &deliveries {
        let body: Value = serde_json::from_str(&d.body).unwrap_or_default();
        let account = body["managed_account_id"].as_str().unwrap_or_default();
        let what = match body["continuation"].as_u64() {
            Some(n) if n > 0 => format!("continuation {n} of {}", name_of(account)),
            _ => format!("sync of {}", name_of(account)),
        };
        let fate = match (&d.answer, d.deleted) {
            (Ok(_), true) => "acknowledged, message deleted".to_owned(),
            (Ok(_), false) => {
                "failed: left on the queue for redelivery (then the dead-letter queue)".to_owned()
            }
            (Err(e), _) => format!("invocation failed ({e}): left on the queue"),
        };
        println!("  account-sync: {what}: {fate}");
    }
    println!(
        "  ({} invocations in {:.0} s)",
        deliveries.len(),
        started.elapsed().as_secs_f64()
    );
}

/// The run logs of this round, per account.
async fn print_runs(h: &Harness, since: chrono::DateTime<chrono::Utc>) {
    use reconciliation::ports::RunLogStore;
    for account in [ACME, BETA, world::EPSILON] {
        let logs = h
            .store
            .run_logs(&account.into(), 20)
            .await
            .unwrap_or_default();
        for log in logs.iter().rev().filter(|l| l.started_at >= since) {
            let counts = |k: &str| log.counts.get(k).copied().unwrap_or_default();
            println!(
                "  run log {}: {} — {} records read, {} written, {} linked through their call, {} audit days clean, {} mismatched",
                name_of(account),
                report::outcome(&log.outcome),
                counts("records_fetched"),
                counts("records_written"),
                counts("records_linked_by_session"),
                counts("audit_days_clean"),
                counts("audit_days_mismatched"),
            );
        }
    }
}

#[tokio::main]
async fn main() {
    let stack = Stack::from_env().await;
    let names = Names::shared(&stack);
    let scenario = match world::scenario() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("demo: the sample scenario does not parse: {e}");
            std::process::exit(1);
        }
    };
    let h = Harness::start_with(names, scenario, telnyx_sim::SimOptions::default()).await;
    let month = reconciliation::billing::month_of(sample_records_start());
    println!(
        "Telnyx simulator: {} (the sample reseller, {} + {} generated records per type for Acme and Beta)",
        h.sim.base_url(),
        world::ACME_PER_TYPE,
        world::BETA_PER_TYPE
    );
    println!("DynamoDB table: {}   queue: {}", h.names.table, h.queue_url);
    {
        use reconciliation::ports::OnboardingStore;
        if matches!(h.store.onboarding(&ACME.into()).await, Ok(Some(_))) {
            println!(
                "(This stack already ran the demo: expect no new records and no new email. `make stack-down && make demo` starts afresh.)"
            );
        }
    }
    h.onboard_sample_reseller().await;
    h.onboard_direct(world::EPSILON, world::EPSILON_KEY, world::EPSILON_DEPT)
        .await;
    h.sim.control().revoke_key(world::EPSILON_KEY);
    println!(
        "Onboarded: Acme Reseller (wholesale: child department {ACME_CHILD_DEPT}, two billing groups, a connection with none), Beta Telecom (direct, pricing hidden), Epsilon Media (direct; Telnyx has revoked its key). Gamma New Co is not onboarded."
    );

    let mut env = h.function_env();
    env.retain(|(k, _)| k != "RUST_LOG");
    env.extend(
        [
            ("RUST_LOG", "warn"),
            ("DEADLINE_MARGIN_SECONDS", "10"),
            ("CONTINUATION_DELAY_SECONDS", "1"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let mut scheduler = start("scheduler", &env).await;
    let mut sync = start("account-sync", &env).await;
    let source = SqsEventSource::new(
        aws_sdk_sqs::Client::new(&h.stack.sdk),
        h.queue_url.clone(),
        SYNC_TIMEOUT,
    );
    println!(
        "Functions: {} and {} under a local Lambda Runtime API; account-sync's timeout {} s",
        binary("scheduler").display(),
        binary("account-sync").display(),
        SYNC_TIMEOUT.as_secs()
    );

    for round in 1..=2 {
        let since = chrono::Utc::now();
        println!("\n== Round {round}: the schedule fires (EventBridge → scheduler)");
        tick(&mut scheduler).await;
        println!("== Round {round}: SQS → account-sync, one message per invocation");
        deliver(&source, &mut sync).await;
        print_runs(&h, since).await;
    }

    println!("\n== Summary per account");
    let mut rows = Vec::new();
    for account in [ACME, BETA, world::EPSILON, GAMMA] {
        rows.push(report::account_row(&h, name_of(account), account, month).await);
    }
    report::print_summary(&rows);
    println!(
        "(customers include the reseller customer of a wholesale account; attributed: stored records tagged with their end customer)"
    );
    report::print_not_auditable(&h).await;
    println!("\n== Records per type");
    report::print_types(&rows);
    println!(
        "\n== Invoices of {} (both levels sum the same records)",
        month.format("%Y-%m")
    );
    report::print_invoices(&h, &rows, month).await;
    println!("\n== Emails");
    report::print_emails(&h).await;
    report::print_next_steps(month, ACME);
    scheduler.stop().await;
    sync.stop().await;
    h.sim.shutdown().await;
}
