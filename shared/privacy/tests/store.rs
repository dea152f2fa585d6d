//! The key store against a real Postgres: a database per test (`gadai_test_support::TestEnv`),
//! the table made the way the owning service will make it (this crate's migration run by a
//! `Migrator` inside the service's schema).

use std::borrow::Cow;

use base64::{Engine, engine::general_purpose::STANDARD};
use gadai_privacy::{
    Erasure, KeyStore, MasterKeys, OpenError, StoreError, SubjectId, SubjectKey, UnwrapError,
    check_migrator, fields, open, seal,
};
use gadai_store::DbSettings;
use gadai_test_support::{TestEnv, captured_logs};
use sqlx::{
    PgPool,
    migrate::{Migration, MigrationType, Migrator},
};

/// What the owning service's `sqlx::migrate!("./migrations")` will hold once the file is copied.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

const SCHEMA: &str = "intake";
const K1: [u8; 32] = [0x11; 32];
const K2: [u8; 32] = [0x22; 32];
const K3: [u8; 32] = [0x33; 32];

fn masters(entries: &[(&str, [u8; 32])]) -> MasterKeys {
    let text = entries
        .iter()
        .map(|(id, key)| format!("{id}:{}", STANDARD.encode(key)))
        .collect::<Vec<_>>()
        .join(",");
    MasterKeys::parse(&text).unwrap()
}

fn subject(email: &str) -> SubjectId {
    SubjectKey::new(b"subject-key-for-store-tests-0123456789")
        .unwrap()
        .subject_of(email)
}

/// A fresh database with the service's schema migrated; one pool per call (a replica each).
async fn database() -> String {
    TestEnv::new().await.unwrap().database_url
}

async fn replica(url: &str) -> PgPool {
    let settings = DbSettings {
        url: url.to_owned(),
        schema: SCHEMA.to_owned(),
        max_connections: 4,
    };
    let pool = gadai_store::connect(&settings).await.unwrap();
    gadai_store::migrate(&pool, SCHEMA, &MIGRATOR)
        .await
        .unwrap();
    pool
}

async fn store(url: &str, keys: &[(&str, [u8; 32])]) -> KeyStore {
    KeyStore::new(replica(url).await, SCHEMA, masters(keys)).unwrap()
}

#[tokio::test]
async fn replicas_racing_for_a_new_customer_end_with_one_key() {
    let url = database().await;
    let a = store(&url, &[("k1", K1)]).await;
    let b = store(&url, &[("k1", K1)]).await;
    let subjects: Vec<SubjectId> = (0..20)
        .map(|i| subject(&format!("customer{i}@example.co.id")))
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, s) in subjects.iter().enumerate() {
        for (replica, store) in [(0, a.clone()), (1, b.clone())] {
            let s = s.clone();
            tasks.spawn(async move { (i, replica, store.key_for(&s).await.unwrap()) });
        }
    }
    let mut keys: Vec<[Option<gadai_privacy::DataKey>; 2]> =
        (0..subjects.len()).map(|_| [None, None]).collect();
    while let Some(done) = tasks.join_next().await {
        let (i, replica, key) = done.unwrap();
        keys[i][replica] = Some(key);
    }
    for (s, [ka, kb]) in subjects.iter().zip(keys) {
        let (ka, kb) = (ka.unwrap(), kb.unwrap());
        assert_eq!((ka.generation(), kb.generation()), (1, 1));
        // Same key: what one replica seals, the other opens.
        let sealed = seal(&ka, s, fields::EMAIL, "customer@example.co.id");
        assert_eq!(
            open(&kb, s, fields::EMAIL, &sealed).as_deref(),
            Ok("customer@example.co.id")
        );
        // And the store gives it again.
        let again = b.key_for(s).await.unwrap();
        assert!(open(&again, s, fields::EMAIL, &sealed).is_ok());
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM intake.customer_keys")
        .fetch_one(&replica(&url).await)
        .await
        .unwrap();
    assert_eq!(rows, 20);

    // The same race for customers coming back after an erasure: one new generation each.
    for s in &subjects[..5] {
        a.erase(s, "DPO-1").await.unwrap();
        let (ka, kb) = tokio::join!(a.key_for(s), b.key_for(s));
        let (ka, kb) = (ka.unwrap(), kb.unwrap());
        assert_eq!((ka.generation(), kb.generation()), (2, 2));
        let sealed = seal(&ka, s, fields::NAME, "Siti");
        assert_eq!(open(&kb, s, fields::NAME, &sealed).as_deref(), Ok("Siti"));
    }
}

/// Many customers at once (the bridge's rounds): existing, new, erased and named twice, while
/// another replica makes some of the same keys; every answer is the one key the store keeps.
#[tokio::test]
async fn keys_for_many_customers_at_once_are_the_stores_keys() {
    let url = database().await;
    let a = store(&url, &[("k1", K1)]).await;
    let b = store(&url, &[("k1", K1)]).await;
    let old = subject("old@example.co.id");
    let erased = subject("erased@example.co.id");
    let old_key = a.key_for(&old).await.unwrap();
    a.key_for(&erased).await.unwrap();
    a.erase(&erased, "DPO-7").await.unwrap();
    let new: Vec<SubjectId> = (0..30)
        .map(|i| subject(&format!("new{i}@example.co.id")))
        .collect();
    let mut asked = vec![old.clone(), erased.clone(), old.clone()];
    asked.extend(new.iter().cloned());
    let (from_a, from_b) = tokio::join!(a.keys_for(&asked), b.keys_for(&new[..15]));
    let (from_a, from_b) = (from_a.unwrap(), from_b.unwrap());
    assert_eq!(from_a.len(), asked.len());
    let sealed = seal(&old_key, &old, fields::NAME, "Lama");
    for key in [&from_a[0], &from_a[2]] {
        assert_eq!(
            open(key, &old, fields::NAME, &sealed).as_deref(),
            Ok("Lama")
        );
    }
    assert_eq!(
        from_a[1].generation(),
        2,
        "an erased customer comes back with a new key"
    );
    for (i, s) in new.iter().enumerate() {
        let kept = a.find(s).await.unwrap().expect("the key is stored");
        let sealed = seal(&from_a[3 + i], s, fields::EMAIL, "x@example.co.id");
        assert!(
            open(&kept, s, fields::EMAIL, &sealed).is_ok(),
            "customer {i}"
        );
        if i < 15 {
            let sealed = seal(&from_b[i], s, fields::EMAIL, "x@example.co.id");
            assert!(
                open(&kept, s, fields::EMAIL, &sealed).is_ok(),
                "customer {i} of b"
            );
        }
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM intake.customer_keys")
        .fetch_one(&replica(&url).await)
        .await
        .unwrap();
    assert_eq!(rows, 32);
}

/// A rebuild copies the kept tables while it holds the schema's lock exclusively: a key made
/// meanwhile waits for the swap instead of landing in the schema the swap drops.
#[tokio::test]
async fn a_new_key_waits_for_a_rebuilds_exclusive_lock() {
    let url = database().await;
    let keys = store(&url, &[("k1", K1)]).await;
    let pool = replica(&url).await;
    let mut rebuild = pool.begin().await.unwrap();
    gadai_store::lock_exclusive(&mut rebuild, SCHEMA)
        .await
        .unwrap();
    let s = subject("new@example.co.id");
    let making = tokio::spawn({
        let (keys, s) = (keys.clone(), s.clone());
        async move { keys.key_for(&s).await.unwrap().generation() }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !making.is_finished(),
        "the key was made under a rebuild's lock"
    );
    rebuild.commit().await.unwrap();
    assert_eq!(making.await.unwrap(), 1);
    assert!(keys.find(&s).await.unwrap().is_some());
}

#[tokio::test]
async fn erasure_shreds_the_key_and_a_returning_customer_gets_a_new_one() {
    let url = database().await;
    let store = store(&url, &[("k1", K1)]).await;
    let pool = replica(&url).await;
    let siti = subject("siti@example.co.id");
    let budi = subject("budi@example.co.id");

    assert!(store.find(&siti).await.unwrap().is_none(), "no key before");
    let key = store.key_for(&siti).await.unwrap();
    let name = seal(&key, &siti, fields::NAME, "Siti Nurhaliza");
    let budi_key = store.key_for(&budi).await.unwrap();
    let budi_name = seal(&budi_key, &budi, fields::NAME, "Budi Santoso");
    let found = store.find(&siti).await.unwrap().unwrap();
    assert_eq!(
        open(&found, &siti, fields::NAME, &name).as_deref(),
        Ok("Siti Nurhaliza")
    );
    let old_wrapped: Vec<u8> =
        sqlx::query_scalar("SELECT wrapped FROM customer_keys WHERE subject = $1")
            .bind(siti.as_str())
            .fetch_one(&pool)
            .await
            .unwrap();

    assert_eq!(
        store
            .erase(&siti, "erasure request DPO-2025-014")
            .await
            .unwrap(),
        Erasure::Erased { generation: 1 }
    );
    assert!(store.find(&siti).await.unwrap().is_none());
    let (wrapped, erased, reason): (Vec<u8>, bool, Option<String>) = sqlx::query_as(
        "SELECT wrapped, erased_at IS NOT NULL, erased_reason FROM customer_keys
         WHERE subject = $1",
    )
    .bind(siti.as_str())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        wrapped.is_empty() && erased,
        "a tombstone without key bytes"
    );
    assert_eq!(reason.as_deref(), Some("erasure request DPO-2025-014"));
    let copies: i64 = sqlx::query_scalar("SELECT count(*) FROM customer_keys WHERE wrapped = $1")
        .bind(&old_wrapped)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(copies, 0);

    assert_eq!(
        store.erase(&siti, "again").await.unwrap(),
        Erasure::AlreadyErased
    );
    assert_eq!(
        store
            .erase(&subject("nobody@example.co.id"), "DPO-2025-015")
            .await
            .unwrap(),
        Erasure::Unknown
    );
    assert!(matches!(
        store.erase(&budi, "  ").await,
        Err(StoreError::BadReason)
    ));

    // The customer comes back: a new key, and the old field stays unreadable with any key the
    // store gives.
    let returning = store.key_for(&siti).await.unwrap();
    assert_eq!(returning.generation(), 2);
    let current = store.find(&siti).await.unwrap().unwrap();
    for key in [&returning, &current] {
        assert_eq!(
            open(key, &siti, fields::NAME, &name),
            Err(OpenError::ErasedGeneration {
                sealed: 1,
                current: 2
            })
        );
    }
    let new_name = seal(&returning, &siti, fields::NAME, "Siti Nurhaliza");
    assert!(open(&current, &siti, fields::NAME, &new_name).is_ok());
    // Another customer's data is untouched.
    let budi_key = store.find(&budi).await.unwrap().unwrap();
    assert_eq!(
        open(&budi_key, &budi, fields::NAME, &budi_name).as_deref(),
        Ok("Budi Santoso")
    );

    // The erasure is in the log by subject id; no field, no key.
    let logs = captured_logs();
    assert!(logs.contains(siti.as_str()), "erasure logged by subject");
    for secret in ["Siti Nurhaliza", "siti@example.co.id", &STANDARD.encode(K1)] {
        assert!(!logs.contains(secret), "the logs contain {secret:?}");
    }
}

#[tokio::test]
async fn rotation_rewraps_every_live_key_under_the_new_master() {
    let url = database().await;
    let old = store(&url, &[("k1", K1)]).await;
    let people: Vec<SubjectId> = (0..3)
        .map(|i| subject(&format!("p{i}@example.co.id")))
        .collect();
    let mut sealed = Vec::new();
    for s in &people {
        let key = old.key_for(s).await.unwrap();
        sealed.push(seal(&key, s, fields::EMAIL, "p@example.co.id"));
    }
    old.erase(&people[2], "DPO-7").await.unwrap();
    assert_eq!(
        old.masters_in_use().await.unwrap(),
        vec![("k1".to_owned(), 2)]
    );

    // Step 1: a new key first; the old one still unwraps.
    let rotating = store(&url, &[("k2", K2), ("k1", K1)]).await;
    assert_eq!(rotating.rewrap_all().await.unwrap(), 2, "the two live keys");
    assert_eq!(
        rotating.rewrap_all().await.unwrap(),
        0,
        "nothing left to do"
    );
    assert_eq!(
        rotating.masters_in_use().await.unwrap(),
        vec![("k2".to_owned(), 2)]
    );
    let newcomer = subject("new@example.co.id");
    rotating.key_for(&newcomer).await.unwrap();

    // Step 2: the old master key leaves the configuration; every key still opens.
    let rotated = store(&url, &[("k2", K2)]).await;
    for (s, text) in people.iter().zip(&sealed).take(2) {
        let key = rotated.find(s).await.unwrap().unwrap();
        assert_eq!(
            open(&key, s, fields::EMAIL, text).as_deref(),
            Ok("p@example.co.id")
        );
    }
    assert!(rotated.find(&people[2]).await.unwrap().is_none(), "erased");
    assert!(rotated.find(&newcomer).await.unwrap().is_some());

    // A configuration without the master key that wrapped a key says so.
    match old.find(&people[0]).await {
        Err(StoreError::Unwrap {
            subject,
            source: UnwrapError::UnknownMaster { master_id },
        }) => assert_eq!((subject, master_id.as_str()), (people[0].clone(), "k2")),
        other => panic!("expected an unknown master, got {other:?}"),
    }
    let premature = store(&url, &[("k3", K3)]).await;
    assert!(matches!(
        premature.rewrap_all().await,
        Err(StoreError::Unwrap {
            source: UnwrapError::UnknownMaster { .. },
            ..
        })
    ));
}

#[tokio::test]
async fn the_owner_migration_is_checked_and_the_schema_must_be_plain() {
    assert_eq!(check_migrator(&MIGRATOR), Ok(()));
    assert!(check_migrator(&Migrator::DEFAULT).is_err());
    let edited = Migrator {
        migrations: Cow::Owned(vec![Migration::new(
            3,
            "customer keys".into(),
            MigrationType::Simple,
            gadai_privacy::MIGRATION
                .replace("erased_reason text", "reason text")
                .into(),
            false,
        )]),
        ..Migrator::DEFAULT
    };
    assert!(
        check_migrator(&edited)
            .unwrap_err()
            .contains("0001_customer_keys.sql")
    );

    let url = database().await;
    let pool = replica(&url).await;
    assert!(KeyStore::new(pool.clone(), "intake; DROP TABLE x", masters(&[("k1", K1)])).is_err());
    // The table is in the service's schema, not in public.
    let schema: String = sqlx::query_scalar(
        "SELECT table_schema::text FROM information_schema.tables WHERE table_name = $1",
    )
    .bind(gadai_privacy::TABLE)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(schema, SCHEMA);
}
