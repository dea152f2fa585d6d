//! A projection batch's transaction, begun and committed by hand.
//!
//! sqlx's `Transaction` commits with a `COMMIT` of its own, so the checkpoint that must go in
//! the same transaction cost one more round trip per batch; and it gives its connection back
//! to the pool, which checks it with another. [`BatchTx`] sends `BEGIN` with the schema's lock
//! (and whatever the projection adds) as one simple query, and the checkpoint with `COMMIT` as
//! another, and hands its connection back to the caller once committed. A transaction that
//! ends any other way is rolled back, or its connection closed when even that failed, so no
//! connection goes back to the pool inside a transaction.

use std::ops::{Deref, DerefMut};

use sqlx::{Executor, PgConnection, Postgres, pool::PoolConnection};

/// A transaction of one projection batch on a pooled connection; dereferences to the
/// connection for the batch's statements. sqlx does not know of it: the statements run on the
/// connection must not begin a transaction of their own (sqlx would send `BEGIN`, not
/// `SAVEPOINT`, and its commit would commit the batch).
pub struct BatchTx {
    conn: Option<PoolConnection<Postgres>>,
}

impl BatchTx {
    /// Begins a transaction on `conn` holding `schema`'s shared lock (see
    /// [`crate::begin_apply`]), then runs `then` (SQL text, literals only) in the same round
    /// trip.
    pub async fn begin(
        conn: PoolConnection<Postgres>,
        schema: &str,
        then: Option<&str>,
    ) -> sqlx::Result<Self> {
        let mut tx = BatchTx { conn: Some(conn) };
        run(&mut tx, &begin_sql(schema, then)).await?;
        Ok(tx)
    }

    /// Records that `projection` has applied events up to `seq` (never moving backwards) and
    /// commits, in one round trip; gives the connection back to the caller. [`crate::migrate`]
    /// creates the `checkpoints` table this writes.
    pub async fn commit_through(
        mut self,
        projection: &str,
        seq: u64,
    ) -> sqlx::Result<PoolConnection<Postgres>> {
        run(&mut self, &commit_sql(projection, seq)).await?;
        Ok(self
            .conn
            .take()
            .expect("a BatchTx holds its connection until it ends"))
    }

    /// Rolls the transaction back; the connection then goes back to the pool (closed instead
    /// when the rollback failed).
    pub async fn rollback(mut self) {
        if run(&mut self, "ROLLBACK").await.is_ok() {
            drop(self.conn.take());
        }
    }
}

impl Deref for BatchTx {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        self.conn
            .as_ref()
            .expect("a BatchTx holds its connection until it ends")
    }
}

impl DerefMut for BatchTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn
            .as_mut()
            .expect("a BatchTx holds its connection until it ends")
    }
}

impl Drop for BatchTx {
    /// Still holding its connection means the transaction neither committed nor rolled back
    /// (a statement failed, the future was dropped): the connection may be inside a
    /// transaction, so it is closed rather than handed to the next user.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            conn.close_on_drop();
        }
    }
}

/// Runs `sql` (one or more statements, literals only) as one simple query.
async fn run(conn: &mut PgConnection, sql: &str) -> sqlx::Result<()> {
    conn.execute(sqlx::raw_sql(sql)).await.map(drop)
}

/// `BEGIN`, the shared lock of `schema` (a quoted literal) and `then`.
pub(crate) fn begin_sql(schema: &str, then: Option<&str>) -> String {
    let mut begin = format!(
        "BEGIN; SELECT pg_advisory_xact_lock_shared(hashtext({}))",
        literal(schema)
    );
    if let Some(then) = then {
        begin.push_str("; ");
        begin.push_str(then);
    }
    begin
}

fn commit_sql(projection: &str, seq: u64) -> String {
    format!(
        "INSERT INTO checkpoints (projection, seq, updated_at) VALUES ({}, {seq}, now())
         ON CONFLICT (projection) DO UPDATE
         SET seq = GREATEST(checkpoints.seq, EXCLUDED.seq), updated_at = now();
         COMMIT",
        literal(projection)
    )
}

/// `text` as a quoted SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_go_in_as_quoted_literals() {
        assert_eq!(
            begin_sql("dash", Some("SELECT 1")),
            "BEGIN; SELECT pg_advisory_xact_lock_shared(hashtext('dash')); SELECT 1"
        );
        assert!(commit_sql("it's", 7).contains("VALUES ('it''s', 7, now())"));
        assert!(commit_sql("p", u64::MAX).ends_with("COMMIT"));
    }
}
