//! Building and running dashboard-api: database, bus, projection, live feed relay, HTTP.

use std::{sync::Arc, time::Duration};

use gadai_bus::{Bus, ConsumerSpec};
use gadai_kit::{ops::Readiness, server};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Settings,
    http::{self, AppState, events},
    projection::{self, Dashboard},
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct Application {
    listener: TcpListener,
    state: AppState,
    readiness: Readiness,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = gadai_store::connect(&settings.db).await?;
        let bus = Bus::connect(settings.bus.clone(), "dashboard-api").await?;
        let readiness = Readiness::new(pool.clone(), bus.client().clone());
        gadai_store::migrate(&pool, &settings.db.schema, &MIGRATOR).await?;
        bus.ensure_stream().await?;
        let listener = server::bind(&settings.host, settings.port).await?;
        readiness.mark_started();
        let (hub, _) = tokio::sync::broadcast::channel(1024);
        Ok(Application {
            listener,
            state: AppState {
                pool,
                bus,
                hub,
                settings: Arc::new(settings),
                closing: CancellationToken::new(),
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

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let state = self.state;
        let relay = tokio::spawn(events::relay(
            state.bus.clone(),
            state.hub.clone(),
            shutdown.clone(),
        ));
        let consumer = tokio::spawn(gadai_bus::consume::run(
            state.bus.clone(),
            ConsumerSpec::new(projection::NAME, None),
            Dashboard {
                pool: state.pool.clone(),
                schema: state.settings.db.schema.clone(),
                announce: Some(state.bus.clone()),
            },
            shutdown.clone(),
        ));
        let timeout = state.settings.request_timeout;
        let router = http::router(state.clone()).merge(gadai_kit::ops::router(self.readiness));
        let router = server::with_middleware(router, timeout);
        tracing::info!(
            port = self.listener.local_addr()?.port(),
            "dashboard-api listening"
        );
        // Live feeds never end on their own: close them when shutdown starts.
        let closing = state.closing.clone();
        let serve_until = shutdown.clone();
        tokio::spawn(async move {
            serve_until.cancelled().await;
            closing.cancel();
        });
        server::serve(self.listener, router, shutdown).await?;
        let _ = tokio::time::timeout(Duration::from_secs(30), consumer).await;
        relay.abort();
        let _ = state.bus.client().flush().await;
        Ok(())
    }
}

/// Replays the stream into fresh tables and swaps them in (`--dry-run` keeps both).
pub async fn rebuild(
    settings: Settings,
    swap: bool,
) -> anyhow::Result<gadai_bus::rebuild::RebuildReport> {
    let bus = Bus::connect(settings.bus.clone(), "dashboard-api-rebuild").await?;
    let report = gadai_bus::rebuild::rebuild(
        &bus,
        &settings.db,
        &MIGRATOR,
        |pool, schema| Dashboard {
            pool,
            schema,
            announce: None,
        },
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
    Ok(report)
}

pub async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let pool = gadai_store::connect(&settings.db).await?;
    gadai_store::migrate(&pool, &settings.db.schema, &MIGRATOR).await?;
    eprintln!("migrate: schema {} is up to date", settings.db.schema);
    Ok(())
}
