//! The mailer's projection: each order's recipient, and whether it is still open; closing an
//! order closes its codes. Also the newest mail template (`verification.template_changed`).

use gadai_events::EventKind;
use gadai_runtime::{ApplyError, Delivered, Projection, Tx};

use crate::domain::lifecycle::{self, Step};

pub const NAME: &str = "verification-mailer";

#[derive(Default)]
pub struct Recipients;

impl Projection for Recipients {
    const NAME: &'static str = NAME;
    type Applied = ();

    async fn apply(&self, tx: Tx<'_>, batch: &[Delivered]) -> Result<(), ApplyError> {
        for d in batch {
            let order = d.event.order_id;
            match &d.event.kind {
                // The address never changes, so it is filled in whatever arrived first.
                EventKind::OrderCreated(o) => {
                    sqlx::query(
                        "INSERT INTO recipients (order_id, email, nama_customer) VALUES ($1, $2, $3)
                         ON CONFLICT (order_id) DO UPDATE
                         SET email = EXCLUDED.email, nama_customer = EXCLUDED.nama_customer",
                    )
                    .bind(order)
                    .bind(&o.email)
                    .bind(&o.nama_customer)
                    .execute(&mut **tx)
                    .await?;
                }
                EventKind::OrderVerified(_)
                | EventKind::OrderExpired(_)
                | EventKind::OrderDeleted(_) => {
                    sqlx::query(
                        "INSERT INTO recipients (order_id, closed, last_seq) VALUES ($1, true, $2)
                         ON CONFLICT (order_id) DO UPDATE SET closed = true, last_seq = EXCLUDED.last_seq
                         WHERE recipients.last_seq < EXCLUDED.last_seq",
                    )
                    .bind(order)
                    .bind(d.seq as i64)
                    .execute(&mut **tx)
                    .await?;
                    // Its codes stop working.
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
                }
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
