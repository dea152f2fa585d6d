//! Logs and traces: JSON logs through `tracing`, spans exported over OTLP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and W3C trace context in and out of headers.

use std::sync::OnceLock;

use opentelemetry::{
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::TracerProvider as _,
};
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use tracing_subscriber::{
    EnvFilter, Layer,
    fmt::{FmtContext, FormatEvent, FormatFields, format::Writer},
    layer::SubscriberExt,
    registry::LookupSpan,
    util::SubscriberInitExt,
};

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
            .event_format(WithTraceIds(
                tracing_subscriber::fmt::format()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false),
            ))
            .with_writer(sink)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().with_writer(sink).boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                // Not the source file, line and thread of every span: the span's name says
                // where it is, and these were four more attributes allocated per span (a
                // consumer makes one per message).
                .with_location(false)
                .with_threads(false),
        )
        .try_init();
    TelemetryGuard { provider }
}

/// A JSON log line format that starts each line inside a span with the span's W3C ids:
/// `{"trace_id":"…","span_id":"…",…}`, so logs and traces meet on the trace id. The ids come
/// from the OpenTelemetry context the tracing layer activates on span entry.
struct WithTraceIds<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        use opentelemetry::trace::TraceContextExt;
        let cx = opentelemetry::Context::current();
        let ids = cx.span().span_context().clone();
        if !ids.is_valid() {
            return self.0.format_event(ctx, writer, event);
        }
        let mut line = String::with_capacity(256);
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => write!(
                writer,
                "{{\"trace_id\":\"{}\",\"span_id\":\"{}\",{rest}",
                ids.trace_id(),
                ids.span_id()
            ),
            None => writer.write_str(&line),
        }
    }
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

/// Links `span` to `other`'s context (a batch's span to each message it covers).
pub fn add_link(span: &tracing::Span, other: &tracing::Span) {
    use opentelemetry::trace::TraceContextExt;
    span.add_link(other.context().span().span_context().clone());
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Log lines collected in memory.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn given_a_span_when_it_logs_then_the_line_carries_its_trace_and_span_ids() {
        let provider = SdkTracerProvider::builder().build();
        let lines = Lines::default();
        let sink = lines.clone();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .event_format(WithTraceIds(
                        tracing_subscriber::fmt::format()
                            .json()
                            .with_current_span(true),
                    ))
                    .with_writer(move || sink.clone()),
            );
        let (trace, span_id) = tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside any span");
            let span = tracing::info_span!("work");
            let _entered = span.enter();
            tracing::info!(order_id = "3f9a0c12", "inside");
            use opentelemetry::trace::TraceContextExt;
            let ids = span.context().span().span_context().clone();
            (ids.trace_id().to_string(), ids.span_id().to_string())
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let parsed: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect();
        assert_eq!(parsed.len(), 2, "{text}");
        assert!(parsed[0].get("trace_id").is_none(), "{text}");
        assert_eq!(parsed[1]["trace_id"], trace.as_str());
        assert_eq!(parsed[1]["span_id"], span_id.as_str());
        assert_eq!(parsed[1]["fields"]["message"], "inside");
        assert_eq!(parsed[1]["fields"]["order_id"], "3f9a0c12");
    }
}
