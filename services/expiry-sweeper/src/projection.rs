//! The sweeper's projection: open verifications and when they expire, and, for retention, each
//! customer's orders and hand-offs and when they closed.
//!
//! Verifications: each event sets the row's whole state, so applying only events newer than the
//! row (`last_seq`) gives the state of the stream order, whatever order replicas apply them in.
//!
//! Retention items: an item's opening event sets its customer and key generation (never changed
//! after), each closing event moves `closed_at` to the later of the two times, and an erasure
//! deletes the customer's items of its generation or older and is remembered, so an opening event
//! of an erased generation that a replica applies late is not taken back in. Each of these gives
//! the same rows in any order.

use chrono::{DateTime, Utc};
use gadai_events::EventKind;
use gadai_privacy::{SubjectId, sealed_generation};
use gadai_runtime::{ApplyError, Delivered, Projection, Tx};
use uuid::Uuid;

pub const NAME: &str = "expiry-sweeper";

#[derive(Default)]
pub struct Verifications;

impl Projection for Verifications {
    const NAME: &'static str = NAME;
    type Applied = ();

    async fn apply(&self, tx: Tx<'_>, batch: &[Delivered]) -> Result<(), ApplyError> {
        for d in batch {
            apply_verification(tx, d).await?;
            apply_retention(tx, d).await?;
        }
        Ok(())
    }
}

async fn apply_verification(tx: Tx<'_>, d: &Delivered) -> Result<(), ApplyError> {
    let (order, seq) = (d.event.order_id, d.seq as i64);
    let query = match &d.event.kind {
        EventKind::VerificationSent(s) => sqlx::query(
            "INSERT INTO verifications (order_id, verification_id, expires_at, open, last_seq)
             VALUES ($1, $2, $3, true, $4)
             ON CONFLICT (order_id) DO UPDATE
             SET verification_id = EXCLUDED.verification_id, expires_at = EXCLUDED.expires_at,
                 open = true, last_seq = EXCLUDED.last_seq
             WHERE verifications.last_seq < EXCLUDED.last_seq",
        )
        .bind(order)
        .bind(s.verification_id)
        .bind(s.expires_at)
        .bind(seq),
        // Only the expiry of the current code closes the order's verification.
        EventKind::OrderExpired(e) => sqlx::query(
            "UPDATE verifications SET open = false, last_seq = $3
             WHERE order_id = $1 AND verification_id = $2 AND last_seq < $3",
        )
        .bind(order)
        .bind(e.verification_id)
        .bind(seq),
        EventKind::OrderVerified(_) | EventKind::OrderDeleted(_) => sqlx::query(
            "INSERT INTO verifications (order_id, open, last_seq) VALUES ($1, false, $2)
             ON CONFLICT (order_id) DO UPDATE SET open = false, last_seq = EXCLUDED.last_seq
             WHERE verifications.last_seq < EXCLUDED.last_seq",
        )
        .bind(order)
        .bind(seq),
        _ => return Ok(()),
    };
    query.execute(&mut **tx).await?;
    Ok(())
}

/// What retention counts: a customer's orders and hand-offs.
#[derive(Debug, Clone, Copy)]
enum Item {
    Order,
    Handoff,
}

impl Item {
    fn as_str(self) -> &'static str {
        match self {
            Item::Order => "order",
            Item::Handoff => "handoff",
        }
    }
}

async fn apply_retention(tx: Tx<'_>, d: &Delivered) -> Result<(), ApplyError> {
    let (order, seq, at) = (d.event.order_id, d.seq as i64, d.event.occurred_at);
    match &d.event.kind {
        EventKind::OrderCreated(o) => {
            open_item(tx, Item::Order, order, o.subject.as_deref(), &o.email, seq).await
        }
        EventKind::HandoffOpened(h) => {
            let subject = h.subject.as_deref();
            open_item(tx, Item::Handoff, h.handoff_id, subject, &h.email, seq).await
        }
        EventKind::OrderVerified(_) | EventKind::OrderExpired(_) | EventKind::OrderDeleted(_) => {
            close_item(tx, Item::Order, order, at).await
        }
        EventKind::HandoffClosed(h) => close_item(tx, Item::Handoff, h.handoff_id, at).await,
        EventKind::CustomerErased(e) => {
            let subject = subject(&e.subject)?;
            forget(tx, &subject, e.generation, seq).await
        }
        _ => Ok(()),
    }
}

fn subject(text: &str) -> Result<SubjectId, ApplyError> {
    SubjectId::parse(text).map_err(|_| ApplyError::Poison("subject is not a subject id".into()))
}

/// Records an order or hand-off of a customer. Items recorded before sealing (no `subject`) are
/// left out: nothing of theirs can be shredded, and the one-time reseal gives every event a
/// subject.
async fn open_item(
    tx: Tx<'_>,
    item: Item,
    id: Uuid,
    subject_text: Option<&str>,
    sealed_email: &str,
    seq: i64,
) -> Result<(), ApplyError> {
    let Some(subject_text) = subject_text else {
        return Ok(());
    };
    let subject = subject(subject_text)?;
    let generation = sealed_generation(sealed_email)
        .and_then(|g| i32::try_from(g).ok())
        .ok_or_else(|| {
            ApplyError::Poison("a sealed event whose e-mail is not a sealed field".into())
        })?;
    sqlx::query(
        "INSERT INTO retention_items (kind, item_id, subject, generation, opened_seq)
         SELECT $1::text, $2::uuid, $3::text, $4::integer, $5::bigint
         WHERE NOT EXISTS (
             SELECT 1 FROM retention_erasures e WHERE e.subject = $3 AND e.generation >= $4
         )
         ON CONFLICT (kind, item_id) DO UPDATE
         SET subject = EXCLUDED.subject, generation = EXCLUDED.generation,
             opened_seq = EXCLUDED.opened_seq",
    )
    .bind(item.as_str())
    .bind(id)
    .bind(subject.as_str())
    .bind(generation)
    .bind(seq)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Closes an order or hand-off at `at`; closed again later (an expired order deleted), the later
/// time counts.
async fn close_item(tx: Tx<'_>, item: Item, id: Uuid, at: DateTime<Utc>) -> Result<(), ApplyError> {
    sqlx::query(
        "INSERT INTO retention_items (kind, item_id, closed_at) VALUES ($1, $2, $3)
         ON CONFLICT (kind, item_id) DO UPDATE
         SET closed_at = GREATEST(retention_items.closed_at, EXCLUDED.closed_at)",
    )
    .bind(item.as_str())
    .bind(id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Forgets the customer's items of `generation` or older: erased, on request or by retention.
/// Their newer items (a customer who came back with a new key) stay.
async fn forget(
    tx: Tx<'_>,
    subject: &SubjectId,
    generation: u32,
    seq: i64,
) -> Result<(), ApplyError> {
    let generation = i32::try_from(generation)
        .map_err(|_| ApplyError::Poison("generation out of range".into()))?;
    sqlx::query(
        "INSERT INTO retention_erasures (subject, generation, last_seq) VALUES ($1, $2, $3)
         ON CONFLICT (subject) DO UPDATE
         SET generation = EXCLUDED.generation, last_seq = EXCLUDED.last_seq
         WHERE retention_erasures.generation < EXCLUDED.generation",
    )
    .bind(subject.as_str())
    .bind(generation)
    .bind(seq)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM retention_items WHERE subject = $1 AND generation <= $2")
        .bind(subject.as_str())
        .bind(generation)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
