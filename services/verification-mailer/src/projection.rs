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

use std::{
    collections::HashSet,
    sync::{Arc, OnceLock},
};

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
    type Prepared = ();
    type Applied = ();

    async fn prepare(&self, _: &[Delivered]) -> Result<(), ApplyError> {
        Ok(())
    }

    /// Consecutive `order.created` events (most of a busy stream) go in as one statement
    /// ([`NewRecipients`]); every other event, in stream order between them, one by one.
    async fn apply(&self, tx: Tx<'_>, batch: &[Delivered], (): ()) -> Result<(), ApplyError> {
        let mut recipients = NewRecipients::default();
        for d in batch {
            let order = d.event.order_id;
            if let EventKind::OrderCreated(o) = &d.event.kind {
                recipients.push(tx, self.recipient(order, o)?).await?;
                continue;
            }
            recipients.flush(tx).await?;
            match &d.event.kind {
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
        recipients.flush(tx).await
    }
}

impl Recipients {
    /// The order's recipient as the event carries it: sealed (with its subject and key
    /// generation), or plaintext from before sealing (its subject computed, generation 0).
    fn recipient<'a>(
        &self,
        order: Uuid,
        created: &'a OrderCreated,
    ) -> Result<Recipient<'a>, ApplyError> {
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
        Ok(Recipient {
            order,
            email: &created.email,
            nama_customer: &created.nama_customer,
            subject,
            generation,
        })
    }
}

/// One order's recipient, as its `order.created` carries it.
struct Recipient<'a> {
    order: Uuid,
    email: &'a str,
    nama_customer: &'a str,
    subject: SubjectId,
    generation: i32,
}

/// A run of consecutive `order.created` events, written as one statement. Within a run nothing
/// else changes the tables (any other event ends the run first), and an order appears once (a
/// repeat ends the run first: one statement cannot touch a row twice), so the statement gives
/// the rows the events one by one would.
#[derive(Default)]
struct NewRecipients<'a> {
    run: Vec<Recipient<'a>>,
    orders: HashSet<Uuid>,
}

impl<'a> NewRecipients<'a> {
    async fn push(&mut self, tx: Tx<'_>, recipient: Recipient<'a>) -> Result<(), ApplyError> {
        if !self.orders.insert(recipient.order) {
            self.flush(tx).await?;
            self.orders.insert(recipient.order);
        }
        self.run.push(recipient);
        Ok(())
    }

    /// Records the run's recipients and starts a new run. The address never changes, so it is
    /// filled in whatever arrived first; a customer erased at this generation or later is
    /// recorded blank.
    async fn flush(&mut self, tx: Tx<'_>) -> Result<(), ApplyError> {
        if self.run.is_empty() {
            return Ok(());
        }
        let run = std::mem::take(&mut self.run);
        self.orders.clear();
        let orders: Vec<Uuid> = run.iter().map(|r| r.order).collect();
        let emails: Vec<&str> = run.iter().map(|r| r.email).collect();
        let names: Vec<&str> = run.iter().map(|r| r.nama_customer).collect();
        let subjects: Vec<&str> = run.iter().map(|r| r.subject.as_str()).collect();
        let generations: Vec<i32> = run.iter().map(|r| r.generation).collect();
        sqlx::query(
            "INSERT INTO recipients (order_id, email, nama_customer, subject, generation, erased)
             SELECT n.order_id,
                    CASE WHEN e.yes THEN NULL ELSE n.email END,
                    CASE WHEN e.yes THEN NULL ELSE n.nama_customer END,
                    n.subject, n.generation, e.yes
             FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::integer[])
                  AS n (order_id, email, nama_customer, subject, generation),
                  LATERAL (SELECT EXISTS (
                      SELECT 1 FROM recipient_erasures r
                      WHERE r.subject = n.subject AND r.generation >= n.generation
                  ) AS yes) e
             ON CONFLICT (order_id) DO UPDATE
             SET email = EXCLUDED.email, nama_customer = EXCLUDED.nama_customer,
                 subject = EXCLUDED.subject, generation = EXCLUDED.generation,
                 erased = EXCLUDED.erased
             WHERE NOT recipients.erased",
        )
        .bind(&orders)
        .bind(&emails)
        .bind(&names)
        .bind(&subjects)
        .bind(&generations)
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
