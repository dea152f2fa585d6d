//! The one-time migration of a stream recorded before sealing (`order-intake reseal`), on a
//! stream of old plaintext events published as the old release did.

use async_nats::jetstream::consumer::pull;
use gadai_bus::Bus;
use gadai_events::{
    CustomerErased, ErasureBasis, Event, EventKind, HandoffOpened, IdempotencyRef, OrderCreated,
    OrderDeleted, VerificationRequested, VerificationSent,
};
use gadai_privacy::{
    KeyState, Keys, SubjectId,
    personal::{HandoffPersonal, OrderPersonal, Personal, open_handoff, open_order, seal_order},
};
use gadai_test_support::TestEnv;
use order_intake::{Application, reseal};
use uuid::Uuid;

use crate::helpers::*;

const SITI: (&str, &str) = ("Sitiwati Lama", "sitiwati.lama@example.co.id");
const BUDI: (&str, &str) = ("Budiman Lama", "budiman.lama@example.com");
const RINA: (&str, &str) = ("Rinawati Terhapus", "rinawati.terhapus@example.com");

fn created(who: (&str, &str), item: &str, key: &str) -> OrderCreated {
    OrderCreated {
        nama_customer: who.0.into(),
        email: who.1.into(),
        nama_barang: item.into(),
        jenis_barang: "laptop".into(),
        jumlah_barang: 1,
        estimasi_nilai_barang: 7_500_000,
        wilayah: "Jawa Barat".into(),
        id_percakapan: Some(format!("chat-{key}")),
        idempotency: Some(IdempotencyRef {
            key: key.into(),
            fingerprint: "0".repeat(64),
            index: 0,
            count: 1,
        }),
        subject: None,
    }
}

/// Every plaintext the old events carried.
const PLAINTEXT: [&str; 11] = [
    SITI.0,
    SITI.1,
    BUDI.0,
    BUDI.1,
    RINA.0,
    RINA.1,
    "Laptop kantor Sitiwati",
    "Kamera Sitiwati",
    "Laptop Rinawati",
    "chat-key:legacy-1",
    "Ingin bicara dengan petugas soal taksiran",
];

#[tokio::test]
async fn old_plaintext_events_are_resealed_into_a_new_stream_in_the_same_order() {
    let env = TestEnv::new().await.unwrap();
    let bus = Bus::connect(env.bus.clone(), "test").await.unwrap();
    bus.ensure_stream().await.unwrap();
    let (o1, o3, o4, o5) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let old_events = vec![
        Event::new(
            o1,
            "n8n",
            EventKind::OrderCreated(created(SITI, "Laptop kantor Sitiwati", "key:legacy-1")),
        ),
        Event::new(
            o1,
            "op-1",
            EventKind::VerificationRequested(VerificationRequested::numbered(0)),
        ),
        Event::new(
            o1,
            "system",
            EventKind::VerificationSent(VerificationSent {
                verification_id: Uuid::new_v4(),
                expires_at: chrono::Utc::now(),
            }),
        ),
        Event::new(
            o1,
            "n8n",
            EventKind::HandoffOpened(HandoffOpened {
                handoff_id: Uuid::new_v4(),
                id_percakapan: "chat-budiman".into(),
                nama_customer: BUDI.0.into(),
                email: BUDI.1.into(),
                referensi: None,
                ringkasan: "Ingin bicara dengan petugas soal taksiran".into(),
                subject: None,
            }),
        ),
        Event::new(
            o3,
            "n8n",
            EventKind::OrderCreated(created(RINA, "Laptop Rinawati", "key:legacy-3")),
        ),
        Event::new(
            o4,
            "n8n",
            EventKind::OrderCreated(created(SITI, "Kamera Sitiwati", "key:legacy-4")),
        ),
    ];
    for event in &old_events {
        bus.publish(event).await.unwrap();
    }
    // A message that is no event of ours (seq 7), an erasure of Rina, who has no key (seq 8: an
    // admin erased her after this release, before the migration), an order sealed by this
    // release (seq 9), and a deletion (seq 10).
    bus.jetstream()
        .publish_with_headers(
            bus.subject("order.created"),
            {
                let mut h = async_nats::HeaderMap::new();
                h.insert("Nats-Msg-Id", "junk-1");
                h
            },
            "{not an event".into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let rina = subject_of(RINA.1);
    let erased = Event::new(
        Uuid::nil(),
        "admin-1",
        EventKind::CustomerErased(CustomerErased {
            subject: rina.as_str().into(),
            generation: 0,
            dasar: ErasureBasis::Permintaan,
            alasan: "DPO-2025-040".into(),
        }),
    );
    bus.publish(&erased).await.unwrap();
    let budi = subject_of(BUDI.1);
    // The key store as this release made it: its schema migrated by a first start.
    let pool = Application::build(settings(&env, env.bus.clone()))
        .await
        .unwrap()
        .pool()
        .clone();
    let keys = key_store(&pool);
    let mut sealed = created(BUDI, "Tablet Budiman", "key:new-5");
    seal_order(&keys.key_for(&budi).await.unwrap(), &budi, &mut sealed);
    bus.publish(&Event::new(o5, "n8n", EventKind::OrderCreated(sealed)))
        .await
        .unwrap();
    bus.publish(&Event::new(
        o1,
        "op-1",
        EventKind::OrderDeleted(OrderDeleted { reason: None }),
    ))
    .await
    .unwrap();
    // A consumer of the old release on the old stream (the services' durable ones).
    let old_stream = bus.jetstream().get_stream(&env.bus.stream).await.unwrap();
    old_stream
        .create_consumer(pull::Config {
            durable_name: Some("order-intake".into()),
            filter_subject: bus.subject("order.created"),
            ..Default::default()
        })
        .await
        .unwrap();

    let from = env.bus.stream.clone();
    let to = format!("{from}_V2");
    let report = reseal::reseal(&settings(&env, env.bus.clone()), &from, &to)
        .await
        .unwrap();
    assert_eq!(
        report,
        reseal::ResealReport {
            read: 10,
            copied: 10,
            sealed: 3,
            sealed_erased: 1,
            undecodable: 1,
            duplicates: vec![],
            last_sequence: 10,
        }
    );

    let old = raw_messages(&env.bus.url, &from).await;
    let new = raw_messages(&env.bus.url, &to).await;
    assert_eq!(old.len(), 10, "the old stream keeps its messages");
    assert_eq!(new.len(), old.len());
    for (o, n) in old.iter().zip(&new) {
        assert_eq!(n.sequence, o.sequence);
        assert_eq!(n.subject, o.subject);
        assert_eq!(
            n.headers.get("Nats-Msg-Id").map(|v| v.as_str()),
            o.headers.get("Nats-Msg-Id").map(|v| v.as_str())
        );
        let body = String::from_utf8_lossy(&n.payload);
        for plain in PLAINTEXT {
            assert!(!body.contains(plain), "{plain:?} in {body}");
        }
        let (Ok(o), Ok(n)) = (
            serde_json::from_slice::<serde_json::Value>(&o.payload),
            serde_json::from_slice::<serde_json::Value>(&n.payload),
        ) else {
            assert_eq!(
                n.payload, o.payload,
                "what is not an event is copied as it was"
            );
            continue;
        };
        for field in ["id", "type", "version", "occurred_at", "order_id", "actor"] {
            assert_eq!(n[field], o[field], "{field}");
        }
    }
    // What carried nothing personal, or was sealed already, is byte for byte the same.
    for seq in [2, 3, 7, 8, 9, 10] {
        assert_eq!(new[seq - 1].payload, old[seq - 1].payload, "sequence {seq}");
    }

    // The old personal fields open with the key store's keys; Rina's stay erased.
    let siti = subject_of(SITI.1);
    let mut held = Keys::default();
    for s in [&siti, &budi] {
        held.insert(
            s.clone(),
            KeyState::Live(keys.find(s).await.unwrap().unwrap()),
        );
    }
    let event = |seq: usize| {
        let type_name = bus.type_of(&new[seq - 1].subject).unwrap().to_owned();
        Event::decode_from(&type_name, &new[seq - 1].payload).unwrap()
    };
    let order = |seq: usize| match event(seq).kind {
        EventKind::OrderCreated(o) => o,
        other => panic!("{other:?}"),
    };
    for (seq, item, key) in [
        (1, "Laptop kantor Sitiwati", "key:legacy-1"),
        (6, "Kamera Sitiwati", "key:legacy-4"),
    ] {
        let sealed = order(seq);
        assert_eq!(sealed.subject.as_deref(), Some(siti.as_str()));
        assert_eq!(sealed.jenis_barang, "laptop", "statistics stay readable");
        assert_eq!(
            open_order(&held, &sealed).unwrap(),
            Personal::Readable(OrderPersonal {
                nama_customer: SITI.0.into(),
                email: SITI.1.into(),
                nama_barang: item.into(),
                id_percakapan: Some(format!("chat-{key}")),
            })
        );
    }
    let EventKind::HandoffOpened(handoff) = event(4).kind else {
        panic!("a hand-off");
    };
    assert_eq!(
        open_handoff(&held, &handoff).unwrap(),
        Personal::Readable(HandoffPersonal {
            id_percakapan: "chat-budiman".into(),
            nama_customer: BUDI.0.into(),
            email: BUDI.1.into(),
            ringkasan: "Ingin bicara dengan petugas soal taksiran".into(),
        })
    );
    let rinas = order(5);
    let sealed_for = SubjectId::parse(rinas.subject.as_deref().unwrap()).unwrap();
    assert_ne!(sealed_for, rina, "sealed for nobody");
    assert!(matches!(
        keys.held(std::slice::from_ref(&sealed_for)).await.unwrap()[0],
        gadai_privacy::Held::Unknown
    ));
    assert!(
        keys.find(&rina).await.unwrap().is_none(),
        "no key was made for Rina"
    );
    assert_eq!(open_order(&held, &rinas).unwrap(), Personal::Erased);

    // The old stream gave its subjects up to the new one.
    let js = bus.jetstream();
    let old_config = js
        .get_stream(&from)
        .await
        .unwrap()
        .cached_info()
        .config
        .clone();
    assert_eq!(
        old_config.subjects,
        [bus.subject(&format!("retired.{from}"))]
    );
    let new_config = js
        .get_stream(&to)
        .await
        .unwrap()
        .cached_info()
        .config
        .clone();
    assert_eq!(new_config.subjects, bus.stream_subjects());
    assert_eq!(new_config.max_age, old_config.max_age);
    assert_eq!(new_config.duplicate_window, old_config.duplicate_window);

    // Run again: it refuses and changes nothing.
    let again = reseal::reseal(&settings(&env, env.bus.clone()), &from, &to).await;
    let err = again.unwrap_err().to_string();
    assert!(err.contains("already holds 10 messages"), "{err}");
    assert_eq!(raw_messages(&env.bus.url, &to).await.len(), 10);

    // The service on the new stream: its rebuild indexes the old orders with the new sequences.
    let mut moved = env.bus.clone();
    moved.stream = to.clone();
    let rebuilt = Application::rebuild(settings(&env, moved), true)
        .await
        .unwrap();
    assert_eq!(rebuilt.last_sequence, 10);
    let indexed: Vec<(String, i64)> =
        sqlx::query_as("SELECT key, seq FROM idempotency_keys ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        indexed,
        [
            ("key:legacy-1".to_owned(), 1),
            ("key:legacy-3".to_owned(), 5),
            ("key:legacy-4".to_owned(), 6),
            ("key:new-5".to_owned(), 9),
        ]
    );

    let _ = js.delete_stream(&to).await;
    env.cleanup().await;
}

#[tokio::test]
async fn a_message_id_the_old_stream_holds_twice_is_copied_once() {
    let env = TestEnv::new().await.unwrap();
    let mut short = env.bus.clone();
    short.duplicate_window = std::time::Duration::from_secs(1);
    let bus = Bus::connect(short.clone(), "test").await.unwrap();
    bus.ensure_stream().await.unwrap();
    let deleted = Event::new(
        Uuid::now_v7(),
        "op-1",
        EventKind::OrderDeleted(OrderDeleted { reason: None }),
    );
    // Published again after the duplicate window: the old stream stored it twice.
    bus.publish(&deleted).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(!bus.publish(&deleted).await.unwrap().duplicate);
    bus.publish(&Event::new(
        Uuid::now_v7(),
        "n8n",
        EventKind::OrderCreated(created(SITI, "Laptop kantor Sitiwati", "key:legacy-1")),
    ))
    .await
    .unwrap();

    let to = format!("{}_V2", short.stream);
    let report = reseal::reseal(&settings(&env, short.clone()), &short.stream, &to)
        .await
        .unwrap();
    assert_eq!(report.read, 3);
    assert_eq!(report.duplicates, [2]);
    assert_eq!(
        (report.copied, report.sealed, report.last_sequence),
        (2, 1, 2)
    );
    let new = raw_messages(&env.bus.url, &to).await;
    assert_eq!(new[0].payload, deleted.encode().as_slice());
    let envelope: serde_json::Value = serde_json::from_slice(&new[1].payload).unwrap();
    assert_eq!(
        new[1].headers.get("Nats-Msg-Id").unwrap().as_str(),
        format!("order.created:{}", envelope["order_id"].as_str().unwrap())
    );
    assert!(envelope["data"]["subject"].is_string(), "sealed");
    let _ = bus.jetstream().delete_stream(&to).await;
    env.cleanup().await;
}
