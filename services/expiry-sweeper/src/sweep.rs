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
    /// Sweeps every `interval` (the first one interval after start: see [`gadai_runtime::every`])
    /// until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = &self;
        gadai_runtime::every(self.interval, shutdown, || async move {
            match this.sweep_once(Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "sweep published expiries"),
                Err(err) => tracing::warn!(error = ?err, "sweep failed; retrying next round"),
            }
        })
        .await
    }

    /// One round: returns how many expiries were published (0 when another replica sweeps).
    pub async fn sweep_once(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut tx = self.pool.begin().await?;
        if !gadai_store::try_lead(&mut tx, read_model::SWEEP_LOCK).await? {
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
