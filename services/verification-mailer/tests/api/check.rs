//! `rpc.verification.check`: named orders, attempts, the shared budgets, and `order.verified`.

use std::time::Duration;

use gadai_events::{
    EventKind,
    check::{OrderRef, Outcome, Reference},
};
use uuid::Uuid;
use verification_mailer::domain::budget::Window;

use crate::helpers::{Mailer, World, id_with_reference, wrong};

#[tokio::test]
async fn a_code_is_checked_against_the_order_named_by_id_or_by_reference() {
    let world = World::new().await;
    let mailer = Mailer::start(world.settings()).await;
    let (order, code) = world.order_with_code(Uuid::now_v7()).await;
    let reference = Reference::of(order);

    // The right code for another reference: nothing there, and this order's code is untouched.
    let number = u32::from_str_radix(&reference.to_string(), 16).unwrap();
    let other = Reference::parse(&format!("{:08x}", number.wrapping_add(1))).unwrap();
    let reply = world.check(&code, Some(OrderRef::Reference(other))).await;
    assert_eq!(reply.outcome, Outcome::NotFound);
    assert_eq!(reply.order_id, None);
    // ... nor under another order's id.
    let reply = world.check(&code, Some(OrderRef::Id(Uuid::now_v7()))).await;
    assert_eq!(reply.outcome, Outcome::NotFound);
    assert_eq!(world.attempts_of(order).await, 0);
    assert!(world.events("order.verified").await.is_empty());

    // The reference as a customer types it: lower case, with a space; the code in lower case
    // with spaces around it.
    let typed = reference.to_string().to_lowercase();
    let typed = format!(" {} {} ", &typed[..4], &typed[4..]);
    let request: serde_json::Value = serde_json::json!({
        "kode_unik": format!("  {}  ", code.to_lowercase()),
        "order": {"reference": typed},
    });
    let reply = world
        .check(
            request["kode_unik"].as_str().unwrap(),
            Some(serde_json::from_value(request["order"].clone()).unwrap()),
        )
        .await;
    assert_eq!(reply.outcome, Outcome::Matched, "{reply:?}");
    assert_eq!(reply.order_id, Some(order));
    let verification = reply.verification_id.expect("the verification's id");

    // order.verified is on the stream once, from the mailer, as the bridge's actor.
    let verified = world.events("order.verified").await;
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].order_id, order);
    assert_eq!(verified[0].actor, "n8n");
    assert!(matches!(
        &verified[0].kind,
        EventKind::OrderVerified(v) if v.verification_id == verification
    ));

    // The projection applies order.verified and closes the code: it works once.
    world.wait_for_state(order, "closed").await;
    let again = world.check(&code, Some(OrderRef::Id(order))).await;
    assert_eq!(again.outcome, Outcome::NotFound);
    assert_eq!(world.events("order.verified").await.len(), 1);

    // By id, on another order.
    let (second, second_code) = world.order_with_code(Uuid::now_v7()).await;
    let reply = world.check(&second_code, Some(OrderRef::Id(second))).await;
    assert_eq!(reply.outcome, Outcome::Matched);
    assert_eq!(reply.order_id, Some(second));
    assert_eq!(world.events("order.verified").await.len(), 2);

    mailer.stop().await;
    world.cleanup().await;
}

#[tokio::test]
async fn five_wrong_codes_lock_the_code_for_good() {
    let world = World::new().await;
    let mailer = Mailer::start(world.settings()).await;
    let (order, code) = world.order_with_code(Uuid::now_v7()).await;
    let named = Some(OrderRef::Reference(Reference::of(order)));

    for n in 1..=4 {
        let reply = world.check(&wrong(&code, n), named.clone()).await;
        assert_eq!(reply.outcome, Outcome::NotFound, "wrong code {n}");
        assert_eq!(world.attempts_of(order).await, n as i32);
    }
    // Malformed input is a wrong code too.
    let reply = world.check("??", Some(OrderRef::Id(order))).await;
    assert_eq!(
        reply.outcome,
        Outcome::Locked,
        "the fifth wrong code locks it"
    );
    assert_eq!(world.attempts_of(order).await, 5);

    let reply = world.check(&code, Some(OrderRef::Id(order))).await;
    assert_eq!(reply.outcome, Outcome::Locked, "even the right code");
    let reply = world.check(&code, named).await;
    assert_eq!(reply.outcome, Outcome::Locked);
    assert_eq!(
        world.attempts_of(order).await,
        5,
        "a locked code counts no more"
    );
    assert!(world.events("order.verified").await.is_empty());

    mailer.stop().await;
    world.cleanup().await;
}

#[tokio::test]
async fn orders_sharing_a_reference_are_each_tested_and_each_count_the_attempt() {
    let world = World::new().await;
    let mailer = Mailer::start(world.settings()).await;
    let shared = 0x3f9a_0c12;
    let (a, a_code) = world.order_with_code(id_with_reference(shared)).await;
    let (b, b_code) = world.order_with_code(id_with_reference(shared)).await;
    assert_eq!(Reference::of(a), Reference::of(b));
    let named = Some(OrderRef::Reference(Reference::of(a)));

    let guess = (0..)
        .map(|n| wrong(&a_code, n))
        .find(|g| *g != b_code)
        .unwrap();
    let reply = world.check(&guess, named.clone()).await;
    assert_eq!(reply.outcome, Outcome::NotFound);
    assert_eq!(world.attempts_of(a).await, 1);
    assert_eq!(world.attempts_of(b).await, 1);

    let reply = world.check(&b_code, named).await;
    assert_eq!(reply.outcome, Outcome::Matched);
    assert_eq!(reply.order_id, Some(b));
    let verified = world.events("order.verified").await;
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].order_id, b);
    assert_eq!(world.state_of(a).await.as_deref(), Some("sent"));

    mailer.stop().await;
    world.cleanup().await;
}

/// Waits until the current budget window (the database's clock) has at least `room` left.
async fn fresh_window(world: &World, length: Duration, room: Duration) -> Window {
    loop {
        let now: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
            .fetch_one(&world.db)
            .await
            .unwrap();
        let window = Window::containing(now, length);
        let left = (window.end - now).to_std().unwrap_or_default();
        if left >= room {
            return window;
        }
        tokio::time::sleep(left + Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_failure_budget_holds_exactly_across_two_replicas() {
    let world = World::new().await;
    let window = Duration::from_secs(30);
    let mut settings = world.settings();
    settings.check.failure_budget = 7;
    settings.check.window = window;
    let first = Mailer::start(settings.clone()).await;
    let second = Mailer::start(settings).await;
    let (order, code) = world.order_with_code(Uuid::now_v7()).await;
    // Four other orders take the guesses, five each: none can be guessed past its limit, so
    // every check that runs counts one attempt.
    let mut victims = Vec::new();
    for _ in 0..4 {
        victims.push(world.order_with_code(Uuid::now_v7()).await);
    }

    let current = fresh_window(&world, window, Duration::from_secs(22)).await;
    // 20 wrong guesses at once, against both replicas (the queue group spreads them).
    let shared = &world;
    let guesses = (0..20).map(|n| {
        let (victim, victim_code) = &victims[n % 4];
        let guess = wrong(victim_code, n);
        let named = Some(OrderRef::Id(*victim));
        async move { shared.check(&guess, named).await }
    });
    let replies = futures::future::join_all(guesses).await;
    let count = |o: Outcome| replies.iter().filter(|r| r.outcome == o).count();
    let failed = count(Outcome::NotFound) + count(Outcome::Locked);
    assert_eq!(failed, 7, "{replies:?}");
    assert_eq!(count(Outcome::Throttled), 13, "{replies:?}");
    for r in replies.iter().filter(|r| r.outcome == Outcome::Throttled) {
        let after = r.retry_after_secs.expect("Retry-After");
        assert!((1..=30).contains(&after), "{after}");
    }
    let counted: i32 =
        sqlx::query_scalar("SELECT failures FROM mailer.check_budget WHERE window_start = $1")
            .bind(current.start)
            .fetch_one(&world.db)
            .await
            .unwrap();
    assert_eq!(counted, 7);
    let mut attempts = 0;
    for (victim, _) in &victims {
        attempts += world.attempts_of(*victim).await;
    }
    assert_eq!(attempts, 7, "only the checks that ran counted attempts");
    assert_eq!(world.attempts_of(order).await, 0);

    // The right code is throttled too, without being looked at, until the window ends.
    let reply = world.check(&code, Some(OrderRef::Id(order))).await;
    assert_eq!(reply.outcome, Outcome::Throttled);
    let after = reply.retry_after_secs.unwrap();
    assert!(world.events("order.verified").await.is_empty());
    assert_eq!(world.state_of(order).await.as_deref(), Some("sent"));

    tokio::time::sleep(Duration::from_secs(after) + Duration::from_millis(200)).await;
    let reply = world.check(&code, Some(OrderRef::Id(order))).await;
    assert_eq!(reply.outcome, Outcome::Matched, "a new window");
    // The old window's row is gone; the new one counts nothing for a match.
    let windows: Vec<(chrono::DateTime<chrono::Utc>, i32)> =
        sqlx::query_as("SELECT window_start, failures FROM mailer.check_budget")
            .fetch_all(&world.db)
            .await
            .unwrap();
    assert_eq!(windows.len(), 1, "{windows:?}");
    assert!(windows[0].0 > current.start);
    assert_eq!(windows[0].1, 0);

    first.stop().await;
    second.stop().await;
    world.cleanup().await;
}

#[tokio::test]
async fn code_only_checks_have_a_budget_of_their_own() {
    let world = World::new().await;
    let mut settings = world.settings();
    settings.check.code_only_budget = 2;
    let mailer = Mailer::start(settings).await;
    let (a, a_code) = world.order_with_code(Uuid::now_v7()).await;
    let (b, b_code) = world.order_with_code(Uuid::now_v7()).await;

    let reply = world.check(&wrong(&a_code, 3), None).await;
    assert_eq!(reply.outcome, Outcome::NotFound);
    assert_eq!(world.attempts_of(a).await, 0, "a code alone names no order");
    let reply = world.check(&a_code, None).await;
    assert_eq!(reply.outcome, Outcome::Matched);
    assert_eq!(reply.order_id, Some(a));

    // Spent: the right code alone is throttled; a check that names its order is not.
    let reply = world.check(&b_code, None).await;
    assert_eq!(reply.outcome, Outcome::Throttled);
    assert!(
        reply
            .retry_after_secs
            .is_some_and(|s| (1..=3600).contains(&s))
    );
    let reply = world.check(&b_code, Some(OrderRef::Id(b))).await;
    assert_eq!(reply.outcome, Outcome::Matched);

    let (code_only, failures): (i32, i32) =
        sqlx::query_as("SELECT code_only, failures FROM mailer.check_budget")
            .fetch_one(&world.db)
            .await
            .unwrap();
    assert_eq!(
        (code_only, failures),
        (2, 1),
        "the wrong code-only check is a failure"
    );
    let verified = world.events("order.verified").await;
    assert_eq!(
        verified.iter().map(|e| e.order_id).collect::<Vec<_>>(),
        [a, b]
    );

    mailer.stop().await;
    world.cleanup().await;
}

#[tokio::test]
async fn a_check_waits_for_the_order_verified_puback_and_a_failed_publish_changes_nothing() {
    let world = World::new().await;
    let mailer = Mailer::start(world.settings()).await;
    let (order, code) = world.order_with_code(Uuid::now_v7()).await;

    // While the stream does not take order.verified, the event cannot be stored: the check is
    // unavailable, and the code stays as it was (no attempt, no failure counted).
    let js = world.bus.jetstream();
    let mut stream = js.get_stream(&world.env.bus.stream).await.unwrap();
    let config = stream.info().await.unwrap().config.clone();
    let prefix = &world.env.bus.prefix;
    let mut narrowed = config.clone();
    narrowed.subjects = [
        "order.created",
        "order.deleted",
        "order.expired",
        "verification.>",
    ]
    .iter()
    .map(|s| format!("{prefix}{s}"))
    .collect();
    js.update_stream(narrowed).await.unwrap();
    let reply = world.check(&code, Some(OrderRef::Id(order))).await;
    assert_eq!(reply.outcome, Outcome::Unavailable, "{reply:?}");
    assert_eq!(world.state_of(order).await.as_deref(), Some("sent"));
    assert_eq!(world.attempts_of(order).await, 0);
    let failures: i32 = sqlx::query_scalar("SELECT failures FROM mailer.check_budget")
        .fetch_one(&world.db)
        .await
        .unwrap();
    assert_eq!(failures, 0, "the reserved failure was given back");

    // The stream takes it again: the same code matches, once.
    js.update_stream(config).await.unwrap();
    let reply = world.check(&code, Some(OrderRef::Id(order))).await;
    assert_eq!(reply.outcome, Outcome::Matched);
    assert_eq!(reply.order_id, Some(order));
    assert_eq!(world.events("order.verified").await.len(), 1);

    mailer.stop().await;
    world.cleanup().await;
}
