//! Answers `verification.check` requests (queue group: one replica answers each).

use chrono::Utc;
use futures::StreamExt;
use gadai_bus::Bus;
use gadai_events::check::{CheckReply, CheckRequest, Outcome, QUEUE_GROUP, SUBJECT};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::{Code, CodeHasher};

pub struct Checker {
    pub pool: PgPool,
    pub hasher: CodeHasher,
    pub max_failed_attempts: i32,
}

/// A live code's row, locked for the check.
#[derive(sqlx::FromRow)]
struct Live {
    id: Uuid,
    order_id: Uuid,
    code_hash: Vec<u8>,
    attempts: i32,
    expires_at: Option<chrono::DateTime<Utc>>,
}

const LIVE: &str = "SELECT id, order_id, code_hash, attempts, expires_at FROM verifications";

impl Checker {
    /// Serves requests until shutdown.
    pub async fn serve(self, bus: Bus, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut requests = bus
            .client()
            .queue_subscribe(bus.subject(SUBJECT), QUEUE_GROUP.to_owned())
            .await?;
        loop {
            let message = tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                m = requests.next() => m,
            };
            let Some(message) = message else {
                return Ok(());
            };
            let reply = match serde_json::from_slice::<CheckRequest>(&message.payload) {
                Ok(request) => self.check(request).await.unwrap_or_else(|err| {
                    tracing::error!(error = ?err, "code check failed");
                    CheckReply::not(Outcome::NotFound)
                }),
                Err(_) => CheckReply::not(Outcome::NotFound),
            };
            if let Some(inbox) = message.reply {
                let payload = serde_json::to_vec(&reply).expect("replies serialize");
                if let Err(err) = bus.client().publish(inbox, payload.into()).await {
                    tracing::warn!(error = %err, "could not reply to a code check");
                }
            }
        }
    }

    /// Checks a code. A valid code of an order that still waits becomes `matched` (the caller
    /// then publishes `order.verified`; the code is closed when that event comes back). A named
    /// order's code counts failed attempts and stops working at the limit.
    pub async fn check(&self, request: CheckRequest) -> anyhow::Result<CheckReply> {
        let code = Code::parse(&request.kode_unik);
        let mut tx = self.pool.begin().await?;
        let live: Option<Live> = match (request.order_id, &code) {
            (Some(order), _) => {
                sqlx::query_as(&format!(
                    "{LIVE} WHERE order_id = $1 AND state IN ('sent', 'matched') FOR UPDATE"
                ))
                .bind(order)
                .fetch_optional(&mut *tx)
                .await?
            }
            (None, Some(code)) => {
                sqlx::query_as(&format!(
                    "{LIVE} WHERE code_hash = $1 AND state IN ('sent', 'matched') FOR UPDATE"
                ))
                .bind(self.hasher.hash(code))
                .fetch_optional(&mut *tx)
                .await?
            }
            (None, None) => None,
        };
        let Some(live) = live else {
            metrics::counter!("verification_checks_total", "outcome" => "not_found").increment(1);
            return Ok(CheckReply::not(Outcome::NotFound));
        };
        if live.attempts >= self.max_failed_attempts {
            metrics::counter!("verification_checks_total", "outcome" => "locked").increment(1);
            return Ok(CheckReply::not(Outcome::Locked));
        }
        let valid = code
            .as_ref()
            .is_some_and(|c| self.hasher.matches(c, &live.code_hash));
        let expired = live.expires_at.is_none_or(|t| t <= Utc::now());
        let outcome = if valid && !expired {
            sqlx::query("UPDATE verifications SET state = 'matched' WHERE id = $1")
                .bind(live.id)
                .execute(&mut *tx)
                .await?;
            Outcome::Matched
        } else if request.order_id.is_some() && !expired {
            let attempts: i32 = sqlx::query_scalar(
                "UPDATE verifications SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts",
            )
            .bind(live.id)
            .fetch_one(&mut *tx)
            .await?;
            if attempts >= self.max_failed_attempts {
                Outcome::Locked
            } else {
                Outcome::NotFound
            }
        } else {
            Outcome::NotFound
        };
        tx.commit().await?;
        let label = match outcome {
            Outcome::Matched => "matched",
            Outcome::NotFound => "not_found",
            Outcome::Locked => "locked",
        };
        metrics::counter!("verification_checks_total", "outcome" => label).increment(1);
        Ok(match outcome {
            Outcome::Matched => CheckReply {
                outcome,
                order_id: Some(live.order_id),
                verification_id: Some(live.id),
            },
            other => CheckReply::not(other),
        })
    }
}
