//! Requests in flight together share one round (`order_intake::keys`): one query of the
//! idempotency index for all their candidate keys, one of the key store for all their
//! customers. Each must still get its own answer, also two requests under the same key.

use serde_json::{Value, json};

use crate::helpers::*;

/// Customer `n`'s name: letters only, as the bridge's rules want (3 -> "Pelanggan Bd").
fn name_of(n: usize) -> String {
    let letters: String = n
        .to_string()
        .bytes()
        .map(|d| char::from(b'a' + (d - b'0')))
        .collect();
    format!("Pelanggan B{letters}")
}

fn order_of(n: usize) -> Value {
    let mut o = order();
    o["nama_customer"] = json!(name_of(n));
    o["email"] = json!(format!("pelanggan{n}@example.com"));
    o
}

#[tokio::test]
async fn requests_in_flight_together_each_get_their_own_answer() {
    let app = spawn_app().await;
    // Five requests the index holds already.
    let mut earlier = Vec::new();
    for n in 0..5 {
        let response = app
            .post_orders(&order_of(n), Some(&format!("old-{n}")))
            .await;
        assert_eq!(response.status(), 201);
        earlier.push(ids_of(&response.json().await.unwrap()));
    }
    app.wait_indexed(5).await;

    // At once: their retries, the same keys with other bodies, and 20 new customers.
    let retries = (0..5).map(|n| (order_of(n), format!("old-{n}")));
    let conflicts = (0..5).map(|n| {
        let mut other = order_of(n);
        other["jumlah_barang"] = json!(3);
        (other, format!("old-{n}"))
    });
    let new = (100..120).map(|n| (order_of(n), format!("new-{n}")));
    let asks: Vec<(Value, String)> = retries.chain(conflicts).chain(new).collect();
    let answers = futures::future::join_all(
        asks.iter()
            .map(|(body, key)| app.post_orders(body, Some(key))),
    )
    .await;

    for (n, response) in answers.into_iter().enumerate() {
        let status = response.status();
        let replayed = response.headers().contains_key("idempotent-replayed");
        let body: Value = response.json().await.unwrap();
        match n {
            0..5 => {
                assert_eq!(status, 201, "retry {n}: {body}");
                assert!(replayed, "retry {n} is a replay");
                assert_eq!(ids_of(&body), earlier[n], "retry {n} gets its own ids");
            }
            5..10 => assert_eq!(status, 422, "conflict {n}: {body}"),
            _ => {
                assert_eq!(status, 201, "new {n}: {body}");
                assert!(!replayed, "new {n} is not a replay");
            }
        }
    }

    // 5 + 20 orders, each sealed under its own customer's key.
    let messages = app.stream_messages().await;
    assert_eq!(messages.len(), 25);
    for (_, _, envelope) in &messages[5..] {
        let data = &envelope["data"];
        let opened = app.opened(data).await;
        let n: usize = opened.email["pelanggan".len()..]
            .split('@')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((100..120).contains(&n), "{}", opened.email);
        assert_eq!(opened.nama_customer, name_of(n));
    }
    app.stop().await;
}

#[tokio::test]
async fn an_index_that_fails_answers_503_and_publishes_nothing() {
    let app = spawn_app().await;
    sqlx::query("ALTER TABLE idempotency_keys RENAME TO idempotency_keys_away")
        .execute(&app.pool)
        .await
        .unwrap();
    let response = app.post_orders(&order(), Some("k-index")).await;
    assert_eq!(response.status(), 503);
    assert!(app.stream_messages().await.is_empty());

    sqlx::query("ALTER TABLE idempotency_keys_away RENAME TO idempotency_keys")
        .execute(&app.pool)
        .await
        .unwrap();
    let response = app.post_orders(&order(), Some("k-index")).await;
    assert_eq!(response.status(), 201, "the retry goes through");
    assert_eq!(app.stream_messages().await.len(), 1);
    app.stop().await;
}
