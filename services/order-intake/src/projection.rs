//! The intake's projection: `order.created` into the idempotency index, and `customer.erased`
//! into the key store (the customer's key is deleted: crypto-shredding).

use chrono::{DateTime, Utc};
use gadai_events::{CustomerErased, EventKind};
use gadai_privacy::{MAX_REASON_CHARS, StoreError, SubjectId, erase_in};
use gadai_runtime::{ApplyError, Delivered, Projection, Tx};
use uuid::Uuid;

pub const NAME: &str = "order-intake";

/// What the projection reads: its consumer's filter subjects, as `gadai_bus::permissions`
/// grants them. (On a NATS server before 2.10 the consumer receives the whole stream and the
/// other types are skipped here.)
pub const SUBJECTS: [&str; 2] = ["order.created", "customer.erased"];

#[derive(Default)]
pub struct IntakeProjection;

impl Projection for IntakeProjection {
    const NAME: &'static str = NAME;
    type Prepared = ();
    type Recorded = ();
    type Applied = ();

    async fn prepare(&self, _: &[Delivered]) -> Result<(), ApplyError> {
        Ok(())
    }

    async fn apply(
        &self,
        tx: Tx<'_>,
        batch: &[Delivered],
        (): (),
        (): (),
    ) -> Result<(), ApplyError> {
        index_orders(tx, batch).await?;
        for d in batch {
            if let EventKind::CustomerErased(erased) = &d.event.kind {
                erase(tx, d.seq, erased).await?;
            }
        }
        Ok(())
    }
}

/// The batch's `order.created` events with an idempotency reference, into the index.
async fn index_orders(tx: Tx<'_>, batch: &[Delivered]) -> Result<(), ApplyError> {
    let mut keys = Vec::new();
    let mut idxs = Vec::new();
    let mut counts = Vec::new();
    let mut fingerprints = Vec::new();
    let mut order_ids: Vec<Uuid> = Vec::new();
    let mut seqs = Vec::new();
    let mut created: Vec<DateTime<Utc>> = Vec::new();
    for d in batch {
        if let EventKind::OrderCreated(data) = &d.event.kind
            && let Some(idem) = &data.idempotency
        {
            keys.push(idem.key.clone());
            idxs.push(idem.index as i32);
            counts.push(idem.count as i32);
            fingerprints.push(idem.fingerprint.clone());
            order_ids.push(d.event.order_id);
            seqs.push(d.seq as i64);
            created.push(d.event.occurred_at);
        }
    }
    if !keys.is_empty() {
        sqlx::query(
            "INSERT INTO idempotency_keys (key, idx, count, fingerprint, order_id, seq, created_at)
             SELECT * FROM UNNEST($1::text[], $2::int[], $3::int[], $4::text[], $5::uuid[], $6::bigint[], $7::timestamptz[])
             ON CONFLICT (key, idx) DO NOTHING",
        )
        .bind(&keys)
        .bind(&idxs)
        .bind(&counts)
        .bind(&fingerprints)
        .bind(&order_ids)
        .bind(&seqs)
        .bind(&created)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Deletes the customer's key, of the erased generation or older, in the batch's transaction
/// (`gadai_privacy::erase_in`: the erasure commits with the checkpoint).
///
/// Redelivery changes nothing (an erased key stays erased, a tombstone is not touched again);
/// a key made after the erasure (a customer who came back: a later generation) is left alone.
/// In a rebuild the fresh schema's table is empty until the live keys are carried over
/// (`KEPT_TABLES`), so the replayed erasures find nothing there: the kept rows are already
/// erased.
async fn erase(tx: Tx<'_>, seq: u64, erased: &CustomerErased) -> Result<(), ApplyError> {
    let subject = SubjectId::parse(&erased.subject).map_err(|_| {
        ApplyError::Poison(format!(
            "customer.erased at sequence {seq}: its subject is not a subject id"
        ))
    })?;
    let outcome = erase_in(tx, &subject, erased.generation, &reason_of(erased))
        .await
        .map_err(|e| match e {
            StoreError::Database(e) => ApplyError::from(e),
            other => ApplyError::Transient(other.into()),
        })?;
    tracing::info!(
        %subject,
        dasar = erased.dasar.as_str(),
        seq,
        ?outcome,
        "customer.erased applied"
    );
    Ok(())
}

/// What the tombstone keeps of why: `<dasar>: <alasan>`, trimmed and cut to the store's limit.
fn reason_of(erased: &CustomerErased) -> String {
    let full = format!("{}: {}", erased.dasar.as_str(), erased.alasan.trim());
    let cut: String = full.trim().chars().take(MAX_REASON_CHARS).collect();
    cut.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use gadai_events::ErasureBasis;

    use super::*;

    #[test]
    fn the_consumer_reads_what_its_nats_user_may_read() {
        let role = gadai_bus::permissions::role(NAME).expect("order-intake's role");
        let (name, subjects) = role.consumers[0];
        assert_eq!(name, NAME);
        assert_eq!(subjects, SUBJECTS);
    }

    #[test]
    fn the_reason_fits_the_store() {
        let erased = |alasan: &str| CustomerErased {
            subject: "0".repeat(64),
            generation: 1,
            dasar: ErasureBasis::Permintaan,
            alasan: alasan.into(),
        };
        assert_eq!(
            reason_of(&erased("  DPO-2025-014 ")),
            "permintaan: DPO-2025-014"
        );
        assert_eq!(reason_of(&erased("")), "permintaan:");
        let long = reason_of(&erased(&"é".repeat(600)));
        assert_eq!(long.chars().count(), MAX_REASON_CHARS);
        assert!(long.starts_with("permintaan: é"));
    }
}
