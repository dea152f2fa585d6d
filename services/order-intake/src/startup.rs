//! Building and running order-intake: database, bus, consumer, HTTP.

use std::{sync::Arc, time::Duration};

use gadai_bus::{Bus, ConsumerSpec};
use gadai_kit::{ops::Readiness, server};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Settings,
    http::{self, AppState},
    projection::{self, IdempotencyIndex},
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct Application {
    listener: TcpListener,
    state: AppState,
    readiness: Readiness,
}

impl Application {
    /// Connects, migrates, makes sure the stream exists and binds the port (0 picks one).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = gadai_store::connect(&settings.db).await?;
        let bus = Bus::connect(settings.bus.clone(), "order-intake").await?;
        let readiness = Readiness::new(pool.clone(), bus.client().clone());
        gadai_store::migrate(&pool, &settings.db.schema, &MIGRATOR).await?;
        bus.ensure_stream().await?;
        let listener = server::bind(&settings.host, settings.port).await?;
        readiness.mark_started();
        Ok(Application {
            listener,
            state: AppState {
                pool,
                bus,
                settings: Arc::new(settings),
            },
            readiness,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn pool(&self) -> &PgPool {
        &self.state.pool
    }

    /// Serves HTTP and runs the index consumer until `shutdown`; then drains both.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let settings = &self.state.settings;
        let consumer = tokio::spawn(gadai_bus::consume::run(
            self.state.bus.clone(),
            ConsumerSpec::new(projection::NAME, Some("order.created")),
            IdempotencyIndex {
                pool: self.state.pool.clone(),
                schema: settings.db.schema.clone(),
            },
            shutdown.clone(),
        ));
        let router = http::router(self.state.clone()).merge(gadai_kit::ops::router(self.readiness));
        let router = server::with_middleware(router, settings.request_timeout);
        tracing::info!(
            port = self.listener.local_addr()?.port(),
            "order-intake listening"
        );
        server::serve(self.listener, router, shutdown).await?;
        let _ = tokio::time::timeout(Duration::from_secs(30), consumer).await;
        // Publishes are awaited by their requests; flush whatever the client still buffers.
        let _ = self.state.bus.client().flush().await;
        Ok(())
    }
}

/// Replays the stream into a fresh index and swaps it in (`--dry-run` keeps both).
pub async fn rebuild(settings: Settings, swap: bool) -> anyhow::Result<()> {
    let bus = Bus::connect(settings.bus.clone(), "order-intake-rebuild").await?;
    let report = gadai_bus::rebuild::rebuild(
        &bus,
        &settings.db,
        &MIGRATOR,
        |pool, schema| IdempotencyIndex { pool, schema },
        swap,
        |seq, until| eprintln!("rebuild: applied up to {seq} of {until}"),
    )
    .await?;
    eprintln!(
        "rebuild: {} events up to sequence {}{}",
        report.events,
        report.last_sequence,
        if swap {
            ", swapped in"
        } else {
            ", left in the _rebuild schema"
        }
    );
    Ok(())
}

/// Runs the migrations and exits.
pub async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let pool = gadai_store::connect(&settings.db).await?;
    gadai_store::migrate(&pool, &settings.db.schema, &MIGRATOR).await?;
    eprintln!("migrate: schema {} is up to date", settings.db.schema);
    Ok(())
}
