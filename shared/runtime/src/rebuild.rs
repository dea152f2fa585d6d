//! Rebuilding a projection: replay the whole stream into fresh tables, then swap them in.
//!
//! Works while the service runs: the replay fills `<schema>_rebuild` (its secondary indexes are
//! dropped for the load and built once after it, then the tables are analyzed); then, holding
//! the schema's exclusive lock (live batches take it shared), the events that arrived
//! meanwhile are applied and the two schemas swap names in one transaction. Live replicas
//! carry on in the new tables; any event they had not acked yet is applied again, which
//! changes nothing. The new tables are vacuumed last, in service (hint bits and the visibility
//! map, set once for tables loaded in bulk).

use std::time::{Duration, Instant};

use anyhow::Context;
use gadai_store::DbSettings;
use sqlx::migrate::Migrator;

use gadai_bus::Bus;

use crate::{
    consume::{Projection, Stored},
    replay::replay,
};

/// What a rebuild did, and how long each part took.
#[derive(Debug, Clone, Copy)]
pub struct RebuildReport {
    pub events: u64,
    pub last_sequence: u64,
    /// Making the fresh tables and replaying the stream into them.
    pub replayed: Duration,
    /// Building their indexes and analyzing them.
    pub indexed: Duration,
    /// From the start until the fresh tables were swapped in (or, without the swap, ready to).
    pub ready: Duration,
    /// Vacuuming them afterwards, in service.
    pub vacuumed: Duration,
}

/// Replays the stream through `projection` into `<schema>_rebuild`, then (when `swap`) swaps it in for `schema`.
/// Without `swap` the fresh tables stay beside the live ones, for comparison. Tables named in
/// `keep` hold state that is not derived from events (the mailer's codes): their rows are copied
/// into the fresh schema inside the swap's lock.
pub async fn rebuild<P: Projection>(
    bus: &Bus,
    db: &DbSettings,
    migrator: &Migrator,
    projection: P,
    keep: &[&str],
    swap: bool,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<RebuildReport> {
    let started = Instant::now();
    let fresh = format!("{}_rebuild", db.schema);
    let live_pool = gadai_store::connect(db).await?;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {fresh} CASCADE"))
        .execute(&live_pool)
        .await
        .context("dropping an earlier rebuild")?;
    let fresh_settings = DbSettings {
        schema: fresh.clone(),
        ..db.clone()
    };
    let fresh_pool = gadai_store::connect(&fresh_settings).await?;
    gadai_store::migrate(&fresh_pool, &fresh, migrator).await?;
    let projection = Stored::new(fresh_pool.clone(), fresh.clone(), projection);

    let until = bus.last_sequence().await?;
    // The replay fills empty tables: without their secondary indexes, built once afterwards.
    let indexes = gadai_store::drop_secondary_indexes(&fresh_pool, &fresh).await?;
    let mut events = replay(bus, &projection, 1, until, 1000, &mut progress).await?;
    let replayed = started.elapsed();
    gadai_store::restore_indexes(&fresh_pool, &fresh, &indexes).await?;
    let indexed = started.elapsed() - replayed;
    let mut last_sequence = until;
    if swap {
        let (tail, applied) =
            swap_in(bus, db, &live_pool, &projection, keep, until, &mut progress).await?;
        (events, last_sequence) = (events + applied, tail);
    }
    let ready = started.elapsed();
    // The tables are in service (or ready to be): the vacuum no longer holds anything up.
    let schema = if swap { &db.schema } else { &fresh };
    gadai_store::vacuum(&fresh_pool, schema).await?;
    fresh_pool.close().await;
    Ok(RebuildReport {
        events,
        last_sequence,
        replayed,
        indexed,
        ready,
        vacuumed: started.elapsed() - ready,
    })
}

/// Applies what arrived after `until` and swaps the fresh schema in, holding the live schema's
/// exclusive lock throughout. Returns the last sequence and how many events it applied.
async fn swap_in<P: Projection>(
    bus: &Bus,
    db: &DbSettings,
    live_pool: &sqlx::PgPool,
    projection: &Stored<P>,
    keep: &[&str],
    until: u64,
    progress: &mut impl FnMut(u64, u64),
) -> anyhow::Result<(u64, u64)> {
    let fresh = &projection.schema;
    let mut tx = live_pool.begin().await?;
    gadai_store::lock_exclusive(&mut tx, &db.schema).await?;
    let tail = bus.last_sequence().await?;
    let applied = replay(bus, projection, until + 1, tail, 1000, progress).await?;
    for table in keep {
        gadai_store::check_identifier(table)?;
        let live = &db.schema;
        // The service writes these tables as it serves (no projection lock keeps it out):
        // writers in flight commit before the copy, and later ones wait for the swap and then
        // write to the table that took the name.
        sqlx::query(&format!("LOCK TABLE {live}.{table} IN EXCLUSIVE MODE"))
            .execute(&mut *tx)
            .await
            .with_context(|| format!("locking {live}.{table}"))?;
        sqlx::query(&format!(
            "INSERT INTO {fresh}.{table} SELECT * FROM {live}.{table}"
        ))
        .execute(&mut *tx)
        .await
        .with_context(|| format!("keeping {live}.{table}"))?;
    }
    gadai_store::swap_schemas(&mut tx, &db.schema, fresh).await?;
    tx.commit()
        .await
        .context("swapping the rebuilt schema in")?;
    Ok((tail, applied))
}
