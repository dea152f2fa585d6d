//! Serving a router: middleware every service shares, and graceful shutdown.

use std::time::{Duration, Instant};

use axum::{
    Router,
    extract::{MatchedPath, Request},
    middleware::{self, Next},
    response::Response,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::{timeout::TimeoutLayer, trace::TraceLayer};

use gadai_kit::telemetry::{HttpHeaders, set_parent_from};

/// Wraps a service's routes with tracing (continuing the caller's trace), request metrics and a
/// request timeout so that nothing can hold shutdown forever.
pub fn with_middleware(router: Router, timeout: Duration) -> Router {
    router
        .layer(middleware::from_fn(record_metrics))
        .layer(TimeoutLayer::with_status_code(
            http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
                .unwrap_or("unmatched");
            let span = tracing::info_span!(
                "http.request",
                http.request.method = %req.method(),
                http.route = route,
                otel.kind = "server",
            );
            set_parent_from(&span, &HttpHeaders(req.headers()));
            span
        }))
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

/// Binds `host:port` (port 0 picks a free one, for tests).
pub async fn bind(host: &str, port: u16) -> anyhow::Result<TcpListener> {
    use anyhow::Context;
    TcpListener::bind((host, port))
        .await
        .with_context(|| format!("binding {host}:{port}"))
}

/// Serves until `shutdown` is cancelled, then stops accepting and lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    // Peer addresses reach handlers (ConnectInfo) for per-client rate limits.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await
}

/// Cancels `token` on SIGTERM or Ctrl-C.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            _ = term => {},
        }
        tracing::info!("shutdown requested: finishing work in flight");
        token.cancel();
    });
}
