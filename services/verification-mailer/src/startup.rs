//! verification-mailer as a service: the recipients projection, the mail worker and the code
//! checker.

use gadai_bus::ConsumerSpec;
use gadai_events::check::Outcome;
use gadai_privacy::{KeyClient, SubjectKey};
use gadai_runtime::{Base, Handled, Running, Service};
use secrecy::ExposeSecret;
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
    type Projection = Recipients;

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
        backfill_subjects(&base.pool, &settings.pii.subjects).await?;
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
        let recipients = base.consume(
            ConsumerSpec {
                linger: gadai_bus::BACKGROUND_LINGER,
                ..ConsumerSpec::new(
                    projection::NAME,
                    &gadai_bus::permissions::MAILER_PROJECTION_SUBJECTS,
                )
            },
            base.stored(Recipients::new(settings.pii.subjects.clone())),
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
        Running::new(routes, vec![recipients, mails, checks])
    }
}

/// Recipients projected before migration 0005 from plaintext events get their customer's
/// subject id, computed from the e-mail as the projection does (it needs `PII_SUBJECT_KEY`,
/// which SQL does not have), so an erasure finds them. Idempotent; does nothing once done.
pub async fn backfill_subjects(pool: &PgPool, subjects: &SubjectKey) -> anyhow::Result<()> {
    loop {
        let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as(
            "SELECT order_id, email FROM recipients
             WHERE subject IS NULL AND email IS NOT NULL
             ORDER BY order_id LIMIT 1000",
        )
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let (ids, names): (Vec<uuid::Uuid>, Vec<String>) = rows
            .iter()
            .map(|(id, email)| (*id, subjects.subject_of(email).as_str().to_owned()))
            .unzip();
        sqlx::query(
            "UPDATE recipients r SET subject = u.subject
             FROM UNNEST($1::uuid[], $2::text[]) AS u(order_id, subject)
             WHERE r.order_id = u.order_id AND r.subject IS NULL",
        )
        .bind(&ids)
        .bind(&names)
        .execute(pool)
        .await?;
        tracing::info!(
            rows = ids.len(),
            "subject ids of recipients recorded before sealing"
        );
    }
}
