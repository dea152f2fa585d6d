//! `BatchTx` against the machine's Postgres: the checkpoint commits with the batch in one
//! round trip and never moves backwards, and a batch that does not commit leaves nothing
//! behind, neither rows nor a connection inside a transaction for the pool's next user.

use gadai_store::{BatchTx, DbSettings};
use sqlx::{PgPool, migrate::Migrator};

/// A pool of one connection on a schema of this test's own (`checkpoints` made by `migrate`)
/// with a table `t`.
async fn schema(name: &str) -> PgPool {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let schema = format!("store_batch_{name}_{}", std::process::id());
    let admin = PgPool::connect(&url).await.expect("Postgres");
    sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
    let settings = DbSettings {
        url,
        schema: schema.clone(),
        max_connections: 1,
    };
    let pool = gadai_store::connect(&settings).await.unwrap();
    gadai_store::migrate(&pool, &schema, &Migrator::DEFAULT)
        .await
        .unwrap();
    sqlx::raw_sql("CREATE TABLE t (n int PRIMARY KEY)")
        .execute(&pool)
        .await
        .unwrap();
    pool
}

/// Drops the test's schema (a failed test leaves it for a look).
async fn done(pool: PgPool) {
    let schema: String = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}

async fn begin(pool: &PgPool, schema: &str, then: Option<&str>) -> sqlx::Result<BatchTx> {
    BatchTx::begin(pool.acquire().await?, schema, then).await
}

async fn rows(pool: &PgPool) -> Vec<i32> {
    sqlx::query_scalar("SELECT n FROM t ORDER BY n")
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn checkpoint(pool: &PgPool) -> u64 {
    gadai_store::checkpoint(pool, "p").await.unwrap()
}

async fn insert(tx: &mut BatchTx, n: i32) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO t VALUES ($1)")
        .bind(n)
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// Whether the pool's next connection is inside a transaction block: only there does
/// `SAVEPOINT` succeed.
async fn next_connection_in_a_transaction(pool: &PgPool) -> bool {
    sqlx::raw_sql("SAVEPOINT probe").execute(pool).await.is_ok()
}

async fn backend_pid(conn: &mut sqlx::PgConnection) -> i32 {
    sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_batch_commits_with_its_checkpoint_which_never_moves_backwards() {
    let pool = schema("commit").await;
    let mut tx = begin(&pool, "anything", Some("SELECT 1")).await.unwrap();
    insert(&mut tx, 1).await.unwrap();
    let mut conn = tx.commit_through("p", 42).await.unwrap();
    // The connection comes back to the caller, outside any transaction.
    let pid = backend_pid(&mut conn).await;
    let mut tx = BatchTx::begin(conn, "anything", None).await.unwrap();
    assert_eq!(backend_pid(&mut tx).await, pid);
    insert(&mut tx, 2).await.unwrap();
    drop(tx.commit_through("p", 7).await.unwrap());
    assert_eq!(rows(&pool).await, [1, 2]);
    assert_eq!(checkpoint(&pool).await, 42);
    assert!(!next_connection_in_a_transaction(&pool).await);
    done(pool).await;
}

#[tokio::test]
async fn a_rolled_back_batch_leaves_nothing_and_its_connection_serves_the_next_user() {
    let pool = schema("rollback").await;
    let mut tx = begin(&pool, "s", None).await.unwrap();
    let pid = backend_pid(&mut tx).await;
    insert(&mut tx, 1).await.unwrap();
    tx.rollback().await;
    assert_eq!(rows(&pool).await, Vec::<i32>::new());
    assert_eq!(checkpoint(&pool).await, 0);
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(backend_pid(&mut conn).await, pid, "the connection was kept");
    drop(conn);
    assert!(!next_connection_in_a_transaction(&pool).await);
    done(pool).await;
}

#[tokio::test]
async fn a_batch_that_failed_or_was_dropped_closes_its_connection_and_writes_nothing() {
    let pool = schema("dropped").await;

    // A statement fails: the transaction is aborted, and so is the commit.
    let mut tx = begin(&pool, "s", None).await.unwrap();
    let first = backend_pid(&mut tx).await;
    insert(&mut tx, 1).await.unwrap();
    assert!(insert(&mut tx, 1).await.is_err(), "a duplicate key");
    assert!(tx.commit_through("p", 5).await.is_err());

    // Work dropped halfway (a cancelled future) with a row written.
    let mut tx = begin(&pool, "s", None).await.unwrap();
    let second = backend_pid(&mut tx).await;
    assert_ne!(second, first, "the failed batch's connection was closed");
    insert(&mut tx, 2).await.unwrap();
    drop(tx);

    let mut conn = pool.acquire().await.unwrap();
    let third = backend_pid(&mut conn).await;
    assert_ne!(third, second, "the dropped batch's connection was closed");
    drop(conn);
    assert!(!next_connection_in_a_transaction(&pool).await);
    assert_eq!(rows(&pool).await, Vec::<i32>::new());
    assert_eq!(checkpoint(&pool).await, 0);
    done(pool).await;
}
