use std::time::Duration;

use dashboard_api::{Application, projection::Dashboard, startup};
use gadai_events::*;
use gadai_runtime::consume::{Delivered, Sink, Stored};
use gadai_test_support::{TestEnv, eventually};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::*;

/// The projection on its pool and schema, as the consumer loop runs it.
type Projection = Stored<Dashboard>;

/// The projection on `pool`'s dashboard schema, announcing nothing, asking `env`'s NATS for
/// customers' keys.
async fn on(pool: &sqlx::PgPool, env: &TestEnv) -> Projection {
    Stored::new(
        pool.clone(),
        "dashboard".into(),
        Dashboard::new(None, privacy(env).await),
    )
}

/// The projection on a migrated schema, with no consumer running: the test feeds it.
async fn bare_projection() -> (Projection, TestEnv) {
    let env = TestEnv::new().await.unwrap();
    let app = Application::build(settings(&env)).await.unwrap();
    (on(app.pool(), &env).await, env)
}

fn delivered(seq: u64, order: Uuid, kind: EventKind) -> Delivered {
    Delivered::first(seq, Event::new(order, "op-1", kind))
}

async fn snapshot(p: &Projection) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    (
        dump(&p.pool, "dashboard", "orders", "id").await,
        dump(&p.pool, "dashboard", "order_events", "seq").await,
        dump(&p.pool, "dashboard", "counters", "dim, key").await,
    )
}

#[tokio::test]
async fn an_event_delivered_twice_changes_the_read_model_once() {
    let (p, _env) = bare_projection().await;
    let order = Uuid::now_v7();
    let batch = vec![
        delivered(1, order, created("Ani", "Bandung", 500)),
        delivered(
            2,
            order,
            EventKind::VerificationRequested(VerificationRequested::numbered(0)),
        ),
    ];
    p.apply(&batch).await.unwrap();
    let once = snapshot(&p).await;
    p.apply(&batch).await.unwrap();
    p.apply(&batch[1..]).await.unwrap();
    assert_eq!(snapshot(&p).await, once);
    let (orders, events, counters) = once;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["sending"], true);
    assert_eq!(orders[0]["send_count"], 1);
    assert_eq!(events.len(), 2);
    let total = counters.iter().find(|c| c["dim"] == "total").unwrap();
    assert_eq!(total["orders"], 1);
}

#[tokio::test]
async fn events_applied_out_of_order_leave_the_newer_state() {
    let (p, _env) = bare_projection().await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let v = Uuid::now_v7();
    // A replica applies the newer events first...
    p.apply(&[
        delivered(3, a, deleted()),
        delivered(
            5,
            b,
            EventKind::VerificationSent(VerificationSent {
                verification_id: v,
                expires_at: chrono::Utc::now(),
            }),
        ),
    ])
    .await
    .unwrap();
    // ...and another the older ones afterwards.
    p.apply(&[
        delivered(1, a, created("Ani", "Bandung", 100)),
        delivered(2, b, created("Budi", "Jakarta", 200)),
        delivered(
            4,
            b,
            EventKind::VerificationRequested(VerificationRequested::numbered(0)),
        ),
    ])
    .await
    .unwrap();
    let row_a: (String, bool, i64) =
        sqlx::query_as("SELECT state, active, last_seq FROM orders WHERE id = $1")
            .bind(a)
            .fetch_one(&p.pool)
            .await
            .unwrap();
    assert_eq!(row_a, ("deleted".into(), false, 3));
    let row_b: (String, bool, bool, i64) =
        sqlx::query_as("SELECT state, active, sending, last_seq FROM orders WHERE id = $1")
            .bind(b)
            .fetch_one(&p.pool)
            .await
            .unwrap();
    assert_eq!(row_b, ("on_verification".into(), true, false, 5));

    // The same events in stream order give the same tables.
    let (q, _env2) = bare_projection().await;
    let mut in_order = Vec::new();
    for (seq, order, kind) in [
        (1, a, created("Ani", "Bandung", 100)),
        (2, b, created("Budi", "Jakarta", 200)),
        (3, a, deleted()),
        (
            4,
            b,
            EventKind::VerificationRequested(VerificationRequested::numbered(0)),
        ),
        (
            5,
            b,
            EventKind::VerificationSent(VerificationSent {
                verification_id: v,
                expires_at: chrono::Utc::now(),
            }),
        ),
    ] {
        in_order.push(delivered(seq, order, kind));
    }
    q.apply(&in_order).await.unwrap();
    let strip = |rows: Vec<Value>| -> Vec<Value> {
        rows.into_iter()
            .map(|mut r| {
                // Times come from Event::new, so they differ between the two runs.
                for k in ["created_at", "updated_at", "expires_at", "last_sent_at"] {
                    r[k] = Value::Null;
                }
                r
            })
            .collect()
    };
    assert_eq!(
        strip(dump(&p.pool, "dashboard", "orders", "id").await),
        strip(dump(&q.pool, "dashboard", "orders", "id").await)
    );
    let counters = |pool: sqlx::PgPool| async move {
        dump(&pool, "dashboard", "counters", "dim, key")
            .await
            .into_iter()
            .filter(|c| c["dim"] != "day" && c["orders"] != 0)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        counters(p.pool.clone()).await,
        counters(q.pool.clone()).await
    );
}

#[tokio::test]
async fn two_replicas_applying_at_once_agree_with_one() {
    let (p, env) = bare_projection().await;
    let q = on(&p.pool, &env).await;
    let orders: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
    let mut events = Vec::new();
    let mut seq = 0;
    for (i, id) in orders.iter().enumerate() {
        seq += 1;
        events.push(delivered(
            seq,
            *id,
            created("Ani", if i % 2 == 0 { "Bandung" } else { "Bogor" }, 10),
        ));
        seq += 1;
        events.push(delivered(
            seq,
            *id,
            EventKind::VerificationRequested(VerificationRequested::numbered(0)),
        ));
        if i % 3 == 0 {
            seq += 1;
            events.push(delivered(seq, *id, deleted()));
        }
    }
    // Interleave: each replica gets every other event, in batches of 5.
    let (mine, theirs): (Vec<_>, Vec<_>) = events
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let mine: Vec<Delivered> = mine.into_iter().map(|(_, d)| d).collect();
    let theirs: Vec<Delivered> = theirs.into_iter().map(|(_, d)| d).collect();
    tokio::join!(apply_retrying(&p, mine), apply_retrying(&q, theirs));
    let active: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE active")
        .fetch_one(&p.pool)
        .await
        .unwrap();
    let deleted_n: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE state = 'deleted'")
        .fetch_one(&p.pool)
        .await
        .unwrap();
    assert_eq!((active, deleted_n), (13, 7));
    let sending: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE sending")
        .fetch_one(&p.pool)
        .await
        .unwrap();
    assert_eq!(sending, 13);
    let total: i64 = sqlx::query_scalar("SELECT orders FROM counters WHERE dim = 'total'")
        .fetch_one(&p.pool)
        .await
        .unwrap();
    assert_eq!(total, 13);
    let bandung: i64 =
        sqlx::query_scalar("SELECT orders FROM counters WHERE dim = 'wilayah' AND key = 'Bandung'")
            .fetch_one(&p.pool)
            .await
            .unwrap();
    assert_eq!(bandung, 10 - 4);
    drop(env);
}

/// Applies `batch` in chunks of 5, retrying a chunk that failed transiently (a deadlock victim),
/// as the consumer does.
pub async fn apply_retrying(proj: &Projection, batch: Vec<Delivered>) {
    for chunk in batch.chunks(5) {
        loop {
            match proj.apply(chunk).await {
                Ok(()) => break,
                Err(gadai_runtime::consume::ApplyError::Transient(_)) => {
                    tokio::task::yield_now().await
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
}

#[tokio::test]
async fn a_stopped_projection_resumes_from_its_checkpoint() {
    let mut app = spawn_app().await;
    for i in 0..30 {
        app.create_order(&format!("Pelanggan {}", letters(i)), "Bandung", 1)
            .await;
    }
    app.caught_up().await;
    app.stop_service().await;
    // Events keep arriving while the service is down.
    let bus = app.bus.clone();
    for i in 30..60 {
        let e = Event::new(
            Uuid::now_v7(),
            "n8n",
            created(&format!("Pelanggan {}", letters(i)), "Bogor", 1),
        );
        bus.publish(&e).await.unwrap();
    }
    let env = std::mem::replace(&mut app.env, TestEnv::new().await.unwrap());
    let restarted = spawn_in(env).await;
    restarted.caught_up().await;
    let stats = restarted.get_json("/dashboard/stats").await;
    assert_eq!(stats["total"], 60);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM order_events")
        .fetch_one(&restarted.pool)
        .await
        .unwrap();
    assert_eq!(events, 60);
    let checkpoint = gadai_store::checkpoint(&restarted.pool, dashboard_api::projection::NAME)
        .await
        .unwrap();
    assert_eq!(checkpoint, 60);
    restarted.stop().await;
}

fn letters(i: usize) -> String {
    format!(
        "{}{}",
        (b'A' + (i / 26) as u8) as char,
        (b'a' + (i % 26) as u8) as char
    )
}

/// `n` orders of customers "Nasabah Aa", "Nasabah Ab", ... in three regions, of growing value.
async fn create_orders(app: &TestApp, n: usize) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            app.create_order(
                &format!("Nasabah {}", letters(i)),
                ["Bandung", "Bogor", "Depok"][i % 3],
                i as i64 * 1000,
            )
            .await,
        );
    }
    ids
}

#[tokio::test]
async fn rebuilding_from_the_stream_gives_the_same_tables() {
    let app = spawn_app().await;
    let ids = create_orders(&app, 12).await;
    let v = Uuid::now_v7();
    for id in &ids[..4] {
        app.publish(&Event::new(
            *id,
            "op",
            EventKind::VerificationRequested(VerificationRequested::numbered(0)),
        ))
        .await;
    }
    app.publish(&Event::new(
        ids[0],
        "system",
        EventKind::VerificationSent(VerificationSent {
            verification_id: v,
            expires_at: chrono::Utc::now(),
        }),
    ))
    .await;
    app.publish(&Event::new(
        ids[0],
        "op",
        EventKind::OrderVerified(OrderVerified { verification_id: v }),
    ))
    .await;
    app.publish(&Event::new(
        ids[1],
        "system",
        EventKind::VerificationFailed(VerificationFailed {
            verification_id: v,
            reason: "mailbox full".into(),
        }),
    ))
    .await;
    app.publish(&Event::new(ids[5], "op", deleted())).await;
    app.caught_up().await;

    let mut s = settings(&app.env);
    s.core.db.max_connections = 2;
    let report = startup::rebuild(s.clone(), false).await.unwrap();
    assert_eq!(report.events, 20);
    assert_same_tables(&app.pool, "dashboard", "dashboard_rebuild", "rebuild").await;

    // The replay loads without secondary indexes; afterwards the rebuilt schema has the same
    // indexes as the live one, and statistics for the planner.
    let indexes = |schema: &'static str| {
        let pool = app.pool.clone();
        async move {
            let defs: Vec<(String, String)> = sqlx::query_as(
                "SELECT indexname::text, replace(indexdef, schemaname || '.', '')
                 FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname",
            )
            .bind(schema)
            .fetch_all(&pool)
            .await
            .unwrap();
            defs
        }
    };
    let live_indexes = indexes("dashboard").await;
    assert!(
        live_indexes
            .iter()
            .any(|(n, _)| n == "orders_active_search")
    );
    assert_eq!(live_indexes, indexes("dashboard_rebuild").await);
    let analyzed: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT tablename::text FROM pg_stats WHERE schemaname = 'dashboard_rebuild'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for table in ["counters", "order_events", "orders"] {
        assert!(
            analyzed.iter().any(|t| t == table),
            "{table} not analyzed: {analyzed:?}"
        );
    }

    // Swapping it in while the service runs: the service carries on in the new tables.
    sqlx::query("UPDATE dashboard.counters SET orders = 999 WHERE dim = 'total'")
        .execute(&app.pool)
        .await
        .unwrap();
    startup::rebuild(s, true).await.unwrap();
    let all_visible: Vec<(String, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relpages > 0 AND c.relallvisible = c.relpages FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'dashboard' AND c.relname IN ('order_events', 'orders') ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        all_visible,
        [
            ("order_events".to_owned(), true),
            ("orders".to_owned(), true)
        ],
        "the tables swapped in are vacuumed afterwards"
    );
    let stats = app.get_json("/dashboard/stats").await;
    assert_eq!(
        stats["total"], 11,
        "the rebuilt counters replaced the damaged ones"
    );
    let late = app.create_order("Nasabah Baru", "Bandung", 1).await;
    app.caught_up().await;
    let detail = app.get_json(&format!("/dashboard/orders/{late}")).await;
    assert_eq!(detail["order"]["status"], "On Process");
    assert_eq!(app.get_json("/dashboard/stats").await["total"], 12);
    app.stop().await;
}

#[tokio::test]
async fn a_dashboard_far_behind_catches_up_with_the_list_indexes_aside_and_lists_as_before() {
    let env = TestEnv::new().await.unwrap();
    let bus = gadai_bus::Bus::connect(env.bus.clone(), "test")
        .await
        .unwrap();
    bus.ensure_stream().await.unwrap();
    for n in 0..30 {
        let wilayah = if n % 3 == 0 { "Bali" } else { "Jakarta" };
        let event = Event::new(
            Uuid::now_v7(),
            "n8n",
            created(&format!("Nasabah {n}"), wilayah, n),
        );
        bus.publish(&event).await.unwrap();
    }
    // 30 events waiting, nothing applied, bulk from 10.
    let mut s = settings(&env);
    s.projection_bulk_from = 10;
    let app = spawn_in_with(env, s).await;
    app.caught_up().await;
    let pool = app.pool.clone();
    eventually(Duration::from_secs(30), || {
        let pool = pool.clone();
        async move {
            let aside = gadai_store::set_aside(&pool, "dashboard").await.ok()?;
            aside.is_empty().then_some(())
        }
    })
    .await;

    // Built again after the migrations made the others (a newer oid than any of them), with
    // the same definitions.
    let rebuilt: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, pg_get_indexdef(c.oid) FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'dashboard' AND c.relkind = 'i'
           AND c.oid > (SELECT max(oid) FROM pg_class WHERE relname = 'set_aside_indexes'
                        OR relname = 'erasures_subject')
         ORDER BY c.relname",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut names: Vec<&str> = rebuilt.iter().map(|(name, _)| name.as_str()).collect();
    names.sort();
    let mut expected = <Dashboard as gadai_runtime::Projection>::BULK_INDEXES.to_vec();
    expected.sort();
    assert_eq!(
        names, expected,
        "the list's B-trees, and only they, were built again"
    );
    assert!(
        rebuilt
            .iter()
            .any(|(_, def)| def.contains("(estimasi_nilai_barang, id) WHERE active")),
        "{rebuilt:?}"
    );

    let all = app.get("/dashboard/orders?limit=50").await;
    assert_eq!(all.headers()["x-total-count"], "30");
    let bali = app
        .get_json("/dashboard/orders?wilayah=Bali&limit=50")
        .await;
    assert_eq!(bali.as_array().unwrap().len(), 10);
    let one = app.get_json("/dashboard/orders?q=nasabah%2017").await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["nama_customer"], "Nasabah 17");
    app.stop().await;
}

#[tokio::test]
async fn a_malformed_event_is_parked_and_the_consumer_goes_on() {
    let app = spawn_app().await;
    let js = app.bus.jetstream().clone();
    let subject = app.bus.subject("order.created");
    let garbage = js
        .publish(subject.clone(), "{\"this is\": not an event".into())
        .await
        .unwrap()
        .await
        .unwrap();
    let wrong_type =
        serde_json::to_vec(&Event::new(Uuid::now_v7(), "x", deleted()).to_envelope()).unwrap();
    let mismatched = js
        .publish(subject, wrong_type.into())
        .await
        .unwrap()
        .await
        .unwrap();
    let good = app.create_order("Budi Santoso", "Jakarta", 1).await;
    app.caught_up().await;

    let parked: Vec<(i64, String)> =
        sqlx::query_as("SELECT seq, reason FROM parked_events ORDER BY seq")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        parked.iter().map(|p| p.0 as u64).collect::<Vec<_>>(),
        [garbage.sequence, mismatched.sequence]
    );
    assert!(
        parked[0].1.contains("not a JSON event envelope"),
        "{}",
        parked[0].1
    );
    assert!(
        parked[1].1.contains("does not match subject"),
        "{}",
        parked[1].1
    );
    let detail = app.get_json(&format!("/dashboard/orders/{good}")).await;
    assert_eq!(detail["order"]["status"], "On Process");

    // Parked means terminated: it is not redelivered.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let info = app
        .bus
        .jetstream()
        .get_stream(&app.env.bus.stream)
        .await
        .unwrap()
        .consumer_info(dashboard_api::projection::NAME)
        .await
        .unwrap();
    assert_eq!(info.num_ack_pending, 0);
    eventually(Duration::from_secs(5), || async { Some(()) }).await;
    app.stop().await;
}

#[tokio::test]
async fn replicas_starting_at_once_migrate_one_schema_safely() {
    let env = TestEnv::new().await.unwrap();
    let (a, b, c) = tokio::join!(
        Application::build(settings(&env)),
        Application::build(settings(&env)),
        Application::build(settings(&env)),
    );
    let (a, _b, _c) = (a.unwrap(), b.unwrap(), c.unwrap());
    let applied: i64 =
        sqlx::query_scalar("SELECT count(*) FROM dashboard._sqlx_migrations WHERE success")
            .fetch_one(a.pool())
            .await
            .unwrap();
    assert_eq!(
        applied,
        dashboard_api::startup::MIGRATOR.iter().count() as i64
    );
    let admins: i64 = sqlx::query_scalar("SELECT count(*) FROM dashboard.operators")
        .fetch_one(a.pool())
        .await
        .unwrap();
    assert_eq!(admins, 1, "the first admin is created once");
    env.cleanup().await;
}

/// A batch of a catch-up's size (sealed orders of more customers than one key request names,
/// requests and deletions of orders created in the same batch) gives the same rows as the same
/// events applied in small batches.
#[tokio::test]
async fn a_catch_up_sized_batch_gives_the_same_rows_as_small_batches() {
    let (p, env) = bare_projection().await;
    let keys = key_server(&env).await;
    let customers = gadai_privacy::rpc::MAX_SUBJECTS + 100;
    let emails: Vec<String> = (0..customers)
        .map(|i| format!("nasabah{i}@example.com"))
        .collect();
    let subjects: Vec<_> = emails.iter().map(|e| subject_of(e)).collect();
    let data_keys = keys.store.keys_for(&subjects).await.unwrap();
    let mut events = Vec::new();
    let mut seq = 0;
    for (i, ((email, subject), key)) in emails.iter().zip(&subjects).zip(&data_keys).enumerate() {
        let id = Uuid::now_v7();
        let EventKind::OrderCreated(mut order) = created(
            &format!("Nasabah {}", letters(i % 500)),
            ["Bandung", "Bogor", "Depok"][i % 3],
            i as i64 * 1000,
        ) else {
            unreachable!()
        };
        order.email = email.clone();
        gadai_privacy::personal::seal_order(key, subject, &mut order);
        seq += 1;
        events.push(delivered(seq, id, EventKind::OrderCreated(order)));
        if i % 3 == 0 {
            seq += 1;
            events.push(delivered(
                seq,
                id,
                EventKind::VerificationRequested(VerificationRequested::numbered(0)),
            ));
        }
        if i % 7 == 0 {
            seq += 1;
            events.push(delivered(seq, id, deleted()));
        }
    }
    assert!(events.len() <= dashboard_api::projection::BATCH);

    let tables = [
        ("orders", "id"),
        ("order_events", "seq"),
        ("counters", "dim, key"),
    ];
    let contents = |pool: sqlx::PgPool| async move {
        let mut all = Vec::new();
        for (table, order) in tables {
            // Batching may leave a counter that went up and back down at (0, 0); both mean
            // the same.
            all.push(
                dump(&pool, "dashboard", table, order)
                    .await
                    .into_iter()
                    .filter(|r| table != "counters" || r["orders"] != 0 || r["value"] != 0)
                    .collect::<Vec<_>>(),
            );
        }
        all
    };
    for chunk in events.chunks(50) {
        p.apply(chunk).await.unwrap();
    }
    let small = contents(p.pool.clone()).await;
    assert_eq!(small[0].len(), customers);
    let readable: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM orders WHERE email LIKE 'nasabah%@example.com' AND subject IS NOT NULL",
    )
    .fetch_one(&p.pool)
    .await
    .unwrap();
    assert_eq!(readable, customers as i64, "every sealed order was opened");

    sqlx::query("TRUNCATE orders, order_events, counters, checkpoints")
        .execute(&p.pool)
        .await
        .unwrap();
    p.apply(&events).await.unwrap();
    assert_eq!(small, contents(p.pool.clone()).await);
    drop(keys);
}

/// The replay of a rebuild, in many small batches (received while earlier ones are applied,
/// several applied at once), gives the same tables as the live projection.
#[tokio::test]
async fn a_replay_in_many_batches_gives_the_same_tables_as_live() {
    let app = spawn_app().await;
    let ids = create_orders(&app, 30).await;
    for id in ids.iter().step_by(2) {
        app.publish(&Event::new(
            *id,
            "op",
            EventKind::VerificationRequested(VerificationRequested::numbered(0)),
        ))
        .await;
    }
    for id in ids.iter().step_by(5) {
        app.publish(&Event::new(*id, "op", deleted())).await;
    }
    app.caught_up().await;

    let db = gadai_store::DbSettings {
        url: app.env.database_url.clone(),
        schema: "dashboard_copy".into(),
        max_connections: 4,
    };
    let pool = gadai_store::connect(&db).await.unwrap();
    gadai_store::migrate(&pool, "dashboard_copy", &startup::MIGRATOR)
        .await
        .unwrap();
    let copy = Stored::new(
        pool.clone(),
        "dashboard_copy".into(),
        Dashboard::new(None, privacy(&app.env).await),
    );
    let last = app.bus.last_sequence().await.unwrap();
    let mut reported = Vec::new();
    let applied =
        gadai_runtime::replay::replay(&app.bus, &copy, 1, last, 4, |at, _| reported.push(at))
            .await
            .unwrap();
    assert_eq!(applied, last);
    assert_eq!(reported.last(), Some(&last));
    assert_eq!(
        gadai_store::checkpoint(&pool, dashboard_api::projection::NAME)
            .await
            .unwrap(),
        last
    );
    assert_same_tables(&app.pool, "dashboard", "dashboard_copy", "the replay").await;
    app.stop().await;
}
