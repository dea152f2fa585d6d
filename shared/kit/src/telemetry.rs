//! Logs and traces: JSON logs through `tracing`, spans exported over OTLP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and W3C trace context in and out of headers.

use std::sync::OnceLock;

use opentelemetry::{
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::TracerProvider as _,
};
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

/// Keeps the tracer provider alive; dropping it flushes the spans still queued.
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}

/// Where log lines go and in which shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

impl LogFormat {
    pub fn from_env() -> Self {
        match crate::config::string("LOG_FORMAT", "json").as_str() {
            "pretty" | "text" => LogFormat::Pretty,
            _ => LogFormat::Json,
        }
    }
}

/// Installs the global subscriber. `sink` receives the log lines (stdout in production, a buffer
/// or `std::io::sink` in tests). Spans get OpenTelemetry ids always, so trace context travels
/// through HTTP and NATS even when nothing exports them.
pub fn init<W>(service: &'static str, format: LogFormat, sink: W) -> TelemetryGuard
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    init_filtered(
        service,
        format,
        sink,
        "info,sqlx=warn,async_nats=warn,tower_http=warn",
    )
}

/// [`init`] with another filter for when `RUST_LOG` is unset.
pub fn init_filtered<W>(
    service: &'static str,
    format: LogFormat,
    sink: W,
    default_filter: &str,
) -> TelemetryGuard
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let provider = tracer_provider(service);
    let tracer = provider.tracer(service);
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let fmt = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(sink)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().with_writer(sink).boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .try_init();
    TelemetryGuard { provider }
}

fn tracer_provider(service: &'static str) -> SdkTracerProvider {
    let resource = Resource::builder().with_service_name(service).build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    let exporter = crate::config::optional("OTEL_EXPORTER_OTLP_ENDPOINT").and_then(|_| {
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
            .map_err(|e| eprintln!("OTLP exporter disabled: {e}"))
            .ok()
    });
    match exporter {
        Some(exporter) => builder.with_batch_exporter(exporter).build(),
        None => builder.build(),
    }
}

fn propagator() -> &'static TraceContextPropagator {
    static PROPAGATOR: OnceLock<TraceContextPropagator> = OnceLock::new();
    PROPAGATOR.get_or_init(TraceContextPropagator::new)
}

/// Writes the current span's context into a carrier (HTTP or NATS headers).
pub fn inject_current(carrier: &mut dyn Injector) {
    let cx = tracing::Span::current().context();
    propagator().inject_context(&cx, carrier);
}

/// Makes `span` a child of the context found in a carrier, when there is one.
pub fn set_parent_from(span: &tracing::Span, carrier: &dyn Extractor) {
    let cx = propagator().extract(carrier);
    let _ = span.set_parent(cx);
}

/// The W3C trace id of a span, for tests and log correlation.
pub fn trace_id(span: &tracing::Span) -> String {
    use opentelemetry::trace::TraceContextExt;
    span.context().span().span_context().trace_id().to_string()
}

/// Adapts `http::HeaderMap` for the propagator.
pub struct HttpHeaders<'a>(pub &'a http::HeaderMap);

impl Extractor for HttpHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}
