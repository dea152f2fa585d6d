use std::time::Duration;

use gadai_runtime::CoreSettings;
use gadai_store::DbSettings;
use gadai_test_support::{TestEnv, eventually, logged_in, smtp::SmtpServer};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub const KEY: &str = "e2e-key";

/// What a test may tune.
pub struct Knobs {
    /// The SMTP port the mailer sends to.
    pub smtp_port: u16,
    pub code_ttl: Duration,
    pub sweep_interval: Duration,
    pub verify_rate_limit: u32,
    pub send_attempts: i64,
    pub resend_cooldown: Duration,
}

impl Knobs {
    pub fn with_smtp(smtp: &SmtpServer) -> Self {
        Knobs {
            smtp_port: smtp.port,
            code_ttl: Duration::from_secs(3600),
            sweep_interval: Duration::from_secs(3600),
            verify_rate_limit: 1000,
            send_attempts: 3,
            resend_cooldown: Duration::from_secs(60),
        }
    }
}

pub struct System {
    pub intake: String,
    pub dashboard: String,
    pub client: reqwest::Client,
    pub env: TestEnv,
    shutdown: CancellationToken,
}

/// A service's database (schema `schema`), NATS and a free port on 127.0.0.1.
fn core(env: &TestEnv, schema: &str) -> CoreSettings {
    CoreSettings {
        db: DbSettings {
            url: env.database_url.clone(),
            schema: schema.into(),
            max_connections: 4,
        },
        bus: env.bus.clone(),
        host: "127.0.0.1".into(),
        port: 0,
        request_timeout: Duration::from_secs(10),
    }
}

pub fn mailer_settings(env: &TestEnv, knobs: &Knobs) -> verification_mailer::config::Settings {
    verification_mailer::config::Settings {
        core: core(env, "mailer"),
        mail: verification_mailer::config::MailSettings::Smtp {
            host: "127.0.0.1".into(),
            port: knobs.smtp_port,
            tls: verification_mailer::config::TlsMode::None,
            user: None,
            password: None,
            timeout: Duration::from_secs(5),
        },
        mail_from: "Pegadaian Gadai <no-reply@gadai.example>".into(),
        code_key: b"e2e-hmac-key-with-at-least-32-bytes".to_vec().into(),
        code_ttl: knobs.code_ttl,
        max_failed_attempts: 5,
        send_attempts: knobs.send_attempts,
        send_ack_wait: Duration::from_secs(10),
        check: Default::default(),
        pii: verification_mailer::config::KeyAccess::new(gadai_test_support::PII_MASTER_KEYS)
            .unwrap(),
    }
}

pub async fn start(knobs: Knobs) -> System {
    let env = TestEnv::new().await.unwrap();
    let shutdown = CancellationToken::new();
    let intake = order_intake::Application::build(order_intake::config::Settings {
        core: core(&env, "intake"),
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
        loan_rates: order_intake::domain::quote::LoanRates::parse(
            order_intake::domain::quote::DEFAULT_LOAN_RATES,
        )
        .unwrap(),
        pii: order_intake::config::Pii::new(
            gadai_test_support::PII_MASTER_KEYS,
            gadai_test_support::PII_SUBJECT_KEY,
        )
        .unwrap(),
    })
    .await
    .unwrap();
    let dashboard = dashboard_api::Application::build(dashboard_api::config::Settings {
        core: core(&env, "dashboard"),
        web_dist: "none".into(),
        apps_key: KEY.into(),
        resend_cooldown: knobs.resend_cooldown,
        max_sends: 3,
        verify_rate_limit: knobs.verify_rate_limit,
        customer_lookup_budget: 100,
        handoff_rate_limit: 60,
        allow_code_only: false,
        trusted_proxies: Default::default(),
        check_timeout: Duration::from_secs(5),
        session_ttl: Duration::from_secs(3600),
        cookie_secure: dashboard_api::config::CookieSecure::Never,
        login_rate_limit: 20,
        login_client_rate_limit: 200,
        hash_wait: Duration::from_secs(10),
        feeds_per_operator: 5,
        projection_parallel: 2,
        projection_bulk_from: dashboard_api::config::BULK_FROM,
        bootstrap_admin: Some(("admin".into(), "admin-password-123".into())),
        pii: dashboard_api::config::Pii::new(
            gadai_test_support::PII_MASTER_KEYS,
            gadai_test_support::PII_SUBJECT_KEY,
        )
        .unwrap(),
        retention_period: None,
        retention_interval: Duration::from_secs(3600),
    })
    .await
    .unwrap();
    let mailer = verification_mailer::Application::build(mailer_settings(&env, &knobs))
        .await
        .unwrap();
    let sweeper = expiry_sweeper::Application::build(expiry_sweeper::config::Settings {
        core: core(&env, "sweeper"),
        sweep_interval: knobs.sweep_interval,
        sweep_batch: 100,
    })
    .await
    .unwrap();
    let dashboard_url = format!("http://127.0.0.1:{}", dashboard.port());
    let intake_url = format!("http://127.0.0.1:{}", intake.port());
    tokio::spawn(intake.run(shutdown.clone()));
    tokio::spawn(dashboard.run(shutdown.clone()));
    let system = System {
        intake: intake_url,
        client: logged_in(&dashboard_url, "admin", "admin-password-123").await,
        dashboard: dashboard_url,
        shutdown: shutdown.clone(),
        env,
    };
    tokio::spawn(mailer.run(shutdown.clone()));
    tokio::spawn(sweeper.run(shutdown));
    // The code checker answers once its queue subscription exists: wait for it over NATS (an
    // HTTP probe would spend the rate limit the tests measure).
    let nats = async_nats::connect(&system.env.bus.url).await.unwrap();
    let subject = format!("{}{}", system.env.bus.prefix, gadai_events::check::SUBJECT);
    eventually(Duration::from_secs(10), || {
        let (nats, subject) = (nats.clone(), subject.clone());
        async move {
            let probe = r#"{"kode_unik":"ZZZZZZ","order":{"reference":"00000000"}}"#;
            nats.request(subject, probe.into()).await.ok()
        }
    })
    .await;
    system
}

pub fn order(email: &str) -> Value {
    json!({"nama_customer": "siti rahma", "email": email, "nama_barang": "Samsung Galaxy S23",
           "jenis_barang": "handphone", "jumlah_barang": 1, "estimasi_nilai_barang": 9000000,
           "wilayah": "Jawa Barat"})
}

impl System {
    pub async fn post_orders(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}/api/insert-orders", self.intake))
            .header("X-API-Key", KEY)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Posts one order and waits until the dashboard lists it; returns its id.
    pub async fn new_order(&self, email: &str) -> String {
        let created: Value = self.post_orders(&order(email)).await.json().await.unwrap();
        let id = created["order_ids"][0].as_str().unwrap().to_owned();
        self.wait_status(&id, "On Process").await;
        id
    }

    pub async fn order(&self, id: &str) -> Option<Value> {
        let response = self
            .client
            .get(format!("{}/dashboard/orders/{id}", self.dashboard))
            .send()
            .await
            .ok()?;
        if response.status() != 200 {
            return None;
        }
        let body: Value = response.json().await.ok()?;
        Some(body["order"].clone())
    }

    /// Waits until the dashboard shows the order with `status` (and not sending); returns it.
    pub async fn wait_status(&self, id: &str, status: &str) -> Value {
        eventually(Duration::from_secs(15), || async {
            let order = self.order(id).await?;
            (order["status"] == status && order["sending"] == false).then_some(order)
        })
        .await
    }

    pub async fn send_verification(&self, id: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/dashboard/verification/{id}", self.dashboard))
            .send()
            .await
            .unwrap()
    }

    pub async fn verify(&self, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}/dashboard/verify", self.dashboard))
            .header("X-API-Key", KEY)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// GETs a dashboard path as the logged-in admin and reads the JSON answer.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.client
            .get(format!("{}{path}", self.dashboard))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn active_ids(&self) -> Vec<String> {
        let orders: Vec<Value> = self.get_json("/dashboard/orders").await;
        orders
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.env.cleanup().await;
    }
}

/// The order reference printed in the mail: the id's first 8 hex digits, upper case.
pub fn reference_of(id: &str) -> String {
    id.replace('-', "")[..8].to_uppercase()
}

/// The code in a verification mail's plain-text part: the indented line after "Kode verifikasi".
pub fn code_in(text: &str) -> String {
    let after = text
        .split("Kode verifikasi Anda:")
        .nth(1)
        .expect("the code paragraph");
    after
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .expect("a code line")
        .to_owned()
}
