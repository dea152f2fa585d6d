//! `Kept` against the machine's Postgres: a connection whose work succeeded stays out of the
//! pool for the next use; one whose work failed goes back; a pool too small to spare one keeps
//! none, and no connection is kept while less than half the pool is free for its other users.

use std::time::Duration;

use gadai_store::{DbSettings, KEEP_FROM, Kept};
use sqlx::{PgConnection, PgPool};

async fn pool(max_connections: u32) -> PgPool {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let settings = DbSettings {
        url,
        schema: format!("store_kept_{}", std::process::id()),
        max_connections,
    };
    gadai_store::connect(&settings).await.unwrap()
}

async fn pid(conn: &mut PgConnection) -> sqlx::Result<i32> {
    sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(conn)
        .await
}

async fn fails(conn: &mut PgConnection) -> sqlx::Result<i32> {
    sqlx::query_scalar("SELECT 1 / 0").fetch_one(conn).await
}

/// Waits until the pool holds `idle` idle connections (a connection given back reaches the
/// pool after its check, on a task of its own).
async fn idle_becomes(pool: &PgPool, idle: usize) -> bool {
    for _ in 0..200 {
        if pool.num_idle() == idle {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn a_connection_is_kept_after_work_that_succeeded_and_given_back_after_work_that_failed() {
    let pool = pool(KEEP_FROM).await;
    let kept = Kept::of(&pool, 1);
    let first = kept.run(pid).await.unwrap();
    assert_eq!(
        (pool.size(), pool.num_idle()),
        (1, 0),
        "kept out of the pool"
    );
    assert_eq!(kept.run(pid).await.unwrap(), first, "the same one again");
    assert!(kept.run(fails).await.is_err());
    assert!(
        idle_becomes(&pool, 1).await,
        "the failed work's connection went back"
    );
    // The next use takes a connection from the pool again.
    kept.run(pid).await.unwrap();
    assert_eq!(pool.num_idle(), 0);
}

#[tokio::test]
async fn a_pool_too_small_to_spare_a_connection_keeps_none() {
    let pool = pool(KEEP_FROM - 1).await;
    let kept = Kept::of(&pool, 1);
    kept.run(pid).await.unwrap();
    assert!(idle_becomes(&pool, 1).await, "given back at once");
}

#[tokio::test]
async fn a_connection_is_not_kept_while_less_than_half_the_pool_is_free_for_the_others() {
    let pool = pool(KEEP_FROM).await;
    let kept = Kept::of(&pool, 1);
    // Two of the four in use elsewhere: with this one, only one is left for the others.
    let others = (pool.acquire().await.unwrap(), pool.acquire().await.unwrap());
    kept.run(pid).await.unwrap();
    assert!(idle_becomes(&pool, 1).await, "given back to the others");
    drop(others);
    // Now three of four are free: the next one is kept.
    assert!(idle_becomes(&pool, 3).await);
    kept.run(pid).await.unwrap();
    assert_eq!(pool.num_idle(), 2);
}
