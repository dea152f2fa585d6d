//! What every service does at start and stop, in one place: connect to Postgres and NATS,
//! migrate its schema, make sure the stream exists, bind its port; then serve its routes (with
//! the ops routes and shared middleware) beside its consumers, and drain both on shutdown.
//! Also the `migrate` and `rebuild` subcommands.

use std::time::Duration;

use gadai_kit::{ops::Readiness, server};
use gadai_store::DbSettings;
use sqlx::{PgPool, migrate::Migrator};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{Bus, BusSettings, consume::Projection, rebuild::RebuildReport};

/// A started service: connected, migrated, bound.
pub struct Base {
    pub name: &'static str,
    pub pool: PgPool,
    pub bus: Bus,
    pub readiness: Readiness,
    pub listener: TcpListener,
}

impl Base {
    pub async fn start(
        name: &'static str,
        db: &DbSettings,
        bus: &BusSettings,
        migrator: &Migrator,
        host: &str,
        port: u16,
    ) -> anyhow::Result<Self> {
        // Record metrics from the start, not from the first scrape.
        gadai_kit::ops::metrics_handle();
        let pool = gadai_store::connect(db).await?;
        let bus = Bus::connect(bus.clone(), name).await?;
        let readiness = Readiness::new(pool.clone(), bus.client().clone());
        gadai_store::migrate(&pool, &db.schema, migrator).await?;
        bus.ensure_stream().await?;
        let listener = server::bind(host, port).await?;
        readiness.mark_started();
        Ok(Base {
            name,
            pool,
            bus,
            readiness,
            listener,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves `routes` (plus `/healthz`, `/readyz`, `/metrics`) until `shutdown`, then waits for
    /// the `workers` (consumers, sweepers) to finish what they hold, and flushes the bus.
    pub async fn serve(
        self,
        routes: axum::Router,
        request_timeout: Duration,
        workers: Vec<JoinHandle<()>>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let router = routes.merge(gadai_kit::ops::router(self.readiness));
        let router = server::with_middleware(router, request_timeout);
        tracing::info!(
            service = self.name,
            port = self.listener.local_addr()?.port(),
            "listening"
        );
        server::serve(self.listener, router, shutdown).await?;
        let drained =
            tokio::time::timeout(Duration::from_secs(30), futures::future::join_all(workers)).await;
        if drained.is_err() {
            tracing::warn!(service = self.name, "workers did not finish within 30 s");
        }
        let _ = self.bus.client().flush().await;
        tracing::info!(service = self.name, "stopped");
        Ok(())
    }

    /// Spawns a durable consumer feeding `projection`.
    pub fn consume<P: Projection>(
        &self,
        spec: crate::ConsumerSpec,
        projection: P,
        shutdown: &CancellationToken,
    ) -> JoinHandle<()> {
        tokio::spawn(crate::consume::run(
            self.bus.clone(),
            spec,
            projection,
            shutdown.clone(),
        ))
    }
}

/// The `migrate` subcommand.
pub async fn migrate_command(db: &DbSettings, migrator: &Migrator) -> anyhow::Result<()> {
    let pool = gadai_store::connect(db).await?;
    gadai_store::migrate(&pool, &db.schema, migrator).await?;
    eprintln!("migrate: schema {} is up to date", db.schema);
    Ok(())
}

/// The `rebuild` subcommand: replays the stream into fresh tables, printing progress, and
/// swaps them in unless `swap` is false.
pub async fn rebuild_command<P, F>(
    name: &str,
    db: &DbSettings,
    bus: &BusSettings,
    migrator: &Migrator,
    make_projection: F,
    keep: &[&str],
    swap: bool,
) -> anyhow::Result<RebuildReport>
where
    P: Projection,
    F: Fn(PgPool, String) -> P,
{
    let bus = Bus::connect_named(bus.clone(), name, &format!("{name}-rebuild")).await?;
    let started = std::time::Instant::now();
    let report = crate::rebuild::rebuild(
        &bus,
        db,
        migrator,
        make_projection,
        keep,
        swap,
        |seq, until| eprintln!("rebuild: applied up to {seq} of {until}"),
    )
    .await?;
    eprintln!(
        "rebuild: {} events up to sequence {} in {:.1} s{}",
        report.events,
        report.last_sequence,
        started.elapsed().as_secs_f64(),
        if swap {
            ", swapped in"
        } else {
            ", left in the _rebuild schema"
        }
    );
    Ok(report)
}

/// Runs one of a service binary's subcommands: `serve` (until SIGTERM or Ctrl-C), `migrate`,
/// `rebuild [--dry-run]`, or a service-specific one through `other`.
pub async fn dispatch(
    command: gadai_kit::cli::Command,
    db: &DbSettings,
    migrator: &Migrator,
    serve: impl AsyncFnOnce(CancellationToken) -> anyhow::Result<()>,
    rebuild: impl AsyncFnOnce(bool) -> anyhow::Result<RebuildReport>,
    other: impl AsyncFnOnce(String, Vec<String>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use gadai_kit::cli::Command;
    match command {
        Command::Serve => {
            let shutdown = CancellationToken::new();
            server::cancel_on_signal(shutdown.clone());
            serve(shutdown).await
        }
        Command::Migrate => migrate_command(db, migrator).await,
        Command::Rebuild { swap } => rebuild(swap).await.map(|_| ()),
        Command::Other(cmd, args) => other(cmd, args).await,
    }
}

/// The extra commands of a service without commands of its own: none.
pub async fn no_other_commands<S>(
    _settings: S,
    cmd: String,
    _args: Vec<String>,
) -> anyhow::Result<()> {
    anyhow::bail!("unknown command {cmd:?} (serve, migrate, rebuild [--dry-run])")
}

/// The `main` of a service binary, for a crate with the services' common shape
/// (`Application::build(Settings)`, `config::Settings::from_env`, `startup::{MIGRATOR, rebuild}`):
/// telemetry, settings from the environment, then the subcommand. `other` is an
/// `async fn(Settings, String, Vec<String>)` for the service's own commands.
///
/// ```ignore
/// gadai_bus::service_main!(order_intake, "order-intake");
/// gadai_bus::service_main!(dashboard_api, "dashboard-api", dashboard_api::cli::command);
/// ```
#[macro_export]
macro_rules! service_main {
    ($krate:ident, $name:literal) => {
        $crate::service_main!($krate, $name, $crate::service::no_other_commands);
    };
    ($krate:ident, $name:literal, $other:path) => {
        #[tokio::main]
        async fn main() -> anyhow::Result<()> {
            use $krate::{Application, config::Settings, startup};
            ::gadai_kit::memory::release_large_allocations();
            let _telemetry = ::gadai_kit::telemetry::init(
                $name,
                ::gadai_kit::telemetry::LogFormat::from_env(),
                std::io::stdout,
            );
            let settings = Settings::from_env()?;
            let db = settings.db.clone();
            $crate::service::dispatch(
                ::gadai_kit::cli::Command::from_args(std::env::args().skip(1)),
                &db,
                &startup::MIGRATOR,
                async |shutdown| {
                    Application::build(settings.clone())
                        .await?
                        .run(shutdown)
                        .await
                },
                async |swap| startup::rebuild(settings.clone(), swap).await,
                async |cmd, args| $other(settings.clone(), cmd, args).await,
            )
            .await
        }
    };
}
