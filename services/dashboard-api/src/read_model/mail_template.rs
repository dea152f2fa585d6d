//! The verification mail's template as the dashboard knows it: the `verification.template_changed`
//! events the projection recorded in `order_events` (with the nil order id). The newest is the
//! one the mailer uses; the rows are its history.

use chrono::{DateTime, Utc};
use gadai_events::{MailTemplate, TemplateChanged};
use sqlx::PgPool;

/// The event type whose rows these are.
pub const TYPE: &str = "verification.template_changed";

/// One saved template: who saved it, when, what.
#[derive(Debug, Clone)]
pub struct Change {
    pub seq: i64,
    pub changed_at: DateTime<Utc>,
    /// The admin's username (the event's actor).
    pub changed_by: String,
    pub template: MailTemplate,
}

/// The newest `limit` changes, newest first (an index over these rows only: migration 0007).
/// A row whose data does not read as a template is left out, and logged.
pub async fn changes(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<Change>> {
    let rows: Vec<(i64, DateTime<Utc>, String, serde_json::Value)> = sqlx::query_as(
        "SELECT seq, occurred_at, actor, data FROM order_events
         WHERE type = $1 ORDER BY seq DESC LIMIT $2",
    )
    .bind(TYPE)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(seq, changed_at, changed_by, data)| {
            match serde_json::from_value::<TemplateChanged>(data) {
                Ok(TemplateChanged { template }) => Some(Change {
                    seq,
                    changed_at,
                    changed_by,
                    template,
                }),
                Err(err) => {
                    tracing::warn!(seq, error = %err, "a recorded template change does not read");
                    None
                }
            }
        })
        .collect())
}

/// The newest change, if an admin ever saved one.
pub async fn current(pool: &PgPool) -> sqlx::Result<Option<Change>> {
    Ok(changes(pool, 1).await?.into_iter().next())
}
