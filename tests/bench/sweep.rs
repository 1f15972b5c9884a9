//! `sweep_3000_idle_accounts_sec`: how long one scheduled sweep of 3,000 mostly idle
//! accounts takes at the template's default concurrency. Simulated: `accounts` idle
//! accounts (synced once already) are swept for real — a tick queues them with its
//! usage hints, `concurrency` account-sync processes drain the queue — with every
//! Telnyx answer delayed as the live API answers (`latency`); the measured rate is
//! scaled to 3,000 accounts and set against the 15-minute schedule.
//!
//! Two sweeps are measured: the first day of a deployment, when no count metric of the
//! usage report is confirmed yet (every type is walked: nothing proves a type empty),
//! and the steady state, once every product's count is confirmed by some account's
//! records (only the types without product or count are walked, and the audit asks
//! nothing the scheduler's report already answered).

use crate::world::{World, scenario};
use serde_json::json;
use std::time::{Duration, Instant};

pub async fn run(accounts: usize, concurrency: usize, latency: Duration) -> Vec<(String, String)> {
    let world = World::start(scenario(accounts, |_| None), None).await;
    world.onboard(accounts).await;
    let mut scheduler = world.function("scheduler", &[]).await;
    // First sweep: every account's first sync (not measured).
    tick(&mut scheduler).await;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        workers.push(world.function("account-sync", &[]).await);
    }
    drain(&world, &mut workers).await;
    // The measured sweeps: idle accounts, live-like latency.
    world.sim.control().add_fault(telnyx_sim::FaultRule {
        path_prefix: "/v2".into(),
        times: u32::MAX,
        fault: telnyx_sim::Fault::Delay(latency),
    });
    let unconfirmed = measured_sweep(&world, &mut scheduler, &mut workers, accounts).await;
    confirm_every_count(&world).await;
    let secs = measured_sweep(&world, &mut scheduler, &mut workers, accounts).await;
    for w in workers {
        crate::world::show_log(&w);
        w.stop().await;
    }
    scheduler.stop().await;
    let unconfirmed_per_account = unconfirmed * concurrency as f64 / accounts as f64;
    let per_account = secs * concurrency as f64 / accounts as f64;
    let sweep = 3_000.0 * secs / accounts as f64;
    vec![
        ("sweep_accounts_measured".into(), accounts.to_string()),
        ("sweep_concurrency".into(), concurrency.to_string()),
        (
            "sweep_telnyx_latency_ms".into(),
            latency.as_millis().to_string(),
        ),
        ("idle_account_run_sec".into(), format!("{per_account:.2}")),
        ("sweep_3000_idle_accounts_sec".into(), format!("{sweep:.0}")),
        (
            "idle_account_run_unconfirmed_sec".into(),
            format!("{unconfirmed_per_account:.2}"),
        ),
        (
            "sweep_3000_idle_accounts_unconfirmed_sec".into(),
            format!("{:.0}", 3_000.0 * unconfirmed / accounts as f64),
        ),
        ("schedule_interval_sec".into(), "900".into()),
    ]
}

/// One tick and the queue drained by `workers`: the seconds the drain took.
async fn measured_sweep(
    world: &World,
    scheduler: &mut lambda_local::Function,
    workers: &mut [lambda_local::Function],
    accounts: usize,
) -> f64 {
    tick(scheduler).await;
    let started = Instant::now();
    let runs = drain(world, workers).await;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(runs, accounts, "every idle account synced once");
    secs
}

/// Every product's count metric confirmed, as some account's records would confirm
/// them in a deployment that has run a while.
async fn confirm_every_count(world: &World) {
    use reconciliation::ports::{ConfirmedCount, UsageStore};
    let catalog = reconciliation::usage::catalog::cached(&world.store)
        .await
        .expect("the store")
        .expect("the first sweep cached the usage options");
    for &t in reconciliation::domain::RecordType::ALL {
        let Some(shape) = catalog.shape(t) else {
            continue;
        };
        let Some(metric) = shape.count.clone() else {
            continue;
        };
        let confirmed = ConfirmedCount {
            product: shape.product.clone(),
            metric,
            record_type: t,
            account: "elsewhere".into(),
            day: chrono::Utc::now().date_naive(),
            records: 1,
            confirmed_at: chrono::Utc::now(),
        };
        world
            .store
            .confirm_count(&confirmed)
            .await
            .expect("confirmed");
    }
}

/// One scheduler tick.
async fn tick(scheduler: &mut lambda_local::Function) {
    scheduler
        .invoke(json!({}), Duration::from_secs(120))
        .await
        .expect("tick");
}

/// `workers` pull from the queue at once until it stays empty; the runs delivered.
async fn drain(world: &World, workers: &mut [lambda_local::Function]) -> usize {
    let source = world.queue(Duration::from_secs(300));
    let runs = workers.iter_mut().map(|w| {
        let source = &source;
        async move {
            let mut n = 0;
            while let Some(d) = source
                .deliver_one(w, Duration::from_secs(2))
                .await
                .expect("queue")
            {
                assert!(d.deleted, "{:?}", d.answer);
                n += 1;
            }
            n
        }
    });
    futures::future::join_all(runs).await.into_iter().sum()
}
