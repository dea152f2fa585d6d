//! A mailer killed between receiving a request and sending the mail: after a restart, exactly
//! one e-mail goes out.

use std::{process::Stdio, time::Duration};

use gadai_bus::Bus;
use gadai_events::*;
use gadai_store::DbSettings;
use gadai_test_support::{TestEnv, eventually, smtp::SmtpServer};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use verification_mailer::{
    Application,
    config::{MailSettings, Settings, TlsMode},
};

/// An "SMTP server" that accepts connections and never says a word: the mailer hangs mid-send.
async fn black_hole() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

const KEY: &str = "crash-test-hmac-key-at-least-32-bytes";

#[tokio::test]
async fn a_mailer_killed_before_sending_sends_exactly_one_mail_after_restart() {
    let env = TestEnv::new().await.unwrap();
    let bus = Bus::connect(env.bus.clone(), "test").await.unwrap();
    bus.ensure_stream().await.unwrap();
    let hole = black_hole().await;
    let mut first = tokio::process::Command::new(env!("CARGO_BIN_EXE_verification-mailer"))
        .arg("serve")
        .env("DATABASE_URL", &env.database_url)
        .env("NATS_URL", &env.bus.url)
        .env("NATS_STREAM", &env.bus.stream)
        .env("NATS_SUBJECT_PREFIX", &env.bus.prefix)
        .env("VERIFICATION_MAILER_PORT", "0")
        .env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_PORT", hole.to_string())
        .env("SMTP_TLS", "none")
        .env("SMTP_TIMEOUT", "120s")
        .env("CODE_HMAC_KEY", KEY)
        .env("MAIL_ACK_WAIT", "2s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let order = Uuid::now_v7();
    let created = EventKind::OrderCreated(OrderCreated {
        nama_customer: "Rina".into(),
        email: "rina@example.com".into(),
        nama_barang: "Kamera Canon".into(),
        jenis_barang: "kamera".into(),
        jumlah_barang: 1,
        estimasi_nilai_barang: 4_000_000,
        wilayah: "Depok".into(),
        id_percakapan: None,
        idempotency: None,
    });
    bus.publish(&Event::new(order, "n8n", created))
        .await
        .unwrap();
    bus.publish(&Event::new(
        order,
        "op",
        EventKind::VerificationRequested(VerificationRequested { request_no: 0 }),
    ))
    .await
    .unwrap();

    // The first mailer has claimed the request (a pending row) and hangs in the SMTP dialogue.
    let pool = sqlx::PgPool::connect(&env.database_url).await.unwrap();
    eventually(Duration::from_secs(30), || async {
        let state: String =
            sqlx::query_scalar("SELECT state FROM mailer.verifications WHERE order_id = $1")
                .bind(order)
                .fetch_optional(&pool)
                .await
                .ok()??;
        (state == "pending").then_some(())
    })
    .await;
    first.kill().await.unwrap();

    // A new mailer, with a working SMTP server, picks the request up after AckWait.
    let smtp = SmtpServer::start().await;
    let settings = Settings {
        db: DbSettings {
            url: env.database_url.clone(),
            schema: "mailer".into(),
            max_connections: 4,
        },
        bus: env.bus.clone(),
        host: "127.0.0.1".into(),
        port: 0,
        request_timeout: Duration::from_secs(10),
        mail: MailSettings::Smtp {
            host: "127.0.0.1".into(),
            port: smtp.port,
            tls: TlsMode::None,
            user: None,
            password: None,
            timeout: Duration::from_secs(5),
        },
        mail_from: "Gadai <no-reply@example.com>".into(),
        code_key: KEY.as_bytes().to_vec(),
        code_ttl: Duration::from_secs(3600),
        max_failed_attempts: 5,
        send_attempts: 5,
        send_ack_wait: Duration::from_secs(2),
    };
    let app = Application::build(settings).await.unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run(shutdown.clone()));

    let mails = smtp.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(mails[0].to, "rina@example.com");
    eventually(Duration::from_secs(10), || async {
        let state: String =
            sqlx::query_scalar("SELECT state FROM mailer.verifications WHERE order_id = $1")
                .bind(order)
                .fetch_one(&pool)
                .await
                .ok()?;
        (state == "sent").then_some(())
    })
    .await;
    // Past another AckWait: nothing is mailed twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(smtp.messages().len(), 1);
    let mut stream = bus.jetstream().get_stream(&env.bus.stream).await.unwrap();
    let last = stream.info().await.unwrap().state.last_sequence;
    let mut sent = 0;
    for seq in 1..=last {
        let raw = stream.get_raw_message(seq).await.unwrap();
        if raw.subject.ends_with("verification.sent") {
            sent += 1;
        }
    }
    assert_eq!(sent, 1, "one verification.sent");
    shutdown.cancel();
    smtp.stop().await;
    env.cleanup().await;
}
