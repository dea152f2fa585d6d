//! `drop_secondary_indexes` and `restore_indexes` (a rebuild's bulk load) against the machine's
//! Postgres: what comes back is what was there, built over the loaded rows, with statistics.

use sqlx::PgPool;

async fn pool() -> PgPool {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    PgPool::connect(&url).await.expect("Postgres")
}

async fn definitions(pool: &PgPool, schema: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname")
        .bind(schema)
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_dropped_indexes_come_back_as_they_were_over_the_rows_loaded_meanwhile() {
    let pool = pool().await;
    let schema = format!("store_indexes_{}", std::process::id());
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         CREATE SCHEMA {schema};
         CREATE TABLE {schema}.items (id bigint PRIMARY KEY, tags text[] NOT NULL, n int NOT NULL,
                                      active boolean NOT NULL);
         CREATE INDEX items_tags ON {schema}.items USING gin (tags);
         CREATE INDEX items_n ON {schema}.items (n, id) WHERE active;
         CREATE UNIQUE INDEX items_n_unique ON {schema}.items (n, id);
         CREATE TABLE {schema}.notes (seq bigint PRIMARY KEY, item bigint NOT NULL);
         CREATE INDEX notes_item ON {schema}.notes (item, seq);"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let before = definitions(&pool, &schema).await;

    let dropped = gadai_store::drop_secondary_indexes(&pool, &schema)
        .await
        .unwrap();
    let mut names: Vec<&str> = dropped.iter().map(|i| i.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["items_n", "items_tags", "notes_item"],
        "primary keys and unique indexes stay for the load"
    );
    sqlx::raw_sql(&format!(
        "INSERT INTO {schema}.items
         SELECT g, ARRAY['t' || (g % 13)], g % 100, g % 2 = 0 FROM generate_series(1, 3000) g;
         INSERT INTO {schema}.notes SELECT g, g % 3000 FROM generate_series(1, 2000) g;"
    ))
    .execute(&pool)
    .await
    .unwrap();

    gadai_store::restore_indexes(&pool, &schema, &dropped)
        .await
        .unwrap();
    assert_eq!(definitions(&pool, &schema).await, before);
    let tables = || async {
        sqlx::query_as::<_, (String, f32, bool)>(
            "SELECT c.relname::text, c.reltuples, c.relallvisible = c.relpages FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1",
        )
        .bind(&schema)
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    assert_eq!(
        tables().await,
        [
            ("items".to_owned(), 3000.0, false),
            ("notes".to_owned(), 2000.0, false)
        ],
        "every table analyzed (the planner knows its rows), none vacuumed yet"
    );
    gadai_store::vacuum(&pool, &schema).await.unwrap();
    assert_eq!(
        tables().await,
        [
            ("items".to_owned(), 3000.0, true),
            ("notes".to_owned(), 2000.0, true)
        ],
        "every table vacuumed: each page all-visible"
    );
    // The rebuilt GIN index answers through the index alone.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut *tx)
        .await
        .unwrap();
    let tagged: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {schema}.items WHERE tags @> ARRAY['t5']"
    ))
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(tagged, 231);
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}
