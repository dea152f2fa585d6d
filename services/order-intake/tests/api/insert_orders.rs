use std::time::Duration;

use gadai_test_support::eventually;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn a_valid_order_is_published_after_the_pub_ack() {
    let app = spawn_app().await;
    let response = app.post_orders(&order(), None).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let ids = ids_of(&body);
    assert_eq!(ids.len(), 1);
    assert_eq!(body["orders"][0]["status"], "On Process");

    // Answered after the PubAck: the event is on the stream already.
    let messages = app.stream_messages().await;
    assert_eq!(messages.len(), 1);
    let (subject, headers, envelope) = &messages[0];
    assert_eq!(subject, &format!("{}order.created", app.env.bus.prefix));
    assert_eq!(envelope["type"], "order.created");
    assert_eq!(envelope["order_id"], ids[0].as_str());
    assert_eq!(envelope["actor"], "n8n");
    assert_eq!(envelope["data"]["jenis_barang"], "handphone");
    assert_eq!(
        app.opened(&envelope["data"]).await.nama_customer,
        "Budi Santoso"
    );
    assert_eq!(
        headers.get("Nats-Msg-Id").unwrap().as_str(),
        format!("order.created:{}", ids[0])
    );
    app.stop().await;
}

#[tokio::test]
async fn the_callers_trace_continues_into_the_event_headers() {
    let app = spawn_app().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = app
        .client
        .post(format!("{}/api/insert-orders", app.address))
        .header("X-API-Key", KEY)
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&order())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let messages = app.stream_messages().await;
    let traceparent = messages[0]
        .1
        .get("traceparent")
        .expect("traceparent header");
    assert!(
        traceparent.as_str().contains(trace_id),
        "{} does not continue trace {trace_id}",
        traceparent.as_str()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_batch_with_one_bad_order_publishes_nothing() {
    let app = spawn_app().await;
    let mut bad = order();
    bad["email"] = json!("budi@");
    bad["jumlah_barang"] = json!(0);
    let response = app.post_orders(&json!([order(), bad, order()]), None).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    let locs: Vec<Value> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["loc"].clone())
        .collect();
    assert_eq!(
        locs,
        [
            json!(["body", 1, "email"]),
            json!(["body", 1, "jumlah_barang"])
        ]
    );
    assert!(app.stream_messages().await.is_empty());

    let response = app.post_orders(&json!([order(), order()]), None).await;
    assert_eq!(response.status(), 201);
    assert_eq!(ids_of(&response.json().await.unwrap()).len(), 2);
    assert_eq!(app.stream_messages().await.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn every_invalid_field_is_refused_and_nothing_is_published() {
    let app = spawn_app().await;
    let cases: [(&str, Value); 12] = [
        ("nama_customer", json!("pengguna")),
        ("nama_customer", json!("Budi 2")),
        ("nama_customer", Value::Null),
        ("email", json!("budi.example.com")),
        ("nama_barang", json!("   ")),
        ("jenis_barang", json!("kulkas")),
        ("jumlah_barang", json!(-1)),
        ("jumlah_barang", json!(2.5)),
        ("estimasi_nilai_barang", json!(-10)),
        ("estimasi_nilai_barang", json!("sepuluh juta")),
        ("wilayah", json!("")),
        ("wilayah", json!("x".repeat(101))),
    ];
    for (field, value) in cases {
        let mut body = order();
        body[field] = value.clone();
        let response = app.post_orders(&body, None).await;
        assert_eq!(response.status(), 422, "{field} = {value}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["body", field]),
            "{field} = {value}"
        );
        assert!(
            body["detail"][0]["msg"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let mut gold = order();
    gold["jenis_barang"] = json!("emas");
    gold["nama_barang"] = json!("kalung emas");
    let response = app.post_orders(&gold, None).await;
    assert_eq!(response.status(), 422);

    for raw in ["{not json", "[1, 2]", "\"order\""] {
        let response = app
            .client
            .post(format!("{}/api/insert-orders", app.address))
            .header("X-API-Key", KEY)
            .header("Content-Type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{raw}");
        let body: Value = response.json().await.unwrap();
        assert!(body["detail"].is_array(), "{raw}: {body}");
    }
    assert!(app.stream_messages().await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn the_api_key_is_required() {
    let app = spawn_app().await;
    let url = format!("{}/api/insert-orders", app.address);
    let missing = app.client.post(&url).json(&order()).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["detail"], "Missing X-API-Key header");
    let wrong = app
        .client
        .post(&url)
        .header("X-API-Key", "guess")
        .json(&order())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(app.stream_messages().await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let app = spawn_app().await;
    let mut body = order();
    body["nama_barang"] = json!("x".repeat(70 * 1024));
    let response = app.post_orders(&body, None).await;
    assert_eq!(response.status(), 413);
    let detail: Value = response.json().await.unwrap();
    assert!(detail["detail"].is_string());
    assert!(app.stream_messages().await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_answer_json_404_and_ops_routes_work() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/nope", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["detail"], "Not Found");
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    app.post_orders(&order(), None).await;
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("orders_accepted_total"), "{metrics}");
    assert!(metrics.contains("http_requests_total"));
    // The intake's own projection applies the order, and each stage of its batch is timed.
    let stages = [
        "wait",
        "begin",
        "record",
        "prepare",
        "apply",
        "commit",
        "committed",
    ];
    eventually(Duration::from_secs(10), || async {
        let page = app
            .client
            .get(format!("{}/metrics", app.address))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        stages
            .iter()
            .all(|stage| {
                page.lines().any(|l| {
                    l.starts_with("projection_stage_seconds")
                        && l.contains("projection=\"order-intake\"")
                        && l.contains(&format!("stage=\"{stage}\""))
                })
            })
            .then_some(())
    })
    .await;
    app.stop().await;
}

/// The rounds keep their two connections from one round to the next. When Postgres ends them
/// (a restart, a proxy closing them), the round on them answers 503 and publishes nothing, and
/// the next takes fresh ones: the retry under the same key is accepted, one order per key.
#[tokio::test]
async fn the_rounds_recover_when_postgres_ends_their_connections() {
    use sqlx::Connection;
    let app = spawn_app().await;
    assert_eq!(
        app.post_orders(&order(), Some("before")).await.status(),
        201
    );
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut admin = sqlx::PgConnection::connect(&gadai_test_support::admin_url())
        .await
        .unwrap();
    let ended: i64 = sqlx::query_scalar(
        "WITH intake AS MATERIALIZED (
             SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'intake')
         SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM intake",
    )
    .bind(&database)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(ended >= 2, "the rounds' two connections at least: {ended}");

    // Retried at once, as n8n retries a 503 (a connection rested 1 s is given back anyway).
    // Each failed round gives back a dead connection, which the pool closes; it held at most
    // 5 (`max_connections`), so the sixth attempt finds none left.
    let mut answers = Vec::new();
    for _ in 0..6 {
        let status = app.post_orders(&order(), Some("after")).await.status();
        answers.push(status.as_u16());
        if status == 201 {
            break;
        }
    }
    assert_eq!(answers.last(), Some(&201), "{answers:?}");
    assert!(
        answers[..answers.len() - 1].iter().all(|s| *s == 503),
        "{answers:?}"
    );
    let created = app
        .stream_messages()
        .await
        .iter()
        .filter(|(_, _, e)| e["type"] == "order.created")
        .count();
    assert_eq!(created, 2);
    app.stop().await;
}

/// With a pool of one connection the rounds give it back after every round: their two
/// statements take turns on it instead of the second waiting for a connection the first keeps.
#[tokio::test]
async fn a_pool_of_one_connection_still_serves_the_bridge() {
    let env = gadai_test_support::TestEnv::new().await.unwrap();
    let app = spawn_with(env, |s| s.core.db.max_connections = 1).await;
    for key in ["one", "two"] {
        let response =
            tokio::time::timeout(Duration::from_secs(4), app.post_orders(&order(), Some(key)))
                .await
                .expect("answered before the pool's 5 s acquire timeout");
        assert_eq!(response.status(), 201, "{key}");
    }
    app.stop().await;
}
