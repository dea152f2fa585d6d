//! Retention: customers whose every order and hand-off closed more than `RETENTION_PERIOD` ago
//! are erased (`customer.erased`, basis `retensi`), once, whatever the number of replicas.
//!
//! Events are published with an `occurred_at` in the past, and rounds are run by hand once the
//! projection has applied them: no test waits for a period or for a timer. The service's own
//! rounds are off (`helpers::settings`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use dashboard_api::{
    config::DEFAULT_RETENTION_PERIOD, read_model::retention::RETENTION_LOCK, retention::Retention,
};
use gadai_bus::Bus;
use gadai_events::*;
use gadai_privacy::personal::{seal_handoff, seal_order};
use gadai_test_support::TestEnv;
use uuid::Uuid;

use crate::helpers::{
    KeyServer, TestApp, key_server, settings, spawn_in, spawn_in_with, subject_of,
};

fn days(n: i64) -> chrono::Duration {
    chrono::Duration::days(n)
}

fn subject(email: &str) -> String {
    subject_of(email).as_str().to_owned()
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

/// `order.created` of `email`, sealed under the customer's current key (made on first use).
async fn sealed_order(keys: &KeyServer, email: &str) -> EventKind {
    let mut o = order(email);
    let key = keys.store.key_for(&subject_of(email)).await.unwrap();
    seal_order(&key, &subject_of(email), &mut o);
    EventKind::OrderCreated(o)
}

async fn sealed_handoff(keys: &KeyServer, id: Uuid, email: &str) -> EventKind {
    let mut h = HandoffOpened {
        handoff_id: id,
        id_percakapan: "chat-2".into(),
        nama_customer: "Siti Rahma".into(),
        email: email.into(),
        referensi: None,
        ringkasan: "Ingin bicara dengan petugas".into(),
        subject: None,
    };
    let key = keys.store.key_for(&subject_of(email)).await.unwrap();
    seal_handoff(&key, &subject_of(email), &mut h);
    EventKind::HandoffOpened(h)
}

fn verified() -> EventKind {
    EventKind::OrderVerified(OrderVerified {
        verification_id: Uuid::now_v7(),
    })
}

fn expired(verification_id: Uuid) -> EventKind {
    EventKind::OrderExpired(OrderExpired { verification_id })
}

fn deleted() -> EventKind {
    EventKind::OrderDeleted(OrderDeleted { reason: None })
}

/// How an order ends in these tests.
enum Close {
    Verified,
    Expired,
    Deleted,
}

impl TestApp {
    /// Publishes `kind` for `order` as if it happened at `at`.
    async fn publish_at(&self, order: Uuid, kind: EventKind, at: DateTime<Utc>) {
        let mut event = Event::new(order, "test", kind);
        event.occurred_at = at;
        self.bus.publish(&event).await.unwrap();
    }

    /// An order of `email` (sealed under their current key) created at `created` and, when
    /// `close` is given, closed then that way (an expiry after a code mailed for it).
    async fn order_of(
        &self,
        keys: &KeyServer,
        email: &str,
        created: DateTime<Utc>,
        close: Option<(Close, DateTime<Utc>)>,
    ) -> Uuid {
        let id = Uuid::now_v7();
        self.publish_at(id, sealed_order(keys, email).await, created)
            .await;
        match close {
            Some((Close::Verified, at)) => self.publish_at(id, verified(), at).await,
            Some((Close::Deleted, at)) => self.publish_at(id, deleted(), at).await,
            Some((Close::Expired, at)) => {
                let code = Uuid::now_v7();
                let sent = EventKind::VerificationSent(VerificationSent {
                    verification_id: code,
                    expires_at: at,
                });
                self.publish_at(id, sent, at - days(1)).await;
                self.publish_at(id, expired(code), at).await;
            }
            None => {}
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
}

#[tokio::test]
async fn customers_whose_every_item_closed_longer_ago_than_the_period_are_erased_once() {
    let env = TestEnv::new().await.unwrap();
    let keys = key_server(&env).await;
    let app = spawn_in(env).await;
    let now = Utc::now();
    let long_ago = now - days(400);

    // A: an order verified and a hand-off contacted, both 400 days ago.
    let a = "ani@example.co.id";
    app.order_of(
        &keys,
        a,
        long_ago - days(3),
        Some((Close::Verified, long_ago)),
    )
    .await;
    let handoff_a = Uuid::now_v7();
    let opened = sealed_handoff(&keys, handoff_a, a).await;
    app.publish_at(Uuid::nil(), opened, long_ago - days(1))
        .await;
    let closed = EventKind::HandoffClosed(HandoffClosed {
        handoff_id: handoff_a,
    });
    app.publish_at(Uuid::nil(), closed, long_ago).await;
    // B: an order expired 400 days ago, another deleted 10 days ago.
    let b = "budi@example.co.id";
    app.order_of(
        &keys,
        b,
        long_ago - days(2),
        Some((Close::Expired, long_ago)),
    )
    .await;
    app.order_of(
        &keys,
        b,
        now - days(12),
        Some((Close::Deleted, now - days(10))),
    )
    .await;
    // C: a hand-off opened 400 days ago, never contacted.
    let c = "citra@example.co.id";
    let opened = sealed_handoff(&keys, Uuid::now_v7(), c).await;
    app.publish_at(Uuid::nil(), opened, long_ago).await;
    // D: an order verified 400 days ago and one still open from yesterday.
    let d = "dewi@example.co.id";
    app.order_of(&keys, d, long_ago, Some((Close::Verified, long_ago)))
        .await;
    app.order_of(&keys, d, now - days(1), None).await;
    // E: erased on request with an order still open, came back with a new key, and that order
    // was deleted 400 days ago: the open order of the erased key does not hold them back.
    let e = "eko@example.co.id";
    app.order_of(&keys, e, now - days(600), None).await;
    let on_request = EventKind::CustomerErased(CustomerErased {
        subject: subject(e),
        generation: 1,
        dasar: ErasureBasis::Permintaan,
        alasan: "DPO-2025-014".into(),
    });
    app.publish_at(Uuid::nil(), on_request, now - days(500))
        .await;
    // As order-intake does on the erasure: the key goes, the next order makes generation 2.
    keys.store
        .erase(&subject_of(e), "DPO-2025-014")
        .await
        .unwrap();
    app.order_of(
        &keys,
        e,
        long_ago - days(1),
        Some((Close::Deleted, long_ago)),
    )
    .await;
    // F: an order recorded before sealing (plaintext, the dashboard finds its customer), closed
    // 400 days ago: no key to erase; the one-time reseal gives it one.
    let f = "lama@example.co.id";
    let legacy = Uuid::now_v7();
    app.publish_at(legacy, EventKind::OrderCreated(order(f)), long_ago)
        .await;
    app.publish_at(legacy, verified(), long_ago).await;
    app.caught_up().await;

    let retention = app.retention(app.bus.clone(), Some(DEFAULT_RETENTION_PERIOD));
    assert_eq!(retention.round(now).await.unwrap(), 2);
    let mut want = vec![(subject(a), 1), (subject(e), 1), (subject(e), 2)];
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

    // Once the erasures are applied, the dashboard shows them, and nothing is erased again.
    app.caught_up().await;
    let log = app.get_json("/dashboard/admin/erasures").await;
    let retensi = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["dasar"] == "retensi")
        .count();
    assert_eq!(retensi, 2, "{log:#}");
    for _ in 0..2 {
        assert_eq!(retention.round(now).await.unwrap(), 0);
        app.caught_up().await;
    }
    assert_eq!(app.erased().await.len(), 3);

    // A year on, B's last order has been closed for the period too; C and D still have open
    // items, F still has no key.
    assert_eq!(retention.round(now + days(400)).await.unwrap(), 1);
    let erased = app.erased().await;
    assert!(erased.contains(&(subject(b), 1)), "{erased:?}");
    assert_eq!(erased.len(), 4);
    app.stop().await;
}

#[tokio::test]
async fn two_replicas_erase_each_customer_once() {
    let env = TestEnv::new().await.unwrap();
    let keys = key_server(&env).await;
    let app = spawn_in(env).await;
    let now = Utc::now();
    let customers: Vec<String> = (0..8).map(|i| format!("c{i}@example.co.id")).collect();
    for c in &customers {
        let closed = Some((Close::Verified, now - days(400)));
        app.order_of(&keys, c, now - days(401), closed).await;
    }
    app.caught_up().await;
    let other_bus = Bus::connect(app.env.bus.clone(), "other").await.unwrap();
    let first = app.retention(app.bus.clone(), Some(DEFAULT_RETENTION_PERIOD));
    let second = app.retention(other_bus, Some(DEFAULT_RETENTION_PERIOD));

    // While another replica holds the round's lock, a round does nothing.
    let mut elsewhere = app.pool.begin().await.unwrap();
    assert!(
        gadai_store::try_lead(&mut elsewhere, RETENTION_LOCK)
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
    let mut want: Vec<(String, u32)> = customers.iter().map(|c| (subject(c), 1)).collect();
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
    let keys = key_server(&env).await;
    let mut off = settings(&env);
    off.retention_period = dashboard_api::config::retention_period(Some("off")).unwrap();
    assert_eq!(off.retention_period, None);
    let app = spawn_in_with(env, off).await;
    let now = Utc::now();
    let customer = "fajar@example.co.id";
    let closed = Some((Close::Expired, now - days(800)));
    app.order_of(&keys, customer, now - days(801), closed).await;
    app.caught_up().await;

    let disabled = app.retention(app.bus.clone(), None);
    assert_eq!(disabled.round(now).await.unwrap(), 0);
    assert_eq!(disabled.round(now + days(3650)).await.unwrap(), 0);
    assert!(app.erased().await.is_empty());
    // The same customer with retention on: erased (what "off" prevented).
    let on = app.retention(app.bus.clone(), Some(DEFAULT_RETENTION_PERIOD));
    assert_eq!(on.round(now).await.unwrap(), 1);
    assert_eq!(app.erased().await, [(subject(customer), 1)]);
    app.stop().await;
}
