//! The mail worker: turns each `verification.requested` into one e-mail and one outcome event.
//!
//! A verification's id derives from its order and request number, so a redelivered request finds
//! its row. The row is written `pending` with the new code's hash before the mail leaves; only
//! after the SMTP server accepted it does it become `sent` and `verification.sent` is published.
//! A redelivery of a `sent` request publishes the outcome again (deduplicated) and mails nothing;
//! a redelivery of a `pending` one (the mail was not accepted, or the mailer died first) mails a
//! fresh code. Transient SMTP failures are retried by redelivery with a growing delay; when the
//! attempts are spent, or the server refuses for good, `verification.failed` carries the reason.

use std::time::Duration;

use chrono::{DateTime, Utc};
use gadai_bus::{
    Bus,
    consume::{ApplyError, Delivered, Projection},
};
use gadai_events::{Event, EventKind, SYSTEM_ACTOR, VerificationFailed, VerificationSent};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    domain::{Code, CodeHasher, mail},
    transport::{SendError, Transport},
};

pub const NAME: &str = "verification-mailer-send";

/// Namespace of verification ids.
const VERIFICATION_NAMESPACE: Uuid = Uuid::from_u128(0x6761_6461_692d_7665_7269_6669_6361_0001);

/// The id of the verification made for `request_no` of `order`.
pub fn verification_id(order: Uuid, request_no: u32) -> Uuid {
    Uuid::new_v5(
        &VERIFICATION_NAMESPACE,
        format!("{order}#{request_no}").as_bytes(),
    )
}

pub struct Sender {
    pub pool: PgPool,
    pub bus: Bus,
    pub transport: Transport,
    pub hasher: CodeHasher,
    pub from: String,
    pub ttl: Duration,
    pub send_attempts: i64,
}

impl Projection for Sender {
    async fn apply(&self, batch: &[Delivered]) -> Result<(), ApplyError> {
        for d in batch {
            if let EventKind::VerificationRequested(r) = &d.event.kind {
                self.handle(d, r.request_no).await?;
            }
        }
        Ok(())
    }

    fn parking(&self) -> (&PgPool, &str) {
        (&self.pool, NAME)
    }
}

impl Sender {
    #[tracing::instrument(skip_all, fields(order_id = %d.event.order_id, request_no))]
    async fn handle(&self, d: &Delivered, request_no: u32) -> Result<(), ApplyError> {
        let order = d.event.order_id;
        let id = verification_id(order, request_no);
        let recipient: Option<(Option<String>, Option<String>, bool)> = sqlx::query_as(
            "SELECT email, nama_customer, closed FROM recipients WHERE order_id = $1",
        )
        .bind(order)
        .fetch_optional(&self.pool)
        .await?;
        let (email, name) = match recipient {
            Some((_, _, true)) => {
                tracing::info!("order already verified, expired or deleted: nothing to send");
                return Ok(());
            }
            Some((Some(email), name, false)) => (email, name.unwrap_or_default()),
            // order.created reaches this service through another consumer: wait for it.
            _ => {
                return Err(ApplyError::Transient(anyhow::anyhow!(
                    "the order's recipient is not known yet"
                )));
            }
        };
        let existing: Option<(String, Option<DateTime<Utc>>)> =
            sqlx::query_as("SELECT state, expires_at FROM verifications WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        match existing {
            Some((state, Some(expires_at))) if state == "sent" || state == "matched" => {
                // Mailed before; make sure the outcome is on the stream (deduplicated).
                return self.announce_sent(order, id, expires_at).await;
            }
            Some((state, _)) if state != "pending" => return Ok(()),
            _ => {}
        }

        let code = self.claim(order, request_no, id).await?;
        let expires_at = Utc::now() + chrono::Duration::from_std(self.ttl).unwrap_or_default();
        let message = mail::compose(&name, order, &code, expires_at);
        drop(code);
        match self.transport.send(&self.from, &email, message).await {
            Ok(()) => {
                self.log(id, "accepted", None).await;
                sqlx::query("UPDATE verifications SET state = 'sent', sent_at = now(), expires_at = $2 WHERE id = $1 AND state = 'pending'")
                    .bind(id)
                    .bind(expires_at)
                    .execute(&self.pool)
                    .await?;
                metrics::counter!("verification_mails_sent_total").increment(1);
                self.announce_sent(order, id, expires_at).await
            }
            Err(SendError::Permanent(reason)) => self.fail(order, id, reason).await,
            Err(SendError::Transient(reason)) if d.delivered >= self.send_attempts => {
                self.fail(
                    order,
                    id,
                    format!("{reason} (after {} attempts)", d.delivered),
                )
                .await
            }
            Err(SendError::Transient(reason)) => {
                self.log(id, "retry", Some(&reason)).await;
                Err(ApplyError::Transient(anyhow::anyhow!("SMTP: {reason}")))
            }
        }
    }

    /// Writes the verification `pending` with a fresh code's hash and retires the order's older
    /// live codes (a new code replaces the old one). Returns the plaintext for the mail.
    async fn claim(&self, order: Uuid, request_no: u32, id: Uuid) -> Result<Code, ApplyError> {
        for _ in 0..5 {
            let code = Code::generate();
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "UPDATE verifications SET state = 'replaced'
                 WHERE order_id = $1 AND id <> $2 AND state IN ('pending', 'sent', 'matched')",
            )
            .bind(order)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            let claimed = sqlx::query(
                "INSERT INTO verifications (id, order_id, request_no, code_hash, state)
                 VALUES ($1, $2, $3, $4, 'pending')
                 ON CONFLICT (id) DO UPDATE SET code_hash = EXCLUDED.code_hash, state = 'pending', attempts = 0",
            )
            .bind(id)
            .bind(order)
            .bind(request_no as i32)
            .bind(self.hasher.hash(&code))
            .execute(&mut *tx)
            .await;
            match claimed {
                Ok(_) => {
                    tx.commit().await?;
                    return Ok(code);
                }
                // Another live code has the same hash (1 in 2^30 per live code): draw again.
                Err(sqlx::Error::Database(e))
                    if e.constraint() == Some("verifications_live_code") =>
                {
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApplyError::Transient(anyhow::anyhow!(
            "could not draw a unique code"
        )))
    }

    async fn announce_sent(
        &self,
        order: Uuid,
        id: Uuid,
        expires_at: DateTime<Utc>,
    ) -> Result<(), ApplyError> {
        let event = Event::new(
            order,
            SYSTEM_ACTOR,
            EventKind::VerificationSent(VerificationSent {
                verification_id: id,
                expires_at,
            }),
        );
        self.bus.publish(&event).await?;
        Ok(())
    }

    async fn fail(&self, order: Uuid, id: Uuid, reason: String) -> Result<(), ApplyError> {
        tracing::warn!(verification_id = %id, %reason, "verification mail failed for good");
        self.log(id, "failed", Some(&reason)).await;
        sqlx::query("UPDATE verifications SET state = 'failed' WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        metrics::counter!("verification_mails_failed_total").increment(1);
        let event = Event::new(
            order,
            SYSTEM_ACTOR,
            EventKind::VerificationFailed(VerificationFailed {
                verification_id: id,
                reason,
            }),
        );
        self.bus.publish(&event).await?;
        Ok(())
    }

    async fn log(&self, id: Uuid, outcome: &str, detail: Option<&str>) {
        let logged = sqlx::query(
            "INSERT INTO send_log (verification_id, outcome, detail) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(outcome)
        .bind(detail)
        .execute(&self.pool)
        .await;
        if let Err(err) = logged {
            tracing::warn!(error = %err, "could not write the send log");
        }
    }
}
