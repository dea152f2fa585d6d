use std::time::Duration;

use async_nats::jetstream;
use gadai_bus::BusSettings;
use gadai_events::OrderCreated;
use gadai_privacy::{
    KeyState, KeyStore, Keys, MasterKeys, SubjectId, SubjectKey,
    personal::{OrderPersonal, Personal, open_order},
};
use gadai_runtime::CoreSettings;
use gadai_store::DbSettings;
use gadai_test_support::{PII_MASTER_KEYS, PII_SUBJECT_KEY, TestEnv};
use order_intake::{
    Application,
    config::{DEFAULT_CATEGORIES, Pii, Settings},
    domain::{Catalog, EmailPolicy, OrderRules},
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub const KEY: &str = "test-apps-key";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub env: TestEnv,
    pub pool: sqlx::PgPool,
    shutdown: CancellationToken,
}

pub fn settings(env: &TestEnv, bus: BusSettings) -> Settings {
    Settings {
        core: CoreSettings {
            db: DbSettings {
                url: env.database_url.clone(),
                schema: "intake".into(),
                max_connections: 5,
            },
            bus,
            host: "127.0.0.1".into(),
            port: 0,
            request_timeout: Duration::from_secs(10),
        },
        apps_key: KEY.into(),
        rules: OrderRules {
            catalog: Catalog::new(DEFAULT_CATEGORIES.iter().map(|s| s.to_string())),
            email: EmailPolicy::default(),
        },
        max_body_bytes: 64 * 1024,
        fallback_window: Duration::from_secs(600),
        loan_rates: order_intake::domain::quote::LoanRates::parse(
            order_intake::domain::quote::DEFAULT_LOAN_RATES,
        )
        .unwrap(),
        pii: Pii::new(PII_MASTER_KEYS, PII_SUBJECT_KEY).unwrap(),
    }
}

/// The subject id of `email` under the tests' subject key.
pub fn subject_of(email: &str) -> SubjectId {
    SubjectKey::new(PII_SUBJECT_KEY.as_bytes())
        .unwrap()
        .subject_of(email)
}

/// order-intake's key store in `pool` (schema `intake`), with the tests' master keys.
pub fn key_store(pool: &sqlx::PgPool) -> KeyStore {
    KeyStore::new(
        pool.clone(),
        "intake",
        MasterKeys::parse(PII_MASTER_KEYS).unwrap(),
    )
    .unwrap()
}

/// An `order.created` payload's personal fields, opened with the key the store holds now for
/// its subject (none: erased).
pub async fn open_with_store(store: &KeyStore, data: &Value) -> Personal<OrderPersonal> {
    let order: OrderCreated = serde_json::from_value(data.clone()).unwrap();
    let mut keys = Keys::default();
    if let Some(subject) = &order.subject {
        let subject = SubjectId::parse(subject).unwrap();
        if let Some(key) = store.find(&subject).await.unwrap() {
            keys.insert(subject, KeyState::Live(key));
        }
    }
    open_order(&keys, &order).unwrap()
}

pub async fn spawn_app() -> TestApp {
    let env = TestEnv::new().await.expect("test environment");
    let bus = env.bus.clone();
    spawn_with(env, |s| s.core.bus = bus).await
}

pub async fn spawn_with(env: TestEnv, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let mut s = settings(&env, env.bus.clone());
    tweak(&mut s);
    let app = Application::build(s).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool().clone();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run(shutdown.clone()));
    TestApp {
        address,
        client: reqwest::Client::new(),
        env,
        pool,
        shutdown,
    }
}

impl TestApp {
    pub fn keys(&self) -> KeyStore {
        key_store(&self.pool)
    }

    /// The personal fields of an `order.created` payload, which must open.
    pub async fn opened(&self, data: &Value) -> OrderPersonal {
        match open_with_store(&self.keys(), data).await {
            Personal::Readable(p) => p,
            Personal::Erased => panic!("the order's fields do not open: {data}"),
        }
    }

    pub async fn post_orders(
        &self,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/api/insert-orders", self.address))
            .header("X-API-Key", KEY)
            .json(body);
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await.expect("request sent")
    }

    /// Every message on the test's stream, in order: (subject, headers, envelope).
    pub async fn stream_messages(&self) -> Vec<(String, async_nats::HeaderMap, Value)> {
        let client = async_nats::connect(&self.env.bus.url).await.unwrap();
        let js = jetstream::new(client);
        let mut stream = js.get_stream(&self.env.bus.stream).await.unwrap();
        let last = stream.info().await.unwrap().state.last_sequence;
        let mut out = Vec::new();
        for seq in 1..=last {
            if let Ok(raw) = stream.get_raw_message(seq).await {
                let body: Value = serde_json::from_slice(&raw.payload).unwrap();
                out.push((raw.subject.to_string(), raw.headers, body));
            }
        }
        out
    }

    /// The raw body of every message on the test's stream, in order.
    pub async fn stream_payloads(&self) -> Vec<String> {
        raw_messages(&self.env.bus.url, &self.env.bus.stream)
            .await
            .into_iter()
            .map(|m| String::from_utf8(m.payload.to_vec()).unwrap())
            .collect()
    }

    /// Waits until the intake's idempotency index holds `rows` rows (its consumer indexes what
    /// the bridge published).
    pub async fn wait_indexed(&self, rows: i64) {
        gadai_test_support::eventually(std::time::Duration::from_secs(10), || async {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM idempotency_keys")
                .fetch_one(&self.pool)
                .await
                .unwrap();
            (n == rows).then_some(())
        })
        .await;
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.env.cleanup().await;
    }
}

/// Every message `stream` holds, in order.
pub async fn raw_messages(
    url: &str,
    stream: &str,
) -> Vec<async_nats::jetstream::message::StreamMessage> {
    let client = async_nats::connect(url).await.unwrap();
    let js = jetstream::new(client);
    let mut stream = js.get_stream(stream).await.unwrap();
    let last = stream.info().await.unwrap().state.last_sequence;
    let mut out = Vec::new();
    for seq in 1..=last {
        if let Ok(raw) = stream.get_raw_message(seq).await {
            out.push(raw);
        }
    }
    out
}

pub fn order() -> Value {
    json!({
        "nama_customer": "Budi Santoso",
        "email": "budi@example.com",
        "nama_barang": "iPhone 14",
        "jenis_barang": "Handphone",
        "jumlah_barang": 1,
        "estimasi_nilai_barang": 10000000,
        "wilayah": "DKI Jakarta",
        "id_percakapan": "chat-1"
    })
}

pub fn ids_of(body: &Value) -> Vec<String> {
    body["order_ids"]
        .as_array()
        .expect("order_ids")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}
