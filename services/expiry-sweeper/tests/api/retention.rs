//! Retention: customers whose every order and hand-off closed more than `RETENTION_PERIOD` ago
//! are erased (`customer.erased`, basis `retensi`), once, whatever the number of replicas.
//!
//! Events are published with an `occurred_at` in the past, and rounds are run by hand once the
//! projection has applied them: no test waits for a period or for a timer.

use std::time::Duration;

use chrono::{DateTime, Utc};
use expiry_sweeper::{config::DEFAULT_RETENTION_PERIOD, retention::Retention};
use gadai_bus::Bus;
use gadai_events::*;
use gadai_privacy::{
    DataKey, SubjectId, SubjectKey,
    personal::{seal_handoff, seal_order},
};
use gadai_runtime::consume::{Delivered, Sink, Stored};
use gadai_test_support::{PII_SUBJECT_KEY, TestEnv};
use uuid::Uuid;

use crate::{TestApp, settings, spawn, spawn_with};

fn days(n: i64) -> chrono::Duration {
    chrono::Duration::days(n)
}

fn subject(email: &str) -> SubjectId {
    SubjectKey::new(PII_SUBJECT_KEY.as_bytes())
        .unwrap()
        .subject_of(email)
}

fn order(email: &str) -> OrderCreated {
    OrderCreated {
        nama_customer: "Siti Rahma".into(),
        email: email.into(),
        nama_barang: "Cincin emas".into(),
        jenis_barang: "emas".into(),
        jumlah_barang: 5,
        estimasi_nilai_barang: 4_000_000,
        wilayah: "Depok".into(),
        id_percakapan: Some("chat-1".into()),
        idempotency: None,
        subject: None,
    }
}

/// `order.created` of `email`, sealed under a key of `generation`.
fn sealed_order(email: &str, generation: u32) -> EventKind {
    let mut o = order(email);
    seal_order(&DataKey::generate(generation), &subject(email), &mut o);
    EventKind::OrderCreated(o)
}

fn sealed_handoff(id: Uuid, email: &str, generation: u32) -> EventKind {
    let mut h = HandoffOpened {
        handoff_id: id,
        id_percakapan: "chat-2".into(),
        nama_customer: "Siti Rahma".into(),
        email: email.into(),
        referensi: None,
        ringkasan: "Ingin bicara dengan petugas".into(),
        subject: None,
    };
    seal_handoff(&DataKey::generate(generation), &subject(email), &mut h);
    EventKind::HandoffOpened(h)
}

/// The sweeper's projection over `app`'s database, to apply batches by hand.
fn projection_of(app: &TestApp) -> Stored<expiry_sweeper::projection::Verifications> {
    Stored {
        pool: app.pool.clone(),
        schema: "sweeper".into(),
        projection: expiry_sweeper::projection::Verifications,
    }
}

fn verified() -> EventKind {
    EventKind::OrderVerified(OrderVerified {
        verification_id: Uuid::now_v7(),
    })
}

fn expired() -> EventKind {
    EventKind::OrderExpired(OrderExpired {
        verification_id: Uuid::now_v7(),
    })
}

fn deleted() -> EventKind {
    EventKind::OrderDeleted(OrderDeleted { reason: None })
}

impl TestApp {
    /// Publishes `kind` for `order` as if it happened at `at`.
    async fn publish_at(&self, order: Uuid, kind: EventKind, at: DateTime<Utc>) {
        let mut event = Event::new(order, "test", kind);
        event.occurred_at = at;
        self.bus.publish(&event).await.unwrap();
    }

    /// An order of `email` created at `created` and, when `closed` is given, closed then by
    /// `close`.
    async fn order_of(
        &self,
        email: &str,
        generation: u32,
        created: DateTime<Utc>,
        close: Option<(EventKind, DateTime<Utc>)>,
    ) -> Uuid {
        let id = Uuid::now_v7();
        self.publish_at(id, sealed_order(email, generation), created)
            .await;
        if let Some((kind, at)) = close {
            self.publish_at(id, kind, at).await;
        }
        id
    }

    fn retention(&self, bus: Bus, period: Option<Duration>) -> Retention {
        Retention {
            pool: self.pool.clone(),
            bus,
            period,
            interval: Duration::from_secs(3600),
            batch: 500,
        }
    }

    /// Every customer.erased on the stream.
    async fn erasures(&self) -> Vec<Event> {
        let mut stream = self
            .bus
            .jetstream()
            .get_stream(&self.env.bus.stream)
            .await
            .unwrap();
        let last = stream.info().await.unwrap().state.last_sequence;
        let subject = self.bus.subject("customer.erased");
        let mut found = Vec::new();
        for seq in 1..=last {
            let raw = stream.get_raw_message(seq).await.unwrap();
            if raw.subject.as_str() == subject {
                found.push(Event::decode_from("customer.erased", &raw.payload).unwrap());
            }
        }
        found
    }

    /// The erased subjects and generations on the stream, sorted.
    async fn erased(&self) -> Vec<(String, u32)> {
        let mut erased: Vec<(String, u32)> = self
            .erasures()
            .await
            .into_iter()
            .map(|e| match e.kind {
                EventKind::CustomerErased(c) => (c.subject, c.generation),
                other => panic!("not an erasure: {other:?}"),
            })
            .collect();
        erased.sort();
        erased
    }

    async fn items_of(&self, subject: &SubjectId) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM retention_items WHERE subject = $1")
            .bind(subject.as_str())
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn customers_whose_every_item_closed_longer_ago_than_the_period_are_erased_once() {
    let app = spawn(TestEnv::new().await.unwrap(), Duration::from_secs(3600)).await;
    let now = Utc::now();
    let long_ago = now - days(400);

    // A: an order verified and a hand-off contacted, both 400 days ago.
    let a = "ani@example.co.id";
    app.order_of(a, 1, long_ago - days(3), Some((verified(), long_ago)))
        .await;
    let handoff_a = Uuid::now_v7();
    app.publish_at(
        Uuid::nil(),
        sealed_handoff(handoff_a, a, 1),
        long_ago - days(1),
    )
    .await;
    app.publish_at(
        Uuid::nil(),
        EventKind::HandoffClosed(HandoffClosed {
            handoff_id: handoff_a,
        }),
        long_ago,
    )
    .await;
    // B: an order expired 400 days ago, another deleted 10 days ago.
    let b = "budi@example.co.id";
    app.order_of(b, 1, long_ago, Some((expired(), long_ago)))
        .await;
    app.order_of(b, 1, now - days(12), Some((deleted(), now - days(10))))
        .await;
    // C: a hand-off opened 400 days ago, never contacted.
    let c = "citra@example.co.id";
    app.publish_at(Uuid::nil(), sealed_handoff(Uuid::now_v7(), c, 1), long_ago)
        .await;
    // D: an order verified 400 days ago and one still open from yesterday.
    let d = "dewi@example.co.id";
    app.order_of(d, 1, long_ago, Some((verified(), long_ago)))
        .await;
    app.order_of(d, 1, now - days(1), None).await;
    // E: erased on request, came back with a new key, whose order was deleted 400 days ago.
    let e = "eko@example.co.id";
    app.order_of(e, 1, now - days(600), Some((verified(), now - days(600))))
        .await;
    app.publish_at(
        Uuid::nil(),
        EventKind::CustomerErased(CustomerErased {
            subject: subject(e).as_str().to_owned(),
            generation: 1,
            dasar: ErasureBasis::Permintaan,
            alasan: "DPO-2025-014".into(),
        }),
        now - days(500),
    )
    .await;
    app.order_of(e, 2, long_ago - days(1), Some((deleted(), long_ago)))
        .await;
    // An order recorded before sealing (no subject), closed 400 days ago.
    let legacy = Uuid::now_v7();
    app.publish_at(
        legacy,
        EventKind::OrderCreated(order("lama@example.co.id")),
        long_ago,
    )
    .await;
    app.publish_at(legacy, verified(), long_ago).await;
    app.caught_up().await;

    let retention = app.retention(app.bus.clone(), Some(DEFAULT_RETENTION_PERIOD));
    assert_eq!(retention.round(now).await.unwrap(), 2);
    let mut want = vec![
        (subject(a).as_str().to_owned(), 1),
        (subject(e).as_str().to_owned(), 1),
        (subject(e).as_str().to_owned(), 2),
    ];
    want.sort();
    assert_eq!(
        app.erased().await,
        want,
        "A, and E's new key (E's 1: the request)"
    );
    let by_retention: Vec<Event> = app
        .erasures()
        .await
        .into_iter()
        .filter(|ev| ev.actor == SYSTEM_ACTOR)
        .collect();
    assert_eq!(by_retention.len(), 2);
    for event in &by_retention {
        assert_eq!(event.order_id, Uuid::nil());
        let EventKind::CustomerErased(erased) = &event.kind else {
            unreachable!()
        };
        assert_eq!(erased.dasar, ErasureBasis::Retensi);
        assert_eq!(
            erased.alasan,
            "retensi: 365 hari setelah pesanan/handoff terakhir ditutup"
        );
    }
    // The legacy order is not a customer's item: its close left a row without one.
    let legacy_subject: Option<Option<String>> =
        sqlx::query_scalar("SELECT subject FROM retention_items WHERE item_id = $1")
            .bind(legacy)
            .fetch_optional(&app.pool)
            .await
            .unwrap();
    assert_eq!(legacy_subject, Some(None));

    // Once the erasures are applied, the customers are forgotten, and nothing is erased again.
    app.caught_up().await;
    assert_eq!(app.items_of(&subject(a)).await, 0);
    assert_eq!(app.items_of(&subject(e)).await, 0);
    assert_eq!(app.items_of(&subject(b)).await, 2);
    for _ in 0..2 {
        assert_eq!(retention.round(now).await.unwrap(), 0);
        app.caught_up().await;
    }
    assert_eq!(app.erased().await.len(), 3);

    // A year on, B's last order has been closed for the period too; C and D still have open
    // items.
    assert_eq!(retention.round(now + days(400)).await.unwrap(), 1);
    let erased = app.erased().await;
    assert!(
        erased.contains(&(subject(b).as_str().to_owned(), 1)),
        "{erased:?}"
    );
    assert_eq!(erased.len(), 4);
    app.stop().await;
}

#[tokio::test]
async fn two_replicas_erase_each_customer_once() {
    let app = spawn(TestEnv::new().await.unwrap(), Duration::from_secs(3600)).await;
    let now = Utc::now();
    let customers: Vec<String> = (0..8).map(|i| format!("c{i}@example.co.id")).collect();
    for c in &customers {
        app.order_of(c, 1, now - days(401), Some((verified(), now - days(400))))
            .await;
    }
    app.caught_up().await;
    let other_bus = Bus::connect(app.env.bus.clone(), "other").await.unwrap();
    let first = app.retention(app.bus.clone(), Some(DEFAULT_RETENTION_PERIOD));
    let second = app.retention(other_bus, Some(DEFAULT_RETENTION_PERIOD));

    // While another replica holds the round's lock, a round does nothing.
    let mut elsewhere = app.pool.begin().await.unwrap();
    assert!(
        expiry_sweeper::read_model::try_lead(
            &mut elsewhere,
            expiry_sweeper::read_model::RETENTION_LOCK
        )
        .await
        .unwrap()
    );
    assert_eq!(first.round(now).await.unwrap(), 0);
    assert!(app.erased().await.is_empty());
    elsewhere.rollback().await.unwrap();

    let (ra, rb) = tokio::join!(first.round(now), second.round(now));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(
        ra + rb,
        customers.len(),
        "{ra} + {rb}: each customer by one"
    );
    let mut want: Vec<(String, u32)> = customers
        .iter()
        .map(|c| (subject(c).as_str().to_owned(), 1))
        .collect();
    want.sort();
    assert_eq!(app.erased().await, want, "one customer.erased per customer");

    // More rounds of both, at the same time, after the erasures came back: nothing more.
    app.caught_up().await;
    let (ra, rb) = tokio::join!(first.round(now), second.round(now));
    assert_eq!((ra.unwrap(), rb.unwrap()), (0, 0));
    assert_eq!(app.erased().await, want);
    app.stop().await;
}

#[tokio::test]
async fn retention_off_erases_nothing() {
    let env = TestEnv::new().await.unwrap();
    let mut off = settings(&env, Duration::from_secs(3600));
    off.retention_period = expiry_sweeper::config::retention_period(Some("off")).unwrap();
    assert_eq!(off.retention_period, None);
    let app = spawn_with(off, env).await;
    let now = Utc::now();
    let customer = "fajar@example.co.id";
    app.order_of(
        customer,
        1,
        now - days(800),
        Some((expired(), now - days(800))),
    )
    .await;
    app.caught_up().await;

    let disabled = app.retention(app.bus.clone(), None);
    assert_eq!(disabled.round(now).await.unwrap(), 0);
    assert_eq!(disabled.round(now + days(3650)).await.unwrap(), 0);
    assert!(app.erased().await.is_empty());
    // The same customer with retention on: erased (what "off" prevented).
    let on = app.retention(app.bus.clone(), Some(DEFAULT_RETENTION_PERIOD));
    assert_eq!(on.round(now).await.unwrap(), 1);
    assert_eq!(app.erased().await.len(), 1);
    app.stop().await;
}

/// Replicas apply batches out of order: a close before its opening event, an opening event after
/// its customer's erasure. The rows come out as in stream order.
#[tokio::test]
async fn retention_rows_do_not_depend_on_the_order_events_are_applied_in() {
    let app = spawn(TestEnv::new().await.unwrap(), Duration::from_secs(3600)).await;
    let projection = projection_of(&app);
    let delivered = |seq: u64, order: Uuid, kind: EventKind, at: DateTime<Utc>| {
        let mut event = Event::new(order, "test", kind);
        event.occurred_at = at;
        Delivered::first(seq, event)
    };
    let now = Utc::now();
    let email = "gita@example.co.id";
    let (first, second, third) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let closed_at = now - days(400);
    let erasure = EventKind::CustomerErased(CustomerErased {
        subject: subject(email).as_str().to_owned(),
        generation: 1,
        dasar: ErasureBasis::Permintaan,
        alasan: "DPO-7".into(),
    });
    // Stream order: open 1 (seq 1), close 1 (2), close 1 again later (3), open 2 (4),
    // erasure of generation 1 (5), open 3 under generation 2 (6).
    let events = [
        delivered(3, first, deleted(), closed_at),
        delivered(2, first, verified(), closed_at - days(1)),
        delivered(1, first, sealed_order(email, 1), closed_at - days(2)),
        delivered(6, third, sealed_order(email, 2), now),
        delivered(5, Uuid::nil(), erasure, now),
        delivered(4, second, sealed_order(email, 1), closed_at),
    ];
    // The first three, out of order: one item, closed at the later close.
    for d in &events[..3] {
        projection.apply(std::slice::from_ref(d)).await.unwrap();
    }
    let row: (Option<String>, Option<i32>, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT subject, generation, closed_at FROM retention_items WHERE item_id = $1",
    )
    .bind(first)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(row.0.as_deref(), Some(subject(email).as_str()));
    assert_eq!(row.1, Some(1));
    assert_eq!(
        row.2.map(|t| t.timestamp_millis()),
        Some(closed_at.timestamp_millis())
    );
    // The rest out of order, and everything again (redelivery).
    for d in events[3..].iter().chain(&events) {
        projection.apply(std::slice::from_ref(d)).await.unwrap();
    }
    let items: Vec<(Uuid, i32)> = sqlx::query_as(
        "SELECT item_id, generation FROM retention_items WHERE subject = $1 ORDER BY item_id",
    )
    .bind(subject(email).as_str())
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(items, [(third, 2)], "generation 1 stays forgotten");
    app.stop().await;
}

/// Opening events in a row go in as one statement: within one batch, a repeated opening, an
/// erasure between openings and a late opening of an erased generation give the rows of the
/// stream order.
#[tokio::test]
async fn a_batch_of_openings_gives_the_rows_of_the_stream_order() {
    let app = spawn(TestEnv::new().await.unwrap(), Duration::from_secs(3600)).await;
    let projection = projection_of(&app);
    let (siti, tono) = ("siti@example.co.id", "tono@example.co.id");
    let [a, b, h, c, d, e] = [(); 6].map(|_| Uuid::now_v7());
    let erasure = EventKind::CustomerErased(CustomerErased {
        subject: subject(siti).as_str().to_owned(),
        generation: 1,
        dasar: ErasureBasis::Permintaan,
        alasan: "DPO-8".into(),
    });
    let batch: Vec<Delivered> = [
        (a, sealed_order(siti, 1)),
        (b, sealed_order(siti, 1)),
        (Uuid::nil(), sealed_handoff(h, siti, 1)),
        (c, sealed_order(tono, 1)),
        (c, sealed_order(tono, 1)), // a repeat: the later sequence counts
        (Uuid::nil(), erasure),
        (d, sealed_order(siti, 1)), // of an erased generation: not taken in
        (e, sealed_order(siti, 2)),
        (c, verified()),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (order, kind))| Delivered::first(i as u64 + 1, Event::new(order, "test", kind)))
    .collect();
    projection.apply(&batch).await.unwrap();

    let rows: Vec<(String, Uuid, String, i32, i64, bool)> = sqlx::query_as(
        "SELECT kind, item_id, subject, generation, opened_seq, closed_at IS NOT NULL
         FROM retention_items ORDER BY opened_seq",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let (s, t) = (subject(siti), subject(tono));
    assert_eq!(
        rows,
        [
            ("order".into(), c, t.as_str().to_owned(), 1, 5, true),
            ("order".into(), e, s.as_str().to_owned(), 2, 8, false),
        ]
    );
    app.stop().await;
}
