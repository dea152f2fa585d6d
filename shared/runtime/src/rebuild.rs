//! Rebuilding a projection: replay the whole stream into fresh tables, then swap them in.
//!
//! Works while the service runs: the replay fills `<schema>_rebuild` (its secondary indexes are
//! dropped for the load and built once after it, then the tables are vacuumed and analyzed);
//! then, holding the schema's exclusive lock (live batches take it shared), the events that
//! arrived meanwhile are applied and the two schemas swap names in one transaction. Live replicas carry on in the new tables;
//! any event they had not acked yet is applied again, which changes nothing.

use anyhow::Context;
use gadai_store::DbSettings;
use sqlx::migrate::Migrator;

use gadai_bus::Bus;

use crate::{
    consume::{Projection, Stored},
    replay::replay,
};

/// What a rebuild did.
#[derive(Debug, Clone, Copy)]
pub struct RebuildReport {
    pub events: u64,
    pub last_sequence: u64,
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
    let projection = Stored {
        pool: fresh_pool.clone(),
        schema: fresh.clone(),
        projection,
    };

    let until = bus.last_sequence().await?;
    // The replay fills empty tables: without their secondary indexes, built once afterwards.
    let indexes = gadai_store::drop_secondary_indexes(&fresh_pool, &fresh).await?;
    let mut events = replay(bus, &projection, 1, until, 1000, &mut progress).await?;
    gadai_store::restore_indexes(
        &fresh_pool,
        &fresh,
        &indexes,
        gadai_store::Tidy::VacuumAnalyze,
    )
    .await?;
    if !swap {
        return Ok(RebuildReport {
            events,
            last_sequence: until,
        });
    }
    let mut tx = live_pool.begin().await?;
    gadai_store::lock_exclusive(&mut tx, &db.schema).await?;
    let tail = bus.last_sequence().await?;
    events += replay(bus, &projection, until + 1, tail, 1000, &mut progress).await?;
    for table in keep {
        gadai_store::check_identifier(table)?;
        let live = &db.schema;
        sqlx::query(&format!(
            "INSERT INTO {fresh}.{table} SELECT * FROM {live}.{table}"
        ))
        .execute(&mut *tx)
        .await
        .with_context(|| format!("keeping {live}.{table}"))?;
    }
    gadai_store::swap_schemas(&mut tx, &db.schema, &fresh).await?;
    tx.commit()
        .await
        .context("swapping the rebuilt schema in")?;
    fresh_pool.close().await;
    Ok(RebuildReport {
        events,
        last_sequence: tail,
    })
}
