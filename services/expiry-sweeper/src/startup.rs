//! expiry-sweeper as a service: its projection and the periodic sweep.

use gadai_bus::ConsumerSpec;
use gadai_runtime::{Base, Running, Service};
use tokio_util::sync::CancellationToken;

use crate::{
    config::Settings,
    projection::{self, Verifications},
    sweep::Sweeper,
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub type Application = gadai_runtime::Application<ExpirySweeper>;

pub struct ExpirySweeper {
    settings: Settings,
}

impl Service for ExpirySweeper {
    const NAME: &'static str = "expiry-sweeper";
    type Settings = Settings;
    type Projection = Verifications;

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    async fn build(settings: Settings, _base: &Base) -> anyhow::Result<Self> {
        gadai_runtime::export_counters(&["orders_expired_total"]);
        Ok(ExpirySweeper { settings })
    }

    fn start(self, base: &Base, shutdown: &CancellationToken) -> Running {
        let settings = self.settings;
        let consumer = base.consume(
            ConsumerSpec {
                linger: gadai_bus::BACKGROUND_LINGER,
                ..ConsumerSpec::new(projection::NAME, &gadai_bus::permissions::SWEEPER_SUBJECTS)
            },
            base.stored(Verifications),
            shutdown,
        );
        let sweeper = Sweeper {
            pool: base.pool.clone(),
            bus: base.bus.clone(),
            interval: settings.sweep_interval,
            batch: settings.sweep_batch,
        };
        let sweep = tokio::spawn(sweeper.run(shutdown.clone()));
        let routes = axum::Router::new().fallback(gadai_http::error::not_found);
        Running::new(routes, vec![consumer, sweep])
    }
}
