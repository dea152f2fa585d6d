use std::time::Duration;

use gadai_test_support::{TestEnv, eventually};
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn the_same_key_twice_makes_one_order() {
    let app = spawn_app().await;
    let first = app.post_orders(&order(), Some("retry-1")).await;
    assert_eq!(first.status(), 201);
    let first_ids = ids_of(&first.json().await.unwrap());
    let second = app.post_orders(&order(), Some("retry-1")).await;
    assert_eq!(second.status(), 201);
    assert_eq!(second.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(ids_of(&second.json().await.unwrap()), first_ids);
    assert_eq!(app.stream_messages().await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn the_same_key_after_the_dedupe_window_still_makes_one_order() {
    let mut env = TestEnv::new().await.unwrap();
    env.bus.duplicate_window = Duration::from_secs(1);
    let app = spawn_with(env, |_| {}).await;
    let batch = json!([order(), order()]);
    let first_ids = ids_of(
        &app.post_orders(&batch, Some("late-retry"))
            .await
            .json()
            .await
            .unwrap(),
    );
    // Wait until the intake's own index holds the key, then past JetStream's window.
    eventually(Duration::from_secs(10), || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM idempotency_keys WHERE key = 'key:late-retry'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        (n == 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = app.post_orders(&batch, Some("late-retry")).await;
    assert_eq!(again.status(), 201);
    assert_eq!(ids_of(&again.json().await.unwrap()), first_ids);
    assert_eq!(app.stream_messages().await.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn a_key_reused_for_another_body_is_refused() {
    let app = spawn_app().await;
    assert_eq!(app.post_orders(&order(), Some("k-1")).await.status(), 201);
    app.wait_indexed(1).await;
    let mut other = order();
    other["nama_barang"] = json!("Samsung S24");
    let response = app.post_orders(&other, Some("k-1")).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("Idempotency-Key"));
    assert_eq!(app.stream_messages().await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn without_a_key_an_identical_body_counts_as_a_retry() {
    let app = spawn_app().await;
    let first = ids_of(&app.post_orders(&order(), None).await.json().await.unwrap());
    let second = ids_of(&app.post_orders(&order(), None).await.json().await.unwrap());
    assert_eq!(first, second);
    let mut other = order();
    other["jumlah_barang"] = json!(2);
    let third = ids_of(&app.post_orders(&other, None).await.json().await.unwrap());
    assert_ne!(first, third);
    assert_eq!(app.stream_messages().await.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn a_malformed_key_is_a_422_on_the_header() {
    let app = spawn_app().await;
    let response = app.post_orders(&order(), Some("has space")).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["detail"][0]["loc"],
        json!(["header", "Idempotency-Key"])
    );
    assert!(app.stream_messages().await.is_empty());
    app.stop().await;
}

/// Removes what the intake's index holds: as it is before its consumer reached a request that
/// JetStream has stored already (the window is milliseconds long; here it stays open).
async fn index_not_yet_caught_up(app: &TestApp, rows: i64) {
    app.wait_indexed(rows).await;
    sqlx::query("DELETE FROM idempotency_keys")
        .execute(&app.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_duplicate_stored_by_another_body_is_refused_before_the_index_knows_it() {
    let app = spawn_app().await;
    let first = app.post_orders(&order(), Some("k-fast")).await;
    assert_eq!(first.status(), 201);
    let ids = ids_of(&first.json().await.unwrap());
    index_not_yet_caught_up(&app, 1).await;

    // Another body under the key: JetStream calls its order a duplicate, and the stored event
    // says another body made it.
    let mut other = order();
    other["nama_barang"] = json!("Samsung S24");
    let refused = app.post_orders(&other, Some("k-fast")).await;
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("Idempotency-Key"));
    // The same body again is the same request: replayed.
    let again = app.post_orders(&order(), Some("k-fast")).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(ids_of(&again.json().await.unwrap()), ids);
    assert_eq!(app.stream_messages().await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn two_bodies_under_one_key_at_once_one_is_created_and_the_other_refused() {
    let app = spawn_app().await;
    for round in 0..10 {
        let key = format!("race-{round}");
        let first = order();
        let mut other = order();
        other["jumlah_barang"] = json!(2);
        let (a, b) = tokio::join!(
            app.post_orders(&first, Some(&key)),
            app.post_orders(&other, Some(&key))
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [201, 422], "key {key}");
    }
    assert_eq!(app.stream_messages().await.len(), 10);
    app.stop().await;
}
