//! dashboard-api as a service: the projection, the live feed relay, retention and the HTTP API.

use std::sync::Arc;

use gadai_bus::{Bus, ConsumerSpec};
use gadai_privacy::SubjectKey;
use gadai_runtime::{Base, Running, Service, rebuild::RebuildReport};
use secrecy::ExposeSecret;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Settings,
    http::{self, AppState, events},
    limits,
    projection::{self, Dashboard},
    retention::{RETENTION_BATCH, Retention},
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub type Application = gadai_runtime::Application<DashboardApi>;

pub struct DashboardApi {
    settings: Arc<Settings>,
}

impl Service for DashboardApi {
    const NAME: &'static str = "dashboard-api";
    /// Operators, sessions and rate limits are not derived from events.
    const KEPT_TABLES: &'static [&'static str] = &["operators", "sessions", "rate_limits"];
    type Settings = Settings;
    type Projection = Dashboard;

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    async fn build(settings: Settings, base: &Base) -> anyhow::Result<Self> {
        gadai_runtime::export_counters(&["retention_erasures_total"]);
        if let Some((username, password)) = &settings.bootstrap_admin {
            bootstrap_admin(&base.pool, username, password.expose_secret()).await?;
        }
        backfill_subjects(&base.pool, &settings.pii.subjects).await?;
        Ok(DashboardApi {
            settings: Arc::new(settings),
        })
    }

    fn start(self, base: &Base, shutdown: &CancellationToken) -> Running {
        let settings = self.settings;
        let (hub, _) = tokio::sync::broadcast::channel(1024);
        let relay = tokio::spawn(events::relay(
            base.bus.clone(),
            hub.clone(),
            shutdown.clone(),
        ));
        let consumer = base.consume(
            ConsumerSpec {
                parallel: settings.projection_parallel,
                batch: projection::BATCH,
                bulk_from: (settings.projection_bulk_from > 0)
                    .then_some(settings.projection_bulk_from),
                ..ConsumerSpec::new(projection::NAME, &[])
            },
            base.stored(Dashboard::new(
                Some(base.bus.clone()),
                Arc::new(
                    crate::projection::Privacy::from_settings(&settings.pii, &base.bus)
                        .expect("the master keys were checked when the settings were read"),
                ),
            )),
            shutdown,
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
            limits::LONGEST_WINDOW,
            shutdown.clone(),
        ));
        let retention = tokio::spawn(
            Retention {
                pool: base.pool.clone(),
                bus: base.bus.clone(),
                period: settings.retention_period,
                interval: settings.retention_interval,
                batch: RETENTION_BATCH,
            }
            .run(shutdown.clone()),
        );
        let routes = http::router(AppState {
            pool: base.pool.clone(),
            bus: Arc::new(base.bus.clone()),
            keys: Arc::new(
                crate::projection::personal::key_client(&settings.pii, &base.bus)
                    .expect("the master keys were checked when the settings were read"),
            ),
            hub,
            settings,
            feeds,
            closing: shutdown.clone(),
        });
        Running {
            routes,
            workers: vec![consumer, watch, prune, retention],
            helpers: vec![relay.abort_handle()],
        }
    }

    async fn command(settings: Settings, cmd: String, args: Vec<String>) -> anyhow::Result<()> {
        crate::cli::command(settings, cmd, args).await
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

/// Rows projected before migration 0008 from plaintext events get their customer's subject id,
/// computed from the e-mail as the projection does (it needs `PII_SUBJECT_KEY`, which SQL does
/// not have), so an erasure by e-mail finds them. Idempotent; does nothing once done.
pub async fn backfill_subjects(pool: &PgPool, subjects: &SubjectKey) -> anyhow::Result<()> {
    for table in ["orders", "handoffs"] {
        loop {
            let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as(&format!(
                "SELECT id, email FROM {table}
                 WHERE subject IS NULL AND email IS NOT NULL AND email NOT LIKE 'pii:%'
                 LIMIT 1000"
            ))
            .fetch_all(pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.0).collect();
            let names: Vec<String> = rows
                .iter()
                .map(|r| subjects.subject_of(&r.1).as_str().to_owned())
                .collect();
            sqlx::query(&format!(
                "UPDATE {table} t SET subject = u.subject
                 FROM UNNEST($1::uuid[], $2::text[]) AS u(id, subject) WHERE t.id = u.id"
            ))
            .bind(&ids)
            .bind(&names)
            .execute(pool)
            .await?;
            tracing::info!(
                table,
                rows = ids.len(),
                "subject ids of rows from before sealing"
            );
        }
    }
    Ok(())
}

/// Replays the stream into fresh tables and swaps them in (`--dry-run` keeps both), asking for
/// customers' keys over a connection of its own.
pub async fn rebuild(settings: Settings, swap: bool) -> anyhow::Result<RebuildReport> {
    let core = &settings.core;
    let bus = Bus::connect_named(
        core.bus.clone(),
        DashboardApi::NAME,
        &format!("{}-keys", DashboardApi::NAME),
    )
    .await?;
    let projection = Dashboard::new(
        None,
        Arc::new(crate::projection::Privacy::from_settings(
            &settings.pii,
            &bus,
        )?),
    );
    gadai_runtime::command::rebuild_command(
        DashboardApi::NAME,
        &core.db,
        &core.bus,
        &MIGRATOR,
        projection,
        DashboardApi::KEPT_TABLES,
        swap,
    )
    .await
}
