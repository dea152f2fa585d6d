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

use std::collections::HashSet;

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
    type Prepared = ();
    type Applied = ();

    async fn prepare(&self, _: &[Delivered]) -> Result<(), ApplyError> {
        Ok(())
    }

    /// Consecutive opening events (most of a busy stream: every new order) go in as one
    /// statement ([`Openings`]); every other event, in stream order between them, one by one.
    async fn apply(&self, tx: Tx<'_>, batch: &[Delivered], (): ()) -> Result<(), ApplyError> {
        let mut openings = Openings::default();
        for d in batch {
            match opening(d)? {
                Some(item) => openings.push(tx, item).await?,
                None => {
                    openings.flush(tx).await?;
                    apply_verification(tx, d).await?;
                    apply_retention(tx, d).await?;
                }
            }
        }
        openings.flush(tx).await
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
    let (order, at) = (d.event.order_id, d.event.occurred_at);
    match &d.event.kind {
        EventKind::OrderVerified(_) | EventKind::OrderExpired(_) | EventKind::OrderDeleted(_) => {
            close_item(tx, Item::Order, order, at).await
        }
        EventKind::HandoffClosed(h) => close_item(tx, Item::Handoff, h.handoff_id, at).await,
        EventKind::CustomerErased(e) => {
            let subject = subject(&e.subject)?;
            forget(tx, &subject, e.generation, d.seq as i64).await
        }
        _ => Ok(()),
    }
}

fn subject(text: &str) -> Result<SubjectId, ApplyError> {
    SubjectId::parse(text).map_err(|_| ApplyError::Poison("subject is not a subject id".into()))
}

/// An order or hand-off of a customer, as its opening event names it.
#[derive(Debug)]
struct Opening {
    item: Item,
    id: Uuid,
    subject: SubjectId,
    generation: i32,
    seq: i64,
}

/// The item an event opens: `order.created` and `customer.handoff_opened` of a sealed customer.
/// Items recorded before sealing (no `subject`) are left out: nothing of theirs can be
/// shredded, and the one-time reseal gives every event a subject.
fn opening(d: &Delivered) -> Result<Option<Opening>, ApplyError> {
    let (item, id, subject_text, sealed_email) = match &d.event.kind {
        EventKind::OrderCreated(o) => (Item::Order, d.event.order_id, &o.subject, &o.email),
        EventKind::HandoffOpened(h) => (Item::Handoff, h.handoff_id, &h.subject, &h.email),
        _ => return Ok(None),
    };
    let Some(subject_text) = subject_text else {
        return Ok(None);
    };
    let generation = sealed_generation(sealed_email)
        .and_then(|g| i32::try_from(g).ok())
        .ok_or_else(|| {
            ApplyError::Poison("a sealed event whose e-mail is not a sealed field".into())
        })?;
    Ok(Some(Opening {
        item,
        id,
        subject: subject(subject_text)?,
        generation,
        seq: d.seq as i64,
    }))
}

/// A run of consecutive opening events, written as one statement. Within a run nothing else
/// changes the tables (an erasure or a close ends the run first), and an item appears once (a
/// repeat ends the run first: one statement cannot touch a row twice), so the statement gives
/// the rows the events one by one would.
#[derive(Default)]
struct Openings {
    items: Vec<Opening>,
    seen: HashSet<(&'static str, Uuid)>,
}

impl Openings {
    async fn push(&mut self, tx: Tx<'_>, opening: Opening) -> Result<(), ApplyError> {
        if self.seen.contains(&(opening.item.as_str(), opening.id)) {
            self.flush(tx).await?;
        }
        self.seen.insert((opening.item.as_str(), opening.id));
        self.items.push(opening);
        Ok(())
    }

    /// Records the run's items (each with its customer and key generation; an item of a
    /// generation already erased is not taken back in) and starts a new run.
    async fn flush(&mut self, tx: Tx<'_>) -> Result<(), ApplyError> {
        if self.items.is_empty() {
            return Ok(());
        }
        let items = std::mem::take(&mut self.items);
        self.seen.clear();
        let kinds: Vec<&str> = items.iter().map(|o| o.item.as_str()).collect();
        let ids: Vec<Uuid> = items.iter().map(|o| o.id).collect();
        let subjects: Vec<&str> = items.iter().map(|o| o.subject.as_str()).collect();
        let generations: Vec<i32> = items.iter().map(|o| o.generation).collect();
        let seqs: Vec<i64> = items.iter().map(|o| o.seq).collect();
        sqlx::query(
            "INSERT INTO retention_items (kind, item_id, subject, generation, opened_seq)
             SELECT n.kind, n.item_id, n.subject, n.generation, n.opened_seq
             FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::integer[], $5::bigint[])
                  AS n (kind, item_id, subject, generation, opened_seq)
             WHERE NOT EXISTS (
                 SELECT 1 FROM retention_erasures e
                 WHERE e.subject = n.subject AND e.generation >= n.generation
             )
             ON CONFLICT (kind, item_id) DO UPDATE
             SET subject = EXCLUDED.subject, generation = EXCLUDED.generation,
                 opened_seq = EXCLUDED.opened_seq",
        )
        .bind(&kinds)
        .bind(&ids)
        .bind(&subjects)
        .bind(&generations)
        .bind(&seqs)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
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
