//! Building and running verification-mailer.

use gadai_bus::{ConsumerSpec, rebuild::RebuildReport, service::Base};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Settings,
    projection::{self, Recipients},
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct Application {
    base: Base,
    settings: Settings,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let base = Base::start(
            "verification-mailer",
            &settings.db,
            &settings.bus,
            &MIGRATOR,
            &settings.host,
            settings.port,
        )
        .await?;
        Ok(Application { base, settings })
    }

    pub fn port(&self) -> u16 {
        self.base.port()
    }

    pub fn pool(&self) -> &PgPool {
        &self.base.pool
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Application { base, settings } = self;
        let consumer = base.consume(
            ConsumerSpec::new(projection::NAME, None),
            Recipients {
                pool: base.pool.clone(),
                schema: settings.db.schema.clone(),
            },
            &shutdown,
        );
        let routes = axum::Router::new().fallback(gadai_kit::error::not_found);
        base.serve(routes, settings.request_timeout, vec![consumer], shutdown)
            .await
    }
}

pub async fn rebuild(settings: Settings, swap: bool) -> anyhow::Result<RebuildReport> {
    gadai_bus::service::rebuild_command(
        "verification-mailer",
        &settings.db,
        &settings.bus,
        &MIGRATOR,
        |pool, schema| Recipients { pool, schema },
        swap,
    )
    .await
}
