//! Personal data (issue 15): the mailer opens the recipient a request carries only to mail a
//! code and keeps nothing of it, never mails an erased customer (whether order-intake or its
//! own projection saw the erasure first), fails a request without a recipient with a reason of
//! its own, and publishes, stores and logs SMTP replies without the addresses they echo.

use std::time::Duration;

use gadai_events::*;
use gadai_test_support::{captured_logs, eventually};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use verification_mailer::config::MailSettings;

use crate::helpers::{Mailer, World, serve_keys, subject_of};

/// Every row of every table of the mailer's schema, as text.
async fn everything(world: &World) -> String {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'mailer'",
    )
    .fetch_all(&world.db)
    .await
    .unwrap();
    let mut dump = String::new();
    for table in tables {
        let rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT t::text FROM mailer.{table} t"))
                .fetch_all(&world.db)
                .await
                .unwrap();
        dump.push_str(&rows.join("\n"));
    }
    dump
}

async fn erase(world: &World, email: &str, generation: u32) {
    let erased = EventKind::CustomerErased(CustomerErased {
        subject: subject_of(email).as_str().to_owned(),
        generation,
        dasar: ErasureBasis::Permintaan,
        alasan: "DPO-2026-001".into(),
    });
    world
        .bus
        .publish(&Event::new(Uuid::nil(), "admin", erased))
        .await
        .unwrap();
}

/// The reasons of the first `count` `verification.failed` events, once there are that many.
async fn failure_reasons(world: &World, count: usize) -> Vec<String> {
    let failed = eventually(Duration::from_secs(30), || async {
        let failed = world.events("verification.failed").await;
        (failed.len() >= count).then_some(failed)
    })
    .await;
    failed
        .into_iter()
        .take(count)
        .map(|event| match event.kind {
            EventKind::VerificationFailed(f) => f.reason,
            other => panic!("expected verification.failed, got {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn the_request_s_recipient_is_mailed_by_name_and_nothing_of_it_is_kept() {
    let world = World::new().await;
    let mailer = Mailer::start(world.settings()).await;
    let order = Uuid::now_v7();
    let email = format!("siti.{}@example.co.id", order.simple());
    world.create_order_of(order, &email, "Siti Nurhaliza").await;

    world.request_code(order, 0).await;
    let code = world.code_mailed_to(&email).await;
    let mail = &world.mails_to(&email)[0];
    assert!(mail.text.contains("Halo Siti Nurhaliza"), "{}", mail.text);
    world.wait_for_state(order, "sent").await;
    let reply = world
        .check(&code, Some(gadai_events::check::OrderRef::Id(order)))
        .await;
    assert_eq!(reply.outcome, gadai_events::check::Outcome::Matched);
    // Opened for the mail only: nothing of it was written down or logged, sealed or not.
    let dump = everything(&world).await;
    assert!(!dump.contains(&email) && !dump.contains("Siti"), "{dump}");
    assert!(!dump.contains("pii:v1:"), "{dump}");
    let logs = captured_logs();
    assert!(!logs.contains(&email), "the address is in the logs");

    mailer.stop().await;
    world.cleanup().await;
}

#[tokio::test]
async fn an_erased_customer_is_never_mailed_and_another_still_is() {
    let world = World::new().await;
    let mailer = Mailer::start(world.settings()).await;
    let tag = Uuid::now_v7().simple().to_string();
    let erased_email = format!("ani.{tag}@example.co.id");
    let kept_email = format!("budi.{tag}@example.co.id");
    let (first, second, kept) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    world
        .create_order_of(first, &erased_email, "Ani Wijaya")
        .await;
    world
        .create_order_of(second, &erased_email, "Ani Wijaya")
        .await;
    world.create_order_of(kept, &kept_email, "Budi").await;

    // The erasure as dashboard-api publishes it and order-intake applies it.
    world
        .keys
        .erase_through(&subject_of(&erased_email), 1, "DPO-2026-001")
        .await
        .unwrap();
    erase(&world, &erased_email, 1).await;
    world.projected().await;

    // A code asked for afterwards fails for good, for both orders, and nothing is mailed.
    world.request_code(first, 0).await;
    world.request_code(second, 0).await;
    world.wait_for_state(first, "failed").await;
    world.wait_for_state(second, "failed").await;
    assert_eq!(
        failure_reasons(&world, 2).await,
        ["data pelanggan telah dihapus"; 2]
    );
    assert!(world.mails_to(&erased_email).is_empty());
    assert!(world.events("verification.sent").await.is_empty());
    // The other customer is still mailed.
    world.request_code(kept, 0).await;
    world.code_mailed_to(&kept_email).await;

    mailer.stop().await;
    world.cleanup().await;
}

#[tokio::test]
async fn a_customer_whose_key_is_gone_is_not_mailed_before_the_erasure_arrives() {
    let world = World::new().await;
    let mailer = Mailer::start(world.settings()).await;
    let order = Uuid::now_v7();
    let email = format!("citra.{}@example.co.id", order.simple());
    world.create_order_of(order, &email, "Citra").await;
    // order-intake applied the erasure; the mailer's projection has not seen it (nor will).
    world
        .keys
        .erase(&subject_of(&email), "DPO-2026-002")
        .await
        .unwrap();
    world.request_code(order, 0).await;
    world.wait_for_state(order, "failed").await;
    assert_eq!(
        failure_reasons(&world, 1).await,
        ["data pelanggan telah dihapus"]
    );
    assert!(world.smtp.messages().is_empty());

    mailer.stop().await;
    world.cleanup().await;
}

#[tokio::test]
async fn a_request_without_its_recipient_fails_for_good_with_its_own_reason() {
    let world = World::new().await;
    let mailer = Mailer::start(world.settings()).await;
    // A request recorded by an earlier release, which sealed no recipient into it.
    let order = Uuid::now_v7();
    world
        .publish_request(order, VerificationRequested::numbered(0))
        .await;
    world.wait_for_state(order, "failed").await;
    assert_eq!(
        failure_reasons(&world, 1).await,
        [verification_mailer::domain::recipient::MISSING]
    );
    assert!(world.smtp.messages().is_empty());

    // A recipient that is not sealed (or not for its subject) is never mailed either.
    let forged = Uuid::now_v7();
    let email = format!("gita.{}@example.co.id", forged.simple());
    world
        .publish_request(
            forged,
            VerificationRequested {
                request_no: 0,
                recipient: Some(Recipient {
                    subject: subject_of(&email).as_str().to_owned(),
                    nama_customer: "Gita".into(),
                    email: email.clone(),
                }),
            },
        )
        .await;
    world.wait_for_state(forged, "failed").await;
    let reasons = failure_reasons(&world, 2).await;
    assert_eq!(
        reasons[1],
        verification_mailer::domain::recipient::UNREADABLE
    );
    assert!(world.smtp.messages().is_empty());

    mailer.stop().await;
    world.cleanup().await;
}

#[tokio::test]
async fn the_key_store_down_is_retried_and_never_a_failure() {
    let world = World::new().await;
    let mailer = Mailer::start(world.settings()).await;
    let order = Uuid::now_v7();
    let email = format!("eko.{}@example.co.id", order.simple());
    world.create_order_of(order, &email, "Eko").await;
    world.stop_key_server();
    // No responder for rpc.keys.get any more (the queue group's last member left).
    eventually(Duration::from_secs(10), || async {
        let answer = world
            .bus
            .client()
            .request(world.bus.subject(gadai_privacy::rpc::SUBJECT), "{}".into())
            .await;
        answer.is_err().then_some(())
    })
    .await;

    world.request_code(order, 0).await;
    // The request comes back (a NAK with a delay) while the key store is down.
    eventually(Duration::from_secs(30), || async {
        let info = world
            .consumer_info(verification_mailer::sender::NAME)
            .await?;
        (info.num_redelivered > 0 || info.delivered.consumer_sequence > 1).then_some(())
    })
    .await;
    assert!(world.events("verification.failed").await.is_empty());
    assert_eq!(world.state_of(order).await, None, "nothing recorded");
    assert!(world.smtp.messages().is_empty());

    // Back up: the next delivery mails the code.
    let back = CancellationToken::new();
    serve_keys(&world.bus, world.keys.clone(), back.clone()).await;
    world.code_mailed_to(&email).await;
    world.wait_for_state(order, "sent").await;
    assert!(world.events("verification.failed").await.is_empty());

    back.cancel();
    mailer.stop().await;
    world.cleanup().await;
}

/// An SMTP server that refuses every recipient, echoing the address as Postfix does.
async fn refusing_smtp() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 refusing ESMTP\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let answer = if let Some(to) = upper
                        .starts_with("RCPT TO:")
                        .then(|| line["RCPT TO:".len()..].trim().to_owned())
                    {
                        format!(
                            "550 5.1.1 {to}: Recipient address rejected: User unknown in virtual mailbox table\r\n"
                        )
                    } else if upper.starts_with("QUIT") {
                        let _ = write.write_all(b"221 2.0.0 Bye\r\n").await;
                        break;
                    } else {
                        "250 OK\r\n".to_owned()
                    };
                    if write.write_all(answer.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn an_smtp_reply_loses_the_address_it_echoes() {
    let world = World::new().await;
    let mut settings = world.settings();
    settings.mail = MailSettings::Smtp {
        host: "127.0.0.1".into(),
        port: refusing_smtp().await,
        tls: verification_mailer::config::TlsMode::None,
        user: None,
        password: None,
        timeout: Duration::from_secs(10),
    };
    let mailer = Mailer::start(settings).await;
    let order = Uuid::now_v7();
    let email = format!("fajar.{}@example.co.id", order.simple());
    world.create_order_of(order, &email, "Fajar").await;
    world.request_code(order, 0).await;
    world.wait_for_state(order, "failed").await;

    let reason = failure_reasons(&world, 1).await.remove(0);
    assert!(
        reason.contains("5.1.1 <alamat>: Recipient address rejected"),
        "{reason}"
    );
    assert!(!reason.contains('@'), "{reason}");
    let stored: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT failure_reason FROM mailer.verifications
         UNION ALL SELECT detail FROM mailer.send_log",
    )
    .fetch_all(&world.db)
    .await
    .unwrap();
    assert!(
        stored.iter().flatten().any(|r| r.contains("<alamat>")),
        "{stored:?}"
    );
    let dump = everything(&world).await;
    assert!(!dump.contains(&email), "{dump}");
    assert!(
        !captured_logs().contains(&email),
        "the address is in the logs"
    );

    mailer.stop().await;
    world.cleanup().await;
}

/// The mailer's projection saw the erasure before order-intake deleted the key (each applies
/// it on its own consumer): a request sealed under the erased generation is not mailed, and a
/// customer who came back (a newer key) is.
#[tokio::test]
async fn an_erasure_the_projection_saw_first_is_honoured_and_a_newer_key_is_not_erased() {
    let world = World::new().await;
    let mailer = Mailer::start(world.settings()).await;
    let email = format!("hana.{}@example.co.id", Uuid::now_v7().simple());
    let (old, new) = (Uuid::now_v7(), Uuid::now_v7());
    world.create_order_of(old, &email, "Hana").await;
    // Only the event: the key store still holds generation 1.
    erase(&world, &email, 1).await;
    world.projected().await;
    world.request_code(old, 0).await;
    world.wait_for_state(old, "failed").await;
    assert_eq!(
        failure_reasons(&world, 1).await,
        ["data pelanggan telah dihapus"]
    );
    assert!(world.mails_to(&email).is_empty());

    // order-intake catches up, and the customer orders again under generation 2.
    world
        .keys
        .erase_through(&subject_of(&email), 1, "DPO-2026-003")
        .await
        .unwrap();
    world.create_order_of(new, &email, "Hana").await;
    world.request_code(new, 0).await;
    world.code_mailed_to(&email).await;
    world.wait_for_state(new, "sent").await;

    mailer.stop().await;
    world.cleanup().await;
}
