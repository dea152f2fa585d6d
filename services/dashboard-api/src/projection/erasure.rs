//! `customer.erased` in the read model: the rows it blanks and the erasure log.
//!
//! The order rows of the batch's erased customers are locked with the batch's other rows
//! ([`rows`]) and blanked by the same fold ([`super::reveal`]); hand-offs are blanked by
//! [`super::handoffs`]. Once they are written, [`record`] logs each erasure with how many orders
//! and hand-offs it reaches: who, when, why, never what was erased.

use gadai_runtime::Tx;
use uuid::Uuid;

use super::personal::Opened;

/// The orders of the customers the batch erases that still show personal fields.
pub async fn rows(tx: Tx<'_>, opened: &Opened) -> sqlx::Result<Vec<Uuid>> {
    let subjects = opened.erased_subjects();
    if subjects.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(
        "SELECT id FROM orders WHERE subject = ANY($1) AND created AND NOT data_dihapus ORDER BY id",
    )
    .bind(&subjects)
    .fetch_all(&mut **tx)
    .await
}

/// What one erasure reaches among a customer's rows (see `Erasure::covers`), as SQL over
/// `subject`, `key_generation` and `recorded_seq`: `$1` the subject, `$2` the generation, `$3`
/// the erasure's sequence.
pub const COVERED: &str = "subject = $1 AND ((key_generation > 0 AND key_generation <= $2) \
     OR (key_generation = 0 AND recorded_seq < $3))";

/// Logs the batch's erasures with the number of orders and hand-offs each reaches (an erasure
/// applied again is logged once).
pub async fn record(tx: Tx<'_>, opened: &Opened) -> sqlx::Result<()> {
    for e in &opened.erasures {
        let generation = e.data.generation as i32;
        let (orders, handoffs): (i64, i64) = sqlx::query_as(&format!(
            "SELECT (SELECT count(*) FROM orders WHERE created AND {COVERED}),
                    (SELECT count(*) FROM handoffs WHERE opened_at IS NOT NULL AND {COVERED})"
        ))
        .bind(&e.data.subject)
        .bind(generation)
        .bind(e.seq)
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO erasures (seq, event_id, subject, generation, dasar, alasan, actor,
                 occurred_at, order_id, orders, handoffs)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (seq) DO NOTHING",
        )
        .bind(e.seq)
        .bind(e.event_id)
        .bind(&e.data.subject)
        .bind(generation)
        .bind(e.data.dasar.as_str())
        .bind(&e.data.alasan)
        .bind(&e.actor)
        .bind(e.occurred_at)
        .bind(e.order_id)
        .bind(orders as i32)
        .bind(handoffs as i32)
        .execute(&mut **tx)
        .await?;
        tracing::info!(
            subject = %e.data.subject,
            generation,
            seq = e.seq,
            orders,
            handoffs,
            "customer's personal data erased in the read model"
        );
    }
    Ok(())
}
