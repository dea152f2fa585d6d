use std::time::Duration;

use std::sync::Arc;

use dashboard_api::{
    Application,
    config::{Pii, Settings},
    projection::Privacy,
};
use gadai_bus::Bus;
use gadai_events::*;
use gadai_privacy::{KeyStore, SubjectId, SubjectKey};
use gadai_runtime::CoreSettings;
use gadai_store::DbSettings;
pub use gadai_test_support::logged_in;
use gadai_test_support::{TestEnv, eventually};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const ADMIN: &str = "admin";
pub const PASSWORD: &str = "admin-password-123";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub env: TestEnv,
    pub pool: sqlx::PgPool,
    pub bus: Bus,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub fn settings(env: &TestEnv) -> Settings {
    Settings {
        core: CoreSettings {
            db: DbSettings {
                url: env.database_url.clone(),
                schema: "dashboard".into(),
                max_connections: 5,
            },
            bus: env.bus.clone(),
            host: "127.0.0.1".into(),
            port: 0,
            request_timeout: Duration::from_secs(10),
        },
        web_dist: "does-not-exist".into(),
        apps_key: "test-apps-key".into(),
        resend_cooldown: Duration::from_secs(60),
        max_sends: 3,
        verify_rate_limit: 30,
        customer_lookup_budget: 100,
        handoff_rate_limit: 60,
        allow_code_only: false,
        trusted_proxies: Default::default(),
        check_timeout: Duration::from_secs(2),
        session_ttl: Duration::from_secs(3600),
        cookie_secure: dashboard_api::config::CookieSecure::Auto,
        login_rate_limit: 20,
        login_client_rate_limit: 200,
        hash_wait: Duration::from_secs(10),
        feeds_per_operator: 5,
        projection_parallel: 2,
        projection_bulk_from: dashboard_api::config::BULK_FROM,
        bootstrap_admin: Some((ADMIN.into(), PASSWORD.into())),
        pii: pii(),
        // Off: a test that checks retention runs its rounds by hand.
        retention_period: None,
        retention_interval: Duration::from_secs(3600),
    }
}

/// The tests' keys of personal data (those of the services the system tests start).
pub fn pii() -> Pii {
    let mut pii = Pii::new(
        gadai_test_support::PII_MASTER_KEYS,
        gadai_test_support::PII_SUBJECT_KEY,
    )
    .unwrap();
    pii.access.keys_timeout = Duration::from_secs(2);
    pii
}

/// order-intake's key store, as far as these tests need it: `customer_keys` (gadai-privacy's
/// migration) in the schema `intake` of the test's database, answering `rpc.keys.get` on the
/// test's NATS until dropped.
pub struct KeyServer {
    pub store: KeyStore,
    stop: CancellationToken,
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub async fn key_server(env: &TestEnv) -> KeyServer {
    let pool = sqlx::PgPool::connect(&env.database_url).await.unwrap();
    sqlx::raw_sql(&format!(
        "CREATE SCHEMA IF NOT EXISTS intake; SET search_path TO intake; {}",
        gadai_privacy::MIGRATION
    ))
    .execute(&mut *pool.acquire().await.unwrap())
    .await
    .ok();
    let masters = gadai_privacy::MasterKeys::parse(gadai_test_support::PII_MASTER_KEYS).unwrap();
    let store = KeyStore::new(pool, "intake", masters).unwrap();
    serve_keys(env, store).await
}

/// Answers `rpc.keys.get` from `store` until the answer is dropped; returns once it answers.
pub async fn serve_keys(env: &TestEnv, store: KeyStore) -> KeyServer {
    let stop = CancellationToken::new();
    let client = async_nats::connect(&env.bus.url).await.unwrap();
    let subject = format!("{}rpc.keys.get", env.bus.prefix);
    tokio::spawn(gadai_privacy::rpc::serve(
        client.clone(),
        subject.clone(),
        store.clone(),
        stop.clone(),
    ));
    eventually(Duration::from_secs(5), || {
        let (client, subject) = (client.clone(), subject.clone());
        async move {
            let probe = client.request(subject, r#"{"subjects":[]}"#.into());
            tokio::time::timeout(Duration::from_millis(500), probe)
                .await
                .ok()?
                .ok()
        }
    })
    .await;
    KeyServer { store, stop }
}

/// The subject id of an e-mail under the tests' subject key.
pub fn subject_of(email: &str) -> SubjectId {
    SubjectKey::new(gadai_test_support::PII_SUBJECT_KEY.as_bytes())
        .unwrap()
        .subject_of(email)
}

/// What a projection fed by a test opens customers' fields with, asking `env`'s NATS.
pub async fn privacy(env: &TestEnv) -> Arc<Privacy> {
    let bus = Bus::connect(env.bus.clone(), "test").await.unwrap();
    Arc::new(dashboard_api::projection::Privacy::from_settings(&pii(), &bus).unwrap())
}

/// A replica of dashboard-api on `settings`, at the returned address; the token stops it.
pub async fn replica(settings: Settings) -> (String, CancellationToken) {
    let app = Application::build(settings).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let stop = CancellationToken::new();
    tokio::spawn(app.run(stop.clone()));
    (address, stop)
}

pub async fn spawn_app() -> TestApp {
    spawn_in(TestEnv::new().await.expect("test environment")).await
}

pub async fn spawn_in(env: TestEnv) -> TestApp {
    let s = settings(&env);
    spawn_in_with(env, s).await
}

pub async fn spawn_in_with(env: TestEnv, settings: Settings) -> TestApp {
    let app = Application::build(settings).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool().clone();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run(shutdown.clone()));
    let bus = Bus::connect(env.bus.clone(), "test").await.unwrap();
    let client = logged_in(&address, ADMIN, PASSWORD).await;
    TestApp {
        address,
        client,
        env,
        pool,
        bus,
        shutdown,
        task,
    }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn publish(&self, event: &Event) -> u64 {
        self.bus.publish(event).await.unwrap().sequence
    }

    /// The newest event on the stream of type `type_name`, if any.
    pub async fn last_of(&self, type_name: &str) -> Option<Event> {
        let stream = self
            .bus
            .jetstream()
            .get_stream(&self.bus.settings().stream)
            .await
            .unwrap();
        let raw = stream
            .get_last_raw_message_by_subject(&self.bus.subject(type_name))
            .await
            .ok()?;
        Some(Event::decode_from(type_name, &raw.payload).unwrap())
    }

    /// Publishes an order.created and returns the order id.
    pub async fn create_order(&self, name: &str, wilayah: &str, value: i64) -> Uuid {
        let id = Uuid::now_v7();
        self.publish(&Event::new(id, "n8n", created(name, wilayah, value)))
            .await;
        id
    }

    /// Waits until the projection's checkpoint reaches `seq`.
    pub async fn applied(&self, seq: u64) {
        let pool = self.pool.clone();
        eventually(Duration::from_secs(10), || {
            let pool = pool.clone();
            async move {
                let at = gadai_store::checkpoint(&pool, dashboard_api::projection::NAME)
                    .await
                    .ok()?;
                (at >= seq).then_some(())
            }
        })
        .await;
    }

    /// Waits until every event on the stream has been applied and acked.
    pub async fn caught_up(&self) {
        let last = self.bus.last_sequence().await.unwrap();
        self.applied(last).await;
        let js = self.bus.jetstream().clone();
        let stream = self.env.bus.stream.clone();
        eventually(Duration::from_secs(30), || {
            let js = js.clone();
            let stream = stream.clone();
            async move {
                let info = js
                    .get_stream(&stream)
                    .await
                    .ok()?
                    .consumer_info(dashboard_api::projection::NAME)
                    .await
                    .ok()?;
                (info.num_pending == 0 && info.num_ack_pending == 0).then_some(())
            }
        })
        .await;
    }

    /// Stops the service and waits until it has drained.
    pub async fn stop_service(&mut self) {
        self.shutdown.cancel();
        let task = std::mem::replace(&mut self.task, tokio::spawn(async { Ok(()) }));
        let _ = tokio::time::timeout(Duration::from_secs(40), task).await;
    }

    pub async fn stop(mut self) {
        self.stop_service().await;
        self.env.cleanup().await;
    }
}

pub fn created(name: &str, wilayah: &str, value: i64) -> EventKind {
    EventKind::OrderCreated(OrderCreated {
        nama_customer: name.into(),
        email: format!("{}@example.com", name.to_lowercase().replace(' ', ".")),
        nama_barang: "Laptop ASUS".into(),
        jenis_barang: "laptop".into(),
        jumlah_barang: 1,
        estimasi_nilai_barang: value,
        wilayah: wilayah.into(),
        id_percakapan: None,
        idempotency: None,
        subject: None,
    })
}

pub fn deleted() -> EventKind {
    EventKind::OrderDeleted(OrderDeleted { reason: None })
}

/// Every row of a table of `schema` as JSON, in a stable order, for comparing two schemas.
pub async fn dump(pool: &sqlx::PgPool, schema: &str, table: &str, order: &str) -> Vec<Value> {
    sqlx::query_scalar(&format!(
        "SELECT to_jsonb(t) FROM {schema}.{table} t ORDER BY {order}"
    ))
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Asserts that the projection's tables (orders, history, counters) hold the same rows in
/// `schema` as in `other`. Live batching may leave a counter that went up and back down at
/// (0, 0), which one batch never creates; both mean the same, so zero rows are ignored.
pub async fn assert_same_tables(pool: &sqlx::PgPool, schema: &str, other: &str, after: &str) {
    for (table, order) in [
        ("orders", "id"),
        ("order_events", "seq"),
        ("counters", "dim, key"),
    ] {
        let meaningful = |rows: Vec<Value>| -> Vec<Value> {
            rows.into_iter()
                .filter(|r| table != "counters" || r["orders"] != 0 || r["value"] != 0)
                .collect()
        };
        assert_eq!(
            meaningful(dump(pool, schema, table, order).await),
            meaningful(dump(pool, other, table, order).await),
            "{table} differs after {after}"
        );
    }
}
