//! Cold start: tracing, config, the ports built once, then the runtime loop.

use account_sync::handler;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use lambda_shell::sync_config::SyncConfig;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_shell::init_tracing();
    let config = SyncConfig::from_env()?;
    let ports = lambda_shell::build_ports(&config.adapters).await?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handler::handle(event, &ports, &config.sync)
    }))
    .await
}
