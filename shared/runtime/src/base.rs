//! What every service does at start and stop, in one place: connect to Postgres and NATS,
//! migrate its schema, make sure the stream exists, bind its port; then serve its routes (with
//! the ops routes and shared middleware) beside its consumers, and drain both on shutdown.

use std::time::Duration;

use futures::{FutureExt, future::BoxFuture};
use gadai_bus::{Bus, ConsumerSpec};
use gadai_http::{
    ops::{Probe, Readiness},
    server,
};
use sqlx::{PgPool, migrate::Migrator};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    CoreSettings,
    consume::{Projection, Sink, Stored},
};

/// A started service: connected, migrated, bound.
pub struct Base {
    pub name: &'static str,
    pub pool: PgPool,
    /// The schema of its tables.
    pub schema: String,
    pub bus: Bus,
    pub readiness: Readiness,
    pub listener: TcpListener,
    /// The longest a request may take (the middleware's timeout).
    pub request_timeout: Duration,
}

impl Base {
    pub async fn start(
        name: &'static str,
        core: &CoreSettings,
        migrator: &Migrator,
    ) -> anyhow::Result<Self> {
        // Record metrics from the start, not from the first scrape.
        gadai_http::ops::metrics_handle();
        let pool = gadai_store::connect(&core.db).await?;
        let bus = Bus::connect(core.bus.clone(), name).await?;
        let readiness = Readiness::new(vec![
            Box::new(PostgresProbe(pool.clone())),
            Box::new(NatsProbe(bus.client().clone())),
        ]);
        gadai_store::migrate(&pool, &core.db.schema, migrator).await?;
        bus.ensure_stream().await?;
        let listener = server::bind(&core.host, core.port).await?;
        readiness.mark_started();
        Ok(Base {
            name,
            pool,
            schema: core.db.schema.clone(),
            bus,
            readiness,
            listener,
            request_timeout: core.request_timeout,
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
        workers: Vec<JoinHandle<()>>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let router = routes.merge(gadai_http::ops::router(self.readiness));
        let router = server::with_middleware(router, self.request_timeout);
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

    /// `projection` on this service's pool and schema, ready for [`Base::consume`].
    pub fn stored<P: Projection>(&self, projection: P) -> Stored<P> {
        Stored::new(self.pool.clone(), self.schema.clone(), projection)
    }

    /// Spawns a durable consumer feeding `sink`: a [`Base::stored`] projection, or a
    /// [`crate::Handled`] handler.
    pub fn consume(
        &self,
        spec: ConsumerSpec,
        sink: impl Sink,
        shutdown: &CancellationToken,
    ) -> JoinHandle<()> {
        tokio::spawn(crate::consume::run(
            self.bus.clone(),
            spec,
            sink,
            shutdown.clone(),
        ))
    }
}

/// Ready when Postgres answers a query.
struct PostgresProbe(sqlx::PgPool);

impl Probe for PostgresProbe {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn ok(&self) -> BoxFuture<'_, bool> {
        async { sqlx::query("SELECT 1").execute(&self.0).await.is_ok() }.boxed()
    }
}

/// Ready while the NATS connection is up.
struct NatsProbe(async_nats::Client);

impl Probe for NatsProbe {
    fn name(&self) -> &'static str {
        "nats"
    }

    fn ok(&self) -> BoxFuture<'_, bool> {
        let connected = self.0.connection_state() == async_nats::connection::State::Connected;
        async move { connected }.boxed()
    }
}
