//! The mailer's projection: which orders are closed (their codes stop working and no more are
//! sent), which customers were erased, and the newest mail template
//! (`verification.template_changed`).
//!
//! It reads no `order.created`: a send request carries its recipient, sealed by dashboard-api
//! (`verification.requested`), so the mailer keeps no copy of every order's name and address
//! and the broker delivers it only the few events of an order that had a code. An erasure is
//! remembered (the customer and the newest key generation erased), so a request sealed under
//! an erased key is not mailed even before order-intake has deleted that key.

use gadai_events::{CustomerErased, EventKind};
use gadai_privacy::SubjectId;
use gadai_runtime::{ApplyError, Delivered, Projection, Tx};
use uuid::Uuid;

use crate::domain::lifecycle::{self, Step};

pub const NAME: &str = "verification-mailer";

/// The projection: closed orders, erasures, the mail template.
#[derive(Default)]
pub struct MailerProjection;

impl Projection for MailerProjection {
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
            match &d.event.kind {
                EventKind::CustomerErased(e) => erase(tx, e, d.seq as i64).await?,
                EventKind::OrderVerified(_)
                | EventKind::OrderExpired(_)
                | EventKind::OrderDeleted(_) => close(tx, d.event.order_id, d.seq as i64).await?,
                EventKind::TemplateChanged(changed) => {
                    // dashboard-api publishes only templates that pass the same rules; anything
                    // else came from elsewhere and is not mailed to customers.
                    if let Err(errors) = gadai_mail_template::validate(&changed.template) {
                        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
                        return Err(ApplyError::Poison(format!(
                            "invalid mail template ({})",
                            fields.join(", ")
                        )));
                    }
                    let template = serde_json::to_value(&changed.template)
                        .map_err(|e| ApplyError::Poison(e.to_string()))?;
                    sqlx::query(
                        "INSERT INTO mail_template (id, template, changed_by, changed_at, last_seq)
                         VALUES (true, $1, $2, $3, $4)
                         ON CONFLICT (id) DO UPDATE
                         SET template = EXCLUDED.template, changed_by = EXCLUDED.changed_by,
                             changed_at = EXCLUDED.changed_at, last_seq = EXCLUDED.last_seq
                         WHERE mail_template.last_seq < EXCLUDED.last_seq",
                    )
                    .bind(template)
                    .bind(&d.event.actor)
                    .bind(d.event.occurred_at)
                    .bind(d.seq as i64)
                    .execute(&mut **tx)
                    .await?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Records `order` closed (verified, expired or deleted) and stops its codes.
async fn close(tx: Tx<'_>, order: Uuid, seq: i64) -> Result<(), ApplyError> {
    sqlx::query(
        "INSERT INTO closed_orders (order_id, last_seq) VALUES ($1, $2)
         ON CONFLICT (order_id) DO UPDATE SET last_seq = EXCLUDED.last_seq
         WHERE closed_orders.last_seq < EXCLUDED.last_seq",
    )
    .bind(order)
    .bind(seq)
    .execute(&mut **tx)
    .await?;
    let step = Step::OrderClosed;
    sqlx::query(
        "UPDATE verifications SET state = $2
         WHERE order_id = $1 AND state = ANY($3)",
    )
    .bind(order)
    .bind(step.target().as_str())
    .bind(lifecycle::strs(step.applies_in()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Remembers the customer's newest erased key generation: a request sealed under it (or an
/// older one) is not mailed.
async fn erase(tx: Tx<'_>, erased: &CustomerErased, seq: i64) -> Result<(), ApplyError> {
    let subject = SubjectId::parse(&erased.subject)
        .map_err(|_| ApplyError::Poison("subject is not a subject id".into()))?;
    let generation = i32::try_from(erased.generation)
        .map_err(|_| ApplyError::Poison("generation out of range".into()))?;
    sqlx::query(
        "INSERT INTO recipient_erasures (subject, generation, last_seq) VALUES ($1, $2, $3)
         ON CONFLICT (subject) DO UPDATE
         SET generation = EXCLUDED.generation, last_seq = EXCLUDED.last_seq
         WHERE recipient_erasures.generation < EXCLUDED.generation",
    )
    .bind(subject.as_str())
    .bind(generation)
    .bind(seq)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
