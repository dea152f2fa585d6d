//! The subcommands of a service binary: `serve` (the default), `migrate`, `rebuild [--dry-run]`,
//! and the service's own.

use gadai_bus::{Bus, BusSettings};
use gadai_http::server;
use gadai_kit::cli::Command;
use gadai_store::DbSettings;
use sqlx::migrate::Migrator;
use tokio_util::sync::CancellationToken;

use crate::{Application, Service, ServiceSettings, consume::Projection, rebuild::RebuildReport};

/// Runs one of `S`'s subcommands.
pub async fn dispatch<S: Service>(command: Command, settings: S::Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let shutdown = CancellationToken::new();
            server::cancel_on_signal(shutdown.clone());
            Application::<S>::build(settings).await?.run(shutdown).await
        }
        Command::Migrate => migrate_command(&settings.core().db, S::migrator()).await,
        Command::Rebuild { swap } => Application::<S>::rebuild(settings, swap).await.map(|_| ()),
        Command::Other(cmd, args) => S::command(settings, cmd, args).await,
    }
}

/// The `migrate` subcommand.
pub async fn migrate_command(db: &DbSettings, migrator: &Migrator) -> anyhow::Result<()> {
    let pool = gadai_store::connect(db).await?;
    gadai_store::migrate(&pool, &db.schema, migrator).await?;
    eprintln!("migrate: schema {} is up to date", db.schema);
    Ok(())
}

/// The `rebuild` subcommand: replays the stream into fresh tables, printing progress, and
/// swaps them in unless `swap` is false.
pub async fn rebuild_command<P: Projection>(
    name: &str,
    db: &DbSettings,
    bus: &BusSettings,
    migrator: &Migrator,
    projection: P,
    keep: &[&str],
    swap: bool,
) -> anyhow::Result<RebuildReport> {
    let bus = Bus::connect_named(bus.clone(), name, &format!("{name}-rebuild")).await?;
    let report =
        crate::rebuild::rebuild(&bus, db, migrator, projection, keep, swap, |seq, until| {
            eprintln!("rebuild: applied up to {seq} of {until}")
        })
        .await?;
    eprintln!(
        "rebuild: {} events up to sequence {} {} after {:.1} s (replay {:.1} s, indexes and \
         statistics {:.1} s), then vacuumed in {:.1} s",
        report.events,
        report.last_sequence,
        if swap {
            "swapped in"
        } else {
            "ready in the _rebuild schema (left there)"
        },
        report.ready.as_secs_f64(),
        report.replayed.as_secs_f64(),
        report.indexed.as_secs_f64(),
        report.vacuumed.as_secs_f64(),
    );
    Ok(report)
}
