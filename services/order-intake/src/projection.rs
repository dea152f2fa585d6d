//! The intake's projection: `order.created` into the idempotency index.

use chrono::{DateTime, Utc};
use gadai_events::EventKind;
use gadai_runtime::{ApplyError, Delivered, Projection, Tx};
use uuid::Uuid;

pub const NAME: &str = "order-intake";

#[derive(Default)]
pub struct IdempotencyIndex;

impl Projection for IdempotencyIndex {
    const NAME: &'static str = NAME;
    type Applied = ();

    async fn apply(&self, tx: Tx<'_>, batch: &[Delivered]) -> Result<(), ApplyError> {
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
}
