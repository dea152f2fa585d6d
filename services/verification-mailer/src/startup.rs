//! Building and running verification-mailer: the recipients projection, the mail worker and the
//! code checker.

use gadai_bus::{ConsumerSpec, rebuild::RebuildReport, service::Base};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    check::Checker,
    config::Settings,
    domain::CodeHasher,
    projection::{self, Recipients},
    sender::{self, Sender},
    transport::Transport,
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct Application {
    base: Base,
    settings: Settings,
    transport: Transport,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let transport = Transport::new(&settings.mail)?;
        let base = Base::start(
            "verification-mailer",
            &settings.db,
            &settings.bus,
            &MIGRATOR,
            &settings.host,
            settings.port,
        )
        .await?;
        Ok(Application {
            base,
            settings,
            transport,
        })
    }

    pub fn port(&self) -> u16 {
        self.base.port()
    }

    pub fn pool(&self) -> &PgPool {
        &self.base.pool
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Application {
            base,
            settings,
            transport,
        } = self;
        let hasher = CodeHasher::new(&settings.code_key);
        let recipients = base.consume(
            ConsumerSpec::new(projection::NAME, None),
            Recipients {
                pool: base.pool.clone(),
                schema: settings.db.schema.clone(),
            },
            &shutdown,
        );
        // One request at a time per replica: each is a mail and an outcome of its own.
        let mut send_spec = ConsumerSpec::new(sender::NAME, Some("verification.requested"));
        send_spec.batch = 1;
        send_spec.ack_wait = settings.send_ack_wait;
        let mails = base.consume(
            send_spec,
            Sender {
                pool: base.pool.clone(),
                bus: base.bus.clone(),
                transport,
                hasher: hasher.clone(),
                from: settings.mail_from.clone(),
                ttl: settings.code_ttl,
                send_attempts: settings.send_attempts,
            },
            &shutdown,
        );
        let checker = Checker {
            pool: base.pool.clone(),
            bus: base.bus.clone(),
            hasher,
            max_failed_attempts: settings.max_failed_attempts,
            limits: settings.check.clone(),
        };
        let stop = shutdown.clone();
        let checks = tokio::spawn(async move {
            if let Err(err) = checker.serve(stop).await {
                tracing::error!(error = ?err, "the code checker stopped");
            }
        });
        let routes = axum::Router::new().fallback(gadai_kit::error::not_found);
        base.serve(
            routes,
            settings.request_timeout,
            vec![recipients, mails, checks],
            shutdown,
        )
        .await
    }
}

/// Rebuilds the recipients projection. Codes and the checks' budget are not derived from
/// events: their tables are carried over into the rebuilt schema.
pub async fn rebuild(settings: Settings, swap: bool) -> anyhow::Result<RebuildReport> {
    gadai_bus::service::rebuild_command(
        "verification-mailer",
        &settings.db,
        &settings.bus,
        &MIGRATOR,
        |pool, schema| Recipients { pool, schema },
        &["verifications", "send_log", "check_budget"],
        swap,
    )
    .await
}
