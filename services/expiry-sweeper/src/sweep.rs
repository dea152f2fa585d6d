//! The sweep: publishes `order.expired` for every open verification past its expiry.
//!
//! With several replicas, one sweeps at a time (a transaction-scoped advisory lock taken with
//! `try`, so the others skip that round), and the expiry's `Nats-Msg-Id` (order + code) makes a
//! repeat within the duplicate window harmless. The row closes when the event comes back
//! through the projection, so a publish that failed is simply retried next round.

use std::time::Duration;

use chrono::{DateTime, Utc};
use gadai_bus::Bus;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{domain, read_model};

pub struct Sweeper {
    pub pool: PgPool,
    pub bus: Bus,
    pub interval: Duration,
    pub batch: i64,
}

impl Sweeper {
    pub async fn run(self, shutdown: CancellationToken) {
        // The first round one interval after start: by then the projection has applied what
        // happened while the sweeper was down (a round at once would read a stale table), and
        // several replicas starting together do not all sweep at the same moment.
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + self.interval, self.interval);
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
        if !read_model::try_lead(&mut tx, read_model::SWEEP_LOCK).await? {
            return Ok(0);
        }
        let due = read_model::due(&mut tx, now, self.batch).await?;
        let expiries = domain::decide(&due, now);
        for event in &expiries {
            self.bus.publish(event).await?;
            metrics::counter!("orders_expired_total").increment(1);
        }
        tx.commit().await?;
        Ok(expiries.len())
    }
}
