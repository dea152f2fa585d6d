//! verification-mailer as a service: its projection (closed orders, erasures, the mail
//! template), the mail worker and the code checker.

use gadai_bus::ConsumerSpec;
use gadai_events::check::Outcome;
use gadai_privacy::KeyClient;
use gadai_runtime::{Base, Handled, Running, Service};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::{
    check::Checker,
    config::Settings,
    domain::CodeHasher,
    projection::{self, MailerProjection},
    sender::{self, Sender},
    transport::Transport,
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub type Application = gadai_runtime::Application<VerificationMailer>;

pub struct VerificationMailer {
    settings: Settings,
    transport: Transport,
    keys: KeyClient,
}

impl Service for VerificationMailer {
    const NAME: &'static str = "verification-mailer";
    /// Codes and the checks' budget are not derived from events.
    const KEPT_TABLES: &'static [&'static str] = &["verifications", "send_log", "check_budget"];
    type Settings = Settings;
    type Projection = MailerProjection;

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    async fn build(settings: Settings, base: &Base) -> anyhow::Result<Self> {
        gadai_runtime::export_counters(&[
            "verification_mails_sent_total",
            "verification_mails_failed_total",
            "verification_check_failures_total",
        ]);
        for outcome in Outcome::ALL {
            metrics::counter!("verification_checks_total", "outcome" => outcome.label())
                .increment(0);
        }
        let transport = Transport::new(&settings.mail)?;
        let keys = settings.pii.key_client(
            base.bus.client(),
            base.bus.subject(gadai_privacy::rpc::SUBJECT),
        )?;
        Ok(VerificationMailer {
            settings,
            transport,
            keys,
        })
    }

    fn start(self, base: &Base, shutdown: &CancellationToken) -> Running {
        let VerificationMailer {
            settings,
            transport,
            keys,
        } = self;
        let hasher = CodeHasher::new(settings.code_key.expose_secret());
        let projected = base.consume(
            ConsumerSpec {
                linger: gadai_bus::BACKGROUND_LINGER,
                ..ConsumerSpec::new(
                    projection::NAME,
                    &gadai_bus::permissions::MAILER_PROJECTION_SUBJECTS,
                )
            },
            base.stored(MailerProjection),
            shutdown,
        );
        // One request at a time per replica: each is a mail and an outcome of its own.
        let mut send_spec = ConsumerSpec::new(sender::NAME, &["verification.requested"]);
        send_spec.batch = 1;
        send_spec.ack_wait = settings.send_ack_wait;
        let mails = base.consume(
            send_spec,
            Handled(Sender {
                pool: base.pool.clone(),
                bus: base.bus.clone(),
                keys,
                transport,
                hasher: hasher.clone(),
                from: settings.mail_from.clone(),
                ttl: settings.code_ttl,
                send_attempts: settings.send_attempts,
            }),
            shutdown,
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
        let routes = axum::Router::new().fallback(gadai_http::error::not_found);
        Running::new(routes, vec![projected, mails, checks])
    }
}
