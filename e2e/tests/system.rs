//! The services together, on one database and one stream, through their HTTP surfaces, as n8n
//! and the dashboard use them.

use std::time::Duration;

use gadai_store::DbSettings;
use gadai_test_support::{TestEnv, eventually};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const KEY: &str = "e2e-key";

struct System {
    intake: String,
    dashboard: String,
    client: reqwest::Client,
    shutdown: CancellationToken,
    env: TestEnv,
}

fn db(env: &TestEnv, schema: &str) -> DbSettings {
    DbSettings {
        url: env.database_url.clone(),
        schema: schema.into(),
        max_connections: 4,
    }
}

async fn start() -> System {
    let env = TestEnv::new().await.unwrap();
    let shutdown = CancellationToken::new();
    let intake = order_intake::Application::build(order_intake::config::Settings {
        db: db(&env, "intake"),
        bus: env.bus.clone(),
        host: "127.0.0.1".into(),
        port: 0,
        apps_key: KEY.into(),
        rules: order_intake::domain::OrderRules {
            catalog: order_intake::domain::Catalog::new(
                order_intake::config::DEFAULT_CATEGORIES
                    .iter()
                    .map(|s| s.to_string()),
            ),
            email: Default::default(),
        },
        max_body_bytes: 64 * 1024,
        fallback_window: Duration::from_secs(600),
        request_timeout: Duration::from_secs(10),
    })
    .await
    .unwrap();
    let dashboard = dashboard_api::Application::build(dashboard_api::config::Settings {
        db: db(&env, "dashboard"),
        bus: env.bus.clone(),
        host: "127.0.0.1".into(),
        port: 0,
        web_dist: "none".into(),
        request_timeout: Duration::from_secs(10),
    })
    .await
    .unwrap();
    let mailer = verification_mailer::Application::build(verification_mailer::config::Settings {
        db: db(&env, "mailer"),
        bus: env.bus.clone(),
        host: "127.0.0.1".into(),
        port: 0,
        request_timeout: Duration::from_secs(10),
    })
    .await
    .unwrap();
    let sweeper = expiry_sweeper::Application::build(expiry_sweeper::config::Settings {
        db: db(&env, "sweeper"),
        bus: env.bus.clone(),
        host: "127.0.0.1".into(),
        port: 0,
        request_timeout: Duration::from_secs(10),
        sweep_interval: Duration::from_secs(60),
        sweep_batch: 100,
    })
    .await
    .unwrap();
    let system = System {
        intake: format!("http://127.0.0.1:{}", intake.port()),
        dashboard: format!("http://127.0.0.1:{}", dashboard.port()),
        client: reqwest::Client::new(),
        shutdown: shutdown.clone(),
        env,
    };
    tokio::spawn(intake.run(shutdown.clone()));
    tokio::spawn(dashboard.run(shutdown.clone()));
    tokio::spawn(mailer.run(shutdown.clone()));
    tokio::spawn(sweeper.run(shutdown));
    system
}

#[tokio::test]
async fn an_order_posted_to_the_bridge_appears_in_the_dashboard_list_and_stats() {
    let system = start().await;
    let body = json!([
        {"nama_customer": "siti rahma", "email": "siti@example.com", "nama_barang": "Samsung Galaxy S23",
         "jenis_barang": "handphone", "jumlah_barang": 1, "estimasi_nilai_barang": 9000000, "wilayah": "Jawa Barat"},
        {"nama_customer": "Agus", "email": "agus@example.com", "nama_barang": "emas antam",
         "jenis_barang": "Emas", "jumlah_barang": "10", "estimasi_nilai_barang": 12000000, "wilayah": "DKI Jakarta"}
    ]);
    let response = system
        .client
        .post(format!("{}/api/insert-orders", system.intake))
        .header("X-API-Key", KEY)
        .header("Idempotency-Key", "e2e-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let ids: Vec<String> = created["order_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();

    let client = system.client.clone();
    let list_url = format!("{}/dashboard/orders", system.dashboard);
    let orders: Vec<Value> = eventually(Duration::from_secs(10), || {
        let (client, url) = (client.clone(), list_url.clone());
        async move {
            let orders: Vec<Value> = client.get(&url).send().await.ok()?.json().await.ok()?;
            (orders.len() == 2).then_some(orders)
        }
    })
    .await;
    let mut listed: Vec<&str> = orders.iter().map(|o| o["id"].as_str().unwrap()).collect();
    listed.sort();
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(listed, want);
    let siti = orders
        .iter()
        .find(|o| o["email"] == "siti@example.com")
        .unwrap();
    assert_eq!(siti["nama_customer"], "Siti Rahma");
    assert_eq!(siti["status"], "On Process");
    let gold = orders.iter().find(|o| o["jenis_barang"] == "emas").unwrap();
    assert_eq!(gold["nama_barang"], "Emas Antam");
    assert_eq!(gold["jumlah_barang"], 10);

    let stats: Value = system
        .client
        .get(format!("{}/dashboard/stats", system.dashboard))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["total"], 2);
    assert_eq!(stats["total_estimasi_nilai"], 21_000_000);
    assert_eq!(stats["per_status"]["On Process"], 2);
    assert_eq!(stats["per_wilayah"].as_array().unwrap().len(), 2);

    // A retry of the same request changes nothing downstream either.
    let again = system
        .client
        .post(format!("{}/api/insert-orders", system.intake))
        .header("X-API-Key", KEY)
        .header("Idempotency-Key", "e2e-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 201);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let orders: Vec<Value> = system
        .client
        .get(&list_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(orders.len(), 2);

    system.shutdown.cancel();
    system.env.cleanup().await;
}
