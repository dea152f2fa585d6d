//! `gadai_store::connect`'s pool against the machine's Postgres. Connections used a moment ago
//! are handed out without a ping (`PING_AFTER_IDLE`); one that rested longer is pinged first,
//! so a backend that died while it rested is replaced instead of failing the next query.

use std::time::Duration;

use gadai_store::{DbSettings, PING_AFTER_IDLE};
use sqlx::PgPool;

fn settings() -> DbSettings {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    DbSettings {
        url,
        // The pool's backends carry the schema as application_name: this test's own.
        schema: format!("store_pool_{}", std::process::id()),
        max_connections: 1,
    }
}

async fn backend_pid(pool: &PgPool) -> i32 {
    sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(pool)
        .await
        .expect("a query on the pool")
}

/// Ends `pid` from another connection and waits until Postgres no longer lists it.
async fn terminate(pid: i32) {
    let url = settings().url;
    let admin = PgPool::connect(&url).await.expect("Postgres");
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&admin)
        .await
        .unwrap();
    assert!(ended, "backend {pid} was not terminated");
    for _ in 0..200 {
        let alive: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)")
                .bind(pid)
                .fetch_one(&admin)
                .await
                .unwrap();
        if !alive {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("backend {pid} still listed after its termination");
}

#[tokio::test]
async fn a_connection_that_died_while_it_rested_is_replaced_before_a_query_uses_it() {
    let pool = gadai_store::connect(&settings()).await.unwrap();
    let first = backend_pid(&pool).await;
    terminate(first).await;
    // A lower bound: a loaded machine only makes the rest longer.
    tokio::time::sleep(PING_AFTER_IDLE + Duration::from_millis(500)).await;

    let second = backend_pid(&pool).await;
    assert_ne!(second, first, "the dead connection was handed out again");
}
