//! The `telnyx-sim` binary: serves a scenario file until interrupted.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use telnyx_sim::{Scenario, SimOptions};

/// A local Telnyx v2 API simulator.
#[derive(Debug, Parser)]
#[command(name = "telnyx-sim", version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8787)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Scenario file (YAML or JSON).
    #[arg(long)]
    scenario: PathBuf,
    /// Turn the detail-records rate limit off.
    #[arg(long, conflicts_with = "rate_limit_per_minute")]
    no_rate_limit: bool,
    /// Detail-records requests allowed per key per UTC minute.
    #[arg(long, default_value_t = 40)]
    rate_limit_per_minute: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let scenario = match Scenario::from_file(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            let cause = std::error::Error::source(&e)
                .map(ToString::to_string)
                .unwrap_or_default();
            tracing::error!(error = %e, cause, "cannot load scenario");
            return ExitCode::FAILURE;
        }
    };
    let options = SimOptions {
        rate_limit_per_minute: (!args.no_rate_limit).then_some(args.rate_limit_per_minute),
    };
    let sim = match telnyx_sim::start_on(SocketAddr::new(args.host, args.port), scenario, options)
        .await
    {
        Ok(sim) => sim,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the simulator");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(url = %sim.base_url(), "telnyx-sim listening");
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
    ExitCode::SUCCESS
}
