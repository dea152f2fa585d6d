//! The sweeper's projection: open verifications and when they expire.
//!
//! Each event sets the row's whole state, so applying only events newer than the row
//! (`last_seq`) gives the state of the stream order, whatever order replicas apply them in.

use gadai_events::EventKind;
use gadai_runtime::{ApplyError, Delivered, Projection, Tx};

pub const NAME: &str = "expiry-sweeper";

#[derive(Default)]
pub struct Verifications;

impl Projection for Verifications {
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
        for d in batch {
            apply_verification(tx, d).await?;
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
