//! The mail worker: turns each `verification.requested` into one e-mail and one outcome event.
//!
//! A verification's id derives from its order and request number, so a redelivered request finds
//! its row. The row is written `pending` with the new code's hash before the mail leaves. After
//! the SMTP server accepted it the row is recorded `sent` (with `expires_at`), then
//! `verification.sent` is published, then the request is acked; a send that failed for good is
//! recorded `failed` with its reason, then `verification.failed` is published. The unacked
//! request is the outbox: a crash anywhere after the record redelivers it, and a redelivery of a
//! request whose outcome is recorded announces that outcome again (same `Nats-Msg-Id`, so the
//! stream keeps one) and mails nothing; `announced_at` marks the outcome as stored. A redelivery
//! of a `pending` one (the mail was not accepted, or the mailer died first) mails a fresh code.
//! Transient SMTP failures are retried by redelivery with a growing delay; when the attempts are
//! spent, or the server refuses for good, the outcome is `failed`.
//!
//! One replica sends a given verification at a time (a transaction-scoped advisory lock, released
//! by Postgres if the replica dies); while a send is in flight the consumer sends progress acks,
//! so JetStream does not hand the request to another replica.
//!
//! The mail is composed from the newest template the projection holds; a send first waits
//! (briefly) for the projection to apply what came before its request, so a template saved just
//! before a send is the one mailed, and a customer erased just before it is not mailed.
//!
//! The recipient's name and address come with the request, sealed under the customer's key by
//! dashboard-api; each send fetches the key (`rpc.keys.get`) and opens them for that one mail
//! ([`crate::domain::recipient`]). A customer whose data was erased (the erasure applied, or
//! the key gone) is not mailed: the send fails for good with "data pelanggan telah dihapus", as
//! does a request recorded without its recipient (by an earlier release) with its own reason.
//! The key store unreachable is an outage like the SMTP server's: the request is retried,
//! nothing is recorded as failed. No name or address is logged; SMTP replies lose their
//! addresses where they enter the mailer ([`crate::domain::reason`]).

use std::time::Duration;

use chrono::Utc;
use gadai_bus::Bus;
use gadai_events::{
    Event, EventKind, Recipient, SYSTEM_ACTOR, VerificationFailed, VerificationRequested,
    VerificationSent,
};
use gadai_privacy::{KeyClient, SubjectId};
use gadai_runtime::{ApplyError, Delivered, Handler};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    domain::{
        Code, CodeHasher,
        lifecycle::{self, SendAction, Step},
        mail,
        recipient::{self, Address},
    },
    failpoint, projection, read_model,
    transport::{SendError, Transport},
};

pub const NAME: &str = "verification-mailer-send";

/// The longest a send waits for the projection to apply a template saved just before it.
const PROJECTION_WAIT: Duration = Duration::from_secs(3);

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
    /// Opens the requests' sealed names and addresses.
    pub keys: KeyClient,
    pub transport: Transport,
    pub hasher: CodeHasher,
    pub from: String,
    pub ttl: Duration,
    pub send_attempts: i64,
}

/// Side effects (a mail, an event), no checkpoint: the request is acked once this returns.
impl Handler for Sender {
    const NAME: &'static str = NAME;

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn handle(&self, d: &Delivered) -> Result<(), ApplyError> {
        match &d.event.kind {
            EventKind::VerificationRequested(r) => self.send(d, r).await,
            _ => Ok(()),
        }
    }
}

/// The advisory lock key of a verification (its id's first 64 bits).
fn lock_key(id: Uuid) -> i64 {
    id.as_u64_pair().0 as i64
}

impl Sender {
    #[tracing::instrument(name = "handle", skip_all, fields(order_id = %d.event.order_id, request_no = request.request_no))]
    async fn send(&self, d: &Delivered, request: &VerificationRequested) -> Result<(), ApplyError> {
        let order = d.event.order_id;
        let request_no = request.request_no;
        let id = verification_id(order, request_no);
        if self.send_action(id).await? != SendAction::MailFreshCode {
            // A redelivery: the outcome is recorded; make sure it is on the stream.
            return self.announce(order, id).await;
        }
        // The newest template an admin saved before this request, and an erasure of the
        // customer that came before it.
        self.await_projection(d.seq).await;
        if read_model::is_closed(&self.pool, order).await? {
            tracing::info!("order already verified, expired or deleted: nothing to send");
            return Ok(());
        }

        // One sender per verification: a second delivery (another replica) waits its turn.
        let mut lock = self.pool.begin().await?;
        let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(lock_key(id))
            .fetch_one(&mut *lock)
            .await?;
        if !held {
            return Err(ApplyError::Transient(anyhow::anyhow!(
                "another replica is sending this verification"
            )));
        }
        // It may have finished while this one looked.
        if self.send_action(id).await? != SendAction::MailFreshCode {
            lock.rollback().await?;
            return self.announce(order, id).await;
        }

        // The key store unreachable is an outage like the SMTP server's: retried, never final.
        let address = self.address(request.recipient.as_ref()).await?;
        let template = read_model::mail_template(&self.pool).await?;
        let code = self.claim(order, request_no, id).await?;
        let expires_at = Utc::now() + chrono::Duration::from_std(self.ttl).unwrap_or_default();
        let sent = match address {
            Address::Mail { email, name } => {
                let message = mail::compose(&template, &name, order, &code, expires_at);
                drop(code);
                self.transport.send(&self.from, &email, message).await
            }
            Address::Erased => {
                tracing::info!("the customer's data is erased: nothing is mailed, ever");
                Err(SendError::Permanent(recipient::ERASED.to_owned()))
            }
            Address::Unreadable => {
                tracing::error!(
                    "the recipient's sealed name or address does not open with the customer's key"
                );
                Err(SendError::Permanent(recipient::UNREADABLE.to_owned()))
            }
            Address::Missing => {
                tracing::warn!("a request recorded without its recipient (an earlier release)");
                Err(SendError::Permanent(recipient::MISSING.to_owned()))
            }
        };
        match sent {
            Ok(()) => {
                failpoint::hit("mailer.after_smtp_accepted");
                self.log(id, "accepted", None).await;
                // The mail is out: recorded even if the order closed or a newer code replaced
                // this one meanwhile (the state then stays as it is).
                let step = Step::MailAccepted;
                sqlx::query(
                    "UPDATE verifications SET sent_at = now(), expires_at = $2,
                     state = CASE WHEN state = ANY($3) THEN $4 ELSE state END
                     WHERE id = $1",
                )
                .bind(id)
                .bind(expires_at)
                .bind(lifecycle::strs(step.applies_in()))
                .bind(step.target().as_str())
                .execute(&self.pool)
                .await?;
                metrics::counter!("verification_mails_sent_total").increment(1);
                failpoint::hit("mailer.after_sent_recorded");
            }
            Err(SendError::Permanent(reason)) => self.fail(id, reason).await?,
            Err(SendError::Transient(reason)) if d.delivered >= self.send_attempts => {
                self.fail(id, format!("{reason} (after {} attempts)", d.delivered))
                    .await?
            }
            Err(SendError::Transient(reason)) => {
                self.log(id, "retry", Some(&reason)).await;
                return Err(ApplyError::Transient(anyhow::anyhow!("SMTP: {reason}")));
            }
        }
        lock.rollback().await?;
        self.announce(order, id).await
    }

    /// Where the mail goes: the request's sealed name and address opened with the customer's
    /// key, fetched now (no key is kept between mails, so an erasure reaches the next one). A
    /// key generation the projection has seen erased is not fetched at all. An unreachable key
    /// store is a transient failure: the request is retried, and no `verification.failed` says
    /// otherwise.
    async fn address(&self, to: Option<&Recipient>) -> Result<Address, ApplyError> {
        let Some(to) = to else {
            return Ok(Address::Missing);
        };
        let (Ok(subject), Some(generation)) = (
            SubjectId::parse(&to.subject),
            gadai_privacy::sealed_generation(&to.email),
        ) else {
            return Ok(Address::Unreadable);
        };
        if read_model::is_erased(&self.pool, subject.as_str(), generation).await? {
            return Ok(Address::Erased);
        }
        // A key older than the seal (a replica of the store behind): fetch once more.
        for _ in 0..2 {
            let keys = self.keys.fetch([&subject]).await.map_err(|e| {
                ApplyError::Transient(anyhow::Error::new(e).context("rpc.keys.get"))
            })?;
            match recipient::open_sealed(&keys, &subject, &to.email, &to.nama_customer) {
                Ok(address) => return Ok(address),
                Err(gadai_privacy::StaleKey) => continue,
            }
        }
        Err(ApplyError::Transient(anyhow::anyhow!(
            "the key store answers with a key older than the recipient's"
        )))
    }

    /// Waits, at most [`PROJECTION_WAIT`], until the mailer's projection has applied every event
    /// of its subjects that came before the request at `seq`: a template saved just before the
    /// request reaches the projection through another consumer. If the projection stays behind,
    /// the mail goes out with the template it has (a late mail is worse than yesterday's text).
    async fn await_projection(&self, seq: u64) {
        let deadline = tokio::time::Instant::now() + PROJECTION_WAIT;
        loop {
            match self.projection_applied_before(seq).await {
                Ok(true) => return,
                Ok(false) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(false) => {
                    tracing::warn!(
                        seq,
                        "the mailer's projection is behind; mailing with the template it has"
                    );
                    return;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "could not ask how far the projection is; mailing with the template it has");
                    return;
                }
            }
        }
    }

    /// Whether the projection's consumer has acked everything of its subjects before `seq`:
    /// its ack floor reached `seq - 1`, or nothing of its subjects waits or is in hand (a
    /// filtered consumer's floor stays below `seq` while other subjects move on).
    async fn projection_applied_before(&self, seq: u64) -> anyhow::Result<bool> {
        let info = self
            .bus
            .jetstream()
            .get_stream_no_info(&self.bus.settings().stream)
            .await?
            .consumer_info(projection::NAME)
            .await?;
        Ok(info.ack_floor.stream_sequence + 1 >= seq
            || (info.num_pending == 0 && info.num_ack_pending == 0))
    }

    /// What a send request for verification `id` does, given what is recorded of it.
    async fn send_action(&self, id: Uuid) -> Result<SendAction, ApplyError> {
        let record = read_model::send_record(&self.pool, id).await?;
        Ok(lifecycle::on_send_request(record.as_ref()))
    }

    /// Publishes the recorded outcome of `id` (deduplicated by its `Nats-Msg-Id`), then marks
    /// it announced.
    async fn announce(&self, order: Uuid, id: Uuid) -> Result<(), ApplyError> {
        let kind = match self.send_action(id).await? {
            SendAction::MailFreshCode | SendAction::Nothing => return Ok(()),
            SendAction::AnnounceSent { expires_at } => {
                EventKind::VerificationSent(VerificationSent {
                    verification_id: id,
                    expires_at,
                })
            }
            SendAction::AnnounceFailed { reason } => {
                EventKind::VerificationFailed(VerificationFailed {
                    verification_id: id,
                    reason,
                })
            }
        };
        self.bus
            .publish(&Event::new(order, SYSTEM_ACTOR, kind))
            .await?;
        failpoint::hit("mailer.after_outcome_published");
        sqlx::query(
            "UPDATE verifications SET announced_at = now() WHERE id = $1 AND announced_at IS NULL",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Writes the verification `pending` with a fresh code's hash and retires the order's older
    /// live codes (a new code replaces the old one). Returns the plaintext for the mail.
    async fn claim(&self, order: Uuid, request_no: u32, id: Uuid) -> Result<Code, ApplyError> {
        for _ in 0..5 {
            let code = Code::generate();
            let mut tx = self.pool.begin().await?;
            let superseded = Step::Superseded;
            sqlx::query(
                "UPDATE verifications SET state = $3
                 WHERE order_id = $1 AND id <> $2 AND state = ANY($4)",
            )
            .bind(order)
            .bind(id)
            .bind(superseded.target().as_str())
            .bind(lifecycle::strs(superseded.applies_in()))
            .execute(&mut *tx)
            .await?;
            let claimed = sqlx::query(
                "INSERT INTO verifications (id, order_id, request_no, code_hash, state)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET code_hash = EXCLUDED.code_hash, state = EXCLUDED.state, attempts = 0",
            )
            .bind(id)
            .bind(order)
            .bind(request_no as i32)
            .bind(self.hasher.hash(&code))
            .bind(Step::Claimed.target().as_str())
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

    /// Records that the send failed for good, with the reason the event will carry.
    async fn fail(&self, id: Uuid, reason: String) -> Result<(), ApplyError> {
        tracing::warn!(verification_id = %id, %reason, "verification mail failed for good");
        self.log(id, "failed", Some(&reason)).await;
        let step = Step::SendFailed;
        sqlx::query(
            "UPDATE verifications SET failure_reason = $2,
             state = CASE WHEN state = ANY($3) THEN $4 ELSE state END
             WHERE id = $1",
        )
        .bind(id)
        .bind(&reason)
        .bind(lifecycle::strs(step.applies_in()))
        .bind(step.target().as_str())
        .execute(&self.pool)
        .await?;
        metrics::counter!("verification_mails_failed_total").increment(1);
        failpoint::hit("mailer.after_failed_recorded");
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
