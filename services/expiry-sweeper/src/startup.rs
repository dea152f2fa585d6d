//! Building and running expiry-sweeper: its projection and the periodic sweep.

use gadai_bus::{ConsumerSpec, rebuild::RebuildReport, service::Base};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Settings,
    projection::{self, Verifications},
    sweep::Sweeper,
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct Application {
    base: Base,
    settings: Settings,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let base = Base::start(
            "expiry-sweeper",
            &settings.db,
            &settings.bus,
            &MIGRATOR,
            &settings.host,
            settings.port,
        )
        .await?;
        Ok(Application { base, settings })
    }

    pub fn port(&self) -> u16 {
        self.base.port()
    }

    pub fn pool(&self) -> &PgPool {
        &self.base.pool
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Application { base, settings } = self;
        let consumer = base.consume(
            ConsumerSpec::new(projection::NAME, None),
            Verifications {
                pool: base.pool.clone(),
                schema: settings.db.schema.clone(),
            },
            &shutdown,
        );
        let sweeper = Sweeper {
            pool: base.pool.clone(),
            bus: base.bus.clone(),
            interval: settings.sweep_interval,
            batch: settings.sweep_batch,
        };
        let sweep = tokio::spawn(sweeper.run(shutdown.clone()));
        let routes = axum::Router::new().fallback(gadai_kit::error::not_found);
        base.serve(
            routes,
            settings.request_timeout,
            vec![consumer, sweep],
            shutdown,
        )
        .await
    }
}

pub async fn rebuild(settings: Settings, swap: bool) -> anyhow::Result<RebuildReport> {
    gadai_bus::service::rebuild_command(
        "expiry-sweeper",
        &settings.db,
        &settings.bus,
        &MIGRATOR,
        |pool, schema| Verifications { pool, schema },
        &[],
        swap,
    )
    .await
}
