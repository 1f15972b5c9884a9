//! `sweep_3000_idle_accounts_sec`: how long one scheduled sweep of 3,000 mostly idle
//! accounts takes at the template's default concurrency. Simulated: `accounts` idle
//! accounts (synced once already) are swept for real — a tick queues them with its
//! usage hints, `concurrency` account-sync processes drain the queue — with every
//! Telnyx answer delayed as the live API answers (`latency`); the measured rate is
//! scaled to 3,000 accounts and set against the 15-minute schedule.

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
    // The measured sweep: idle accounts, live-like latency.
    world.sim.control().add_fault(telnyx_sim::FaultRule {
        path_prefix: "/v2".into(),
        times: u32::MAX,
        fault: telnyx_sim::Fault::Delay(latency),
    });
    tick(&mut scheduler).await;
    let started = Instant::now();
    let runs = drain(&world, &mut workers).await;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(runs, accounts, "every idle account synced once");
    for w in workers {
        crate::world::show_log(&w);
        w.stop().await;
    }
    scheduler.stop().await;
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
        ("schedule_interval_sec".into(), "900".into()),
    ]
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
