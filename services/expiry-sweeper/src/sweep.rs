//! The sweep: publishes `order.expired` for every open verification past its expiry.
//!
//! With several replicas, one sweeps at a time (a transaction-scoped advisory lock taken with
//! `try`, so the others skip that round), and the expiry's `Nats-Msg-Id` (order + code) makes a
//! repeat within the duplicate window harmless. The row closes when the event comes back
//! through the projection, so a publish that failed is simply retried next round.

use std::time::Duration;

use chrono::{DateTime, Utc};
use gadai_bus::Bus;
use gadai_events::{Event, EventKind, OrderExpired, SYSTEM_ACTOR};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub struct Sweeper {
    pub pool: PgPool,
    pub bus: Bus,
    pub interval: Duration,
    pub batch: i64,
}

impl Sweeper {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            match self.sweep_once(Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "sweep published expiries"),
                Err(err) => tracing::warn!(error = ?err, "sweep failed; retrying next round"),
            }
        }
    }

    /// One round: returns how many expiries were published (0 when another replica sweeps).
    pub async fn sweep_once(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut tx = self.pool.begin().await?;
        let leader: bool = sqlx::query_scalar(
            "SELECT pg_try_advisory_xact_lock(hashtext('expiry-sweeper.sweep'))",
        )
        .fetch_one(&mut *tx)
        .await?;
        if !leader {
            return Ok(0);
        }
        let due: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT order_id, verification_id FROM verifications
             WHERE open AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(self.batch)
        .fetch_all(&mut *tx)
        .await?;
        for (order, verification) in &due {
            let event = Event::new(
                *order,
                SYSTEM_ACTOR,
                EventKind::OrderExpired(OrderExpired {
                    verification_id: *verification,
                }),
            );
            self.bus.publish(&event).await?;
            metrics::counter!("orders_expired_total").increment(1);
        }
        tx.commit().await?;
        Ok(due.len())
    }
}
