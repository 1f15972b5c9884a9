//! Builds the real adapters from the config, once per cold start.

use crate::config::Config;
use crate::handler::Deps;
use lambda_shell::{Adapters, BuildError};
use reconciliation::ports::SystemClock;
use reconciliation::schedule::ScheduleSettings;
use std::sync::Arc;

/// The adapters the scheduler runs on.
pub async fn build(config: &Config) -> Result<Deps, BuildError> {
    let adapters = Adapters::build(&config.adapters).await?;
    Ok(Deps {
        dispatcher: Arc::new(adapters.dispatcher(&config.queue_url)),
        telnyx: Arc::new(adapters.telnyx),
        secrets: Arc::new(adapters.secrets),
        store: Arc::new(adapters.store),
        mailer: Arc::new(adapters.mailer),
        clock: Arc::new(SystemClock),
        settings: ScheduleSettings {
            alert_to: config.alert_to.clone(),
        },
    })
}
