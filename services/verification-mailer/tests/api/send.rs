//! Sending: a slow SMTP server does not make JetStream hand the request to another replica.

use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;
use verification_mailer::config::MailSettings;

use crate::helpers::{Mailer, World};

/// A proxy in front of the SMTP server that holds each connection for `delay` before the
/// server's greeting gets through: a server that takes that long to accept a mail.
async fn slow_smtp(target: u16, delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target)).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn a_send_longer_than_the_ack_wait_is_kept_alive_and_mailed_once() {
    let world = World::new().await;
    let mut settings = world.settings();
    assert_eq!(settings.send_ack_wait, Duration::from_secs(10));
    settings.mail = MailSettings::Smtp {
        host: "127.0.0.1".into(),
        port: slow_smtp(world.smtp.port, Duration::from_secs(16)).await,
        tls: verification_mailer::config::TlsMode::None,
        user: None,
        password: None,
        timeout: Duration::from_secs(60),
    };
    // Two replicas share the send consumer: either could be handed the request again.
    let first = Mailer::start(settings.clone()).await;
    let second = Mailer::start(settings).await;

    let order = Uuid::now_v7();
    let email = format!("{}@example.com", order.simple());
    world.create_order(order, &email).await;
    // A request before the recipient is known is put back, a redelivery this test would count.
    let started = Instant::now();
    world.request_code(order, 0).await;
    world.code_mailed_to(&email).await;
    let took = started.elapsed();
    eprintln!("the slow send took {took:?} (AckWait 10 s)");
    assert!(took > Duration::from_secs(10), "the send outlasted AckWait");
    world.wait_for_state(order, "sent").await;

    // Past another AckWait: one mail, one event, and the server never redelivered the request.
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(world.mails_to(&email).len(), 1);
    assert_eq!(world.events("verification.sent").await.len(), 1);
    let mut consumer: async_nats::jetstream::consumer::PullConsumer = world
        .bus
        .jetstream()
        .get_stream(&world.env.bus.stream)
        .await
        .unwrap()
        .get_consumer(verification_mailer::sender::NAME)
        .await
        .unwrap();
    let info = consumer.info().await.unwrap();
    // One request, delivered once (a redelivery would take a second consumer sequence).
    assert_eq!(info.delivered.consumer_sequence, 1, "{info:?}");
    assert_eq!(info.num_ack_pending, 0);
    let attempts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mailer.send_log WHERE outcome = 'accepted'")
            .fetch_one(&world.db)
            .await
            .unwrap();
    assert_eq!(attempts, 1);

    first.stop().await;
    second.stop().await;
    world.cleanup().await;
}
