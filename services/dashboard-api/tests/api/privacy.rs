//! Customers' personal data (issue 15, UU PDP 27/2022): sealed events read in plaintext, erasure
//! by e-mail and by order (the list, the detail, the history, the exports, the hand-offs, the
//! live feed, the counters, the tables), the erasure log, the access export, the race between
//! an erasure and an order of the same customer, a rebuild after an erasure, and the key store
//! being away.
//!
//! order-intake owns the key store; here it is played by [`key_server`]: `customer_keys` in a
//! schema of the test's database, answering `rpc.keys.get`. Its consumer of `customer.erased`
//! (which deletes the key) is played by calling `erase_through` after an erasure.

use std::time::Duration;

use dashboard_api::{Application, projection::Dashboard};
use gadai_events::*;
use gadai_privacy::personal::seal_order;
use gadai_runtime::consume::{Delivered, Sink, Stored};
use gadai_test_support::{TestEnv, eventually};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    helpers::*,
    live::{feed, next_event},
};

const KEY: &str = "test-apps-key";
const ERASURES: &str = "/dashboard/admin/erasures";
const CUSTOMER_DATA: &str = "/dashboard/admin/customers/data";

/// The access request for `email` (the address in the body).
async fn customer_data(app: &TestApp, email: &str) -> reqwest::Response {
    app.client
        .post(format!("{}{CUSTOMER_DATA}", app.address))
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap()
}

/// An order.created as order-intake publishes it: the personal fields sealed under the
/// customer's key (made on their first order).
async fn sealed_order(keys: &KeyServer, name: &str, email: &str, value: i64) -> EventKind {
    let subject = subject_of(email);
    let key = keys.store.key_for(&subject).await.unwrap();
    let EventKind::OrderCreated(mut order) = plaintext_order(name, email, value) else {
        unreachable!()
    };
    seal_order(&key, &subject, &mut order);
    EventKind::OrderCreated(order)
}

/// An order.created recorded before sealing: plaintext, no subject.
fn plaintext_order(name: &str, email: &str, value: i64) -> EventKind {
    EventKind::OrderCreated(OrderCreated {
        nama_customer: name.into(),
        email: email.into(),
        nama_barang: format!("Laptop milik {name}"),
        jenis_barang: "laptop".into(),
        jumlah_barang: 1,
        estimasi_nilai_barang: value,
        wilayah: "Bandung".into(),
        id_percakapan: Some(format!("chat-{}", name.to_lowercase().replace(' ', "-"))),
        idempotency: None,
        subject: None,
    })
}

async fn order_of(app: &TestApp, kind: EventKind) -> Uuid {
    let id = Uuid::now_v7();
    app.publish(&Event::new(id, "n8n", kind)).await;
    id
}

async fn post_json(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The order `id` as the list shows it (every active order fits one page here).
async fn listed(app: &TestApp, id: Uuid) -> Value {
    let list = app.get_json("/dashboard/orders?limit=200").await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id.to_string())
        .cloned()
        .unwrap_or_else(|| panic!("{id} not listed"))
}

async fn text(app: &TestApp, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.text().await.unwrap()
}

/// Fails when any text, JSON or byte column of any table of `schema` holds one of `needles`
/// (case-insensitive): a dump of the schema, searched.
async fn no_trace_in(pool: &sqlx::PgPool, schema: &str, needles: &[&str]) {
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text
         FROM information_schema.columns c
         JOIN information_schema.tables t USING (table_schema, table_name)
         WHERE c.table_schema = $1 AND t.table_type = 'BASE TABLE'
           AND c.data_type IN ('text', 'character varying', 'jsonb', 'json', 'bytea')",
    )
    .bind(schema)
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(columns.len() > 10, "the schema's columns: {columns:?}");
    for (table, column, kind) in &columns {
        let value = if kind == "bytea" {
            format!("encode({column}, 'escape')")
        } else {
            format!("{column}::text")
        };
        for needle in needles {
            let found: i64 = sqlx::query_scalar(&format!(
                "SELECT count(*) FROM {schema}.{table} WHERE {value} ILIKE '%' || $1 || '%'"
            ))
            .bind(needle)
            .fetch_one(pool)
            .await
            .unwrap();
            assert_eq!(found, 0, "{needle:?} in {schema}.{table}.{column}");
        }
    }
}

const KARTINI: &str = "kartini.wulandari@contoh.id";
/// What must be gone once Kartini is erased: her name, e-mail, item, conversation, summary.
const KARTINI_TRACES: [&str; 5] = [
    "Kartini Wulandari",
    "kartini.wulandari@",
    "Laptop milik Kartini",
    "chat-kartini",
    "gadai emas",
];

#[tokio::test]
async fn erasure_by_email_blanks_every_view_keeps_the_counts_and_survives_a_rebuild() {
    let app = spawn_app().await;
    let keys = key_server(&app.env).await;
    let sealed = order_of(
        &app,
        sealed_order(&keys, "Kartini Wulandari", KARTINI, 5_000_000).await,
    )
    .await;
    // The same customer before sealing (the e-mail's case differs): erasure by e-mail reaches it.
    let legacy = order_of(
        &app,
        plaintext_order(
            "Kartini Wulandari",
            "Kartini.Wulandari@Contoh.id",
            1_000_000,
        ),
    )
    .await;
    let other = order_of(
        &app,
        sealed_order(&keys, "Bagus Pratama", "bagus@contoh.id", 3_000_000).await,
    )
    .await;
    let response = reqwest::Client::new()
        .post(format!("{}/dashboard/customer/handoff", app.address))
        .header("X-API-Key", KEY)
        .json(&json!({
            "id_percakapan": "chat-kartini-2", "nama_customer": "Kartini Wulandari",
            "email": KARTINI, "ringkasan": "Ingin bertanya soal gadai emas"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    app.caught_up().await;

    // Sealed on the stream, readable in the dashboard.
    let row = listed(&app, sealed).await;
    assert_eq!(row["nama_customer"], "Kartini Wulandari");
    assert_eq!(row["email"], KARTINI);
    assert_eq!(row["nama_barang"], "Laptop milik Kartini Wulandari");
    assert_eq!(row["id_percakapan"], "chat-kartini-wulandari");
    assert_eq!(row["data_dihapus"], false);
    assert_eq!(
        listed(&app, legacy).await["email"],
        "Kartini.Wulandari@Contoh.id"
    );
    let found = app.get_json("/dashboard/orders?q=kartini").await;
    assert_eq!(found.as_array().unwrap().len(), 2);
    let detail = text(&app, &format!("/dashboard/orders/{sealed}")).await;
    assert!(detail.contains("Kartini Wulandari"), "{detail}");
    let history = &serde_json::from_str::<Value>(&detail).unwrap()["history"];
    assert_eq!(history[0]["type"], "order.created");
    assert_eq!(history[0]["data"]["jenis_barang"], "laptop");
    assert!(
        !history.to_string().contains("pii:v1:") && !history.to_string().contains("Kartini"),
        "the history holds no personal field, sealed or not: {history}"
    );
    let queue = app.get_json("/dashboard/handoffs").await;
    assert_eq!(
        queue["items"][0]["ringkasan"],
        "Ingin bertanya soal gadai emas"
    );
    assert_eq!(queue["items"][0]["data_dihapus"], false);
    let stats = app.get_json("/dashboard/stats").await;

    let (status, erased) = post_json(
        &app,
        ERASURES,
        json!({"email": " KARTINI.wulandari@contoh.id ", "alasan": "Permintaan DPO-2025-014"}),
    )
    .await;
    assert_eq!(status, 202, "{erased}");
    let subject = subject_of(KARTINI);
    assert_eq!(
        erased,
        json!({"subject": subject.as_str(), "generation": 1, "pesanan": 2, "handoff": 1})
    );
    // order-intake applies customer.erased: the key is gone.
    keys.store
        .erase_through(&subject, 1, "Permintaan DPO-2025-014")
        .await
        .unwrap();
    app.caught_up().await;

    assert_erased(&app, &[sealed, legacy], other, &stats).await;
    let log = app.get_json(ERASURES).await;
    assert_eq!(log.as_array().unwrap().len(), 1);
    let entry = &log[0];
    assert_eq!(
        (
            &entry["actor"],
            &entry["dasar"],
            &entry["alasan"],
            &entry["subject"]
        ),
        (
            &json!("admin"),
            &json!("permintaan"),
            &json!("Permintaan DPO-2025-014"),
            &json!(subject.as_str())
        )
    );
    assert_eq!(
        (&entry["pesanan"], &entry["handoff"]),
        (&json!(2), &json!(1))
    );
    // The customer's own routes no longer find the order by its e-mail.
    let status = reqwest::Client::new()
        .post(format!("{}/dashboard/customer/status", app.address))
        .header("X-API-Key", KEY)
        .json(&json!({
            "referensi": gadai_events::check::Reference::of(sealed).to_string(),
            "email": KARTINI
        }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
    // Nothing of hers in any table, nor in any log line.
    no_trace_in(&app.pool, "dashboard", &KARTINI_TRACES).await;
    let logs = gadai_test_support::captured_logs();
    for needle in KARTINI_TRACES {
        assert!(!logs.contains(needle), "{needle} logged");
    }

    // A rebuild replays the sealed events without her key, and the erasure after the plaintext.
    dashboard_api::startup::rebuild(settings(&app.env), true)
        .await
        .unwrap();
    assert_erased(&app, &[sealed, legacy], other, &stats).await;
    no_trace_in(&app.pool, "dashboard", &KARTINI_TRACES).await;
    assert_eq!(app.get_json(ERASURES).await, log);
    drop(keys);
    app.stop().await;
}

/// `erased` show "data dihapus" everywhere, `kept` does not, and the counters are `stats`.
async fn assert_erased(app: &TestApp, erased: &[Uuid], kept: Uuid, stats: &Value) {
    for id in erased {
        let row = listed(app, *id).await;
        for field in ["nama_customer", "email", "nama_barang", "id_percakapan"] {
            assert_eq!(row[field], Value::Null, "{field} of {id}");
        }
        assert_eq!(row["data_dihapus"], true);
        assert_eq!(row["jenis_barang"], "laptop");
        assert_eq!(row["wilayah"], "Bandung");
        let detail = app.get_json(&format!("/dashboard/orders/{id}")).await;
        assert_eq!(detail["order"]["data_dihapus"], true);
        assert!(!detail.to_string().contains("Kartini"), "{detail}");
    }
    assert_eq!(listed(app, kept).await["nama_customer"], "Bagus Pratama");
    assert_eq!(listed(app, kept).await["data_dihapus"], false);
    assert_eq!(app.get_json("/dashboard/orders?q=kartini").await, json!([]));
    assert_eq!(
        app.get_json("/dashboard/orders?q=bagus")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Sorting by name: the erased rows sort as the empty name and page like the others.
    let first = app
        .get("/dashboard/orders?sort=nama_customer&order=asc&limit=1")
        .await;
    let cursor = first.headers()["x-next-cursor"]
        .to_str()
        .unwrap()
        .to_owned();
    let page: Value = first.json().await.unwrap();
    assert_eq!(page[0]["data_dihapus"], true);
    let rest = app
        .get_json(&format!(
            "/dashboard/orders?sort=nama_customer&order=asc&limit=200&cursor={cursor}"
        ))
        .await;
    assert_eq!(rest.as_array().unwrap().len(), 2);
    assert_eq!(rest[1]["nama_customer"], "Bagus Pratama");

    let queue = app.get_json("/dashboard/handoffs").await;
    let handoff = &queue["items"][0];
    assert_eq!(handoff["data_dihapus"], true);
    for field in ["nama_customer", "email", "ringkasan", "id_percakapan"] {
        assert_eq!(handoff[field], Value::Null, "hand-off {field}");
    }
    let csv = text(app, "/dashboard/orders/export?format=csv").await;
    assert_eq!(
        csv.matches("data dihapus").count(),
        3 * erased.len(),
        "{csv}"
    );
    assert!(csv.contains("Bagus Pratama"));
    assert!(!csv.to_lowercase().contains("kartini"), "{csv}");
    assert_eq!(&app.get_json("/dashboard/stats").await, stats);
}

#[tokio::test]
async fn erasure_by_order_erases_its_customer_live_and_the_access_export_follows() {
    let app = spawn_app().await;
    let keys = key_server(&app.env).await;
    let dewi = "dewi.lestari@contoh.id";
    let first = order_of(
        &app,
        sealed_order(&keys, "Dewi Lestari", dewi, 4_000_000).await,
    )
    .await;
    let second = order_of(
        &app,
        sealed_order(&keys, "Dewi Lestari", dewi, 2_500_000).await,
    )
    .await;
    let other = order_of(
        &app,
        sealed_order(&keys, "Bagus Pratama", "bagus@contoh.id", 1_000).await,
    )
    .await;
    app.caught_up().await;

    // The access request: every order with every field opened, and its history's.
    let response = customer_data(&app, "Dewi.Lestari@contoh.id").await;
    assert_eq!(response.status(), 200);
    let subject = subject_of(dewi);
    assert_eq!(
        response.headers()["content-disposition"],
        format!(
            "attachment; filename=\"data-pelanggan-{}.json\"",
            &subject.as_str()[..8]
        )
        .as_str()
    );
    let data: Value = response.json().await.unwrap();
    assert_eq!(data["subject"], subject.as_str());
    let orders = data["pesanan"].as_array().unwrap();
    assert_eq!(orders.len(), 2);
    for order in orders {
        assert_eq!(order["nama_customer"], "Dewi Lestari");
        assert_eq!(order["email"], dewi);
        assert_eq!(order["nama_barang"], "Laptop milik Dewi Lestari");
        let created = &order["riwayat"][0];
        assert_eq!(created["type"], "order.created");
        assert_eq!(created["data"]["nama_customer"], "Dewi Lestari");
        assert_eq!(created["data"]["email"], dewi);
        assert_eq!(created["data"]["id_percakapan"], "chat-dewi-lestari");
        assert_eq!(created["data"]["jenis_barang"], "laptop");
    }
    assert!(!data.to_string().contains("pii:v1:"));
    assert!(!data.to_string().contains("Bagus"));
    assert_eq!(data["handoff"], json!([]));
    assert_eq!(data["penghapusan"], json!([]));

    let response = app.get("/dashboard/events").await;
    let mut live = feed(response.bytes_stream());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before_erasure = app.bus.last_sequence().await.unwrap();

    let (status, body) = post_json(
        &app,
        ERASURES,
        json!({"order_id": Uuid::now_v7(), "alasan": "DPO-2025-015"}),
    )
    .await;
    assert_eq!((status, &body["detail"]), (404, &json!("Order not found")));
    let (status, erased) = post_json(
        &app,
        ERASURES,
        json!({"order_id": second, "alasan": "DPO-2025-015"}),
    )
    .await;
    assert_eq!(status, 202, "{erased}");
    assert_eq!(
        (&erased["pesanan"], &erased["generation"]),
        (&json!(2), &json!(1))
    );
    // Open dashboards show it at once: both orders of the customer, not only the one named.
    let mut shown = std::collections::BTreeSet::new();
    while shown.len() < 2 {
        let (_, change) =
            next_event(&mut live, "change", |d| d["order"]["data_dihapus"] == true).await;
        assert_eq!(change["order"]["nama_customer"], Value::Null);
        shown.insert(change["order_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        shown,
        [first.to_string(), second.to_string()]
            .into_iter()
            .collect()
    );
    keys.store
        .erase_through(&subject, 1, "DPO-2025-015")
        .await
        .unwrap();
    app.caught_up().await;
    assert_eq!(listed(&app, first).await["data_dihapus"], true);
    // A dashboard reconnecting from before the erasure is sent both blanked orders too.
    let resumed = app
        .client
        .get(format!("{}/dashboard/events", app.address))
        .header("Last-Event-ID", before_erasure.to_string())
        .send()
        .await
        .unwrap();
    let mut resumed = feed(resumed.bytes_stream());
    let mut replayed = std::collections::BTreeSet::new();
    while replayed.len() < 2 {
        let (_, change) = next_event(&mut resumed, "change", |d| {
            d["order"]["data_dihapus"] == true
        })
        .await;
        replayed.insert(change["order_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(replayed, shown);
    assert_eq!(listed(&app, other).await["nama_customer"], "Bagus Pratama");
    // Erased by that order: its history names the erasure and who did it.
    let history = app.get_json(&format!("/dashboard/orders/{second}")).await["history"].clone();
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["type"], &last["actor"]),
        (&json!("customer.erased"), &json!("admin"))
    );

    let data: Value = customer_data(&app, "Dewi.Lestari@contoh.id")
        .await
        .json()
        .await
        .unwrap();
    let orders = data["pesanan"].as_array().unwrap();
    assert_eq!(orders.len(), 2);
    for order in orders {
        assert_eq!(order["data_dihapus"], true);
        assert_eq!(order["nama_customer"], Value::Null);
        assert!(order["estimasi_nilai_barang"].as_i64().is_some());
        assert_eq!(order["riwayat"][0]["data"].get("nama_customer"), None);
    }
    assert_eq!(data["penghapusan"][0]["alasan"], "DPO-2025-015");
    let text = data.to_string().to_lowercase();
    assert!(!text.contains("dewi"), "{text}");

    // She comes back: a new key (generation 2) reads again; the erased orders stay erased.
    let back = order_of(
        &app,
        sealed_order(&keys, "Dewi Lestari", dewi, 700_000).await,
    )
    .await;
    app.caught_up().await;
    assert_eq!(listed(&app, back).await["nama_customer"], "Dewi Lestari");
    assert_eq!(listed(&app, first).await["data_dihapus"], true);
    let data: Value = customer_data(&app, "Dewi.Lestari@contoh.id")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(data["pesanan"].as_array().unwrap().len(), 3);
    drop(keys);
    app.stop().await;
}

/// The projection on a migrated schema, with no consumer running: the test feeds it.
async fn bare(env: &TestEnv) -> Stored<Dashboard> {
    let app = Application::build(settings(env)).await.unwrap();
    Stored::new(
        app.pool().clone(),
        "dashboard".into(),
        Dashboard::new(None, privacy(env).await),
    )
}

fn delivered(seq: u64, order: Uuid, kind: EventKind) -> Delivered {
    Delivered::first(seq, Event::new(order, "n8n", kind))
}

fn erasure(email: &str, generation: u32) -> EventKind {
    EventKind::CustomerErased(CustomerErased {
        subject: subject_of(email).as_str().to_owned(),
        generation,
        dasar: ErasureBasis::Permintaan,
        alasan: "DPO-7".into(),
    })
}

async fn erased_flag(pool: &sqlx::PgPool, id: Uuid) -> (bool, Option<String>) {
    sqlx::query_as("SELECT data_dihapus, nama_customer FROM orders WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_order_applied_after_its_customers_erasure_is_written_erased() {
    let env = TestEnv::new().await.unwrap();
    let keys = key_server(&env).await;
    let p = bare(&env).await;
    let fajar = "fajar@contoh.id";
    // Sealed with generation 1 before the erasure, applied after it by a replica whose key was
    // fetched in time (the store has not deleted it yet): written erased all the same.
    let sealed = sealed_order(&keys, "Fajar Nugroho", fajar, 10).await;
    let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    p.apply(&[delivered(10, Uuid::nil(), erasure(fajar, 1))])
        .await
        .unwrap();
    p.apply(&[
        delivered(5, a, sealed),
        // Plaintext recorded before the erasure: erased; after it (an order placed again by
        // an intake replica not yet sealing): kept.
        delivered(7, b, plaintext_order("Fajar Nugroho", fajar, 10)),
        delivered(12, c, plaintext_order("Fajar Nugroho", fajar, 10)),
    ])
    .await
    .unwrap();
    assert_eq!(erased_flag(&p.pool, a).await, (true, None));
    assert_eq!(erased_flag(&p.pool, b).await, (true, None));
    assert_eq!(
        erased_flag(&p.pool, c).await,
        (false, Some("Fajar Nugroho".into()))
    );
    // The key store applies the erasure; the customer comes back with generation 2.
    keys.store
        .erase_through(&subject_of(fajar), 1, "DPO-7")
        .await
        .unwrap();
    let d = Uuid::now_v7();
    p.apply(&[delivered(
        14,
        d,
        sealed_order(&keys, "Fajar Nugroho", fajar, 10).await,
    )])
    .await
    .unwrap();
    assert_eq!(
        erased_flag(&p.pool, d).await,
        (false, Some("Fajar Nugroho".into()))
    );

    // Two replicas at once, an erasure and an order of the same customer: always erased.
    let q = Stored::new(
        p.pool.clone(),
        "dashboard".into(),
        Dashboard::new(None, privacy(&env).await),
    );
    for i in 0..6u64 {
        let email = format!("pelanggan{i}@contoh.id");
        let order = Uuid::now_v7();
        let created = [delivered(
            100 + 2 * i,
            order,
            sealed_order(&keys, "Gita", &email, 1).await,
        )];
        let erased = [delivered(101 + 2 * i, Uuid::nil(), erasure(&email, 1))];
        let (x, y) = if i % 2 == 0 {
            tokio::join!(p.apply(&created), q.apply(&erased))
        } else {
            tokio::join!(q.apply(&erased), p.apply(&created))
        };
        x.unwrap();
        y.unwrap();
        assert_eq!(
            erased_flag(&p.pool, order).await,
            (true, None),
            "customer {i}"
        );
    }
    drop(keys);
    env.cleanup().await;
}

#[tokio::test]
async fn only_admins_erase_and_export_and_bad_requests_are_refused() {
    let app = spawn_app().await;
    let _keys = key_server(&app.env).await;
    let created = app
        .client
        .post(format!("{}/dashboard/operators", app.address))
        .json(&json!({"username": "rudi", "password": "operator-pass-1", "role": "operator"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let rudi = logged_in(&app.address, "rudi", "operator-pass-1").await;
    let url = |path: &str| format!("{}{path}", app.address);
    let body = json!({"email": "a@contoh.id", "alasan": "DPO-1"});
    for response in [
        rudi.post(url(ERASURES)).json(&body).send().await.unwrap(),
        rudi.get(url(ERASURES)).send().await.unwrap(),
        rudi.post(url(CUSTOMER_DATA))
            .json(&json!({"email": "a@contoh.id"}))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(response.status(), 403);
    }
    let anonymous = reqwest::Client::new()
        .get(url(ERASURES))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let invalid = |v: Value| {
        let app = &app;
        async move {
            let (status, body) = post_json(app, ERASURES, v).await;
            assert_eq!(status, 422, "{body}");
            body["detail"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["loc"][1].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        invalid(json!({"alasan": "DPO-1"})).await,
        ["email", "order_id"]
    );
    assert_eq!(
        invalid(json!({"email": "a@contoh.id", "order_id": Uuid::now_v7(), "alasan": "DPO-1"}))
            .await,
        ["email", "order_id"]
    );
    assert_eq!(
        invalid(json!({"email": "a@contoh.id", "alasan": "permintaan a@contoh.id"})).await,
        ["alasan"]
    );
    assert_eq!(
        invalid(json!({"email": "bukan-email", "alasan": "x"})).await,
        ["email", "alasan"]
    );
    let (status, body) = post_json(
        &app,
        ERASURES,
        json!({"email": "tidak.ada@contoh.id", "alasan": "DPO-1"}),
    )
    .await;
    assert_eq!(
        (status, body),
        (404, json!({"detail": "Tidak ada data pelanggan ini"}))
    );
    let missing = customer_data(&app, "tidak.ada@contoh.id").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(customer_data(&app, "bukan").await.status(), 422);
    // The address travels in the body, never in the URL (access logs keep URLs).
    let in_url = app
        .get(&format!("{CUSTOMER_DATA}?email=tidak.ada@contoh.id"))
        .await;
    assert_eq!(in_url.status(), 405);
    assert_eq!(app.get(&format!("{ERASURES}?limit=0")).await.status(), 422);
    assert_eq!(app.get_json(ERASURES).await, json!([]));
    // Nothing was published.
    assert_eq!(app.bus.last_sequence().await.unwrap(), 0);
    app.stop().await;
}

#[tokio::test]
async fn without_the_key_store_nothing_is_sealed_published_parked_or_erased() {
    let app = spawn_app().await;
    let keys = key_server(&app.env).await;
    let store = keys.store.clone();
    let order = sealed_order(&keys, "Hana Safitri", "hana@contoh.id", 10).await;
    drop(keys);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A hand-off cannot be sealed: 503, and nothing is on the stream.
    let response = reqwest::Client::new()
        .post(format!("{}/dashboard/customer/handoff", app.address))
        .header("X-API-Key", KEY)
        .json(&json!({
            "id_percakapan": "chat-hana", "nama_customer": "Hana Safitri",
            "email": "hana@contoh.id", "ringkasan": "Mohon dihubungi"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let (status, _) = post_json(
        &app,
        ERASURES,
        json!({"email": "hana@contoh.id", "alasan": "DPO-3"}),
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(app.bus.last_sequence().await.unwrap(), 0);

    // A sealed order waits for the key store: not parked, not written erased.
    let id = order_of(&app, order).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let parked: i64 = sqlx::query_scalar("SELECT count(*) FROM parked_events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((rows, parked), (0, 0));
    let _keys = serve_keys(&app.env, store).await;
    let pool = app.pool.clone();
    let name: String = eventually(Duration::from_secs(30), || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar("SELECT nama_customer FROM orders WHERE id = $1")
                .bind(id)
                .fetch_optional(&pool)
                .await
                .ok()
                .flatten()
        }
    })
    .await;
    assert_eq!(name, "Hana Safitri");
    app.stop().await;
}

#[tokio::test]
async fn the_rebuild_command_opens_sealed_orders_with_the_keys_of_its_environment() {
    let app = spawn_app().await;
    let keys = key_server(&app.env).await;
    let id = order_of(
        &app,
        sealed_order(&keys, "Indah Permata", "indah@contoh.id", 10).await,
    )
    .await;
    app.caught_up().await;
    // The runtime makes the command's projection without the settings: it reads the keys from
    // the environment when it first needs them.
    let env = &app.env;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_dashboard-api"))
        .args(["rebuild", "--dry-run"])
        .env("DATABASE_URL", &env.database_url)
        .env("NATS_URL", &env.bus.url)
        .env("NATS_STREAM", &env.bus.stream)
        .env("NATS_SUBJECT_PREFIX", &env.bus.prefix)
        .env("NATS_STREAM_MAX_AGE", "1h")
        .env("APPS_KEY", "cli-test-apps-key-0123456789abcdef")
        .env("PII_MASTER_KEYS", gadai_test_support::PII_MASTER_KEYS)
        .env("PII_SUBJECT_KEY", gadai_test_support::PII_SUBJECT_KEY)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rebuilt: (Option<String>, Option<String>, bool) = sqlx::query_as(
        "SELECT nama_customer, subject, data_dihapus FROM dashboard_rebuild.orders WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        rebuilt,
        (
            Some("Indah Permata".into()),
            Some(subject_of("indah@contoh.id").as_str().to_owned()),
            false
        )
    );
    drop(keys);
    app.stop().await;
}

#[tokio::test]
async fn rows_projected_before_sealing_get_their_customer_at_start_and_can_be_erased() {
    let app = spawn_app().await;
    let _keys = key_server(&app.env).await;
    // A row as migration 0008 leaves one projected before it: plaintext, no subject yet, its
    // order.created at sequence 1 of the stream.
    app.create_order("Lain Orang", "Bogor", 1).await;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO orders (id, created, nama_customer, email, nama_barang, jenis_barang,
             jumlah_barang, estimasi_nilai_barang, wilayah, created_at, state, active, last_seq,
             recorded_seq)
         VALUES ($1, true, 'Joko Susilo', 'Joko@Contoh.id', 'Motor', 'motor', 1, 9, 'Bandung',
             now(), 'on_process', true, 1, 1)",
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .unwrap();
    dashboard_api::startup::backfill_subjects(&app.pool, &pii().subjects)
        .await
        .unwrap();
    let subject: Option<String> = sqlx::query_scalar("SELECT subject FROM orders WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        subject.as_deref(),
        Some(subject_of("joko@contoh.id").as_str())
    );

    // The customer never had a key: generation 0 erases what was recorded before the erasure.
    let (status, erased) = post_json(
        &app,
        ERASURES,
        json!({"email": "joko@contoh.id", "alasan": "DPO-2025-020"}),
    )
    .await;
    assert_eq!(status, 202, "{erased}");
    assert_eq!(
        (&erased["generation"], &erased["pesanan"]),
        (&json!(0), &json!(1))
    );
    app.caught_up().await;
    let row = listed(&app, id).await;
    assert_eq!(
        (&row["data_dihapus"], &row["email"]),
        (&json!(true), &Value::Null)
    );
    no_trace_in(&app.pool, "dashboard", &["Joko"]).await;
    app.stop().await;
}

/// The request for a code carries its recipient sealed under the key that sealed the order
/// (the mailer keeps no copy of every order): an order from before sealing gets its customer's
/// key made, an order whose key is gone is refused as erased, and without the key store nothing
/// is published.
#[tokio::test]
async fn a_code_request_carries_the_recipient_sealed_under_the_order_s_key() {
    let app = spawn_app().await;
    let keys = key_server(&app.env).await;
    let sealed = order_of(
        &app,
        sealed_order(&keys, "Sari Dewi", "sari@contoh.id", 2_000_000).await,
    )
    .await;
    let legacy = order_of(
        &app,
        plaintext_order("Tono Hartono", "Tono@Contoh.id", 1_000_000),
    )
    .await;
    let gone = order_of(
        &app,
        sealed_order(&keys, "Umi Kalsum", "umi@contoh.id", 1_000_000).await,
    )
    .await;
    app.caught_up().await;
    let send = |id: Uuid| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(format!("{}/dashboard/verification/{id}", app.address))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let opened = |event: Event| async {
        let EventKind::VerificationRequested(request) = event.kind else {
            panic!("{event:?}")
        };
        let to = request.recipient.expect("the request names its recipient");
        let subject = gadai_privacy::SubjectId::parse(&to.subject).unwrap();
        let key = keys
            .store
            .find(&subject)
            .await
            .unwrap()
            .expect("a live key");
        let open = |field, text: &str| gadai_privacy::open(&key, &subject, field, text).unwrap();
        (
            event.order_id,
            to.subject.clone(),
            key.generation(),
            open(gadai_privacy::fields::NAME, &to.nama_customer),
            open(gadai_privacy::fields::EMAIL, &to.email),
        )
    };

    // A sealed order, and one recorded before sealing, whose customer (the e-mail normalised)
    // gets a key now; the address goes as the order wrote it.
    for (order, customer, name, address) in [
        (sealed, "sari@contoh.id", "Sari Dewi", "sari@contoh.id"),
        (legacy, "tono@contoh.id", "Tono Hartono", "Tono@Contoh.id"),
    ] {
        let (status, body) = send(order).await;
        assert_eq!(status, 202, "{body}");
        let request = app.last_of("verification.requested").await.unwrap();
        assert_eq!(
            opened(request).await,
            (
                order,
                subject_of(customer).as_str().to_owned(),
                1,
                name.to_owned(),
                address.to_owned()
            )
        );
    }

    // The key erased (order-intake applied an erasure this projection has not seen yet).
    keys.store
        .erase(&subject_of("umi@contoh.id"), "DPO-2026-010")
        .await
        .unwrap();
    let before = app.last_of("verification.requested").await.unwrap();
    let (status, body) = send(gone).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("dihapus"),
        "{body}"
    );

    // The key store down: 503, and nothing on the stream.
    drop(keys);
    let other = order_of(
        &app,
        plaintext_order("Wati Susanti", "wati@contoh.id", 1_000_000),
    )
    .await;
    app.caught_up().await;
    let (status, body) = send(other).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        app.last_of("verification.requested").await.unwrap().id,
        before.id
    );
    app.stop().await;
}
