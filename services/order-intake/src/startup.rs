//! order-intake as a service: the bridge's routes beside the key index consumer.

use std::sync::Arc;

use gadai_bus::ConsumerSpec;
use gadai_runtime::{Base, Running, Service};
use tokio_util::sync::CancellationToken;

use crate::{
    config::Settings,
    http::{self, AppState},
    projection::{self, IdempotencyIndex},
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub type Application = gadai_runtime::Application<OrderIntake>;

pub struct OrderIntake {
    settings: Arc<Settings>,
}

impl Service for OrderIntake {
    const NAME: &'static str = "order-intake";
    type Settings = Settings;
    type Projection = IdempotencyIndex;

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    async fn build(settings: Settings, _base: &Base) -> anyhow::Result<Self> {
        gadai_runtime::export_counters(&["orders_accepted_total", "orders_rejected_total"]);
        Ok(OrderIntake {
            settings: Arc::new(settings),
        })
    }

    fn start(self, base: &Base, shutdown: &CancellationToken) -> Running {
        let consumer = base.consume(
            ConsumerSpec::new(projection::NAME, &["order.created"]),
            base.stored(IdempotencyIndex),
            shutdown,
        );
        let routes = http::router(AppState {
            pool: base.pool.clone(),
            bus: base.bus.clone(),
            settings: self.settings,
        });
        Running::new(routes, vec![consumer])
    }
}
