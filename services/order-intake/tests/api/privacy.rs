//! Personal data that can be forgotten (issue 15), as order-intake does its part: it seals what
//! it publishes, owns the customers' keys, hands them out over `rpc.keys.get` and deletes them
//! when `customer.erased` arrives.

use std::time::Duration;

use gadai_bus::Bus;
use gadai_events::{CustomerErased, ErasureBasis, Event, EventKind, OrderDeleted};
use gadai_privacy::{
    Erasure, KeyClient, KeyState, Keys, MasterKeys, SubjectId,
    personal::{Personal, open_order},
    sealed_generation,
};
use gadai_runtime::{ApplyError, Delivered, Stored, consume::Sink};
use gadai_test_support::{PII_MASTER_KEYS, captured_logs, eventually};
use order_intake::{Application, projection::IntakeProjection};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

fn order_of(name: &str, email: &str) -> Value {
    let mut o = order();
    o["nama_customer"] = json!(name);
    o["email"] = json!(email);
    o
}

async fn bus_of(app: &TestApp) -> Bus {
    Bus::connect(app.env.bus.clone(), "test").await.unwrap()
}

fn erasure(subject: &str, generation: u32, alasan: &str) -> Event {
    Event::new(
        Uuid::nil(),
        "admin-1",
        EventKind::CustomerErased(CustomerErased {
            subject: subject.to_owned(),
            generation,
            dasar: ErasureBasis::Permintaan,
            alasan: alasan.into(),
        }),
    )
}

/// A reader's side of `rpc.keys.get`, as dashboard-api and the mailer have it.
async fn key_client(app: &TestApp) -> KeyClient {
    KeyClient::new(
        async_nats::connect(&app.env.bus.url).await.unwrap(),
        format!("{}rpc.keys.get", app.env.bus.prefix),
        MasterKeys::parse(PII_MASTER_KEYS).unwrap(),
        Duration::from_secs(5),
    )
}

/// The keys of `subjects` over `rpc.keys.get`, once order-intake answers.
async fn fetch(client: &KeyClient, subjects: &[&SubjectId]) -> Keys {
    eventually(Duration::from_secs(10), || async {
        client.fetch(subjects.iter().copied()).await.ok()
    })
    .await
}

/// Posts one order (a new request each time) and returns its `data` as the stream holds it.
async fn post_and_read(app: &TestApp, body: &Value) -> Value {
    let key = Uuid::new_v4().to_string();
    let response = app.post_orders(body, Some(&key)).await;
    assert_eq!(response.status(), 201);
    let id = ids_of(&response.json().await.unwrap())[0].clone();
    app.stream_messages()
        .await
        .into_iter()
        .find(|(_, _, e)| e["order_id"] == id.as_str())
        .expect("the order's event")
        .2["data"]
        .clone()
}

#[tokio::test]
async fn an_order_lands_on_the_stream_sealed_and_opens_with_the_customers_key() {
    let app = spawn_app().await;
    let data = post_and_read(&app, &order()).await;

    let raw = app.stream_payloads().await;
    assert_eq!(raw.len(), 1);
    for plain in ["Budi Santoso", "budi@example.com", "iPhone 14", "chat-1"] {
        assert!(
            !raw[0].contains(plain),
            "{plain:?} in plaintext: {}",
            raw[0]
        );
    }
    assert_eq!(data["subject"], subject_of("budi@example.com").as_str());
    // What is not personal stays readable, for statistics.
    assert_eq!(data["jenis_barang"], "handphone");
    assert_eq!(data["wilayah"], "DKI Jakarta");
    assert_eq!(data["estimasi_nilai_barang"], 10_000_000);
    assert_eq!(sealed_generation(data["email"].as_str().unwrap()), Some(1));

    let opened = app.opened(&data).await;
    assert_eq!(opened.nama_customer, "Budi Santoso");
    assert_eq!(opened.email, "budi@example.com");
    assert_eq!(opened.nama_barang, "iPhone 14");
    assert_eq!(opened.id_percakapan.as_deref(), Some("chat-1"));
    app.stop().await;
}

#[tokio::test]
async fn one_customer_has_one_subject_and_one_key_whatever_the_case_of_the_address() {
    let app = spawn_app().await;
    let first = post_and_read(&app, &order_of("Budi Santoso", "Budi@Example.com")).await;
    let second = post_and_read(&app, &order_of("Budi Santoso", "  budi@EXAMPLE.COM ")).await;
    // Two orders of one new customer in one request: one key.
    let response = app
        .post_orders(
            &json!([
                order_of("Siti Rahma", "siti@example.co.id"),
                order_of("Siti Rahma", "SITI@example.co.id")
            ]),
            None,
        )
        .await;
    assert_eq!(response.status(), 201);

    assert_eq!(first["subject"], second["subject"]);
    assert_eq!(first["subject"], subject_of("budi@example.com").as_str());
    assert_eq!(app.opened(&first).await.email, "Budi@example.com");
    assert_eq!(app.opened(&second).await.email, "budi@example.com");
    let messages = app.stream_messages().await;
    let siti: Vec<&Value> = messages
        .iter()
        .skip(2)
        .map(|(_, _, e)| &e["data"])
        .collect();
    assert_eq!(siti[0]["subject"], siti[1]["subject"]);
    assert_ne!(siti[0]["subject"], first["subject"]);

    let keys: Vec<(String, i32)> =
        sqlx::query_as("SELECT subject, generation FROM customer_keys ORDER BY subject")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.iter().all(|(_, generation)| *generation == 1));
    app.stop().await;
}

#[tokio::test]
async fn rpc_keys_get_answers_live_erased_and_unknown_and_makes_a_key_when_asked() {
    let app = spawn_app().await;
    let data = post_and_read(&app, &order()).await;
    let budi = subject_of("budi@example.com");
    let siti = subject_of("siti@example.co.id");
    app.keys().key_for(&siti).await.unwrap();
    app.keys().erase(&siti, "DPO-2025-001").await.unwrap();
    let nobody = subject_of("nobody@example.com");

    let client = key_client(&app).await;
    let keys = fetch(&client, &[&budi, &siti, &nobody]).await;
    let KeyState::Live(key) = keys.get(&budi) else {
        panic!("budi's key is live: {:?}", keys.get(&budi));
    };
    assert_eq!(key.generation(), 1);
    let order = serde_json::from_value(data).unwrap();
    let Personal::Readable(opened) = open_order(&keys, &order).unwrap() else {
        panic!("the key from rpc.keys.get opens the order");
    };
    assert_eq!(opened.email, "budi@example.com");
    assert!(matches!(
        keys.get(&siti),
        KeyState::Erased { generation: 1 }
    ));
    assert!(matches!(keys.get(&nobody), KeyState::Unknown));

    // A writer that is not the owner asks for a key to be made (a hand-off's customer).
    let rina = subject_of("rina@example.com");
    let made = client.key_for(&rina).await.unwrap();
    assert_eq!(made.generation(), 1);
    let stored = app
        .keys()
        .find(&rina)
        .await
        .unwrap()
        .expect("made in the store");
    let sealed = gadai_privacy::seal(&made, &rina, "email", "rina@example.com");
    assert_eq!(
        gadai_privacy::open(&stored, &rina, "email", &sealed).unwrap(),
        "rina@example.com"
    );
    // Asking again gives the same key, not a second one.
    let again = client.key_for(&rina).await.unwrap();
    assert_eq!(
        gadai_privacy::open(&again, &rina, "email", &sealed).unwrap(),
        "rina@example.com"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_erasure_deletes_the_key_and_a_returning_customer_gets_the_next_generation() {
    let app = spawn_app().await;
    // Strings of this test only, so the log search below means something.
    let (name, email) = ("Wulandari Lupakan", "wulandari.lupakan@example.co.id");
    let before = post_and_read(&app, &order_of(name, email)).await;
    let subject = subject_of(email);
    assert!(app.keys().find(&subject).await.unwrap().is_some());

    let bus = bus_of(&app).await;
    bus.publish(&erasure(subject.as_str(), 1, "DPO-2025-014"))
        .await
        .unwrap();
    eventually(Duration::from_secs(10), || async {
        app.keys()
            .find(&subject)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    let tombstone: (i32, Vec<u8>, String) = sqlx::query_as(
        "SELECT generation, wrapped, erased_reason FROM customer_keys WHERE subject = $1",
    )
    .bind(subject.as_str())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(tombstone, (1, vec![], "permintaan: DPO-2025-014".into()));
    let keys = fetch(&key_client(&app).await, &[&subject]).await;
    assert!(matches!(
        keys.get(&subject),
        KeyState::Erased { generation: 1 }
    ));
    assert_eq!(
        open_with_store(&app.keys(), &before).await,
        Personal::Erased
    );

    // The customer comes back: a new key, generation 2; the erased order stays erased.
    let after = post_and_read(&app, &order_of(name, email)).await;
    assert_eq!(after["subject"], subject.as_str());
    assert_eq!(sealed_generation(after["email"].as_str().unwrap()), Some(2));
    assert_eq!(app.opened(&after).await.nama_customer, name);
    assert_eq!(
        open_with_store(&app.keys(), &before).await,
        Personal::Erased
    );
    // An erasure of generation 1 arriving again (a redelivery, a replay) leaves generation 2.
    bus.publish_with_id(&erasure(subject.as_str(), 1, "DPO-2025-014"), "again")
        .await
        .unwrap();
    let marker = post_and_read(&app, &order()).await;
    eventually(Duration::from_secs(10), || async {
        let indexed: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM idempotency_keys")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        (indexed >= Some(5)).then_some(())
    })
    .await;
    assert_eq!(app.opened(&marker).await.email, "budi@example.com");
    assert_eq!(app.opened(&after).await.email, email);

    let logs = captured_logs();
    assert!(
        !logs.contains(name) && !logs.contains(email),
        "personal data in the logs"
    );
    assert!(
        logs.contains(subject.as_str()),
        "the erasure is logged by subject"
    );
    app.stop().await;
}

#[tokio::test]
async fn erasures_apply_once_and_other_events_do_not_disturb_the_index() {
    let app = spawn_app().await;
    let projection = Stored::new(app.pool.clone(), "intake".into(), IntakeProjection);
    let siti = subject_of("siti@example.co.id");
    app.keys().key_for(&siti).await.unwrap();
    let tombstone = || async {
        sqlx::query_as::<_, (i32, Option<chrono::DateTime<chrono::Utc>>)>(
            "SELECT generation, erased_at FROM customer_keys WHERE subject = $1",
        )
        .bind(siti.as_str())
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };

    let erased = erasure(siti.as_str(), 1, "DPO-2025-020");
    projection
        .apply(&[Delivered::first(10, erased.clone())])
        .await
        .unwrap();
    let first = tombstone().await;
    assert!(first.1.is_some());
    projection
        .apply(&[Delivered::first(10, erased.clone())])
        .await
        .unwrap();
    assert_eq!(tombstone().await, first, "a redelivery changes nothing");

    // A key made after the erasure is not erased by it.
    assert_eq!(app.keys().key_for(&siti).await.unwrap().generation(), 2);
    projection
        .apply(&[Delivered::first(10, erased)])
        .await
        .unwrap();
    assert!(app.keys().find(&siti).await.unwrap().is_some());
    assert_eq!(
        app.keys().erase_through(&siti, 1, "x").await.unwrap(),
        Erasure::AlreadyErased
    );

    // An unknown customer: nothing to delete, nothing fails.
    let nobody = subject_of("nobody@example.com");
    projection
        .apply(&[Delivered::first(11, erasure(nobody.as_str(), 0, "retensi"))])
        .await
        .unwrap();

    // A subject that is not one is a poison event.
    let bad = projection
        .apply(&[Delivered::first(12, erasure("budi@example.com", 1, "x"))])
        .await;
    assert!(matches!(bad, Err(ApplyError::Poison(_))), "{bad:?}");

    // Other events beside orders leave the index as it was.
    let mut created = order_data();
    created.idempotency = Some(gadai_events::IdempotencyRef {
        key: "key:k1".into(),
        fingerprint: "f".into(),
        index: 0,
        count: 1,
    });
    let order_id = Uuid::new_v4();
    projection
        .apply(&[
            Delivered::first(
                13,
                Event::new(order_id, "n8n", EventKind::OrderCreated(created)),
            ),
            Delivered::first(
                14,
                Event::new(
                    order_id,
                    "op",
                    EventKind::OrderDeleted(OrderDeleted { reason: None }),
                ),
            ),
            Delivered::first(15, erasure(nobody.as_str(), 0, "retensi")),
        ])
        .await
        .unwrap();
    let indexed: Vec<(String, Uuid, i64)> =
        sqlx::query_as("SELECT key, order_id, seq FROM idempotency_keys")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(indexed, [("key:k1".to_owned(), order_id, 13)]);
    app.stop().await;
}

fn order_data() -> gadai_events::OrderCreated {
    gadai_events::OrderCreated {
        nama_customer: "Budi".into(),
        email: "budi@example.com".into(),
        nama_barang: "iPhone".into(),
        jenis_barang: "handphone".into(),
        jumlah_barang: 1,
        estimasi_nilai_barang: 1,
        wilayah: "Jakarta".into(),
        id_percakapan: None,
        idempotency: None,
        subject: None,
    }
}

#[tokio::test]
async fn a_bad_erasure_is_parked_and_the_consumer_goes_on() {
    let app = spawn_app().await;
    let bus = bus_of(&app).await;
    bus.publish(&erasure("not-a-subject", 1, "x"))
        .await
        .unwrap();
    let response = app.post_orders(&order(), Some("after-the-bad-one")).await;
    assert_eq!(response.status(), 201);
    eventually(Duration::from_secs(10), || async {
        let indexed: i64 = sqlx::query_scalar("SELECT count(*) FROM idempotency_keys")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        (indexed == 1).then_some(())
    })
    .await;
    let parked: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT projection, seq, reason FROM parked_events")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!((parked[0].0.as_str(), parked[0].1), ("order-intake", 1));
    assert!(parked[0].2.contains("not a subject id"), "{parked:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_rebuild_keeps_the_keys_and_the_erasures() {
    let app = spawn_app().await;
    let budi = post_and_read(&app, &order()).await;
    let siti_email = "siti@example.co.id";
    let siti = post_and_read(&app, &order_of("Siti Rahma", siti_email)).await;
    let erased = subject_of(siti_email);
    bus_of(&app)
        .await
        .publish(&erasure(erased.as_str(), 1, "DPO-2025-030"))
        .await
        .unwrap();
    eventually(Duration::from_secs(10), || async {
        app.keys()
            .find(&erased)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    type KeyRow = (String, i32, String, Vec<u8>, Option<String>);
    let rows = || async {
        sqlx::query_as::<_, KeyRow>(
            "SELECT subject, generation, master_id, wrapped, erased_reason
             FROM customer_keys ORDER BY subject",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap()
    };
    let before = rows().await;
    assert_eq!(before.len(), 2);

    Application::rebuild(settings(&app.env, app.env.bus.clone()), true)
        .await
        .unwrap();
    assert_eq!(rows().await, before);
    assert_eq!(app.opened(&budi).await.email, "budi@example.com");
    assert_eq!(open_with_store(&app.keys(), &siti).await, Personal::Erased);
    let indexed: i64 = sqlx::query_scalar("SELECT count(*) FROM idempotency_keys")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(indexed, 2);
    app.stop().await;
}

#[tokio::test]
async fn a_key_store_that_fails_answers_503_and_publishes_nothing() {
    let app = spawn_app().await;
    sqlx::query("ALTER TABLE customer_keys RENAME TO customer_keys_away")
        .execute(&app.pool)
        .await
        .unwrap();
    let response = app.post_orders(&order(), Some("k-503")).await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert!(body["detail"].is_string(), "{body}");
    assert!(app.stream_messages().await.is_empty());

    sqlx::query("ALTER TABLE customer_keys_away RENAME TO customer_keys")
        .execute(&app.pool)
        .await
        .unwrap();
    let response = app.post_orders(&order(), Some("k-503")).await;
    assert_eq!(response.status(), 201, "the retry goes through");
    assert_eq!(app.stream_messages().await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_key_made_while_a_rebuild_swaps_its_schema_is_kept() {
    let app = spawn_app().await;
    post_and_read(&app, &order()).await;
    // A customer's key being made (not committed yet) when the rebuild copies the keys over.
    let late = "f".repeat(64);
    let mut writer = app.pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO customer_keys (subject, master_id, wrapped)
         SELECT $1, master_id, wrapped FROM customer_keys LIMIT 1",
    )
    .bind(&late)
    .execute(&mut *writer)
    .await
    .unwrap();
    let rebuild = Application::rebuild(settings(&app.env, app.env.bus.clone()), true);
    // The rebuild waits for the writer (before its copy, not after it), then the writer
    // commits.
    let commit_once_waited = async {
        eventually(Duration::from_secs(30), || async {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&app.pool)
            .await
            .unwrap();
            (waiting > 0).then_some(())
        })
        .await;
        writer.commit().await.unwrap();
    };
    let (rebuilt, ()) = tokio::join!(rebuild, commit_once_waited);
    rebuilt.unwrap();
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM customer_keys WHERE subject = $1")
        .bind(&late)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        kept, 1,
        "the key made during the swap is in the rebuilt schema"
    );
    app.stop().await;
}
