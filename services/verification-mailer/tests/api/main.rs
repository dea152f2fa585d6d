//! verification-mailer against real Postgres, NATS JetStream and a real SMTP server (aiosmtpd).

mod check;
mod crash;
mod helpers;
mod privacy;
mod send;
mod template;

use std::time::Duration;

use gadai_bus::Bus;
use gadai_events::*;
use gadai_test_support::{TestEnv, eventually};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use verification_mailer::Application;

#[tokio::test]
async fn recipients_are_projected_and_closed_by_terminal_events() {
    let env = TestEnv::new().await.unwrap();
    let mut settings = helpers::settings(&env, 25);
    settings.mail = verification_mailer::config::MailSettings::Files {
        dir: std::env::temp_dir().join("gadai-mail-test"),
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
            subject: None,
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
