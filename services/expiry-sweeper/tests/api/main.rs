//! expiry-sweeper against real Postgres and NATS JetStream.

use std::time::Duration;

use chrono::Utc;
use expiry_sweeper::{Application, config::Settings, sweep::Sweeper};
use gadai_bus::Bus;
use gadai_events::*;
use gadai_runtime::CoreSettings;
use gadai_store::DbSettings;
use gadai_test_support::{TestEnv, eventually};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

struct TestApp {
    address: String,
    pool: sqlx::PgPool,
    bus: Bus,
    env: TestEnv,
    shutdown: CancellationToken,
}

fn settings(env: &TestEnv, interval: Duration) -> Settings {
    Settings {
        core: CoreSettings {
            db: DbSettings {
                url: env.database_url.clone(),
                schema: "sweeper".into(),
                max_connections: 5,
            },
            bus: env.bus.clone(),
            host: "127.0.0.1".into(),
            port: 0,
            request_timeout: Duration::from_secs(10),
        },
        sweep_interval: interval,
        sweep_batch: 100,
    }
}

async fn spawn(env: TestEnv, interval: Duration) -> TestApp {
    let app = Application::build(settings(&env, interval)).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool().clone();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run(shutdown.clone()));
    let bus = Bus::connect(env.bus.clone(), "test").await.unwrap();
    TestApp {
        address,
        pool,
        bus,
        env,
        shutdown,
    }
}

impl TestApp {
    async fn caught_up(&self) {
        let last = self.bus.last_sequence().await.unwrap();
        eventually(Duration::from_secs(10), || async {
            let at = gadai_store::checkpoint(&self.pool, expiry_sweeper::projection::NAME)
                .await
                .ok()?;
            (at >= last).then_some(())
        })
        .await;
    }

    async fn sent(&self, order: Uuid, expires_in: chrono::Duration) -> Uuid {
        let v = Uuid::now_v7();
        let event = Event::new(
            order,
            SYSTEM_ACTOR,
            EventKind::VerificationSent(VerificationSent {
                verification_id: v,
                expires_at: Utc::now() + expires_in,
            }),
        );
        self.bus.publish(&event).await.unwrap();
        v
    }

    /// The order.expired events on the stream: (order, verification).
    async fn expiries(&self) -> Vec<(String, String)> {
        let mut stream = self
            .bus
            .jetstream()
            .get_stream(&self.env.bus.stream)
            .await
            .unwrap();
        let last = stream.info().await.unwrap().state.last_sequence;
        let mut out = Vec::new();
        for seq in 1..=last {
            let raw = stream.get_raw_message(seq).await.unwrap();
            let v: serde_json::Value = serde_json::from_slice(&raw.payload).unwrap();
            if v["type"] == "order.expired" {
                out.push((
                    v["order_id"].as_str().unwrap().to_owned(),
                    v["data"]["verification_id"].as_str().unwrap().to_owned(),
                ));
            }
        }
        out
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.env.cleanup().await;
    }
}

#[tokio::test]
async fn a_code_past_its_expiry_expires_its_order_once() {
    // The rounds are run by hand once every event is applied: a running sweeper could otherwise
    // see the verified order's code before its order.verified arrived (a race of the test's
    // making: in production the order was verified after its code expired, and expires).
    let app = spawn(TestEnv::new().await.unwrap(), Duration::from_secs(3600)).await;
    let (due, later, verified) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let v_due = app.sent(due, chrono::Duration::seconds(-1)).await;
    app.sent(later, chrono::Duration::hours(24)).await;
    let v_verified = app.sent(verified, chrono::Duration::seconds(-1)).await;
    app.bus
        .publish(&Event::new(
            verified,
            "n8n",
            EventKind::OrderVerified(OrderVerified {
                verification_id: v_verified,
            }),
        ))
        .await
        .unwrap();
    app.caught_up().await;
    let sweeper = Sweeper {
        pool: app.pool.clone(),
        bus: app.bus.clone(),
        interval: Duration::from_secs(1),
        batch: 100,
    };
    assert_eq!(sweeper.sweep_once(Utc::now()).await.unwrap(), 1);
    eventually(Duration::from_secs(10), || async {
        let open: bool = sqlx::query_scalar("SELECT open FROM verifications WHERE order_id = $1")
            .bind(due)
            .fetch_one(&app.pool)
            .await
            .ok()?;
        (!open).then_some(())
    })
    .await;
    // More rounds: nothing else is expired, nothing twice.
    for _ in 0..3 {
        app.caught_up().await;
        assert_eq!(sweeper.sweep_once(Utc::now()).await.unwrap(), 0);
    }
    app.caught_up().await;
    assert_eq!(app.expiries().await, [(due.to_string(), v_due.to_string())]);
    app.stop().await;
}

#[tokio::test]
async fn two_sweepers_publish_each_expiry_once() {
    let env = TestEnv::new().await.unwrap();
    let app = spawn(env, Duration::from_secs(3600)).await;
    let orders: Vec<Uuid> = (0..10).map(|_| Uuid::now_v7()).collect();
    for o in &orders {
        app.sent(*o, chrono::Duration::seconds(-5)).await;
    }
    app.caught_up().await;
    let sweeper = |pool: sqlx::PgPool, bus: Bus| Sweeper {
        pool,
        bus,
        interval: Duration::from_secs(1),
        batch: 100,
    };
    let other_bus = Bus::connect(app.env.bus.clone(), "other").await.unwrap();
    let (a, b) = (
        sweeper(app.pool.clone(), app.bus.clone()),
        sweeper(app.pool.clone(), other_bus),
    );
    let now = Utc::now();
    let (ra, rb) = tokio::join!(a.sweep_once(now), b.sweep_once(now));
    // While one leads a round the other skips it. On a loaded machine the two rounds (and the
    // service's own, which sweeps once when it starts) may also come one after the other,
    // before the first one's events came back: the later round publishes the same expiries
    // again, with the same Nats-Msg-Id, and the stream keeps each once (checked at the end).
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert!(ra <= 10 && rb <= 10, "a round expires only the due codes");
    eventually(Duration::from_secs(20), || async {
        let found: std::collections::HashSet<String> =
            app.expiries().await.into_iter().map(|e| e.0).collect();
        if found.len() == 10 {
            return Some(());
        }
        a.sweep_once(now).await.unwrap();
        None
    })
    .await;
    // Sweeping again before the events came back is deduplicated by Nats-Msg-Id.
    a.sweep_once(now).await.unwrap();
    app.caught_up().await;
    assert_eq!(
        a.sweep_once(Utc::now()).await.unwrap(),
        0,
        "closed after the events came back"
    );
    let mut expired: Vec<String> = app.expiries().await.into_iter().map(|e| e.0).collect();
    expired.sort();
    let mut want: Vec<String> = orders.iter().map(Uuid::to_string).collect();
    want.sort();
    assert_eq!(expired, want);
    app.stop().await;
}

#[tokio::test]
async fn a_resent_code_replaces_the_old_expiry() {
    let app = spawn(TestEnv::new().await.unwrap(), Duration::from_secs(3600)).await;
    let order = Uuid::now_v7();
    let old = app.sent(order, chrono::Duration::seconds(-5)).await;
    let new = app.sent(order, chrono::Duration::hours(1)).await;
    // A late expiry of the old code must not close the new one.
    app.bus
        .publish(&Event::new(
            order,
            SYSTEM_ACTOR,
            EventKind::OrderExpired(OrderExpired {
                verification_id: old,
            }),
        ))
        .await
        .unwrap();
    app.caught_up().await;
    let row: (Uuid, bool) =
        sqlx::query_as("SELECT verification_id, open FROM verifications WHERE order_id = $1")
            .bind(order)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(row, (new, true));
    app.stop().await;
}

/// The sweeper reads what expires an order and nothing of every order or customer: no
/// `order.created`, no hand-off, no erasure (retention is dashboard-api's), and it keeps no table
/// per customer.
#[tokio::test]
async fn only_verifications_reach_the_sweeper() {
    let app = spawn(TestEnv::new().await.unwrap(), Duration::from_secs(3600)).await;
    let order = Uuid::now_v7();
    let created = EventKind::OrderCreated(OrderCreated {
        nama_customer: "Siti Rahma".into(),
        email: "siti@example.co.id".into(),
        nama_barang: "Cincin emas".into(),
        jenis_barang: "emas".into(),
        jumlah_barang: 1,
        estimasi_nilai_barang: 4_000_000,
        wilayah: "Depok".into(),
        id_percakapan: None,
        idempotency: None,
        subject: None,
    });
    app.bus
        .publish(&Event::new(order, "n8n", created))
        .await
        .unwrap();
    let handoff = EventKind::HandoffOpened(HandoffOpened {
        handoff_id: Uuid::now_v7(),
        id_percakapan: "chat-1".into(),
        nama_customer: "Siti Rahma".into(),
        email: "siti@example.co.id".into(),
        referensi: None,
        ringkasan: "Ingin bicara dengan petugas".into(),
        subject: None,
    });
    app.bus
        .publish(&Event::new(Uuid::nil(), "n8n", handoff))
        .await
        .unwrap();
    let code = app.sent(order, chrono::Duration::hours(24)).await;
    app.caught_up().await;
    let open: Vec<(Uuid, Uuid)> =
        sqlx::query_as("SELECT order_id, verification_id FROM verifications")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(open, [(order, code)]);
    // A NATS server that filters several subjects (2.10 and later, as deployed) delivers the
    // projection the code only; an older one (this machine's Debian package) delivers the whole
    // stream and the projection skips the rest.
    let info = app
        .bus
        .jetstream()
        .get_stream(&app.env.bus.stream)
        .await
        .unwrap()
        .consumer_info(expiry_sweeper::projection::NAME)
        .await
        .unwrap();
    let delivered = info.delivered.consumer_sequence;
    assert_eq!(
        delivered,
        if app.bus.takes_several_filters() {
            1
        } else {
            3
        }
    );
    let kept: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT to_regclass(t)::text FROM unnest(ARRAY['retention_items', 'retention_erasures']) t",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(kept, [None, None], "retention's tables are dropped");
    app.stop().await;
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn(TestEnv::new().await.unwrap(), Duration::from_secs(3600)).await;
    let client = reqwest::Client::new();
    for path in ["/healthz", "/readyz", "/metrics"] {
        let response = client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let missing = client
        .get(format!("{}/nope", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    app.stop().await;
}
