//! The mailer's queries over its own tables: whether an order closed or a customer was erased,
//! the mail template, what is recorded of a verification, and the live codes a check may match.
//! Writes stay with the code that decides them (the projection, the sender, the checker), each
//! in its own transaction.

use chrono::{DateTime, Utc};
use gadai_events::check::OrderRef;
use gadai_mail_template::MailTemplate;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::lifecycle::{self, SendRecord, State};

/// Whether `order` was verified, expired or deleted: nothing more is sent.
pub async fn is_closed(pool: &PgPool, order: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM closed_orders WHERE order_id = $1)")
        .bind(order)
        .fetch_one(pool)
        .await
}

/// Whether `subject`'s key of `generation` (or a later one) has been erased, as far as the
/// projection has applied.
pub async fn is_erased(pool: &PgPool, subject: &str, generation: u32) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM recipient_erasures WHERE subject = $1 AND generation >= $2)",
    )
    .bind(subject)
    .bind(generation as i64)
    .fetch_one(pool)
    .await
}

/// The template the next mail is composed from: the newest an admin saved, or the default.
/// A stored template that no longer reads (it cannot, short of a hand-edited row) falls back to
/// the default, loudly: a mail with the default text beats no mail.
pub async fn mail_template(pool: &PgPool) -> sqlx::Result<MailTemplate> {
    let stored: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT template FROM mail_template WHERE id")
            .fetch_optional(pool)
            .await?;
    Ok(match stored.map(serde_json::from_value::<MailTemplate>) {
        Some(Ok(template)) => template,
        Some(Err(err)) => {
            tracing::error!(error = %err, "the stored mail template does not read; mailing the default");
            gadai_mail_template::default_template()
        }
        None => gadai_mail_template::default_template(),
    })
}

/// What is recorded of verification `id`, if anything.
pub async fn send_record(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<SendRecord>> {
    type Row = (
        String,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<String>,
        Option<DateTime<Utc>>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT state, expires_at, sent_at, failure_reason, announced_at
         FROM verifications WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(
        |(state, expires_at, sent_at, failure_reason, announced_at)| SendRecord {
            state: State::parse(&state).ok(),
            expires_at,
            sent_at,
            failure_reason,
            announced_at,
        },
    ))
}

/// A live code's row, locked for the check.
#[derive(sqlx::FromRow)]
pub struct Live {
    pub id: Uuid,
    pub order_id: Uuid,
    pub code_hash: Vec<u8>,
    pub attempts: i32,
}

/// The codes a check may match (`$1`: the [`State::CHECKABLE`] states), not expired by the
/// database's clock.
const LIVE: &str = "SELECT id, order_id, code_hash, attempts FROM verifications
                    WHERE state = ANY($1) AND expires_at > now()";

/// What a check names: an order (by id or reference), or only the code's hash (code-only).
pub enum Lookup<'a> {
    Order(&'a OrderRef),
    CodeHash(Vec<u8>),
}

/// The live codes `lookup` names, locked (`FOR UPDATE`, in id order) until `conn`'s
/// transaction ends.
pub async fn lock_live_codes(
    conn: &mut PgConnection,
    lookup: Lookup<'_>,
) -> sqlx::Result<Vec<Live>> {
    let checkable = lifecycle::strs(&State::CHECKABLE);
    match lookup {
        Lookup::Order(OrderRef::Id(order)) => {
            sqlx::query_as(&format!("{LIVE} AND order_id = $2 ORDER BY id FOR UPDATE"))
                .bind(&checkable)
                .bind(order)
                .fetch_all(conn)
                .await
        }
        Lookup::Order(OrderRef::Reference(reference)) => {
            let (low, high) = reference.id_range();
            sqlx::query_as(&format!(
                "{LIVE} AND order_id BETWEEN $2 AND $3 ORDER BY id FOR UPDATE"
            ))
            .bind(&checkable)
            .bind(low)
            .bind(high)
            .fetch_all(conn)
            .await
        }
        Lookup::CodeHash(hash) => {
            sqlx::query_as(&format!("{LIVE} AND code_hash = $2 ORDER BY id FOR UPDATE"))
                .bind(&checkable)
                .bind(hash)
                .fetch_all(conn)
                .await
        }
    }
}
