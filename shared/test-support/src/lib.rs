//! Isolation for integration tests: each test gets its own database and its own stream and
//! subject prefix, so tests run in parallel against one Postgres and one NATS.
//!
//! `DATABASE_URL` names a server and a database the tests may use to create others (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); `NATS_URL` the NATS server.

pub mod nats;
pub mod openapi;
pub mod process;
pub mod smtp;

/// `PII_MASTER_KEYS` of the tests' services (a real-looking key: the tests run outside
/// development).
pub const PII_MASTER_KEYS: &str = "t1:c3lzdGVtLXRlc3QtbWFzdGVyLWtleS0zMi1ieXRlcyE=";
/// `PII_SUBJECT_KEY` of the tests' services.
pub const PII_SUBJECT_KEY: &str = "system-test-subject-key-with-32-bytes-or-more";

use std::time::Duration;

use gadai_bus::BusSettings;
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

/// A database and a stream that belong to one test.
pub struct TestEnv {
    pub database_url: String,
    pub bus: BusSettings,
    pub tag: String,
}

pub fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

impl TestEnv {
    /// Creates an empty database `gadai_t_<tag>` and settings for stream `T_<TAG>` with
    /// subjects under `t_<tag>.`.
    pub async fn new() -> anyhow::Result<Self> {
        init_telemetry();
        let tag = Uuid::new_v4().simple().to_string()[..12].to_owned();
        let admin = admin_url();
        let mut conn = PgConnection::connect(&admin).await?;
        let db = format!("gadai_t_{tag}");
        conn.execute(format!("CREATE DATABASE {db}").as_str())
            .await?;
        let database_url = replace_database(&admin, &db);
        let bus = BusSettings {
            url: nats_url(),
            stream: format!("T_{}", tag.to_uppercase()),
            prefix: format!("t_{tag}."),
            max_age: Duration::from_secs(3600),
            replicas: 1,
            duplicate_window: Duration::from_secs(120),
            ..BusSettings::default()
        };
        Ok(TestEnv {
            database_url,
            bus,
            tag,
        })
    }

    /// Removes the test's stream (its database is left for post-mortems; `make test` drops
    /// old ones).
    pub async fn cleanup(&self) {
        if let Ok(client) = async_nats::connect(&self.bus.url).await {
            let js = async_nats::jetstream::new(client);
            let _ = js.delete_stream(&self.bus.stream).await;
        }
    }
}

fn replace_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    // postgres://user@host:port/dbname -> keep everything up to the last '/' after the host.
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let cut = base[after_scheme..]
        .find('/')
        .map(|i| after_scheme + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..cut], db);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Every log line the test binary's services wrote (JSON), for tests that assert what logs
/// must never contain.
static CAPTURED: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn captured_logs() -> String {
    String::from_utf8_lossy(&CAPTURED.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// Installs logging and tracing once per test binary: every line is captured at debug level
/// (and shown when `TEST_LOG` is set); spans carry trace context, so propagation can be asserted.
pub fn init_telemetry() {
    use gadai_kit::telemetry::{LogFormat, TelemetryGuard, init_filtered};
    static GUARD: std::sync::OnceLock<TelemetryGuard> = std::sync::OnceLock::new();
    GUARD.get_or_init(|| {
        let filter = "debug,sqlx=info,hyper=info,h2=info,reqwest=info,async_nats=info,rustls=info,tower=info";
        init_filtered("test", LogFormat::Json, || Capture, filter)
    });
}

/// A client logged in to dashboard-api at `address` as `username`: the session cookie in its
/// jar, the session's CSRF token sent on every request.
pub async fn logged_in(address: &str, username: &str, password: &str) -> reqwest::Client {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let anon = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    let response = anon
        .post(format!("{address}/dashboard/auth/login"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "login as {username}");
    let body: serde_json::Value = response.json().await.unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-csrf-token",
        body["csrf_token"].as_str().unwrap().parse().unwrap(),
    );
    reqwest::Client::builder()
        .cookie_provider(jar)
        .default_headers(headers)
        .build()
        .unwrap()
}

/// Polls `check` every 20 ms until it returns `Some`, or fails after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn swaps_the_database_name() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
