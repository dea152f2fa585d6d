//! verification-mailer against real Postgres and NATS JetStream.

use std::time::Duration;

use gadai_bus::Bus;
use gadai_events::*;
use gadai_store::DbSettings;
use gadai_test_support::{TestEnv, eventually};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use verification_mailer::{Application, config::Settings};

#[tokio::test]
async fn recipients_are_projected_and_closed_by_terminal_events() {
    let env = TestEnv::new().await.unwrap();
    let settings = Settings {
        db: DbSettings {
            url: env.database_url.clone(),
            schema: "mailer".into(),
            max_connections: 5,
        },
        bus: env.bus.clone(),
        host: "127.0.0.1".into(),
        port: 0,
        request_timeout: Duration::from_secs(10),
        mail: verification_mailer::config::MailSettings::Files {
            dir: std::env::temp_dir().join("gadai-mail-test"),
        },
        mail_from: "Gadai <no-reply@example.com>".into(),
        code_key: b"a-test-key-of-at-least-32-bytes!!".to_vec(),
        code_ttl: Duration::from_secs(3600),
        max_failed_attempts: 5,
        send_attempts: 3,
        send_ack_wait: Duration::from_secs(10),
    };
    let app = Application::build(settings).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool().clone();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run(shutdown.clone()));
    let bus = Bus::connect(env.bus.clone(), "test").await.unwrap();

    let (open, deleted) = (Uuid::now_v7(), Uuid::now_v7());
    for id in [open, deleted] {
        let created = EventKind::OrderCreated(OrderCreated {
            nama_customer: "Siti".into(),
            email: format!("{id}@example.com"),
            nama_barang: "Kamera".into(),
            jenis_barang: "kamera".into(),
            jumlah_barang: 1,
            estimasi_nilai_barang: 1,
            wilayah: "Depok".into(),
            id_percakapan: None,
            idempotency: None,
        });
        bus.publish(&Event::new(id, "n8n", created)).await.unwrap();
    }
    bus.publish(&Event::new(
        deleted,
        "op",
        EventKind::OrderDeleted(OrderDeleted { reason: None }),
    ))
    .await
    .unwrap();
    let last = bus.last_sequence().await.unwrap();
    eventually(Duration::from_secs(10), || async {
        let at = gadai_store::checkpoint(&pool, verification_mailer::projection::NAME)
            .await
            .ok()?;
        (at >= last).then_some(())
    })
    .await;
    let rows: Vec<(Uuid, String, bool)> =
        sqlx::query_as("SELECT order_id, email, closed FROM recipients ORDER BY closed")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            (open, format!("{open}@example.com"), false),
            (deleted, format!("{deleted}@example.com"), true)
        ]
    );

    let ready = reqwest::get(format!("{address}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    shutdown.cancel();
    env.cleanup().await;
}
