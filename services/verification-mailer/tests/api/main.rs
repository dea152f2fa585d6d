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
async fn closed_orders_are_projected_and_order_created_never_reaches_the_mailer() {
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
        let created = helpers::order_created(&format!("{id}@example.com"), "Siti");
        let created = EventKind::OrderCreated(created);
        bus.publish(&Event::new(id, "n8n", created)).await.unwrap();
    }
    let deletion = bus
        .publish(&Event::new(
            deleted,
            "op",
            EventKind::OrderDeleted(OrderDeleted { reason: None }),
        ))
        .await
        .unwrap();
    eventually(Duration::from_secs(10), || async {
        let at = gadai_store::checkpoint(&pool, verification_mailer::projection::NAME)
            .await
            .ok()?;
        (at >= deletion.sequence).then_some(())
    })
    .await;
    let closed: Vec<Uuid> = sqlx::query_scalar("SELECT order_id FROM closed_orders")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(closed, [deleted]);
    // Its subjects leave order.created out. A NATS server that filters several subjects (2.10
    // and later, as deployed) delivers the projection the deletion only; an older one (this
    // machine's Debian package) delivers the whole stream and the projection skips the rest.
    assert!(
        !gadai_bus::permissions::MAILER_PROJECTION_SUBJECTS.contains(&"order.created"),
        "{:?}",
        gadai_bus::permissions::MAILER_PROJECTION_SUBJECTS
    );
    let mut consumer: async_nats::jetstream::consumer::PullConsumer = bus
        .jetstream()
        .get_stream(&env.bus.stream)
        .await
        .unwrap()
        .get_consumer(verification_mailer::projection::NAME)
        .await
        .unwrap();
    let delivered = consumer.info().await.unwrap().delivered.consumer_sequence;
    assert_eq!(delivered, if bus.takes_several_filters() { 1 } else { 3 });

    let ready = reqwest::get(format!("{address}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    shutdown.cancel();
    env.cleanup().await;
}

/// Migration 0006 keeps which orders closed and every erasure, and nothing of the names and
/// addresses the mailer kept before requests carried them.
#[tokio::test]
async fn the_recipients_migration_keeps_closed_orders_and_drops_every_address() {
    use sqlx::Connection;
    let env = TestEnv::new().await.unwrap();
    let mut db = sqlx::PgConnection::connect(&env.database_url)
        .await
        .unwrap();
    let schema = format!("mailer_migration_{}", Uuid::now_v7().simple());
    sqlx::raw_sql(&format!(
        "CREATE SCHEMA {schema}; SET search_path TO {schema}"
    ))
    .execute(&mut db)
    .await
    .unwrap();
    let migrations: Vec<_> = verification_mailer::startup::MIGRATOR.iter().collect();
    let (before, this) = migrations.split_at(5);
    assert_eq!(this[0].version, 6);
    for m in before {
        sqlx::raw_sql(&m.sql).execute(&mut db).await.unwrap();
    }
    let (open, closed) = (Uuid::now_v7(), Uuid::now_v7());
    sqlx::query(
        "INSERT INTO recipients (order_id, email, nama_customer, closed, last_seq, subject, generation)
         VALUES ($1, 'pii:v1:1:open', 'pii:v1:1:name', false, 0, 's-1', 1),
                ($2, 'pii:v1:1:closed', 'pii:v1:1:name', true, 7, 's-1', 1)",
    )
    .bind(open)
    .bind(closed)
    .execute(&mut db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO recipient_erasures (subject, generation, last_seq) VALUES ('s-2', 3, 9)",
    )
    .execute(&mut db)
    .await
    .unwrap();

    sqlx::raw_sql(&this[0].sql).execute(&mut db).await.unwrap();
    let rows: Vec<String> = sqlx::query_scalar("SELECT t::text FROM closed_orders t")
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert_eq!(rows, [format!("({closed},7)")]);
    let erasures: Vec<(String, i32)> =
        sqlx::query_as("SELECT subject, generation FROM recipient_erasures")
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(erasures, [("s-2".to_owned(), 3)]);
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut db)
        .await
        .unwrap();
    env.cleanup().await;
}
