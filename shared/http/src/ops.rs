//! `/healthz`, `/readyz` and `/metrics`, the same on every service.

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicBool, Ordering},
};

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use futures::future::BoxFuture;
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

/// One thing readiness depends on (the database, the bus): a name for `/readyz`'s answer and
/// a check. The runtime supplies them; this crate knows no database or broker.
pub trait Probe: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn ok(&self) -> BoxFuture<'_, bool>;
}

/// What readiness depends on: the probes, and the service's own start-up work.
#[derive(Clone)]
pub struct Readiness {
    probes: Arc<Vec<Box<dyn Probe>>>,
    started: Arc<AtomicBool>,
}

impl Readiness {
    pub fn new(probes: Vec<Box<dyn Probe>>) -> Self {
        Readiness {
            probes: Arc::new(probes),
            started: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Called once migrations ran and the stream and consumers exist.
    pub fn mark_started(&self) {
        self.started.store(true, Ordering::Release);
    }

    /// Runs every probe; the gauge `service_ready` (1 or 0) follows each evaluation.
    async fn check(&self) -> Result<(), Vec<&'static str>> {
        let mut failing = Vec::new();
        if !self.started.load(Ordering::Acquire) {
            failing.push("starting");
        }
        for probe in self.probes.iter() {
            if !probe.ok().await {
                failing.push(probe.name());
            }
        }
        metrics::gauge!("service_ready").set(if failing.is_empty() { 1.0 } else { 0.0 });
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

/// The Prometheus text; readiness is evaluated first, so every scrape carries a current
/// `service_ready` whether or not anything probes `/readyz`.
async fn metrics(State(readiness): State<Readiness>) -> impl IntoResponse {
    let _ = readiness.check().await;
    (
        [(
            http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics_handle().render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    struct Fixed(&'static str, bool);

    impl Probe for Fixed {
        fn name(&self) -> &'static str {
            self.0
        }
        fn ok(&self) -> BoxFuture<'_, bool> {
            let ok = self.1;
            async move { ok }.boxed()
        }
    }

    #[tokio::test]
    async fn readiness_names_what_is_not_ready() {
        let readiness = Readiness::new(vec![
            Box::new(Fixed("postgres", true)),
            Box::new(Fixed("nats", false)),
        ]);
        assert_eq!(readiness.check().await, Err(vec!["starting", "nats"]));
        readiness.mark_started();
        assert_eq!(readiness.check().await, Err(vec!["nats"]));
        let all_up = Readiness::new(vec![Box::new(Fixed("postgres", true))]);
        all_up.mark_started();
        assert_eq!(all_up.check().await, Ok(()));
    }
}
