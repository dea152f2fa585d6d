//! One trace from an HTTP request through the publish into another service's projection:
//! order-intake and dashboard-api run as processes exporting spans over OTLP/HTTP (protobuf) to
//! a receiver in this test, which decodes them and follows the parent links; the services' JSON
//! log lines carry the same trace id.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Bytes, extract::State, routing::post};
use gadai_test_support::{
    TestEnv,
    process::{ServiceEnv, ServiceProcess},
};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest, common::v1::any_value::Value as AnyValue,
};
use prost::Message;
use serde_json::json;

const APPS_KEY: &str = "tracing-e2e-key-5d2c9a71e4b80f36";
/// The caller's trace (n8n's, say), as a W3C `traceparent` would carry it.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// A span as the receiver keeps it.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent: String,
    attributes: HashMap<String, String>,
}

type Spans = Arc<Mutex<Vec<Received>>>;

/// `POST /v1/traces`: decodes an OTLP export request and keeps its spans.
async fn receive(State(spans): State<Spans>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf export");
    let mut kept = spans.lock().unwrap();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|a| a.key == "service.name")
            .and_then(|a| text(a.value.as_ref()?.value.as_ref()?))
            .unwrap_or_default();
        for span in resource.scope_spans.into_iter().flat_map(|s| s.spans) {
            kept.push(Received {
                service: service.clone(),
                name: span.name,
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                parent: hex(&span.parent_span_id),
                attributes: span
                    .attributes
                    .iter()
                    .filter_map(|a| Some((a.key.clone(), text(a.value.as_ref()?.value.as_ref()?)?)))
                    .collect(),
            });
        }
    }
    Vec::new()
}

fn text(value: &AnyValue) -> Option<String> {
    match value {
        AnyValue::StringValue(s) => Some(s.clone()),
        AnyValue::IntValue(i) => Some(i.to_string()),
        AnyValue::BoolValue(b) => Some(b.to_string()),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn one_trace_runs_from_the_bridge_request_into_the_dashboard_projection() {
    let env = TestEnv::new().await.unwrap();
    let spans: Spans = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/v1/traces", post(receive))
        .with_state(spans.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let logs = tempfile::tempdir().unwrap();
    // Debug logs of the request and of the applied batch, exported quickly.
    let shared = ServiceEnv::new(&env, APPS_KEY)
        .set("RUST_LOG", "info,tower_http=debug,gadai_runtime=debug")
        .set("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp)
        .set("OTEL_BSP_SCHEDULE_DELAY", "100");
    let start = |name| ServiceProcess::launch(name, &shared, logs.path());
    let intake = start("order-intake").await.unwrap();
    let dashboard = start("dashboard-api").await.unwrap();

    let answer = reqwest::Client::new()
        .post(format!("{}/api/insert-orders", intake.url))
        .header("X-API-Key", APPS_KEY)
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))
        .json(
            &json!({"nama_customer": "siti rahma", "email": "siti@example.com",
                      "nama_barang": "Samsung Galaxy S23", "jenis_barang": "handphone",
                      "jumlah_barang": 1, "estimasi_nilai_barang": 9000000,
                      "wilayah": "Jawa Barat"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap());

    // Spans arrive in export batches; wait for the projection's.
    let of_trace = || -> Vec<Received> {
        let kept = spans.lock().unwrap();
        kept.iter()
            .filter(|s| s.trace_id == TRACE_ID)
            .cloned()
            .collect()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !of_trace()
        .iter()
        .any(|s| s.service == "dashboard-api" && s.name == "projection.process")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no dashboard-api projection span in the trace; received: {:#?}",
            spans.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let trace = of_trace();
    let by_id: HashMap<&str, &Received> = trace.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let find = |service: &str, name: &str| {
        trace
            .iter()
            .find(|s| s.service == service && s.name == name)
            .unwrap_or_else(|| panic!("no {service} span {name} in {trace:#?}"))
    };

    // order-intake: the request continues the caller's trace, and the publish is inside it.
    let request = find("order-intake", "http.request");
    assert_eq!(request.parent, CALLER_SPAN);
    assert_eq!(request.attributes["http.route"], "/api/insert-orders");
    let publish = find("order-intake", "publish");
    assert!(
        ancestors(publish, &by_id).contains(&request.span_id),
        "publish is not under the request: {trace:#?}"
    );

    // dashboard-api: the consumer span's parent is order-intake's publish, across the stream,
    // with the messaging attributes; the projection's work (a batch of one) runs inside it.
    let consumer = find("dashboard-api", "projection.process");
    assert_eq!(consumer.parent, publish.span_id);
    assert_eq!(consumer.attributes["messaging.system"], "nats");
    assert_eq!(consumer.attributes["messaging.operation.type"], "process");
    assert_eq!(
        consumer.attributes["messaging.consumer.group.name"],
        "dashboard-api"
    );
    assert!(
        consumer.attributes["messaging.destination.name"].ends_with("order.created"),
        "{consumer:?}"
    );

    // Every log line written inside those spans names the trace: the request's in
    // order-intake, the applied batch in dashboard-api.
    for (service, message) in [
        (&intake, "finished processing request"),
        (&dashboard, "batch applied"),
    ] {
        let text = std::fs::read_to_string(&service.log).unwrap();
        let line = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|l| l["fields"]["message"] == message && l["trace_id"] == TRACE_ID)
            .unwrap_or_else(|| {
                panic!(
                    "{}: no {message:?} line with the trace id:\n{text}",
                    service.name
                )
            });
        assert_eq!(line["span_id"].as_str().unwrap().len(), 16, "{line}");
    }

    intake.stop(Duration::from_secs(10)).await.unwrap();
    dashboard.stop(Duration::from_secs(10)).await.unwrap();
}

/// The span ids above `span`, nearest first.
fn ancestors(span: &Received, by_id: &HashMap<&str, &Received>) -> Vec<String> {
    let mut out = Vec::new();
    let mut parent = span.parent.as_str();
    while let Some(p) = by_id.get(parent) {
        out.push(p.span_id.clone());
        parent = p.parent.as_str();
    }
    out
}
