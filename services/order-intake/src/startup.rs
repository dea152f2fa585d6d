//! Building and running order-intake: the bridge's routes beside the key index consumer.

use std::sync::Arc;

use gadai_bus::{ConsumerSpec, rebuild::RebuildReport, service::Base};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Settings,
    http::{self, AppState},
    projection::{self, IdempotencyIndex},
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct Application {
    base: Base,
    settings: Arc<Settings>,
}

impl Application {
    /// Connects, migrates, makes sure the stream exists and binds the port (0 picks one).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let base = Base::start(
            "order-intake",
            &settings.db,
            &settings.bus,
            &MIGRATOR,
            &settings.host,
            settings.port,
        )
        .await?;
        Ok(Application {
            base,
            settings: Arc::new(settings),
        })
    }

    pub fn port(&self) -> u16 {
        self.base.port()
    }

    pub fn pool(&self) -> &PgPool {
        &self.base.pool
    }

    /// Serves HTTP and runs the index consumer until `shutdown`; then drains both.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Application { base, settings } = self;
        let consumer = base.consume(
            ConsumerSpec::new(projection::NAME, Some("order.created")),
            IdempotencyIndex {
                pool: base.pool.clone(),
                schema: settings.db.schema.clone(),
            },
            &shutdown,
        );
        let routes = http::router(AppState {
            pool: base.pool.clone(),
            bus: base.bus.clone(),
            settings: settings.clone(),
        });
        base.serve(routes, settings.request_timeout, vec![consumer], shutdown)
            .await
    }
}

/// Replays the stream into a fresh index and swaps it in (`--dry-run` keeps both).
pub async fn rebuild(settings: Settings, swap: bool) -> anyhow::Result<RebuildReport> {
    gadai_bus::service::rebuild_command(
        "order-intake",
        &settings.db,
        &settings.bus,
        &MIGRATOR,
        |pool, schema| IdempotencyIndex { pool, schema },
        &[],
        swap,
    )
    .await
}
