//! `/healthz`, `/readyz` and `/metrics`, the same on every service.

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicBool, Ordering},
};

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;

/// The process-wide Prometheus recorder (installed once, shared by every app in a test binary).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                .expect("bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed in a test binary; ours still renders.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// What readiness depends on: the database, the bus, and the service's own start-up work.
#[derive(Clone)]
pub struct Readiness {
    pool: sqlx::PgPool,
    nats: async_nats::Client,
    started: Arc<AtomicBool>,
}

impl Readiness {
    pub fn new(pool: sqlx::PgPool, nats: async_nats::Client) -> Self {
        Readiness {
            pool,
            nats,
            started: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Called once migrations ran and the stream and consumers exist.
    pub fn mark_started(&self) {
        self.started.store(true, Ordering::Release);
    }

    async fn check(&self) -> Result<(), Vec<&'static str>> {
        let mut failing = Vec::new();
        if !self.started.load(Ordering::Acquire) {
            failing.push("starting");
        }
        if sqlx::query("SELECT 1").execute(&self.pool).await.is_err() {
            failing.push("postgres");
        }
        if self.nats.connection_state() != async_nats::connection::State::Connected {
            failing.push("nats");
        }
        if failing.is_empty() {
            Ok(())
        } else {
            Err(failing)
        }
    }
}

/// The three ops routes, to merge into each service's router.
pub fn router(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { (StatusCode::OK, "ok") }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(readiness)
}

async fn ready(State(readiness): State<Readiness>) -> impl IntoResponse {
    match readiness.check().await {
        Ok(()) => (StatusCode::OK, axum::Json(json!({"status": "ready"}))),
        Err(failing) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "not ready", "failing": failing})),
        ),
    }
}

async fn metrics() -> impl IntoResponse {
    (
        [(
            http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics_handle().render(),
    )
}
