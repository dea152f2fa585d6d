//! Retention (UU PDP 27/2022, issue 15): a customer's personal data is erased by itself once it
//! has been kept long enough.
//!
//! dashboard-api decides it because its read model already holds every customer's orders and
//! hand-offs, with their subject ids, key generations and closes, and their erasures; the admin's
//! erasure on request is published here too. (The sweeper decided it until 2026-12-03, from a
//! copy of every order it read for nothing else.)
//!
//! Every `RETENTION_SWEEP_INTERVAL` a round publishes `customer.erased` (actor `system`, basis
//! `retensi`) for every customer whose orders and hand-offs have **all** been closed (verified,
//! expired, deleted; hand-off contacted) for `RETENTION_PERIOD`, the newest close (an order's
//! newest event) counting. The erasure names the newest key generation their items were sealed
//! under, so order-intake deletes that key (and older ones) and every projection blanks what it
//! holds of them.
//!
//! **Per customer, not per order.** The key that seals an order's name and e-mail is the
//! customer's, one for all their orders and hand-offs: erasing it for an old order would erase
//! their recent ones too. So a customer with one recent order (open, or closed within the
//! period) keeps a readable name and e-mail in all their orders until that one has been closed
//! for the period: the recent order needs the name and e-mail anyway (to mail the code, to
//! contact the customer), and the old orders hold nothing more about them than it does.
//!
//! **Once across replicas.** A round runs under a transaction-scoped advisory lock taken with
//! `try` (as the sweeper's expiry sweep does): one replica runs it, the others skip it. Before
//! deciding it waits until the projection has applied everything on the stream when the round
//! started, so an erasure published by an earlier round (of any replica) is in
//! `erased_subjects` and an order placed before the round is in `orders`; a round whose
//! projection does not catch up in time is skipped. The erasure's `Nats-Msg-Id`
//! (`customer.erased:<subject>:<generation>`) dedupes whatever still repeats within the
//! duplicate window, such as a round whose events were stored but whose replica died before it
//! returned.
//!
//! What this cannot see: an order placed by the customer after the round read the stream's end
//! and before order-intake applies the erasure is sealed under the key being erased. The window
//! is that of one round's publishes (milliseconds) for a customer inactive for the whole period.
//!
//! Each round is bounded (`RETENTION_BATCH` customers, the longest closed first); the rest wait
//! for the next round. Erasures are counted in `retention_erasures_total`.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use gadai_bus::Bus;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{domain::retention as domain, projection, read_model::retention as read_model};

/// The most customers one round erases.
pub const RETENTION_BATCH: i64 = 500;

/// How long a round waits for the projection to apply what was on the stream when it started.
const CATCH_UP_WAIT: Duration = Duration::from_secs(30);

pub struct Retention {
    pub pool: PgPool,
    pub bus: Bus,
    /// How long after a customer's last order or hand-off closed their data is erased; `None`:
    /// retention is off (`RETENTION_PERIOD=off`).
    pub period: Option<Duration>,
    pub interval: Duration,
    /// The most customers erased per round.
    pub batch: i64,
}

impl Retention {
    pub async fn run(self, shutdown: CancellationToken) {
        if self.period.is_none() {
            tracing::info!("retention is off (RETENTION_PERIOD=off): nothing is erased by itself");
            return;
        }
        let this = &self;
        gadai_runtime::every(self.interval, shutdown, || async move {
            match this.round(Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(erased = n, "retention erased customers"),
                Err(err) => {
                    tracing::warn!(error = ?err, "retention round failed; retrying next round")
                }
            }
        })
        .await
    }

    /// One round at `now`: returns how many customers it erased (0 when retention is off, when
    /// another replica runs the round, or when the projection is behind).
    pub async fn round(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let Some(period) = self.period else {
            return Ok(0);
        };
        let cutoff = now - chrono::Duration::from_std(period).context("RETENTION_PERIOD")?;
        let mut tx = self.pool.begin().await?;
        if !gadai_store::try_lead(&mut tx, read_model::RETENTION_LOCK).await? {
            return Ok(0);
        }
        if !self.projection_caught_up().await? {
            tracing::warn!(
                "the dashboard's projection is behind the stream: retention skips this round"
            );
            return Ok(0);
        }
        let due = read_model::retention_due(&mut tx, cutoff, self.batch).await?;
        let mut erased = 0;
        for event in domain::retention_erasures(&due, period) {
            let stored = self.bus.publish(&event).await?;
            if let gadai_events::EventKind::CustomerErased(e) = &event.kind {
                tracing::info!(
                    subject = %e.subject,
                    generation = e.generation,
                    duplicate = stored.duplicate,
                    "retention: customer erased"
                );
            }
            if !stored.duplicate {
                erased += 1;
                metrics::counter!("retention_erasures_total").increment(1);
            }
        }
        tx.commit().await?;
        Ok(erased)
    }

    /// Waits, at most [`CATCH_UP_WAIT`], until the projection's consumer has applied everything
    /// up to the stream's last sequence now: its ack floor reached it, or nothing waits or is in
    /// hand.
    async fn projection_caught_up(&self) -> anyhow::Result<bool> {
        let until = self.bus.last_sequence().await?;
        let stream = self
            .bus
            .jetstream()
            .get_stream_no_info(&self.bus.settings().stream)
            .await?;
        let deadline = tokio::time::Instant::now() + CATCH_UP_WAIT;
        loop {
            let info = stream.consumer_info(projection::NAME).await?;
            if info.ack_floor.stream_sequence >= until
                || (info.num_pending == 0 && info.num_ack_pending == 0)
            {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
