//! `init_ms`: each function binary's cold start (process start → its first request
//! for an invocation), the median of a few starts.

use crate::world::{World, scenario};

pub async fn run(starts: usize) -> Vec<(String, String)> {
    let world = World::start(scenario(1, |_| None), None).await;
    let mut out = Vec::new();
    for name in ["scheduler", "account-sync"] {
        let mut times = Vec::new();
        for _ in 0..starts {
            let f = world.function(name, &[]).await;
            times.push(f.init.as_secs_f64() * 1000.0);
            f.stop().await;
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        out.push((
            format!("init_ms_{}", name.replace('-', "_")),
            format!("{median:.1}"),
        ));
    }
    out
}
