//! Building and running dashboard-api: the projection, the live feed relay and the HTTP API.

use std::sync::Arc;

use gadai_bus::{ConsumerSpec, rebuild::RebuildReport, service::Base};
use secrecy::ExposeSecret;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Settings,
    http::{self, AppState, events},
    limits,
    projection::{self, Dashboard},
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct Application {
    base: Base,
    settings: Arc<Settings>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let base = Base::start(
            "dashboard-api",
            &settings.db,
            &settings.bus,
            &MIGRATOR,
            &settings.host,
            settings.port,
        )
        .await?;
        if let Some((username, password)) = &settings.bootstrap_admin {
            bootstrap_admin(&base.pool, username, password.expose_secret()).await?;
        }
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

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Application { base, settings } = self;
        let (hub, _) = tokio::sync::broadcast::channel(1024);
        let relay = tokio::spawn(events::relay(
            base.bus.clone(),
            hub.clone(),
            shutdown.clone(),
        ));
        let consumer = base.consume(
            ConsumerSpec::new(projection::NAME, None),
            Dashboard {
                pool: base.pool.clone(),
                schema: settings.db.schema.clone(),
                announce: Some(base.bus.clone()),
            },
            &shutdown,
        );
        // Live feeds end with their session, or when shutdown starts.
        let feeds = http::feeds::Feeds::default();
        let watch = tokio::spawn(http::feeds::watch(
            feeds.clone(),
            base.pool.clone(),
            shutdown.clone(),
        ));
        let prune = tokio::spawn(limits::prune(
            base.pool.clone(),
            std::time::Duration::from_secs(15 * 60),
            shutdown.clone(),
        ));
        let routes = http::router(AppState {
            pool: base.pool.clone(),
            bus: base.bus.clone(),
            hub,
            settings: settings.clone(),
            feeds,
            closing: shutdown.clone(),
        });
        let result = base
            .serve(
                routes,
                settings.request_timeout,
                vec![consumer, watch, prune],
                shutdown,
            )
            .await;
        relay.abort();
        result
    }
}

/// Creates the first admin when there is no operator yet (idempotent across replicas).
pub async fn bootstrap_admin(pool: &PgPool, username: &str, password: &str) -> anyhow::Result<()> {
    use crate::domain::operator::{Role, check_password, parse_username};
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('dashboard.bootstrap_admin'))")
        .execute(&mut *tx)
        .await?;
    let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM operators)")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    if any {
        return Ok(());
    }
    let username = parse_username(username).map_err(|e| anyhow::anyhow!("ADMIN_USERNAME: {e}"))?;
    check_password(password).map_err(|e| anyhow::anyhow!("ADMIN_PASSWORD: {e}"))?;
    match crate::http::create_operator(pool, &username, &username, password, Role::Admin).await {
        Ok(_) => tracing::info!(%username, "first admin created"),
        // Another replica created it meanwhile.
        Err(e)
            if e.downcast_ref::<sqlx::Error>().is_some_and(
                |s| matches!(s, sqlx::Error::Database(d) if d.is_unique_violation()),
            ) => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

/// Replays the stream into fresh tables and swaps them in (`--dry-run` keeps both).
pub async fn rebuild(settings: Settings, swap: bool) -> anyhow::Result<RebuildReport> {
    gadai_bus::service::rebuild_command(
        "dashboard-api",
        &settings.db,
        &settings.bus,
        &MIGRATOR,
        |pool, schema| Dashboard {
            pool,
            schema,
            announce: None,
        },
        &["operators", "sessions", "rate_limits"],
        swap,
    )
    .await
}
