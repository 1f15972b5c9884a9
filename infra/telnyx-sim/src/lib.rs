//! A local simulator of the Telnyx v2 API, as awkward as the live one (docs/telnyx.md,
//! docs/architecture.md "Running without AWS"): per-account bearer keys, page-number
//! pagination with each endpoint's limits (and the silent 50-row clamp on detail
//! records), the detail-record filter rules, Telnyx's error body, the per-minute rate
//! limit without Retry-After, hidden pricing, and switchable faults. It runs as the
//! `telnyx-sim` binary or in-process from tests:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let scenario = telnyx_sim::Scenario::from_file("infra/telnyx-sim/scenarios/reseller.yaml")
//!     .map_err(std::io::Error::other)?;
//! let sim = telnyx_sim::start(scenario, telnyx_sim::SimOptions::default()).await?;
//! let base_url = sim.base_url(); // "http://127.0.0.1:<port>/v2"
//! sim.control().set_rate_limit(None);
//! # let _ = base_url;
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod api;
pub mod control;
mod error;
mod paging;
pub mod record_types;
mod rows;
pub mod scenario;
mod server;
mod store;
mod usage;
mod world;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use control::{
    Fault, FaultRule, RateWindowCount, RecordedRequest, SimControl, Undercount, UsageSettings,
};
pub use record_types::RecordType;
pub use scenario::{Scenario, ScenarioError};

/// The `/usage_reports` product the simulator sums `kind`'s rows under (`None`: no
/// product covers it), from the simulator's own catalog: an independent oracle for the
/// product's learned table.
pub fn usage_product_of(kind: RecordType) -> Option<&'static str> {
    usage::catalog::product_of(kind).map(|p| p.name)
}

/// How a simulator instance starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOptions {
    /// Requests per key per UTC minute on `/v2/detail_records`; `None` turns the limit off.
    pub rate_limit_per_minute: Option<u32>,
}

impl Default for SimOptions {
    /// The live API's measured limit: 40 a minute.
    fn default() -> Self {
        SimOptions {
            rate_limit_per_minute: Some(40),
        }
    }
}

/// A simulator serving in the background of the current Tokio runtime. Dropping it
/// also stops it (gracefully, without waiting).
#[derive(Debug)]
pub struct RunningSim {
    addr: SocketAddr,
    control: SimControl,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningSim {
    /// The API root, `/v2` included, e.g. `http://127.0.0.1:41234/v2`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v2", self.addr)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The handle to inject faults, revoke keys and read the request log.
    pub fn control(&self) -> SimControl {
        self.control.clone()
    }

    /// Stops accepting, lets in-flight requests finish for up to 5 seconds, then stops.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

/// Starts a simulator on `127.0.0.1` on a free port.
pub async fn start(scenario: Scenario, options: SimOptions) -> std::io::Result<RunningSim> {
    start_on(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        scenario,
        options,
    )
    .await
}

/// Starts a simulator on `addr` (port 0 picks a free port).
pub async fn start_on(
    addr: SocketAddr,
    scenario: Scenario,
    options: SimOptions,
) -> std::io::Result<RunningSim> {
    scenario
        .validate()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let control = SimControl::new(scenario, options.rate_limit_per_minute);
    let app = server::router(control.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                // A dropped sender stops the server too.
                let _ = stopped.await;
            })
            .await
    });
    Ok(RunningSim {
        addr,
        control,
        stop: Some(stop),
        task: Some(task),
    })
}
