//! Hand-offs into `handoffs`: `customer.handoff_opened` fills the row's facts,
//! `customer.handoff_closed` closes it. Either may come first (replicas share the consumer), so
//! both upsert, the facts are only ever filled in and the first close is kept.
//! `customer.erased` blanks the customer's words in the hand-offs it reaches.

use gadai_events::EventKind;
use gadai_runtime::{ApplyError, Delivered, Tx};

use super::{Change, erasure::COVERED, personal::Opened};
use crate::read_model::handoff::{self, HandoffRow};

/// Applies the hand-off events among `events` (the batch's new events that are not about an
/// order's life) and the erasures, and returns the live feed's changes. `opened` holds the
/// opened hand-offs.
pub async fn apply(
    tx: Tx<'_>,
    events: &[&Delivered],
    opened: &Opened,
) -> Result<Vec<Change>, ApplyError> {
    let mut changes = Vec::new();
    for d in events {
        let event = &d.event;
        let rows: Vec<HandoffRow> = match &event.kind {
            EventKind::HandoffOpened(h) => {
                let Some((customer, personal)) = opened.handoffs.get(&(d.seq as i64)) else {
                    return Err(ApplyError::Transient(anyhow::anyhow!(
                        "hand-off at {} was not opened",
                        d.seq
                    )));
                };
                let field = |get: fn(&gadai_privacy::personal::HandoffPersonal) -> &String| {
                    personal.as_ref().map(|p| get(p).clone())
                };
                vec![
                    sqlx::query_as(&format!(
                        "INSERT INTO handoffs AS h (id, order_id, id_percakapan, nama_customer,
                             email, referensi, ringkasan, opened_at, last_seq, subject,
                             key_generation, recorded_seq, data_dihapus)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                         ON CONFLICT (id) DO UPDATE SET
                             order_id = EXCLUDED.order_id, id_percakapan = EXCLUDED.id_percakapan,
                             nama_customer = EXCLUDED.nama_customer, email = EXCLUDED.email,
                             referensi = EXCLUDED.referensi, ringkasan = EXCLUDED.ringkasan,
                             opened_at = EXCLUDED.opened_at,
                             last_seq = GREATEST(h.last_seq, EXCLUDED.last_seq),
                             subject = EXCLUDED.subject,
                             key_generation = EXCLUDED.key_generation,
                             recorded_seq = EXCLUDED.recorded_seq,
                             data_dihapus = EXCLUDED.data_dihapus
                         RETURNING {}",
                        handoff::COLUMNS
                    ))
                    .bind(h.handoff_id)
                    .bind((!event.order_id.is_nil()).then_some(event.order_id))
                    .bind(field(|p| &p.id_percakapan))
                    .bind(field(|p| &p.nama_customer))
                    .bind(field(|p| &p.email))
                    .bind(&h.referensi)
                    .bind(field(|p| &p.ringkasan))
                    .bind(event.occurred_at)
                    .bind(d.seq as i64)
                    .bind(&customer.subject)
                    .bind(customer.generation as i32)
                    .bind(customer.recorded_seq)
                    .bind(personal.is_none())
                    .fetch_one(&mut **tx)
                    .await?,
                ]
            }
            EventKind::HandoffClosed(h) => vec![
                sqlx::query_as(&format!(
                    "INSERT INTO handoffs AS h (id, closed_at, closed_by, last_seq)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (id) DO UPDATE SET
                         closed_at = COALESCE(h.closed_at, EXCLUDED.closed_at),
                         closed_by = COALESCE(h.closed_by, EXCLUDED.closed_by),
                         last_seq = GREATEST(h.last_seq, EXCLUDED.last_seq)
                     RETURNING {}",
                    handoff::COLUMNS
                ))
                .bind(h.handoff_id)
                .bind(event.occurred_at)
                .bind(&event.actor)
                .bind(d.seq as i64)
                .fetch_one(&mut **tx)
                .await?,
            ],
            // The erasure becomes the row's newest event: a live feed reconnecting after it is
            // sent the blanked hand-off.
            EventKind::CustomerErased(c) => {
                sqlx::query_as(&format!(
                    "UPDATE handoffs SET id_percakapan = NULL, nama_customer = NULL, email = NULL,
                         ringkasan = NULL, data_dihapus = true,
                         last_seq = GREATEST(last_seq, $3)
                     WHERE {COVERED} AND NOT data_dihapus
                     RETURNING {}",
                    handoff::COLUMNS
                ))
                .bind(&c.subject)
                .bind(c.generation as i32)
                .bind(d.seq as i64)
                .fetch_all(&mut **tx)
                .await?
            }
            _ => Vec::new(),
        };
        for row in rows.into_iter().filter(|r| r.opened_at.is_some()) {
            changes.push(Change {
                seq: d.seq,
                kind: event.type_name().to_owned(),
                order_id: row.order_id.unwrap_or(event.order_id),
                order: serde_json::Value::Null,
                handoff: Some(serde_json::to_value(row.into_api()).expect("a hand-off serializes")),
            });
        }
    }
    Ok(changes)
}
