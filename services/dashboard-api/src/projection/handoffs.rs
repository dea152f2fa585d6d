//! Hand-offs into `handoffs`: `customer.handoff_opened` fills the row's facts,
//! `customer.handoff_closed` closes it. Either may come first (replicas share the consumer), so
//! both upsert, the facts are only ever filled in and the first close is kept.

use gadai_events::EventKind;
use gadai_runtime::Delivered;
use sqlx::{Postgres, Transaction};

use super::Change;
use crate::read_model::handoff::{self, HandoffRow};

/// Applies the hand-off events among `events` (the batch's new events that are not about an
/// order's life) and returns the live feed's changes.
pub async fn apply(
    tx: &mut Transaction<'_, Postgres>,
    events: &[&Delivered],
) -> sqlx::Result<Vec<Change>> {
    let mut changes = Vec::new();
    for d in events {
        let event = &d.event;
        let row: Option<HandoffRow> = match &event.kind {
            EventKind::HandoffOpened(h) => Some(
                sqlx::query_as(&format!(
                    "INSERT INTO handoffs AS h (id, order_id, id_percakapan, nama_customer, email,
                         referensi, ringkasan, opened_at, last_seq)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT (id) DO UPDATE SET
                         order_id = EXCLUDED.order_id, id_percakapan = EXCLUDED.id_percakapan,
                         nama_customer = EXCLUDED.nama_customer, email = EXCLUDED.email,
                         referensi = EXCLUDED.referensi, ringkasan = EXCLUDED.ringkasan,
                         opened_at = EXCLUDED.opened_at,
                         last_seq = GREATEST(h.last_seq, EXCLUDED.last_seq)
                     RETURNING {}",
                    handoff::COLUMNS
                ))
                .bind(h.handoff_id)
                .bind((!event.order_id.is_nil()).then_some(event.order_id))
                .bind(&h.id_percakapan)
                .bind(&h.nama_customer)
                .bind(&h.email)
                .bind(&h.referensi)
                .bind(&h.ringkasan)
                .bind(event.occurred_at)
                .bind(d.seq as i64)
                .fetch_one(&mut **tx)
                .await?,
            ),
            EventKind::HandoffClosed(h) => Some(
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
            ),
            _ => None,
        };
        if let Some(row) = row.filter(|r| r.opened_at.is_some()) {
            changes.push(Change {
                seq: d.seq,
                kind: event.type_name().to_owned(),
                order_id: event.order_id,
                order: serde_json::Value::Null,
                handoff: Some(serde_json::to_value(row.into_api()).expect("a hand-off serializes")),
            });
        }
    }
    Ok(changes)
}
