//! The key store: one row per customer in the owning service's schema (`customer_keys`).
//!
//! Every write takes the schema's shared advisory lock ([`gadai_store::begin_apply`]), the one a
//! rebuild takes exclusively while it copies the service's kept tables and swaps the schemas:
//! a key created during a rebuild is either copied or written after the swap, never left
//! behind in the schema the swap drops.

use std::{collections::HashMap, fmt, sync::Arc};

use gadai_store::Kept;
use sqlx::{PgConnection, PgPool, migrate::Migrator};

use crate::{
    DataKey, MasterKeys, SubjectId, UnwrapError, WrappedKey,
    keys::{unwrap, wrap},
};

/// The store's table, for the owning service's `KEPT_TABLES`.
pub const TABLE: &str = "customer_keys";

/// The SQL of `migrations/0001_customer_keys.sql`, which the owning service copies into its own
/// migrations folder (under its next free number).
///
/// Copied rather than run by a function of this crate, because the owner's `Migrator` is the
/// only thing that builds its schema:
/// - a rebuild (`gadai_runtime::rebuild`) migrates the fresh `<schema>_rebuild` with the
///   service's `Migrator` alone, copies `KEPT_TABLES` into it and drops the old schema: a table
///   made by anything else would be missing there, and the copy would fail (or, left out of
///   `KEPT_TABLES`, every key would be dropped with the old schema: every customer erased);
/// - sqlx records migrations per schema in one `_sqlx_migrations` table: a second migrator in
///   the same schema would clash on version numbers and see the other's migrations as
///   "applied but missing".
///
/// [`check_migrator`] keeps the copy identical.
pub const MIGRATION: &str = include_str!("../migrations/0001_customer_keys.sql");

/// Checks that `migrator` (the owning service's) holds [`MIGRATION`] unchanged: call it from a
/// test of that service.
pub fn check_migrator(migrator: &Migrator) -> Result<(), String> {
    if migrator
        .iter()
        .any(|m| m.sql.trim() == MIGRATION.trim() && !m.migration_type.is_down_migration())
    {
        Ok(())
    } else {
        Err(format!(
            "no migration of this service is gadai-privacy's migrations/0001_customer_keys.sql: \
             copy it unchanged into the service's migrations (it makes the `{TABLE}` table)"
        ))
    }
}

/// [`KeyStore::erase_through`] in the caller's transaction `conn`, whose `search_path` is the
/// owner's schema and which holds the schema's shared lock: the owner's projection applying
/// `customer.erased`, live or in a rebuild's fresh schema. (Not `erase_through` there: a second
/// transaction asking for the shared lock while this one holds it deadlocks behind a queued
/// rebuild, and here the erasure commits with the projection's checkpoint.)
pub async fn erase_in(
    conn: &mut PgConnection,
    subject: &SubjectId,
    generation: u32,
    reason: &str,
) -> Result<Erasure, StoreError> {
    erase_with(conn, TABLE, subject, generation, reason).await
}

/// Deletes the key bytes of `subject`'s key of `generation` or older in `table`, leaving the
/// row as a tombstone, and says what it found.
async fn erase_with(
    conn: &mut PgConnection,
    table: &str,
    subject: &SubjectId,
    generation: u32,
    reason: &str,
) -> Result<Erasure, StoreError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(StoreError::BadReason);
    }
    let erased: Option<i32> = sqlx::query_scalar(&format!(
        "UPDATE {table} SET wrapped = ''::bytea, erased_at = now(), erased_reason = $2
         WHERE subject = $1 AND erased_at IS NULL AND generation <= $3
         RETURNING generation"
    ))
    .bind(subject.as_str())
    .bind(reason)
    .bind(i64::from(generation))
    .fetch_optional(&mut *conn)
    .await?;
    let outcome = match erased {
        Some(generation) => Erasure::Erased {
            generation: generation as u32,
        },
        None => {
            let exists: bool = sqlx::query_scalar(&format!(
                "SELECT EXISTS (SELECT 1 FROM {table} WHERE subject = $1)"
            ))
            .bind(subject.as_str())
            .fetch_one(&mut *conn)
            .await?;
            if exists {
                Erasure::AlreadyErased
            } else {
                Erasure::Unknown
            }
        }
    };
    // The reason is a request reference by rule, but typed by an admin: not logged.
    tracing::info!(%subject, generation, ?outcome, "customer key erasure");
    Ok(outcome)
}

/// What [`KeyStore::erase`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    /// The customer's key was deleted now.
    Erased { generation: u32 },
    /// It had been deleted before (and no new key made since).
    AlreadyErased,
    /// The store never had a key for this subject: nothing was sealed for them.
    Unknown,
}

/// A customer's key as the store holds it, for handing to readers (`rpc.keys.get`): still
/// wrapped, so it crosses NATS as bytes that open only with a master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    Live(WrappedKey),
    /// Erased; this was the last generation.
    Erased {
        generation: u32,
    },
    /// The store never had a key for this subject.
    Unknown,
}

/// Why the key store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the key store's database")]
    Database(#[from] sqlx::Error),
    #[error("the key of customer {subject}")]
    Unwrap {
        subject: SubjectId,
        #[source]
        source: UnwrapError,
    },
    #[error("the key of customer {subject} was erased and re-created while it was read; try again")]
    Contended { subject: SubjectId },
    #[error("an erasure's reason must be 1-{max} characters (a request reference, never personal data)", max = MAX_REASON_CHARS)]
    BadReason,
}

/// The longest reason an erasure keeps, in characters.
pub const MAX_REASON_CHARS: usize = 500;
const REWRAP_BATCH: i64 = 500;

struct Sql {
    select: String,
    select_many: String,
    insert: String,
    keys_many: String,
    rekey: String,
    /// `<schema>.customer_keys`.
    table: String,
    to_rewrap: String,
    rewrap: String,
    masters_in_use: String,
}

impl Sql {
    fn new(schema: &str) -> Self {
        let t = format!("{schema}.{TABLE}");
        Sql {
            select: format!(
                "SELECT generation, master_id, wrapped, erased_at IS NOT NULL FROM {t}
                 WHERE subject = $1"
            ),
            select_many: format!(
                "SELECT subject, generation, master_id, wrapped, erased_at IS NOT NULL FROM {t}
                 WHERE subject = ANY($1)"
            ),
            // One statement, one round trip: the schema's shared lock (the one
            // `gadai_store::begin_apply` takes) is held by the statement's own transaction.
            insert: format!(
                "WITH locked AS (SELECT pg_advisory_xact_lock_shared(hashtext($4)))
                 INSERT INTO {t} (subject, generation, master_id, wrapped)
                 SELECT $1, 1, $2, $3 FROM locked
                 ON CONFLICT (subject) DO NOTHING"
            ),
            // Many customers in one statement (the same lock): makes the keys of those who never
            // had one from the candidates given ($2, $3), and returns every row the customers
            // have, the made ones flagged. The outer SELECT reads the statement's snapshot, which
            // holds neither this statement's rows (they come from `made`) nor those another
            // replica commits meanwhile (the caller reads those one by one).
            keys_many: format!(
                "WITH locked AS (SELECT pg_advisory_xact_lock_shared(hashtext($4))),
                 made AS (
                     INSERT INTO {t} (subject, generation, master_id, wrapped)
                     SELECT u.subject, 1, u.master_id, u.wrapped
                     FROM locked, unnest($1::text[], $2::text[], $3::bytea[])
                          AS u(subject, master_id, wrapped)
                     ON CONFLICT (subject) DO NOTHING
                     RETURNING subject, generation, master_id, wrapped
                 )
                 SELECT subject, generation, master_id, wrapped, false, true FROM made
                 UNION ALL
                 SELECT k.subject, k.generation, k.master_id, k.wrapped, k.erased_at IS NOT NULL,
                        false
                 FROM {t} k
                 WHERE k.subject = ANY($1) AND k.subject NOT IN (SELECT subject FROM made)"
            ),
            // A tombstone gets the next generation; a replica that lost the race updates nothing.
            rekey: format!(
                "UPDATE {t} SET generation = $2 + 1, master_id = $3, wrapped = $4,
                   created_at = now(), erased_at = NULL, erased_reason = NULL
                 WHERE subject = $1 AND generation = $2 AND erased_at IS NOT NULL"
            ),
            table: t.clone(),
            to_rewrap: format!(
                "SELECT subject, generation, master_id, wrapped FROM {t}
                 WHERE erased_at IS NULL AND master_id <> $1 AND subject > $2
                 ORDER BY subject LIMIT $3"
            ),
            rewrap: format!(
                "UPDATE {t} SET master_id = $4, wrapped = $5
                 WHERE subject = $1 AND generation = $2 AND master_id = $3 AND erased_at IS NULL"
            ),
            masters_in_use: format!(
                "SELECT master_id, count(*) FROM {t} WHERE erased_at IS NULL
                 GROUP BY master_id ORDER BY master_id"
            ),
        }
    }
}

struct Inner {
    pool: PgPool,
    /// A connection kept for the readers' requests ([`KeyStore::held`]): one at a time keeps
    /// it from one request to the next, without the pool's round trip on each give-back.
    readers: Kept,
    schema: String,
    masters: MasterKeys,
    sql: Sql,
}

/// The customers' data keys, in the `customer_keys` table of the owning service's schema.
///
/// Cheap to clone (one shared inner).
#[derive(Clone)]
pub struct KeyStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyStore")
            .field("schema", &self.inner.schema)
            .field("masters", &self.inner.masters)
            .finish_non_exhaustive()
    }
}

type Row = (i32, String, Vec<u8>, bool);

impl KeyStore {
    /// The store in `schema` (a plain identifier; the owning service's schema, where its
    /// migrations made the table), wrapping new keys under `masters`' current key.
    pub fn new(pool: PgPool, schema: &str, masters: MasterKeys) -> anyhow::Result<Self> {
        gadai_store::check_identifier(schema)?;
        Ok(KeyStore {
            inner: Arc::new(Inner {
                readers: Kept::of(&pool, 1),
                pool,
                schema: schema.to_owned(),
                masters,
                sql: Sql::new(schema),
            }),
        })
    }

    pub fn masters(&self) -> &MasterKeys {
        &self.inner.masters
    }

    /// The customer's current key, made now when they have none (their first order) or when
    /// their last one was erased (a returning customer: a new generation; what was sealed under
    /// the erased key stays unreadable).
    ///
    /// Replicas racing for the same new customer end with one key: each inserts with
    /// `ON CONFLICT DO NOTHING`, and the ones whose insert did nothing read the winner's.
    #[tracing::instrument(skip_all, fields(subject = %subject))]
    pub async fn key_for(&self, subject: &SubjectId) -> Result<DataKey, StoreError> {
        let inner = &self.inner;
        // Three rounds: a read, a lost race, the winner's row. Only an erasure landing between
        // every round (a key erased the instant it is made, again and again) gets through.
        for _ in 0..3 {
            let previous = match self.row(subject).await? {
                Some(row @ (_, _, _, false)) => return self.unwrap_row(subject, row),
                Some((generation, _, _, true)) => Some(generation),
                None => None,
            };
            let key = DataKey::generate(previous.map_or(1, |g| g as u32 + 1));
            let wrapped = wrap(&inner.masters, subject, &key);
            let written = match previous {
                // A new customer (the common case of the two): one round trip.
                None => {
                    sqlx::query(&inner.sql.insert)
                        .bind(subject.as_str())
                        .bind(&wrapped.master_id)
                        .bind(&wrapped.bytes)
                        .bind(&inner.schema)
                        .execute(&inner.pool)
                        .await?
                }
                Some(generation) => {
                    let mut tx = gadai_store::begin_apply(&inner.pool, &inner.schema).await?;
                    let written = sqlx::query(&inner.sql.rekey)
                        .bind(subject.as_str())
                        .bind(generation)
                        .bind(&wrapped.master_id)
                        .bind(&wrapped.bytes)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    written
                }
            };
            if written.rows_affected() == 1 {
                tracing::info!(
                    generation = key.generation(),
                    master_id = %wrapped.master_id,
                    "customer key created"
                );
                return Ok(key);
            }
            tracing::debug!("another replica made the key first; reading theirs");
        }
        Err(StoreError::Contended {
            subject: subject.clone(),
        })
    }

    /// [`KeyStore::key_for`] of many customers at once, in the order given (a customer named
    /// twice gets the same key twice): one statement that makes the keys of those who never had
    /// one and reads the keys of the others (a round trip, whatever the mix), and
    /// [`KeyStore::key_for`] one by one only for the rare rest (a customer coming back after an
    /// erasure, a race lost to another replica).
    pub async fn keys_for(&self, subjects: &[SubjectId]) -> Result<Vec<DataKey>, StoreError> {
        let mut conn = self.inner.pool.acquire().await?;
        self.keys_for_on(&mut conn, subjects).await
    }

    /// [`KeyStore::keys_for`], its statement on `conn`: for a caller that keeps a connection
    /// across many calls (order-intake's rounds). A connection given back to the pool costs a
    /// round trip to Postgres (sqlx checks it with a `Sync` on every release).
    pub async fn keys_for_on(
        &self,
        conn: &mut PgConnection,
        subjects: &[SubjectId],
    ) -> Result<Vec<DataKey>, StoreError> {
        let mut distinct = subjects.to_vec();
        distinct.sort();
        distinct.dedup();
        let inner = &self.inner;
        // A candidate key for everyone: wrapping is microseconds, a round trip is not.
        let mut candidates: HashMap<&str, (&SubjectId, DataKey)> =
            HashMap::with_capacity(distinct.len());
        let mut master_ids = Vec::with_capacity(distinct.len());
        let mut wrapped = Vec::with_capacity(distinct.len());
        for subject in &distinct {
            let key = DataKey::generate(1);
            let w = wrap(&inner.masters, subject, &key);
            master_ids.push(w.master_id);
            wrapped.push(w.bytes);
            candidates.insert(subject.as_str(), (subject, key));
        }
        let names: Vec<&str> = distinct.iter().map(SubjectId::as_str).collect();
        let rows: Vec<(String, i32, String, Vec<u8>, bool, bool)> =
            sqlx::query_as(&inner.sql.keys_many)
                .bind(&names)
                .bind(&master_ids)
                .bind(&wrapped)
                .bind(&inner.schema)
                .fetch_all(&mut *conn)
                .await?;
        let mut found: HashMap<SubjectId, DataKey> = HashMap::with_capacity(distinct.len());
        for (name, generation, master_id, bytes, erased, made) in rows {
            let Some(&(subject, ref candidate)) = candidates.get(name.as_str()) else {
                continue;
            };
            if made {
                found.insert(subject.clone(), candidate.clone());
            } else if !erased {
                let held = WrappedKey {
                    master_id,
                    generation: generation as u32,
                    bytes,
                };
                let key = unwrap(&inner.masters, subject, &held).map_err(|source| {
                    StoreError::Unwrap {
                        subject: subject.clone(),
                        source,
                    }
                })?;
                found.insert(subject.clone(), key);
            }
        }
        for subject in &distinct {
            if !found.contains_key(subject) {
                let key = self.key_for(subject).await?;
                found.insert(subject.clone(), key);
            }
        }
        Ok(subjects.iter().map(|s| found[s].clone()).collect())
    }

    /// The customer's current key; `None` when they have none or it was erased. Never makes one:
    /// for readers (projections, the mailer, exports).
    pub async fn find(&self, subject: &SubjectId) -> Result<Option<DataKey>, StoreError> {
        match self.row(subject).await? {
            Some(row @ (_, _, _, false)) => self.unwrap_row(subject, row).map(Some),
            Some((_, _, _, true)) | None => Ok(None),
        }
    }

    /// Deletes the customer's key: every field sealed under it, in every copy of every event,
    /// becomes unreadable. The row stays as a tombstone (`erased_at`, `reason`, the generation),
    /// so a later [`KeyStore::key_for`] makes the next generation rather than generation 1.
    ///
    /// `reason` is kept with the tombstone and logged: a request reference, never personal data.
    pub async fn erase(&self, subject: &SubjectId, reason: &str) -> Result<Erasure, StoreError> {
        self.erase_through(subject, u32::MAX, reason).await
    }

    /// [`KeyStore::erase`], of generation `generation` or older only: applying a
    /// `customer.erased` event of generation n leaves alone a key n + 1 made after the erasure
    /// (a customer who came back), and answers [`Erasure::AlreadyErased`] for it.
    #[tracing::instrument(skip_all, fields(subject = %subject, generation))]
    pub async fn erase_through(
        &self,
        subject: &SubjectId,
        generation: u32,
        reason: &str,
    ) -> Result<Erasure, StoreError> {
        let inner = &self.inner;
        let mut tx = gadai_store::begin_apply(&inner.pool, &inner.schema).await?;
        let outcome = erase_with(&mut tx, &inner.sql.table, subject, generation, reason).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Each subject's key, still wrapped, in the order asked (one query for all): what
    /// `rpc.keys.get` answers readers.
    pub async fn held(&self, subjects: &[SubjectId]) -> Result<Vec<Held>, StoreError> {
        let names: Vec<&str> = subjects.iter().map(SubjectId::as_str).collect();
        let inner = &self.inner;
        let rows: Vec<(String, i32, String, Vec<u8>, bool)> = inner
            .readers
            .run(async |conn| {
                sqlx::query_as(&inner.sql.select_many)
                    .bind(&names)
                    .fetch_all(conn)
                    .await
            })
            .await?;
        let by_subject: HashMap<String, Held> = rows
            .into_iter()
            .map(|(subject, generation, master_id, bytes, erased)| {
                let generation = generation as u32;
                let held = if erased {
                    Held::Erased { generation }
                } else {
                    Held::Live(WrappedKey {
                        master_id,
                        generation,
                        bytes,
                    })
                };
                (subject, held)
            })
            .collect();
        Ok(names
            .iter()
            .map(|s| by_subject.get(*s).cloned().unwrap_or(Held::Unknown))
            .collect())
    }

    /// The customer's current key wrapped for a reader, made now if they have none
    /// ([`KeyStore::key_for`]): for a writer that is not the owner (dashboard-api sealing a
    /// hand-off).
    pub async fn held_or_new(&self, subject: &SubjectId) -> Result<WrappedKey, StoreError> {
        let key = self.key_for(subject).await?;
        Ok(wrap(&self.inner.masters, subject, &key))
    }

    /// Re-wraps every live key that is not under the current master key, with it (rotation).
    /// Returns how many keys it re-wrapped. Batches of 500, each in its own transaction: safe to
    /// stop and run again, and to run while the service serves. A key under a master id that
    /// the configuration no longer holds stops it with [`StoreError::Unwrap`].
    pub async fn rewrap_all(&self) -> Result<u64, StoreError> {
        let inner = &self.inner;
        let current = inner.masters.current_id().to_owned();
        let mut after = String::new();
        let mut count = 0u64;
        loop {
            let rows: Vec<(String, i32, String, Vec<u8>)> = sqlx::query_as(&inner.sql.to_rewrap)
                .bind(&current)
                .bind(&after)
                .bind(REWRAP_BATCH)
                .fetch_all(&inner.pool)
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.0.clone();
            let mut tx = gadai_store::begin_apply(&inner.pool, &inner.schema).await?;
            for (subject, generation, master_id, bytes) in rows {
                let subject = SubjectId::parse(&subject).map_err(|_| {
                    sqlx::Error::Decode(
                        format!("{TABLE}.subject {subject:?} is not a subject id").into(),
                    )
                })?;
                let key = unwrap(
                    &inner.masters,
                    &subject,
                    &WrappedKey {
                        master_id: master_id.clone(),
                        generation: generation as u32,
                        bytes,
                    },
                )
                .map_err(|source| StoreError::Unwrap {
                    subject: subject.clone(),
                    source,
                })?;
                let rewrapped = wrap(&inner.masters, &subject, &key);
                let done = sqlx::query(&inner.sql.rewrap)
                    .bind(subject.as_str())
                    .bind(generation)
                    .bind(&master_id)
                    .bind(&rewrapped.master_id)
                    .bind(&rewrapped.bytes)
                    .execute(&mut *tx)
                    .await?;
                count += done.rows_affected();
            }
            tx.commit().await?;
            tracing::info!(rewrapped = count, master_id = %current, "re-wrapping customer keys");
        }
        Ok(count)
    }

    /// How many live keys each master key wraps: a master key may leave the configuration once
    /// it wraps none.
    pub async fn masters_in_use(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(&self.inner.sql.masters_in_use)
            .fetch_all(&self.inner.pool)
            .await?;
        Ok(rows.into_iter().map(|(id, n)| (id, n as u64)).collect())
    }

    async fn row(&self, subject: &SubjectId) -> Result<Option<Row>, StoreError> {
        Ok(sqlx::query_as(&self.inner.sql.select)
            .bind(subject.as_str())
            .fetch_optional(&self.inner.pool)
            .await?)
    }

    fn unwrap_row(&self, subject: &SubjectId, row: Row) -> Result<DataKey, StoreError> {
        let (generation, master_id, bytes, _) = row;
        unwrap(
            &self.inner.masters,
            subject,
            &WrappedKey {
                master_id,
                generation: generation as u32,
                bytes,
            },
        )
        .map_err(|source| StoreError::Unwrap {
            subject: subject.clone(),
            source,
        })
    }
}
