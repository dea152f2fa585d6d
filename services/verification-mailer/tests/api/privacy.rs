//! Personal data (issue 15): the mailer keeps recipients sealed and opens them only to mail a
//! code, forgets an erased customer, still mails orders recorded before sealing, and publishes,
//! stores and logs SMTP replies without the addresses they echo.

use std::time::Duration;

use gadai_events::*;
use gadai_runtime::consume::{Delivered, Sink, Stored};
use gadai_test_support::{captured_logs, eventually};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use verification_mailer::{config::MailSettings, projection::Recipients};

use crate::helpers::{Mailer, World, order_created, serve_keys, subject_of};

/// The recipient row as the mailer keeps it: email, name, subject, generation, erased.
type Row = (Option<String>, Option<String>, Option<String>, i32, bool);

async fn row(world: &World, order: Uuid) -> Row {
    sqlx::query_as(
        "SELECT email, nama_customer, subject, generation, erased FROM mailer.recipients
         WHERE order_id = $1",
    )
    .bind(order)
    .fetch_one(&world.db)
    .await
    .unwrap()
}

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

/// Waits until the mailer's projection has applied everything on the stream.
async fn projected(world: &World) {
    let last = world.bus.last_sequence().await.unwrap();
    eventually(Duration::from_secs(30), || async {
        let at: i64 =
            sqlx::query_scalar("SELECT seq FROM mailer.checkpoints WHERE projection = $1")
                .bind(verification_mailer::projection::NAME)
                .fetch_optional(&world.db)
                .await
                .ok()??;
        (at as u64 >= last).then_some(())
    })
    .await;
}

/// The mailer's recipients projection over `app`'s database, to apply batches by hand.
fn recipients(app: &verification_mailer::Application) -> Stored<Recipients> {
    Stored {
        pool: app.pool().clone(),
        schema: "mailer".into(),
        projection: Recipients::new(std::sync::Arc::new(
            gadai_privacy::SubjectKey::new(gadai_test_support::PII_SUBJECT_KEY.as_bytes()).unwrap(),
        )),
    }
}

fn failure_reason(event: &Event) -> &str {
    match &event.kind {
        EventKind::VerificationFailed(f) => &f.reason,
        other => panic!("expected verification.failed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_sealed_order_is_kept_sealed_and_mailed_to_its_address_with_its_name() {
    let world = World::new().await;
    let mailer = Mailer::start(world.settings()).await;
    let order = Uuid::now_v7();
    let email = format!("siti.{}@example.co.id", order.simple());
    world.create_order_of(order, &email, "Siti Nurhaliza").await;
    world.wait_for_recipient(order).await;

    let (stored_email, stored_name, subject, generation, erased) = row(&world, order).await;
    let (stored_email, stored_name) = (stored_email.unwrap(), stored_name.unwrap());
    assert!(stored_email.starts_with("pii:v1:1:"), "{stored_email}");
    assert!(stored_name.starts_with("pii:v1:1:"), "{stored_name}");
    assert_eq!(subject.as_deref(), Some(subject_of(&email).as_str()));
    assert_eq!((generation, erased), (1, false));
    let dump = everything(&world).await;
    assert!(!dump.contains(&email) && !dump.contains("Siti"), "{dump}");

    world.request_code(order, 0).await;
    let code = world.code_mailed_to(&email).await;
    let mail = &world.mails_to(&email)[0];
    assert!(mail.text.contains("Halo Siti Nurhaliza"), "{}", mail.text);
    world.wait_for_state(order, "sent").await;
    let reply = world
        .check(&code, Some(gadai_events::check::OrderRef::Id(order)))
        .await;
    assert_eq!(reply.outcome, gadai_events::check::Outcome::Matched);
    // Opened for the mail only: nothing of it was written down or logged.
    let dump = everything(&world).await;
    assert!(!dump.contains(&email) && !dump.contains("Siti"), "{dump}");
    let logs = captured_logs();
    assert!(!logs.contains(&email), "the address is in the logs");

    mailer.stop().await;
    world.cleanup().await;
}

#[tokio::test]
async fn an_erased_customer_is_blanked_and_never_mailed() {
    let world = World::new().await;
    let mailer = Mailer::start(world.settings()).await;
    let tag = Uuid::now_v7().simple().to_string();
    let erased_email = format!("ani.{tag}@example.co.id");
    let kept_email = format!("budi.{tag}@example.co.id");
    let (sealed, legacy, kept) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    world
        .create_order_of(sealed, &erased_email, "Ani Wijaya")
        .await;
    // The same customer's order from before sealing (plaintext), and another customer.
    world
        .create_legacy_order(legacy, &erased_email, "Ani Wijaya")
        .await;
    world.create_order_of(kept, &kept_email, "Budi").await;
    projected(&world).await;
    assert_eq!(
        row(&world, legacy).await.0.as_deref(),
        Some(erased_email.as_str())
    );

    // The erasure as dashboard-api publishes it and order-intake applies it.
    world
        .keys
        .erase_through(&subject_of(&erased_email), 1, "DPO-2026-001")
        .await
        .unwrap();
    erase(&world, &erased_email, 1).await;
    projected(&world).await;
    let blank = (
        None,
        None,
        Some(subject_of(&erased_email).as_str().to_owned()),
    );
    for (order, generation) in [(sealed, 1), (legacy, 0)] {
        let (email, name, subject, g, erased) = row(&world, order).await;
        assert_eq!((email, name, subject), blank.clone());
        assert_eq!((g, erased), (generation, true));
    }
    assert!(!row(&world, kept).await.4, "another customer is kept");
    let dump = everything(&world).await;
    assert!(
        !dump.contains(&erased_email) && !dump.contains("Ani"),
        "{dump}"
    );

    // A code asked for afterwards fails for good, for both orders, and nothing is mailed.
    world.request_code(sealed, 0).await;
    world.request_code(legacy, 0).await;
    world.wait_for_state(sealed, "failed").await;
    world.wait_for_state(legacy, "failed").await;
    let failed = eventually(Duration::from_secs(30), || async {
        let failed = world.events("verification.failed").await;
        (failed.len() == 2).then_some(failed)
    })
    .await;
    for event in &failed {
        assert_eq!(failure_reason(event), "data pelanggan telah dihapus");
    }
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
    world.wait_for_recipient(order).await;
    // order-intake applied the erasure; the mailer's projection has not seen it (nor will).
    world
        .keys
        .erase(&subject_of(&email), "DPO-2026-002")
        .await
        .unwrap();
    world.request_code(order, 0).await;
    world.wait_for_state(order, "failed").await;
    let failed = eventually(Duration::from_secs(30), || async {
        world.events("verification.failed").await.into_iter().next()
    })
    .await;
    assert_eq!(failure_reason(&failed), "data pelanggan telah dihapus");
    assert!(world.smtp.messages().is_empty());

    mailer.stop().await;
    world.cleanup().await;
}

#[tokio::test]
async fn an_order_recorded_before_sealing_is_still_mailed() {
    let world = World::new().await;
    let mailer = Mailer::start(world.settings()).await;
    let order = Uuid::now_v7();
    let email = format!("Dewi.{}@Example.co.id", order.simple());
    world
        .create_legacy_order(order, &email, "Dewi Lestari")
        .await;
    world.wait_for_recipient(order).await;
    let (stored, name, subject, generation, erased) = row(&world, order).await;
    assert_eq!(stored.as_deref(), Some(email.as_str()));
    assert_eq!(name.as_deref(), Some("Dewi Lestari"));
    // Its customer is the one its sealed orders would name (the e-mail normalised).
    assert_eq!(
        subject.as_deref(),
        Some(subject_of(&email.to_lowercase()).as_str())
    );
    assert_eq!((generation, erased), (0, false));

    world.request_code(order, 0).await;
    world.code_mailed_to(&email).await;
    world.wait_for_state(order, "sent").await;

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
    world.wait_for_recipient(order).await;
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
        let mut consumer: async_nats::jetstream::consumer::PullConsumer = world
            .bus
            .jetstream()
            .get_stream(&world.env.bus.stream)
            .await
            .ok()?
            .get_consumer(verification_mailer::sender::NAME)
            .await
            .ok()?;
        let info = consumer.info().await.ok()?;
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

    let failed = eventually(Duration::from_secs(30), || async {
        world.events("verification.failed").await.into_iter().next()
    })
    .await;
    let reason = failure_reason(&failed);
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

/// Replicas apply batches out of order: an erasure before the order it blanks, and a customer
/// who came back with a newer key.
#[tokio::test]
async fn an_erasure_applied_before_its_order_still_blanks_it() {
    let world = World::new().await;
    let app = verification_mailer::Application::build(world.settings())
        .await
        .unwrap();
    let projection = recipients(&app);
    let delivered = |seq: u64, order: Uuid, kind: EventKind| {
        Delivered::first(seq, Event::new(order, "test", kind))
    };
    let email = format!("gita.{}@example.co.id", Uuid::now_v7().simple());
    let subject = subject_of(&email);
    let sealed = |generation: u32| {
        let mut o = order_created(&email, "Gita");
        gadai_privacy::personal::seal_order(
            &gadai_privacy::DataKey::generate(generation),
            &subject,
            &mut o,
        );
        EventKind::OrderCreated(o)
    };
    let (old, legacy, new) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let erasure = EventKind::CustomerErased(CustomerErased {
        subject: subject.as_str().to_owned(),
        generation: 1,
        dasar: ErasureBasis::Retensi,
        alasan: "retensi".into(),
    });
    // Stream order: old (1), legacy (2), erasure of generation 1 (3), new under generation 2
    // (4); applied as 4, 3, 2, 1, then all again.
    let events = [
        delivered(4, new, sealed(2)),
        delivered(3, Uuid::nil(), erasure),
        delivered(
            2,
            legacy,
            EventKind::OrderCreated(order_created(&email, "Gita")),
        ),
        delivered(1, old, sealed(1)),
    ];
    for d in events.iter().chain(&events) {
        projection.apply(std::slice::from_ref(d)).await.unwrap();
    }
    for order in [old, legacy] {
        let (email, name, _, _, erased) = row(&world, order).await;
        assert_eq!((email, name, erased), (None, None, true));
    }
    let (email_new, _, _, generation, erased) = row(&world, new).await;
    assert!(email_new.unwrap().starts_with("pii:v1:2:"));
    assert_eq!((generation, erased), (2, false), "the customer came back");
    world.cleanup().await;
}

/// Orders in a row go in as one statement: within one batch, a repeated order, an erasure
/// between orders and a late order of an erased generation give the rows of the stream order.
#[tokio::test]
async fn a_batch_of_orders_gives_the_rows_of_the_stream_order() {
    let world = World::new().await;
    let app = verification_mailer::Application::build(world.settings())
        .await
        .unwrap();
    let projection = recipients(&app);
    let email = format!("hana.{}@example.co.id", Uuid::now_v7().simple());
    let other = format!("joko.{}@example.co.id", Uuid::now_v7().simple());
    let sealed = |email: &str, generation: u32| {
        let mut o = order_created(email, "Hana");
        gadai_privacy::personal::seal_order(
            &gadai_privacy::DataKey::generate(generation),
            &subject_of(email),
            &mut o,
        );
        EventKind::OrderCreated(o)
    };
    let [a, b, legacy, late, back, kept] = [(); 6].map(|_| Uuid::now_v7());
    let erasure = EventKind::CustomerErased(CustomerErased {
        subject: subject_of(&email).as_str().to_owned(),
        generation: 1,
        dasar: ErasureBasis::Permintaan,
        alasan: "DPO-9".into(),
    });
    let batch: Vec<Delivered> = [
        (a, sealed(&email, 1)),
        (b, sealed(&email, 1)),
        (
            legacy,
            EventKind::OrderCreated(order_created(&email, "Hana")),
        ),
        (kept, sealed(&other, 1)),
        (a, sealed(&email, 1)), // a repeat
        (Uuid::nil(), erasure),
        (late, sealed(&email, 1)), // of an erased generation: recorded blank
        (back, sealed(&email, 2)),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (order, kind))| Delivered::first(i as u64 + 1, Event::new(order, "test", kind)))
    .collect();
    projection.apply(&batch).await.unwrap();

    for order in [a, b, legacy, late] {
        let (address, name, subject, _, erased) = row(&world, order).await;
        assert_eq!((address, name, erased), (None, None, true), "{order}");
        assert_eq!(subject.as_deref(), Some(subject_of(&email).as_str()));
    }
    let (address, _, _, generation, erased) = row(&world, back).await;
    assert!(address.unwrap().starts_with("pii:v1:2:"));
    assert_eq!((generation, erased), (2, false), "the customer came back");
    let (address, name, _, generation, erased) = row(&world, kept).await;
    assert!(address.unwrap().starts_with("pii:v1:1:"));
    assert!(name.unwrap().starts_with("pii:v1:1:"));
    assert_eq!(
        (generation, erased),
        (1, false),
        "another customer is untouched"
    );
    world.cleanup().await;
}

/// Recipients projected by an earlier release (plaintext, no subject) get their customer's
/// subject id when the mailer starts, so an erasure reaches them.
#[tokio::test]
async fn recipients_from_before_sealing_get_their_subject_at_start() {
    let world = World::new().await;
    drop(
        verification_mailer::Application::build(world.settings())
            .await
            .unwrap(),
    );
    let order = Uuid::now_v7();
    let email = format!("Hana.{}@example.co.id", order.simple());
    sqlx::query(
        "INSERT INTO mailer.recipients (order_id, email, nama_customer) VALUES ($1, $2, 'Hana')",
    )
    .bind(order)
    .bind(&email)
    .execute(&world.db)
    .await
    .unwrap();
    assert_eq!(row(&world, order).await.2, None);

    let mailer = Mailer::start(world.settings()).await;
    assert_eq!(
        row(&world, order).await.2.as_deref(),
        Some(subject_of(&email.to_lowercase()).as_str())
    );
    erase(&world, &email, 0).await;
    projected(&world).await;
    let (email, name, _, _, erased) = row(&world, order).await;
    assert_eq!((email, name, erased), (None, None, true));

    mailer.stop().await;
    world.cleanup().await;
}
