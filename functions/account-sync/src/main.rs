//! Cold start: tracing, config, adapters built once, then the runtime loop.

use account_sync::{config::Config, handler, wiring};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_shell::init_tracing();
    let config = Config::from_env()?;
    let deps = wiring::build(&config).await?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handler::handle(event, &deps)
    }))
    .await
}
