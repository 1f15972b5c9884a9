//! `make demo`: the product's main job end to end on the local stack. The Telnyx
//! simulator serves a sample reseller (four managed accounts); Acme (wholesale) and
//! Beta (direct) are onboarded, Gamma is not, Delta is cancelled. One scheduler tick
//! fans out to account-sync through SQS; then the same again, to show that a second
//! run writes nothing and sends nothing.

use account_sync::handler::Response;
use integration_tests::e2e::*;
use integration_tests::stack::Stack;

fn print_runs(runs: &[(String, Response)]) {
    for (body, response) in runs {
        let body = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|b| {
                b["managed_account_id"]
                    .as_str()
                    .map(|a| format!("sync of {a}"))
            })
            .unwrap_or_else(|| body.clone());
        match response {
            Response::Batch(b) if b.batch_item_failures.is_empty() => println!("  {body}: done"),
            Response::Batch(b) => println!(
                "  {body}: FAILED ({} left on the queue)",
                b.batch_item_failures.len()
            ),
            Response::Run(_) => println!("  {body}: manual run"),
        }
    }
}

async fn print_state(h: &Harness) {
    use reconciliation::ports::{OnboardingStore, StateStore};
    for (name, account) in [
        ("Acme (wholesale)", ACME),
        ("Beta (direct)", BETA),
        ("Gamma (not onboarded)", GAMMA),
    ] {
        let records = h.stored_records(account).await;
        match h.store.onboarding(&account.into()).await {
            Ok(Some(onboarding)) => {
                let state = h.store.load_state(&onboarding).await.unwrap_or_default();
                let ours = |a: &Option<reconciliation::domain::ManagedAccountId>| {
                    a.as_ref().map(|a| a.as_str()) == Some(account)
                };
                let customers = state.customers.iter().filter(|c| ours(&c.account)).count();
                let services = state
                    .services
                    .iter()
                    .filter(|s| s.account.as_str() == account);
                let (twins, end): (Vec<_>, Vec<_>) = services.partition(|s| s.twin_of.is_some());
                println!(
                    "  {name}: {customers} customers (reseller included), {} services, {} wholesale twins, {records} detail records",
                    end.len(),
                    twins.len()
                );
            }
            _ => println!("  {name}: not onboarded, {records} detail records"),
        }
    }
    let requests = h.sim.control().requests();
    let cdr = requests
        .iter()
        .filter(|r| r.path.ends_with("/detail_records"))
        .count();
    println!(
        "  Telnyx: {} requests so far ({cdr} to /detail_records), {} answered 429",
        requests.len(),
        h.sim.control().count_status(429)
    );
    for (who, address) in [
        ("operator alerts", &h.names.alert_to),
        ("Acme child department", &h.names.acme_billing),
        ("operator department", &h.names.operator_billing),
    ] {
        for mail in h.emails_to(address).await {
            println!(
                "  email to {who} <{address}>: {}",
                mail["subject"].as_str().unwrap_or_default()
            );
        }
    }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let stack = Stack::from_env().await;
    let names = Names::shared(&stack);
    // The simulator enforces Telnyx's 40 detail-record requests per minute per key:
    // the second round may wait for the next minute, as it would against Telnyx.
    let h = Harness::start(names, telnyx_sim::SimOptions::default()).await;
    println!(
        "Telnyx simulator: {} (scenario {})",
        h.sim.base_url(),
        sample_scenario_path().display()
    );
    println!("DynamoDB table: {}   queue: {}", h.names.table, h.queue_url);
    {
        use reconciliation::ports::OnboardingStore;
        if matches!(h.store.onboarding(&ACME.into()).await, Ok(Some(_))) {
            println!(
                "(This stack already ran the demo: expect no changes and no new email. `make stack-down && make demo` starts afresh.)"
            );
        }
    }
    h.onboard_sample_reseller().await;
    println!(
        "Onboarded: Acme Reseller (wholesale, child department {ACME_CHILD_DEPT}), Beta Telecom (direct, {OPERATOR_DEPT})"
    );

    println!("\n== Dry run for Acme: the plan an operator previews (nothing is written)");
    let preview = account_sync::handler::handle(
        lambda_runtime::LambdaEvent::new(
            serde_json::json!({"managed_account_id": ACME, "dry_run": true}),
            lambda_runtime::Context::default(),
        ),
        &h.ports,
        &h.account_sync,
    )
    .await;
    match preview {
        Ok(Response::Run(summary)) => {
            for line in summary.plan.lines() {
                println!("  {line}");
            }
        }
        Ok(Response::Batch(_)) => {}
        Err(e) => println!("  dry run failed: {}", e.error_message),
    }

    for round in 1..=2 {
        println!("\n== Round {round}: scheduler tick");
        match h.tick().await {
            Ok(report) => println!(
                "  listed {} managed accounts; queued {} syncs; unknown: {:?}; alerted now: {:?}",
                report.accounts_listed,
                report.dispatched.len(),
                report
                    .unknown
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>(),
                report
                    .alerted
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
            ),
            Err(e) => {
                eprintln!("scheduler failed: {}: {}", e.error_type, e.error_message);
                std::process::exit(1);
            }
        }
        println!("== Round {round}: account-sync, one invocation per queued message");
        let runs = h.deliver_queue().await;
        print_runs(&runs);
        println!("== After round {round}");
        print_state(&h).await;
    }
    println!(
        "\nInspect: make stack-env, then e.g. `cargo run -p billing-admin -- show --account {ACME}`"
    );
    h.sim.shutdown().await;
}
