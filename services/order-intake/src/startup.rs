//! order-intake as a service: the bridge's routes beside its projection (the idempotency index
//! and erasures) and the key store's answers to `rpc.keys.get`.

use std::sync::Arc;

use gadai_bus::ConsumerSpec;
use gadai_privacy::KeyStore;
use gadai_runtime::{Base, Running, Service};
use tokio_util::sync::CancellationToken;

use crate::{
    config::Settings,
    http::{self, AppState},
    projection::{self, IntakeProjection},
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub type Application = gadai_runtime::Application<OrderIntake>;

pub struct OrderIntake {
    settings: Arc<Settings>,
    keys: KeyStore,
}

impl Service for OrderIntake {
    const NAME: &'static str = "order-intake";
    /// The customers' keys are not derived from events: a rebuild that dropped them would
    /// erase every customer.
    const KEPT_TABLES: &'static [&'static str] = &[gadai_privacy::TABLE];
    type Settings = Settings;
    type Projection = IntakeProjection;

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    async fn build(settings: Settings, base: &Base) -> anyhow::Result<Self> {
        gadai_runtime::export_counters(&["orders_accepted_total", "orders_rejected_total"]);
        let keys = KeyStore::new(base.pool.clone(), &base.schema, settings.pii.masters()?)?;
        Ok(OrderIntake {
            settings: Arc::new(settings),
            keys,
        })
    }

    fn start(self, base: &Base, shutdown: &CancellationToken) -> Running {
        let consumer = base.consume(
            ConsumerSpec {
                linger: gadai_bus::BACKGROUND_LINGER,
                ..ConsumerSpec::new(projection::NAME, &projection::SUBJECTS)
            },
            base.stored(IntakeProjection),
            shutdown,
        );
        let (client, subject) = (
            base.bus.client().clone(),
            base.bus.subject(gadai_privacy::rpc::SUBJECT),
        );
        let (store, stop) = (self.keys.clone(), shutdown.clone());
        let key_requests = tokio::spawn(async move {
            if let Err(err) = gadai_privacy::rpc::serve(client, subject, store, stop).await {
                tracing::error!(error = ?err, "the key store's rpc.keys.get stopped");
            }
        });
        let routes = http::router(AppState {
            bus: Arc::new(base.bus.clone()),
            subjects: self.settings.pii.subjects.clone(),
            rounds: crate::keys::Rounds::start(base.pool.clone(), self.keys),
            settings: self.settings,
        });
        Running::new(routes, vec![consumer, key_requests])
    }

    async fn command(settings: Settings, cmd: String, args: Vec<String>) -> anyhow::Result<()> {
        match cmd.as_str() {
            "reseal" => crate::reseal::command(settings, &args).await,
            "rewrap-keys" => rewrap_keys(settings).await,
            _ => anyhow::bail!(
                "unknown command {cmd:?} (serve, migrate, rebuild [--dry-run], \
                 reseal --from STREAM --to STREAM, rewrap-keys)"
            ),
        }
    }
}

/// `order-intake rewrap-keys`: the step of a master key rotation that re-wraps every customer's
/// key under the first key of `PII_MASTER_KEYS`, then prints how many keys each master key
/// still wraps (an old one may leave the configuration once it wraps none). Safe to run while
/// the service serves, and again after an interruption.
async fn rewrap_keys(settings: Settings) -> anyhow::Result<()> {
    let db = &settings.core.db;
    let pool = gadai_store::connect(db).await?;
    gadai_store::migrate(&pool, &db.schema, &MIGRATOR).await?;
    let keys = KeyStore::new(pool, &db.schema, settings.pii.masters()?)?;
    let rewrapped = keys.rewrap_all().await?;
    eprintln!(
        "rewrap-keys: {rewrapped} keys re-wrapped under master key {:?}",
        keys.masters().current_id()
    );
    for (master_id, count) in keys.masters_in_use().await? {
        eprintln!("rewrap-keys: master key {master_id:?} wraps {count} live keys");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_store_table_is_made_by_the_privacy_crates_migration() {
        gadai_privacy::check_migrator(&MIGRATOR).unwrap();
        assert!(OrderIntake::KEPT_TABLES.contains(&"customer_keys"));
    }
}
