//! The real mailer binary killed at each point between a state change and the event that
//! announces it (and mid-send), then restarted without the fail point: afterwards the stream
//! and the table agree, and the customer got the mails the README promises.

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use gadai_events::{
    EventKind,
    check::{CheckRequest, OrderRef, Outcome, SUBJECT},
};
use gadai_test_support::eventually;
use tokio::process::{Child, Command};
use uuid::Uuid;

use crate::helpers::{KEY, Mailer, World, code_in};

/// The mailer binary on the test's database and stream, mailing to `smtp_port`, with the fail
/// points `failpoints` armed and the default AckWait.
fn spawn_mailer(world: &World, smtp_port: u16, failpoints: &str) -> Child {
    let env = &world.env;
    let log = if std::env::var_os("TEST_LOG").is_some() {
        Stdio::inherit()
    } else {
        Stdio::null()
    };
    Command::new(env!("CARGO_BIN_EXE_verification-mailer"))
        .arg("serve")
        .env("DATABASE_URL", &env.database_url)
        .env("NATS_URL", &env.bus.url)
        .env("NATS_STREAM", &env.bus.stream)
        .env("NATS_SUBJECT_PREFIX", &env.bus.prefix)
        .env("VERIFICATION_MAILER_PORT", "0")
        .env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_PORT", smtp_port.to_string())
        .env("SMTP_TLS", "none")
        .env("SMTP_TIMEOUT", "120s")
        .env("CODE_HMAC_KEY", KEY)
        .env("PII_MASTER_KEYS", gadai_test_support::PII_MASTER_KEYS)
        .env("PII_SUBJECT_KEY", gadai_test_support::PII_SUBJECT_KEY)
        .env("GADAI_FAILPOINTS", failpoints)
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Waits for the process to die at its fail point (an abort, not an exit).
async fn dies(mut child: Child) {
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the mailer reached its fail point")
        .unwrap();
    assert!(!status.success(), "aborted, not exited: {status:?}");
}

/// The columns that say what was recorded of `order`'s verification.
async fn recorded(world: &World, order: Uuid) -> (String, bool, Option<String>, bool) {
    sqlx::query_as(
        "SELECT state, sent_at IS NOT NULL, failure_reason, announced_at IS NOT NULL
         FROM mailer.verifications WHERE order_id = $1",
    )
    .bind(order)
    .fetch_one(&world.db)
    .await
    .unwrap()
}

/// An order whose code request went to a mailer binary that died at `point`; the mailer is
/// not restarted yet.
async fn killed_at(point: &str, email: &str) -> (World, Uuid) {
    let world = World::new().await;
    let mailer = spawn_mailer(&world, world.smtp.port, point);
    let order = Uuid::now_v7();
    world.create_order(order, email).await;
    world.request_code(order, 0).await;
    dies(mailer).await;
    (world, order)
}

#[tokio::test]
async fn a_mailer_killed_before_sending_mails_once_soon_after_the_restart() {
    let world = World::new().await;
    // An "SMTP server" that accepts connections and never says a word: the mailer hangs mid-send.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_port = hole.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hole.accept().await {
            held.push(socket);
        }
    });
    let mut first = spawn_mailer(&world, hole_port, "");
    let order = Uuid::now_v7();
    world.create_order(order, "rina@example.com").await;
    world.request_code(order, 0).await;
    // It claimed the request (a pending row) and hangs in the SMTP dialogue, sending progress
    // acks; then it is killed.
    world.wait_for_state(order, "pending").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    first.kill().await.unwrap();

    // A new replica with a working SMTP server (default AckWait, 10 s).
    let restarted = Instant::now();
    let mailer = Mailer::start(world.settings()).await;
    let mails = world.smtp.wait_for(1, Duration::from_secs(60)).await;
    let took = restarted.elapsed();
    eprintln!("mail delivered {took:?} after the restart");
    assert!(took < Duration::from_secs(30), "redelivered after {took:?}");
    assert_eq!(mails[0].to, "rina@example.com");
    world.wait_for_state(order, "sent").await;
    world.settled(verification_mailer::sender::NAME).await;
    assert_eq!(world.smtp.messages().len(), 1, "nothing is mailed twice");
    assert_eq!(world.events("verification.sent").await.len(), 1);

    mailer.stop().await;
    world.cleanup().await;
}

#[tokio::test]
async fn killed_after_the_sent_record_the_restart_announces_it_once() {
    let email = "sent-recorded@example.com";
    let (world, order) = killed_at("mailer.after_sent_recorded", email).await;
    assert_eq!(
        recorded(&world, order).await,
        ("sent".into(), true, None, false)
    );
    assert!(world.events("verification.sent").await.is_empty());

    let mailer = Mailer::start(world.settings()).await;
    eventually(Duration::from_secs(30), || async {
        (!world.events("verification.sent").await.is_empty()).then_some(())
    })
    .await;
    world.settled(verification_mailer::sender::NAME).await;
    assert_eq!(world.events("verification.sent").await.len(), 1);
    assert_eq!(
        recorded(&world, order).await,
        ("sent".into(), true, None, true)
    );
    assert_eq!(world.mails_to(email).len(), 1, "no second mail");
    // The mailed code is the one that works.
    let code = code_in(&world.mails_to(email)[0]);
    let reply = world.check(&code, Some(OrderRef::Id(order))).await;
    assert_eq!(reply.outcome, Outcome::Matched);

    mailer.stop().await;
    world.cleanup().await;
}

#[tokio::test]
async fn killed_after_the_sent_event_the_redelivery_changes_nothing_on_the_stream() {
    let email = "sent-published@example.com";
    let (world, order) = killed_at("mailer.after_outcome_published", email).await;
    assert_eq!(
        recorded(&world, order).await,
        ("sent".into(), true, None, false)
    );
    assert_eq!(world.events("verification.sent").await.len(), 1);

    let mailer = Mailer::start(world.settings()).await;
    eventually(Duration::from_secs(30), || async {
        recorded(&world, order).await.3.then_some(())
    })
    .await;
    world.settled(verification_mailer::sender::NAME).await;
    assert_eq!(
        world.events("verification.sent").await.len(),
        1,
        "deduplicated"
    );
    assert_eq!(world.mails_to(email).len(), 1);

    mailer.stop().await;
    world.cleanup().await;
}

#[tokio::test]
async fn killed_after_the_failed_record_the_restart_announces_the_stored_reason() {
    // An address no server can take: the send fails for good at once.
    let (world, order) = killed_at("mailer.after_failed_recorded", "not an address").await;
    let (state, sent, reason, announced) = recorded(&world, order).await;
    assert_eq!((state.as_str(), sent, announced), ("failed", false, false));
    let reason = reason.expect("the reason is stored");
    assert!(world.events("verification.failed").await.is_empty());

    let mailer = Mailer::start(world.settings()).await;
    eventually(Duration::from_secs(30), || async {
        (!world.events("verification.failed").await.is_empty()).then_some(())
    })
    .await;
    world.settled(verification_mailer::sender::NAME).await;
    let failed = world.events("verification.failed").await;
    assert_eq!(failed.len(), 1);
    assert!(matches!(&failed[0].kind, EventKind::VerificationFailed(f) if f.reason == reason));
    assert!(recorded(&world, order).await.3, "announced");
    assert!(world.events("verification.sent").await.is_empty());
    assert!(world.smtp.messages().is_empty());

    mailer.stop().await;
    world.cleanup().await;
}

/// The one window no design closes: the SMTP server accepted the mail and the mailer died
/// before it could write that down. The redelivery mails a fresh code (same verification), so
/// the customer gets two mails; only the second code works, and the stream says sent once.
#[tokio::test]
async fn killed_between_smtp_acceptance_and_the_record_the_restart_mails_a_fresh_code() {
    let email = "smtp-accepted@example.com";
    let (world, order) = killed_at("mailer.after_smtp_accepted", email).await;
    assert_eq!(
        recorded(&world, order).await,
        ("pending".into(), false, None, false)
    );
    assert_eq!(world.mails_to(email).len(), 1);

    let mailer = Mailer::start(world.settings()).await;
    world.wait_for_state(order, "sent").await;
    world.settled(verification_mailer::sender::NAME).await;
    let mails = world.mails_to(email);
    assert_eq!(mails.len(), 2);
    assert_eq!(world.events("verification.sent").await.len(), 1);
    assert_eq!(
        recorded(&world, order).await,
        ("sent".into(), true, None, true)
    );
    let (first, second) = (code_in(&mails[0]), code_in(&mails[1]));
    if first != second {
        let reply = world.check(&first, Some(OrderRef::Id(order))).await;
        assert_eq!(
            reply.outcome,
            Outcome::NotFound,
            "the first code was replaced"
        );
    }
    let reply = world.check(&second, Some(OrderRef::Id(order))).await;
    assert_eq!(reply.outcome, Outcome::Matched);

    mailer.stop().await;
    world.cleanup().await;
}

#[tokio::test]
async fn killed_after_order_verified_the_stream_wins_and_the_code_closes() {
    let world = World::new().await;
    let first = spawn_mailer(&world, world.smtp.port, "mailer.after_verified_published");
    let order = Uuid::now_v7();
    let email = "verified@example.com";
    world.create_order(order, email).await;
    world.request_code(order, 0).await;
    let code = world.code_mailed_to(email).await;
    world.wait_for_state(order, "sent").await;

    // The check, straight over NATS: the mailer publishes order.verified and dies before it
    // records the match, so no answer comes.
    let payload = serde_json::to_vec(&CheckRequest {
        kode_unik: code.clone(),
        order: Some(OrderRef::Id(order)),
    })
    .unwrap();
    let answer = tokio::time::timeout(
        Duration::from_secs(15),
        world
            .bus
            .client()
            .request(world.bus.subject(SUBJECT), payload.into()),
    )
    .await;
    assert!(!matches!(answer, Ok(Ok(_))), "no answer from a dead mailer");
    dies(first).await;
    assert_eq!(world.events("order.verified").await.len(), 1);
    assert_eq!(world.state_of(order).await.as_deref(), Some("sent"));

    // Restarted: the mailer's projection applies order.verified and closes the code.
    let mailer = Mailer::start(world.settings()).await;
    world.wait_for_state(order, "closed").await;
    let reply = world.check(&code, Some(OrderRef::Id(order))).await;
    assert_eq!(reply.outcome, Outcome::NotFound, "used");
    assert_eq!(world.events("order.verified").await.len(), 1);
    assert_eq!(world.mails_to(email).len(), 1);

    mailer.stop().await;
    world.cleanup().await;
}
