//! The mailer's projection: each order's recipient, and whether it is still open; closing an
//! order closes its codes. Also the newest mail template (`verification.template_changed`).
//!
//! The recipient is kept as `order.created` carries it: sealed under the customer's key (with
//! the customer's subject id and the key's generation), opened only when a mail is composed; an
//! order recorded before sealing keeps its plaintext, with the subject id computed from its
//! e-mail (generation 0), so an erasure finds it too. Nothing is decrypted here.
//!
//! `customer.erased` blanks the customer's recipients of that generation or older (name and
//! address gone, `erased` set; a later send request fails for good) and is remembered, so an
//! `order.created` a replica applies after the erasure is recorded blank. A customer who came
//! back (a newer key) keeps the recipients of their new orders.

use std::sync::{Arc, OnceLock};

use gadai_events::{CustomerErased, EventKind, OrderCreated};
use gadai_privacy::{Pii, SubjectId, SubjectKey, sealed_generation};
use gadai_runtime::{ApplyError, Delivered, Projection, Tx};
use uuid::Uuid;

use crate::domain::lifecycle::{self, Step};

pub const NAME: &str = "verification-mailer";

/// The projection, with the subject key that names the customer of an order recorded before
/// sealing.
#[derive(Default)]
pub struct Recipients {
    /// Given by the service; the `Default` (a rebuild's, which the runtime makes without the
    /// settings) reads it from the environment the first time an order from before sealing
    /// needs it.
    subjects: OnceLock<Arc<SubjectKey>>,
}

impl Recipients {
    pub fn new(subjects: Arc<SubjectKey>) -> Self {
        Recipients {
            subjects: OnceLock::from(subjects),
        }
    }

    fn subjects(&self) -> Result<&SubjectKey, ApplyError> {
        if let Some(subjects) = self.subjects.get() {
            return Ok(subjects);
        }
        let read = Pii::from_env().map_err(|e| {
            e.context("PII_SUBJECT_KEY, for an order.created recorded before sealing")
        })?;
        Ok(self.subjects.get_or_init(|| read.subjects))
    }
}

impl Projection for Recipients {
    const NAME: &'static str = NAME;
    type Applied = ();

    async fn apply(&self, tx: Tx<'_>, batch: &[Delivered]) -> Result<(), ApplyError> {
        for d in batch {
            let order = d.event.order_id;
            match &d.event.kind {
                EventKind::OrderCreated(o) => self.record_recipient(tx, order, o).await?,
                EventKind::CustomerErased(e) => erase(tx, e, d.seq as i64).await?,
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

impl Recipients {
    /// The order's recipient as the event carries it: sealed (with its subject and key
    /// generation), or plaintext from before sealing (its subject computed, generation 0). The
    /// address never changes, so it is filled in whatever arrived first; a customer erased at
    /// this generation or later is recorded blank.
    async fn record_recipient(
        &self,
        tx: Tx<'_>,
        order: Uuid,
        created: &OrderCreated,
    ) -> Result<(), ApplyError> {
        let (subject, generation) = match created.subject.as_deref() {
            Some(subject) => {
                let subject = SubjectId::parse(subject)
                    .map_err(|_| ApplyError::Poison("subject is not a subject id".into()))?;
                let generation = sealed_generation(&created.email)
                    .and_then(|g| i32::try_from(g).ok())
                    .ok_or_else(|| {
                        ApplyError::Poison("a sealed order whose e-mail is not sealed".into())
                    })?;
                (subject, generation)
            }
            None => (self.subjects()?.subject_of(&created.email), 0),
        };
        sqlx::query(
            "WITH erased AS (
                 SELECT EXISTS (SELECT 1 FROM recipient_erasures
                                WHERE subject = $4 AND generation >= $5) AS yes
             )
             INSERT INTO recipients (order_id, email, nama_customer, subject, generation, erased)
             SELECT $1, CASE WHEN yes THEN NULL ELSE $2 END, CASE WHEN yes THEN NULL ELSE $3 END,
                    $4, $5, yes
             FROM erased
             ON CONFLICT (order_id) DO UPDATE
             SET email = EXCLUDED.email, nama_customer = EXCLUDED.nama_customer,
                 subject = EXCLUDED.subject, generation = EXCLUDED.generation,
                 erased = EXCLUDED.erased
             WHERE NOT recipients.erased",
        )
        .bind(order)
        .bind(&created.email)
        .bind(&created.nama_customer)
        .bind(subject.as_str())
        .bind(generation)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// Blanks the customer's recipients of the erased generation or older (orders from before
/// sealing are generation 0: every erasure of the customer reaches them), and remembers the
/// erasure for orders applied after it.
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
    sqlx::query(
        "UPDATE recipients SET email = NULL, nama_customer = NULL, erased = true
         WHERE subject = $1 AND generation <= $2 AND NOT erased",
    )
    .bind(subject.as_str())
    .bind(generation)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
