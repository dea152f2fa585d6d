//! Bulk catch-up (`consume::run` with `ConsumerSpec::bulk_from`) against the machine's NATS
//! JetStream and Postgres: a projection far behind sets its non-unique indexes aside, catches
//! up, and builds them again; one a little behind keeps them.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use gadai_bus::{Bus, ConsumerSpec};
use gadai_events::{Event, EventKind, OrderDeleted};
use gadai_runtime::{ApplyError, Delivered, Projection, Stored, Tx, consume};
use gadai_store::DbSettings;
use gadai_test_support::{TestEnv, eventually};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const SCHEMA: &str = "bulky";
/// The secondary index only the projection's readers use.
const INDEX: &str = "rows_order_id";
/// A secondary index the projection's own statements use: never set aside.
const KEPT: &str = "rows_kept";
/// A GIN index with a pending list a backlog does not fill: the catch-up sorts it in.
const GIN: &str = "rows_seqs";

/// One row per event; each batch records whether [`INDEX`] existed while it was applied, and
/// checks that [`KEPT`] did.
#[derive(Clone, Default)]
struct Rows {
    indexed: Arc<Mutex<Vec<bool>>>,
}

impl Projection for Rows {
    const NAME: &'static str = "rows";
    type Prepared = ();
    type Recorded = ();
    type Applied = ();
    const BULK_INDEXES: &'static [&'static str] = &[INDEX];

    async fn prepare(&self, _: &[Delivered]) -> Result<(), ApplyError> {
        Ok(())
    }

    async fn apply(
        &self,
        tx: Tx<'_>,
        batch: &[Delivered],
        (): (),
        (): (),
    ) -> Result<(), ApplyError> {
        let seqs: Vec<i64> = batch.iter().map(|d| d.seq as i64).collect();
        let ids: Vec<Uuid> = batch.iter().map(|d| d.event.order_id).collect();
        sqlx::query(
            "INSERT INTO rows (seq, order_id) SELECT * FROM unnest($1::bigint[], $2::uuid[])
             ON CONFLICT (seq) DO NOTHING",
        )
        .bind(&seqs)
        .bind(&ids)
        .execute(&mut **tx)
        .await?;
        let present: Vec<String> = sqlx::query_scalar(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = $1 AND tablename = 'rows'",
        )
        .bind(SCHEMA)
        .fetch_all(&mut **tx)
        .await?;
        assert!(present.iter().any(|name| name == KEPT), "{present:?}");
        self.indexed
            .lock()
            .unwrap()
            .push(present.iter().any(|name| name == INDEX));
        Ok(())
    }
}

fn deleted() -> Event {
    Event::new(
        Uuid::now_v7(),
        "op-1",
        EventKind::OrderDeleted(OrderDeleted { reason: None }),
    )
}

/// A test's stream and the `bulky` schema (the runtime's bookkeeping tables and `rows`).
async fn setup() -> (TestEnv, Bus, PgPool) {
    let env = TestEnv::new().await.unwrap();
    let bus = Bus::connect(env.bus.clone(), "bulk-test").await.unwrap();
    bus.ensure_stream().await.unwrap();
    let pool = gadai_store::connect(&DbSettings {
        url: env.database_url.clone(),
        schema: SCHEMA.into(),
        max_connections: 8,
    })
    .await
    .unwrap();
    gadai_store::migrate(&pool, SCHEMA, &sqlx::migrate::Migrator::DEFAULT)
        .await
        .unwrap();
    sqlx::raw_sql(&format!(
        "CREATE TABLE {SCHEMA}.rows (seq bigint PRIMARY KEY, order_id uuid NOT NULL);
         CREATE INDEX {INDEX} ON {SCHEMA}.rows (order_id);
         CREATE INDEX {KEPT} ON {SCHEMA}.rows (seq, order_id);
         CREATE INDEX {GIN} ON {SCHEMA}.rows USING gin ((ARRAY[seq]))
             WITH (fastupdate = on, gin_pending_list_limit = 4096)"
    ))
    .execute(&pool)
    .await
    .unwrap();
    (env, bus, pool)
}

fn spec(bulk_from: Option<u64>) -> ConsumerSpec {
    let mut spec = ConsumerSpec::new("rows", &[]);
    spec.batch = 50;
    spec.parallel = 2;
    spec.bulk_from = bulk_from;
    spec
}

fn start(
    bus: &Bus,
    pool: &PgPool,
    spec: ConsumerSpec,
    projection: &Rows,
    shutdown: &CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(consume::run(
        bus.clone(),
        spec,
        Stored::new(pool.clone(), SCHEMA.into(), projection.clone()),
        shutdown.clone(),
    ))
}

async fn publish(bus: &Bus, count: usize) {
    for _ in 0..count {
        bus.publish(&deleted()).await.unwrap();
    }
}

async fn rows(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM rows")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// How to build [`INDEX`] as the catalog says, when it exists.
async fn index_definition(pool: &PgPool) -> Option<String> {
    sqlx::query_scalar("SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2")
        .bind(SCHEMA)
        .bind(INDEX)
        .fetch_optional(pool)
        .await
        .unwrap()
}

/// Pages [`GIN`]'s pending list held; sorting them into the index empties it.
async fn pending_pages(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT gin_clean_pending_list($1::regclass)")
        .bind(format!("{SCHEMA}.{GIN}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Waits until every one of `count` events is a row and no index is left aside.
async fn caught_up(pool: &PgPool, count: i64) {
    eventually(Duration::from_secs(60), || async {
        let aside = gadai_store::set_aside(pool, SCHEMA).await.ok()?;
        (rows(pool).await == count && aside.is_empty()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn two_replicas_far_behind_catch_up_with_the_indexes_aside_and_build_them_again_once() {
    let (env, bus, pool) = setup().await;
    let before = index_definition(&pool).await.expect("the index exists");
    publish(&bus, 400).await;

    // Both replicas start on the backlog (400 pending, nothing applied, bulk from 100).
    let rows_projection = Rows::default();
    let shutdown = CancellationToken::new();
    let replicas = [
        start(&bus, &pool, spec(Some(100)), &rows_projection, &shutdown),
        start(&bus, &pool, spec(Some(100)), &rows_projection, &shutdown),
    ];
    caught_up(&pool, 400).await;
    let backlog = rows_projection.indexed.lock().unwrap().clone();
    assert!(
        backlog.first() == Some(&false),
        "the backlog's first batch went in without the index: {backlog:?}"
    );
    assert_eq!(
        index_definition(&pool).await.as_deref(),
        Some(before.as_str()),
        "the index is built again as it was"
    );
    assert!(analyzed(&pool).await, "and the table analyzed");
    assert_eq!(
        pending_pages(&pool).await,
        0,
        "what the backlog left in the GIN index's pending list was sorted in"
    );

    // Live events after the catch-up go into the indexed table.
    publish(&bus, 10).await;
    caught_up(&pool, 410).await;
    let all = rows_projection.indexed.lock().unwrap().clone();
    assert_eq!(all.last(), Some(&true), "{all:?}");
    assert_eq!(gadai_store::checkpoint(&pool, "rows").await.unwrap(), 410);
    shutdown.cancel();
    for replica in replicas {
        replica.await.unwrap();
    }
    env.cleanup().await;
}

#[tokio::test]
async fn a_backlog_under_bulk_from_or_under_what_was_applied_keeps_the_indexes() {
    let (env, bus, pool) = setup().await;
    let rows_projection = Rows::default();
    // Starts one replica on what is published, waits until `rows` are in, stops it.
    let run = |bulk_from: u64, rows: i64| {
        let (bus, pool, rows_projection) = (bus.clone(), pool.clone(), rows_projection.clone());
        async move {
            let shutdown = CancellationToken::new();
            let replica = start(
                &bus,
                &pool,
                spec(Some(bulk_from)),
                &rows_projection,
                &shutdown,
            );
            caught_up(&pool, rows).await;
            shutdown.cancel();
            replica.await.unwrap();
        }
    };

    // 99 pending, bulk from 100.
    publish(&bus, 99).await;
    run(100, 99).await;
    // 60 pending, bulk from 50, but fewer than the 99 applied (the table would not double).
    publish(&bus, 60).await;
    run(50, 159).await;

    let seen = rows_projection.indexed.lock().unwrap().clone();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|indexed| *indexed),
        "every batch had the index: {seen:?}"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn indexes_left_aside_by_a_process_that_died_are_built_by_the_next_consumer() {
    let (env, bus, pool) = setup().await;
    let before = index_definition(&pool).await.expect("the index exists");
    // A process set the index aside and died before building it again.
    assert_eq!(
        gadai_store::set_aside_indexes(&pool, SCHEMA, &[INDEX])
            .await
            .unwrap(),
        1
    );
    assert_eq!(index_definition(&pool).await, None);
    publish(&bus, 5).await;

    let rows_projection = Rows::default();
    let shutdown = CancellationToken::new();
    // Never in bulk by itself: it carries on with what it found.
    let replica = start(&bus, &pool, spec(None), &rows_projection, &shutdown);
    caught_up(&pool, 5).await;
    assert_eq!(index_definition(&pool).await, Some(before));
    shutdown.cancel();
    replica.await.unwrap();
    env.cleanup().await;
}

#[tokio::test]
async fn indexes_left_aside_by_a_replica_that_died_are_built_by_one_that_runs() {
    let (env, bus, pool) = setup().await;
    let before = index_definition(&pool).await.expect("the index exists");
    let rows_projection = Rows::default();
    let shutdown = CancellationToken::new();
    let replica = start(&bus, &pool, spec(None), &rows_projection, &shutdown);
    publish(&bus, 3).await;
    caught_up(&pool, 3).await;

    // Another replica sets the index aside and dies: the running one builds it (it looks at
    // every measure of its backlog, every 5 s).
    gadai_store::set_aside_indexes(&pool, SCHEMA, &[INDEX])
        .await
        .unwrap();
    assert_eq!(index_definition(&pool).await, None);
    caught_up(&pool, 3).await;
    assert_eq!(index_definition(&pool).await, Some(before));
    shutdown.cancel();
    replica.await.unwrap();
    env.cleanup().await;
}

async fn analyzed(pool: &PgPool) -> bool {
    sqlx::query_scalar(
        "SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL
         FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'rows'",
    )
    .bind(SCHEMA)
    .fetch_one(pool)
    .await
    .unwrap()
}
