//! The Gadai service runtime. A service says what it is by implementing [`Service`]: its
//! settings, its schema's migrations, what it starts beside the HTTP server (consumers,
//! background tasks), its routes, the projection a rebuild replays, and its own commands. The
//! rest is the same for every service and lives here: [`main`] (telemetry, settings, the
//! subcommand), [`Application`] (connect, migrate, bind, serve, drain) and the `migrate` and
//! `rebuild` commands.

mod base;
mod bulk;
pub mod command;
pub mod consume;
pub mod rebuild;
pub mod replay;
pub mod statistics;

use std::{future::Future, time::Duration};

use gadai_bus::BusSettings;
use gadai_kit::config;
use gadai_store::DbSettings;
use sqlx::{PgPool, migrate::Migrator};
use tokio::task::{AbortHandle, JoinHandle};
use tokio_util::sync::CancellationToken;

pub use base::Base;
pub use consume::{ApplyError, Delivered, Handled, Handler, Projection, Stored, Tx};
/// The allocator every service binary declares (`#[global_allocator]`): mimalloc. With glibc's
/// malloc, allocation was about a quarter of a service's CPU while a projection caught up;
/// with mimalloc a 300,000-event catch-up ran at 17,703-19,907 events/s against 16,668-17,760,
/// and a rebuild took 10.2-10.8 s against 11.3-12.7 s (run alternately), idle memory 0.5 MB more.
pub use mimalloc::MiMalloc as Allocator;

use rebuild::RebuildReport;

/// What every service's settings hold: where its database and NATS are, and where it serves
/// HTTP.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    pub db: DbSettings,
    pub bus: BusSettings,
    pub host: String,
    pub port: u16,
    /// The longest a request may take (the middleware's timeout).
    pub request_timeout: Duration,
}

impl CoreSettings {
    /// Reads them from the environment (see `.env.example`): the database with `schema` as the
    /// default schema, NATS, `HTTP_HOST` and `REQUEST_TIMEOUT`; `port` is the service's own
    /// (read from its `<SERVICE>_PORT`).
    pub fn from_env(schema: &str, port: u16) -> anyhow::Result<Self> {
        Ok(CoreSettings {
            db: DbSettings::from_env(schema)?,
            bus: BusSettings::from_env()?,
            host: config::string("HTTP_HOST", "127.0.0.1"),
            port,
            request_timeout: config::duration("REQUEST_TIMEOUT", Duration::from_secs(15))?,
        })
    }
}

/// A service's settings.
pub trait ServiceSettings: Clone + Send + Sync + 'static {
    /// Reads them from the environment (see `.env.example`).
    fn from_env() -> anyhow::Result<Self>;
    /// The part every service has.
    fn core(&self) -> &CoreSettings;
}

/// What a service runs beside its HTTP server, and its routes.
pub struct Running {
    /// The service's own routes; `/healthz`, `/readyz` and `/metrics` are added.
    pub routes: axum::Router,
    /// Consumers and background tasks: they stop on shutdown, and serving ends when they have
    /// finished what they hold (30 s at most).
    pub workers: Vec<JoinHandle<()>>,
    /// Tasks that serve the workers and routes until the end, then are aborted.
    pub helpers: Vec<AbortHandle>,
}

impl Running {
    pub fn new(routes: axum::Router, workers: Vec<JoinHandle<()>>) -> Self {
        Running {
            routes,
            workers,
            helpers: Vec::new(),
        }
    }
}

/// One Gadai service.
pub trait Service: Sized + Send + Sync + 'static {
    /// The binary's name, and its NATS user's.
    const NAME: &'static str;
    /// Tables of its schema that are not derived from events: a rebuild carries them over.
    const KEPT_TABLES: &'static [&'static str] = &[];

    type Settings: ServiceSettings;
    /// The projection a rebuild replays the stream through: its `Default`, which must have no
    /// effect beyond its tables (no announcements).
    type Projection: Projection + Default;

    /// The migrations of its schema.
    fn migrator() -> &'static Migrator;

    /// Prepares the service once `base` is connected, migrated and bound.
    fn build(
        settings: Self::Settings,
        base: &Base,
    ) -> impl Future<Output = anyhow::Result<Self>> + Send;

    /// Starts its consumers and background tasks (they stop on `shutdown`), and gives its
    /// routes.
    fn start(self, base: &Base, shutdown: &CancellationToken) -> Running;

    /// Its commands beside `serve`, `migrate` and `rebuild`: none unless it says otherwise.
    fn command(
        settings: Self::Settings,
        cmd: String,
        args: Vec<String>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        let _ = (settings, args);
        async move { anyhow::bail!("unknown command {cmd:?} (serve, migrate, rebuild [--dry-run])") }
    }
}

/// A service, connected, migrated and bound, ready to run.
pub struct Application<S: Service> {
    base: Base,
    service: S,
}

impl<S: Service> Application<S> {
    /// Connects, migrates, makes sure the stream exists and binds the port (0 picks one).
    pub async fn build(settings: S::Settings) -> anyhow::Result<Self> {
        let base = Base::start(S::NAME, settings.core(), S::migrator()).await?;
        let service = S::build(settings, &base).await?;
        Ok(Application { base, service })
    }

    pub fn port(&self) -> u16 {
        self.base.port()
    }

    pub fn pool(&self) -> &PgPool {
        &self.base.pool
    }

    /// Serves HTTP and runs the service's consumers and tasks until `shutdown`; then drains them.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Application { base, service } = self;
        let running = service.start(&base, &shutdown);
        let statistics = tokio::spawn(statistics::keep_statistics(
            base.pool.clone(),
            base.schema.clone(),
            shutdown.clone(),
        ));
        let result = base.serve(running.routes, running.workers, shutdown).await;
        for helper in running.helpers {
            helper.abort();
        }
        statistics.abort();
        result
    }

    /// Replays the stream into fresh tables and swaps them in (`swap` false: keeps both).
    pub async fn rebuild(settings: S::Settings, swap: bool) -> anyhow::Result<RebuildReport> {
        let core = settings.core();
        command::rebuild_command(
            S::NAME,
            &core.db,
            &core.bus,
            S::migrator(),
            S::Projection::default(),
            S::KEPT_TABLES,
            swap,
        )
        .await
    }
}

/// The `main` of a service binary: telemetry, settings from the environment, then the
/// subcommand (`serve` by default, `migrate`, `rebuild [--dry-run]`, or the service's own).
pub async fn main<S: Service>() -> anyhow::Result<()> {
    gadai_kit::memory::release_large_allocations();
    let _telemetry = gadai_kit::telemetry::init(
        S::NAME,
        gadai_kit::telemetry::LogFormat::from_env(),
        std::io::stdout,
    );
    let settings = S::Settings::from_env()?;
    let command = gadai_kit::cli::Command::from_args(std::env::args().skip(1));
    command::dispatch::<S>(command, settings).await
}

/// Exports each named counter (without labels) at 0 from the start, so that a rate or an
/// alert over it sees its first increment and a dashboard shows 0 rather than no data.
pub fn export_counters(names: &[&'static str]) {
    for name in names {
        metrics::counter!(*name).increment(0);
    }
}

/// Runs `round` every `interval` until `shutdown`, the first one interval after start (by then
/// a projection has applied what happened while the service was down, and replicas starting
/// together do not all run their first round at once). A round that runs late delays the next
/// rather than bunching them.
pub async fn every<F, Fut>(interval: Duration, shutdown: CancellationToken, mut round: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        round().await;
    }
}
