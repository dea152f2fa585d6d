//! Postgres for Gadai services.
//!
//! Every service owns one schema. Its pool sets `search_path` to that schema, so the service's
//! SQL uses unqualified names and a rebuild can point the same SQL at fresh tables.

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use sqlx::{
    Connection, Executor, PgPool, Postgres, Transaction,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

mod batch;
mod kept;
pub use batch::BatchTx;
pub use kept::{KEEP_FROM, Kept};

/// How to reach a service's tables.
#[derive(Debug, Clone)]
pub struct DbSettings {
    pub url: String,
    pub schema: String,
    pub max_connections: u32,
}

impl DbSettings {
    /// `DATABASE_URL` and `DATABASE_MAX_CONNECTIONS` for the service owning `schema`
    /// (`DB_SCHEMA` overrides the schema name).
    pub fn from_env(schema: &str) -> anyhow::Result<Self> {
        Self::from_lookup(schema, |name| std::env::var(name).ok())
    }

    /// As [`DbSettings::from_env`], reading variables through `var`; a variable set to an
    /// empty value counts as unset (as `DB_SCHEMA=` in a copied `.env.example`).
    pub fn from_lookup(schema: &str, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let url = var("DATABASE_URL")
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/gadai".to_owned());
        let max_connections = match var("DATABASE_MAX_CONNECTIONS") {
            Some(v) => v
                .trim()
                .parse()
                .context("DATABASE_MAX_CONNECTIONS must be a number")?,
            None => 10,
        };
        let schema = var("DB_SCHEMA").unwrap_or_else(|| schema.to_owned());
        check_identifier(&schema)?;
        Ok(DbSettings {
            url,
            schema,
            max_connections,
        })
    }

    /// Connection options with the schema as the search path (the URL's own options kept) and
    /// as the connections' `application_name`, unless the URL names one: `pg_stat_activity`,
    /// the server's logs and `make bench` then tell which service a backend works for (every
    /// service connects as the same user to the same database).
    pub fn connect_options(&self) -> anyhow::Result<PgConnectOptions> {
        let options = PgConnectOptions::from_str(&self.url)
            .with_context(|| "DATABASE_URL is not a valid Postgres URL")?;
        let options = match options.get_application_name() {
            Some(_) => options,
            None => options.application_name(&self.schema),
        };
        Ok(options.options([("search_path", self.schema.as_str())]))
    }
}

/// How long a connection may rest in the pool and still be handed out without a ping.
///
/// sqlx pings every connection it hands out by default: one more round trip to Postgres per
/// query, 8 % of order-intake's CPU samples under load (`perf`, 2026-12-04; the whole system's
/// CPU per order moved less than run-to-run noise). A connection that answered a moment ago is
/// almost surely alive; one that rested longer (a Postgres restart, a failover, a firewall's
/// idle timeout) is pinged, and replaced when the ping fails. A connection that dies inside
/// the window fails its next query, which callers already treat as transient (503 on the
/// bridge, a redelivery for a consumer).
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// A pool whose connections see `settings.schema` first.
pub async fn connect(settings: &DbSettings) -> anyhow::Result<PgPool> {
    check_identifier(&settings.schema)?;
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(settings.connect_options()?)
        .await
        .with_context(|| format!("connecting to Postgres for schema {}", settings.schema))
}

/// Creates the schema if needed and runs the service's migrations inside it.
///
/// Safe with several replicas starting at once: schema creation is serialized by an advisory
/// lock, and sqlx's migrator takes its own lock.
pub async fn migrate(pool: &PgPool, schema: &str, migrator: &Migrator) -> anyhow::Result<()> {
    check_identifier(schema)?;
    let mut conn = pool.acquire().await?;
    // Several replicas may start at once: one creates the schema and its bookkeeping tables
    // while the others wait (IF NOT EXISTS alone races in the catalog).
    conn.execute("SELECT pg_advisory_lock(7203311)").await?;
    let created = create_schema(&mut conn, schema).await;
    conn.execute("SELECT pg_advisory_unlock(7203311)").await?;
    created?;
    drop(conn);
    migrator
        .run(pool)
        .await
        .with_context(|| format!("migrating schema {schema}"))?;
    Ok(())
}

async fn create_schema(conn: &mut sqlx::PgConnection, schema: &str) -> anyhow::Result<()> {
    conn.execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
        .await
        .with_context(|| format!("creating schema {schema}"))?;
    conn.execute(
        format!(
            "CREATE TABLE IF NOT EXISTS {schema}.checkpoints (
                projection text PRIMARY KEY,
                seq bigint NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now());
             CREATE TABLE IF NOT EXISTS {schema}.parked_events (
                projection text NOT NULL,
                seq bigint NOT NULL,
                subject text NOT NULL,
                reason text NOT NULL,
                payload bytea NOT NULL,
                parked_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (projection, seq));
             CREATE TABLE IF NOT EXISTS {schema}.set_aside_indexes (
                name text PRIMARY KEY,
                definition text NOT NULL,
                set_aside_at timestamptz NOT NULL DEFAULT now())"
        )
        .as_str(),
    )
    .await
    .with_context(|| format!("creating the checkpoint tables of {schema}"))?;
    Ok(())
}

/// Starts a transaction that writes `schema`'s tables (a projection batch's is a [`BatchTx`]).
/// It holds a shared lock on `schema` so that a rebuild (which takes the lock exclusively) can
/// swap the schema between two batches. `BEGIN` and the lock go in one round trip (one simple
/// query); the name goes in as a quoted literal.
pub async fn begin_apply(
    pool: &PgPool,
    schema: &str,
) -> sqlx::Result<Transaction<'static, Postgres>> {
    pool.begin_with(batch::begin_sql(schema, None)).await
}

/// Takes the advisory lock named `round` for the rest of `conn`'s transaction, if no other
/// replica holds it: one replica runs that round at a time, the others skip it.
pub async fn try_lead(conn: &mut sqlx::PgConnection, round: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext($1))")
        .bind(round)
        .fetch_one(conn)
        .await
}

/// Keeps every projection of `schema` out until the transaction ends (for a schema swap).
pub async fn lock_exclusive(tx: &mut Transaction<'_, Postgres>, schema: &str) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(schema)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Schema names go into SQL text, so only plain identifiers are accepted.
pub fn check_identifier(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    anyhow::ensure!(ok, "{name:?} is not a plain lower-case SQL identifier");
    Ok(())
}

/// The highest stream sequence `projection` has applied, 0 when none.
pub async fn checkpoint(pool: &PgPool, projection: &str) -> sqlx::Result<u64> {
    let seq: Option<i64> = sqlx::query_scalar("SELECT seq FROM checkpoints WHERE projection = $1")
        .bind(projection)
        .fetch_optional(pool)
        .await?;
    Ok(seq.unwrap_or(0) as u64)
}

/// Keeps a message that can never be applied, for ops to look at (table `parked_events`).
pub async fn park(
    pool: &PgPool,
    projection: &str,
    seq: u64,
    subject: &str,
    reason: &str,
    payload: &[u8],
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO parked_events (projection, seq, subject, reason, payload)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (projection, seq) DO NOTHING",
    )
    .bind(projection)
    .bind(seq as i64)
    .bind(subject)
    .bind(reason)
    .bind(payload)
    .execute(pool)
    .await?;
    Ok(())
}

/// Replaces schema `live` by `fresh` in one transaction (the old one is dropped).
///
/// Callers hold whatever lock keeps writers out while the names move.
pub async fn swap_schemas(
    tx: &mut Transaction<'_, Postgres>,
    live: &str,
    fresh: &str,
) -> anyhow::Result<()> {
    check_identifier(live)?;
    check_identifier(fresh)?;
    let old = format!("{live}_old");
    check_identifier(&old)?;
    for statement in [
        format!("DROP SCHEMA IF EXISTS {old} CASCADE"),
        format!("ALTER SCHEMA {live} RENAME TO {old}"),
        format!("ALTER SCHEMA {fresh} RENAME TO {live}"),
        format!("DROP SCHEMA {old} CASCADE"),
    ] {
        (&mut **tx)
            .execute(statement.as_str())
            .await
            .with_context(|| statement.clone())?;
    }
    Ok(())
}

/// A non-unique index of a schema: its name and the statement that builds it.
#[derive(Debug, Clone)]
pub struct IndexDef {
    pub name: String,
    pub create: String,
}

/// Drops the non-unique indexes of `schema`'s tables and returns how to build them again.
///
/// For bulk loads into empty tables (a rebuild's replay): building an index once over the loaded
/// rows is far cheaper than growing it row by row (a trigram GIN index above all). Primary keys
/// and unique indexes stay: `ON CONFLICT` and the load's own lookups need them.
pub async fn drop_secondary_indexes(pool: &PgPool, schema: &str) -> anyhow::Result<Vec<IndexDef>> {
    let mut conn = pool.acquire().await?;
    let defs = secondary_indexes(&mut conn, schema).await?;
    for index in &defs {
        drop_index(&mut conn, schema, &index.name).await?;
    }
    Ok(defs)
}

/// The non-unique indexes of `schema`'s tables (those a bulk load can do without).
async fn secondary_indexes(
    conn: &mut sqlx::PgConnection,
    schema: &str,
) -> anyhow::Result<Vec<IndexDef>> {
    check_identifier(schema)?;
    let defs: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.relname::text, pg_get_indexdef(i.oid)
         FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_namespace n ON n.oid = i.relnamespace
         WHERE n.nspname = $1 AND NOT x.indisunique AND NOT x.indisprimary
         ORDER BY i.relname",
    )
    .bind(schema)
    .fetch_all(&mut *conn)
    .await
    .context("listing the schema's indexes")?;
    Ok(defs
        .into_iter()
        .map(|(name, create)| IndexDef { name, create })
        .collect())
}

async fn drop_index(conn: &mut sqlx::PgConnection, schema: &str, name: &str) -> anyhow::Result<()> {
    conn.execute(format!("DROP INDEX {schema}.\"{name}\"").as_str())
        .await
        .with_context(|| format!("dropping index {schema}.{name}"))?;
    Ok(())
}

/// Sets the non-unique indexes of a live `schema` named in `names` aside for a bulk catch-up:
/// records how to build each in `set_aside_indexes` and drops it, in one transaction, so that
/// a process that dies before [`restore_set_aside_indexes`] leaves the record for the next one.
/// Returns how many were set aside (a name that is no such index is skipped).
pub async fn set_aside_indexes(
    pool: &PgPool,
    schema: &str,
    names: &[&str],
) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let mut defs = secondary_indexes(&mut tx, schema).await?;
    defs.retain(|index| names.contains(&index.name.as_str()));
    for index in &defs {
        sqlx::query(&format!(
            "INSERT INTO {schema}.set_aside_indexes (name, definition) VALUES ($1, $2)
             ON CONFLICT (name) DO NOTHING"
        ))
        .bind(&index.name)
        .bind(&index.create)
        .execute(&mut *tx)
        .await
        .context("recording an index set aside")?;
        drop_index(&mut tx, schema, &index.name).await?;
    }
    tx.commit().await?;
    Ok(defs.len())
}

/// The indexes of `schema` set aside by [`set_aside_indexes`] and not yet built again.
pub async fn set_aside(pool: &PgPool, schema: &str) -> anyhow::Result<Vec<IndexDef>> {
    check_identifier(schema)?;
    let defs: Vec<(String, String)> = sqlx::query_as(&format!(
        "SELECT name, definition FROM {schema}.set_aside_indexes ORDER BY name"
    ))
    .fetch_all(pool)
    .await
    .context("reading the indexes set aside")?;
    Ok(defs
        .into_iter()
        .map(|(name, create)| IndexDef { name, create })
        .collect())
}

/// Builds the indexes set aside in `schema` again (those a failed earlier attempt had built
/// already are skipped), analyzes its tables (see [`restore_indexes`]; no [`vacuum`]: on a
/// live schema that is autovacuum's work), then forgets the record. Returns how many there
/// were.
pub async fn restore_set_aside_indexes(pool: &PgPool, schema: &str) -> anyhow::Result<usize> {
    let indexes: Vec<IndexDef> = set_aside(pool, schema)
        .await?
        .into_iter()
        .map(|index| IndexDef {
            create: index
                .create
                .replacen("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1),
            ..index
        })
        .collect();
    if indexes.is_empty() {
        return Ok(0);
    }
    restore_indexes(pool, schema, &indexes).await?;
    sqlx::query(&format!("DELETE FROM {schema}.set_aside_indexes"))
        .execute(pool)
        .await
        .context("forgetting the indexes set aside")?;
    Ok(indexes.len())
}

/// Sorts the pending lists of `schema`'s GIN indexes into the indexes and returns how many
/// pages they held. A backlog's batches leave up to 32 MB there (dashboard-api's trigram index),
/// which every search scans until a later insert, or autovacuum, sorts it in: after a
/// 1,000,000-event catch-up, 3,998 pages, merged in 0.3 s, took a search for one e-mail from
/// p99 20.2 ms to 8.98 ms (2026-12-04).
pub async fn merge_pending_lists(pool: &PgPool, schema: &str) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "SELECT coalesce(sum(gin_clean_pending_list(c.oid)), 0)::bigint
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_am a ON a.oid = c.relam
         WHERE n.nspname = $1 AND c.relkind = 'i' AND a.amname = 'gin'",
    )
    .bind(schema)
    .fetch_one(pool)
    .await
    .with_context(|| format!("merging the GIN pending lists of {schema}"))
}

/// Index builds (and then analyzes or vacuums) run at once by [`restore_indexes`] and
/// [`vacuum`]. A trigram GIN build uses one core for seconds (4.1 s of the 7.6 s a
/// 300,000-order rebuild spent building and vacuuming one statement after the other); the
/// btree builds fit beside it.
const BUILDS_AT_ONCE: usize = 2;

/// Builds the indexes `drop_secondary_indexes` dropped, then analyzes every table of `schema`,
/// so the planner has statistics before the first query. [`BUILDS_AT_ONCE`] statements at a
/// time, each on a connection of its own (building indexes of one table at once is allowed:
/// each takes the table's share lock), the GIN builds first: they take the longest.
pub async fn restore_indexes(
    pool: &PgPool,
    schema: &str,
    indexes: &[IndexDef],
) -> anyhow::Result<()> {
    check_identifier(schema)?;
    let mut builds: Vec<&IndexDef> = indexes.iter().collect();
    builds.sort_by_key(|index| !index.create.contains(" USING gin "));
    maintain_all(
        pool,
        builds.into_iter().map(|index| {
            (
                index.create.clone(),
                format!("building index {}", index.name),
            )
        }),
    )
    .await?;
    each_table(pool, schema, "ANALYZE").await
}

/// `VACUUM` of every table of `schema`: hint bits and the visibility map set once, for tables
/// loaded in bulk that nobody has read yet (a rebuild's, after they are in service).
pub async fn vacuum(pool: &PgPool, schema: &str) -> anyhow::Result<()> {
    check_identifier(schema)?;
    each_table(pool, schema, "VACUUM").await
}

/// Runs `statement` (`ANALYZE`, `VACUUM`) on every table of `schema`, [`BUILDS_AT_ONCE`] at a
/// time.
async fn each_table(pool: &PgPool, schema: &str, statement: &str) -> anyhow::Result<()> {
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = $1")
            .bind(schema)
            .fetch_all(pool)
            .await?;
    maintain_all(
        pool,
        tables.into_iter().map(|table| {
            (
                format!("{statement} {schema}.\"{table}\""),
                format!("{statement} {schema}.{table}"),
            )
        }),
    )
    .await
}

/// Runs the statements (each with what it does, for its error), [`BUILDS_AT_ONCE`] at a time,
/// each with [`maintain`]. The futures own what they use, so this one is `Send` for any caller.
async fn maintain_all(
    pool: &PgPool,
    statements: impl Iterator<Item = (String, String)>,
) -> anyhow::Result<()> {
    use futures::{StreamExt, TryStreamExt};
    let runs: Vec<_> = statements
        .map(|(statement, what)| {
            let pool = pool.clone();
            async move { maintain(&pool, &statement).await.context(what) }
        })
        .collect();
    futures::stream::iter(runs)
        .buffer_unordered(BUILDS_AT_ONCE)
        .try_collect::<()>()
        .await
}

/// Runs one maintenance statement on a connection of its own, which sorts in memory when it
/// can (the session's setting only, reset before the connection goes back to the pool).
async fn maintain(pool: &PgPool, statement: &str) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    conn.execute("SET maintenance_work_mem = '256MB'").await?;
    conn.execute(statement).await?;
    conn.execute("RESET maintenance_work_mem").await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{DbSettings, check_identifier};

    #[test]
    fn empty_variables_count_as_unset() {
        let settings = DbSettings::from_lookup("dashboard", |name| match name {
            "DB_SCHEMA" | "DATABASE_MAX_CONNECTIONS" | "DATABASE_URL" => Some(String::new()),
            _ => None,
        })
        .unwrap();
        assert_eq!(settings.schema, "dashboard");
        assert_eq!(settings.max_connections, 10);
        assert!(settings.url.ends_with("/gadai"));

        let set = DbSettings::from_lookup("dashboard", |name| match name {
            "DB_SCHEMA" => Some("dash_two".into()),
            "DATABASE_MAX_CONNECTIONS" => Some("4".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!((set.schema.as_str(), set.max_connections), ("dash_two", 4));
        let bad = DbSettings::from_lookup("x", |name| (name == "DB_SCHEMA").then(|| "Bad".into()));
        assert!(bad.is_err());
    }

    #[test]
    fn only_plain_identifiers_pass() {
        assert!(check_identifier("dashboard").is_ok());
        assert!(check_identifier("dashboard_rebuild_2").is_ok());
        assert!(check_identifier("Dashboard").is_err());
        assert!(check_identifier("x; DROP TABLE y").is_err());
        assert!(check_identifier("").is_err());
    }
}
