//! The dashboard projection: every event into `orders`, `order_events` and `counters`.
//!
//! One batch is one transaction: the batch's orders are locked (in id order, so replicas cannot
//! deadlock) and loaded; the events are recorded in `order_events`, whose primary key (the
//! stream sequence) drops events applied before; each order's new events are folded onto its
//! row, or, when an older event arrives after a newer one (replicas share the consumer), the
//! order is folded again from its whole history, in sequence order. Counters move by the
//! difference between each row before and after. The checkpoint is written in the same
//! transaction; after the commit the changes are announced for the live feeds.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use gadai_bus::{
    Bus,
    consume::{ApplyError, Delivered, Projection},
};
use gadai_events::Event;
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::{
    domain::{OrderFacts, OrderView},
    read_model::{COLUMNS, OrderRow, order_json},
};

pub const NAME: &str = "dashboard-api";
/// Core NATS subject (under the prefix) where applied changes are announced.
pub const CHANGES_SUBJECT: &str = "dashboard.changes";

pub struct Dashboard {
    pub pool: PgPool,
    pub schema: String,
    /// Where to announce changes; `None` during a rebuild.
    pub announce: Option<Bus>,
}

/// One applied change, as the live feed sends it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Change {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub order_id: Uuid,
    pub order: Value,
}

impl Projection for Dashboard {
    async fn apply(&self, batch: &[Delivered]) -> Result<(), ApplyError> {
        let Some(max_seq) = batch.iter().map(|d| d.seq).max() else {
            return Ok(());
        };
        let mut tx = gadai_store::begin_apply(&self.pool, &self.schema).await?;
        let mut rows = lock_orders(&mut tx, batch).await?;
        let fresh = record_events(&mut tx, batch).await?;

        let mut by_order: BTreeMap<Uuid, Vec<&Delivered>> = BTreeMap::new();
        for d in batch.iter().filter(|d| fresh.contains(&(d.seq as i64))) {
            by_order.entry(d.event.order_id).or_default().push(d);
        }
        let mut late = Vec::new();
        let mut changed: Vec<(OrderView, OrderView)> = Vec::new();
        for (id, events) in &by_order {
            let before = rows.remove(id).unwrap_or_else(|| OrderView::empty(*id));
            if events.iter().any(|d| d.seq as i64 <= before.last_seq) {
                late.push((*id, before));
                continue;
            }
            let mut after = before.clone();
            let mut ordered = events.clone();
            ordered.sort_by_key(|d| d.seq);
            for d in ordered {
                after.apply(d.seq as i64, &d.event);
            }
            changed.push((before, after));
        }
        if !late.is_empty() {
            changed.extend(refold(&mut tx, late).await?);
        }
        write_rows(&mut tx, &changed).await?;
        write_counters(&mut tx, &changed).await?;
        gadai_store::advance_checkpoint(&mut tx, NAME, max_seq).await?;
        tx.commit().await?;

        if let Some(bus) = &self.announce {
            announce(bus, &by_order, &changed).await;
        }
        Ok(())
    }

    fn parking(&self) -> (&PgPool, &str) {
        (&self.pool, NAME)
    }
}

/// Creates missing rows and locks every row of the batch's orders, in id order.
async fn lock_orders(
    tx: &mut Transaction<'_, Postgres>,
    batch: &[Delivered],
) -> sqlx::Result<HashMap<Uuid, OrderView>> {
    let mut ids: Vec<Uuid> = batch.iter().map(|d| d.event.order_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let rows: Vec<OrderRow> = sqlx::query_as(&format!(
        "INSERT INTO orders (id) SELECT * FROM UNNEST($1::uuid[])
         ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id
         RETURNING {COLUMNS}"
    ))
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, OrderView::from(r)))
        .collect())
}

/// Records the events in the history; returns the sequences that were new.
async fn record_events(
    tx: &mut Transaction<'_, Postgres>,
    batch: &[Delivered],
) -> sqlx::Result<HashSet<i64>> {
    let seqs: Vec<i64> = batch.iter().map(|d| d.seq as i64).collect();
    let ids: Vec<Uuid> = batch.iter().map(|d| d.event.id).collect();
    let orders: Vec<Uuid> = batch.iter().map(|d| d.event.order_id).collect();
    let types: Vec<&str> = batch.iter().map(|d| d.event.type_name()).collect();
    let actors: Vec<&str> = batch.iter().map(|d| d.event.actor.as_str()).collect();
    let times: Vec<DateTime<Utc>> = batch.iter().map(|d| d.event.occurred_at).collect();
    let data: Vec<Value> = batch.iter().map(|d| d.event.data_json()).collect();
    let fresh: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO order_events (seq, event_id, order_id, type, actor, occurred_at, data)
         SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::jsonb[])
         ON CONFLICT (seq) DO NOTHING
         RETURNING seq",
    )
    .bind(&seqs)
    .bind(&ids)
    .bind(&orders)
    .bind(&types)
    .bind(&actors)
    .bind(&times)
    .bind(&data)
    .fetch_all(&mut **tx)
    .await?;
    Ok(fresh.into_iter().collect())
}

/// Folds orders again from their whole history, in stream order.
async fn refold(
    tx: &mut Transaction<'_, Postgres>,
    late: Vec<(Uuid, OrderView)>,
) -> Result<Vec<(OrderView, OrderView)>, ApplyError> {
    let ids: Vec<Uuid> = late.iter().map(|(id, _)| *id).collect();
    let history = load_history(&mut **tx, &ids).await?;
    let mut out = Vec::with_capacity(late.len());
    for (id, before) in late {
        let mut after = OrderView::empty(id);
        for (seq, event) in history.iter().filter(|(_, e)| e.order_id == id) {
            after.apply(*seq, event);
        }
        out.push((before, after));
    }
    Ok(out)
}

/// A row of `order_events`.
#[derive(sqlx::FromRow)]
struct StoredEvent {
    seq: i64,
    event_id: Uuid,
    order_id: Uuid,
    r#type: String,
    actor: String,
    occurred_at: DateTime<Utc>,
    data: Value,
}

/// The stored events of some orders, in stream order.
pub async fn load_history<'e, E>(executor: E, ids: &[Uuid]) -> Result<Vec<(i64, Event)>, ApplyError>
where
    E: sqlx::PgExecutor<'e>,
{
    let rows: Vec<StoredEvent> = sqlx::query_as(
        "SELECT seq, event_id, order_id, type, actor, occurred_at, data
         FROM order_events WHERE order_id = ANY($1) ORDER BY seq",
    )
    .bind(ids)
    .fetch_all(executor)
    .await?;
    rows.into_iter()
        .map(|r| {
            Event::from_parts(
                r.event_id,
                &r.r#type,
                r.occurred_at,
                r.order_id,
                r.actor,
                r.data,
            )
            .map(|e| (r.seq, e))
            .map_err(|e| ApplyError::Poison(format!("stored event {}: {e}", r.seq)))
        })
        .collect()
}

async fn write_rows(
    tx: &mut Transaction<'_, Postgres>,
    changed: &[(OrderView, OrderView)],
) -> sqlx::Result<()> {
    let rows: Vec<&OrderView> = changed.iter().map(|(_, after)| after).collect();
    if rows.is_empty() {
        return Ok(());
    }
    let facts: Vec<Option<&OrderFacts>> = rows.iter().map(|v| v.facts.as_ref()).collect();
    sqlx::query(
        "UPDATE orders o SET
            created = u.created, nama_customer = u.nama_customer, email = u.email,
            nama_barang = u.nama_barang, jenis_barang = u.jenis_barang,
            jumlah_barang = u.jumlah_barang, estimasi_nilai_barang = u.estimasi_nilai_barang,
            wilayah = u.wilayah, id_percakapan = u.id_percakapan, created_at = u.created_at,
            state = u.state, active = u.active, sending = u.sending, send_count = u.send_count,
            last_error = u.last_error, verification_id = u.verification_id,
            expires_at = u.expires_at, updated_at = u.updated_at, last_seq = u.last_seq,
            last_sent_at = u.last_sent_at
         FROM UNNEST($1::uuid[], $2::bool[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::timestamptz[],
                     $12::text[], $13::bool[], $14::bool[], $15::int[], $16::text[], $17::uuid[],
                     $18::timestamptz[], $19::timestamptz[], $20::bigint[], $21::timestamptz[])
           AS u(id, created, nama_customer, email, nama_barang, jenis_barang, jumlah_barang,
                estimasi_nilai_barang, wilayah, id_percakapan, created_at, state, active, sending,
                send_count, last_error, verification_id, expires_at, updated_at, last_seq,
                last_sent_at)
         WHERE o.id = u.id",
    )
    .bind(rows.iter().map(|v| v.id).collect::<Vec<_>>())
    .bind(facts.iter().map(Option::is_some).collect::<Vec<_>>())
    .bind(
        facts
            .iter()
            .map(|f| f.map(|f| f.nama_customer.clone()))
            .collect::<Vec<_>>(),
    )
    .bind(
        facts
            .iter()
            .map(|f| f.map(|f| f.email.clone()))
            .collect::<Vec<_>>(),
    )
    .bind(
        facts
            .iter()
            .map(|f| f.map(|f| f.nama_barang.clone()))
            .collect::<Vec<_>>(),
    )
    .bind(
        facts
            .iter()
            .map(|f| f.map(|f| f.jenis_barang.clone()))
            .collect::<Vec<_>>(),
    )
    .bind(
        facts
            .iter()
            .map(|f| f.map(|f| f.jumlah_barang))
            .collect::<Vec<_>>(),
    )
    .bind(
        facts
            .iter()
            .map(|f| f.map(|f| f.estimasi_nilai_barang))
            .collect::<Vec<_>>(),
    )
    .bind(
        facts
            .iter()
            .map(|f| f.map(|f| f.wilayah.clone()))
            .collect::<Vec<_>>(),
    )
    .bind(
        facts
            .iter()
            .map(|f| f.and_then(|f| f.id_percakapan.clone()))
            .collect::<Vec<_>>(),
    )
    .bind(
        facts
            .iter()
            .map(|f| f.map(|f| f.created_at))
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|v| v.status.code()).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.is_active()).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.sending).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.send_count).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|v| v.last_error.clone())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|v| v.verification_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.expires_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.updated_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.last_seq).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.last_sent_at).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A counter: its dimension and key.
type CounterKey = (&'static str, String);
/// What a counter holds: orders and their total estimated value.
type Amount = (i64, i64);

/// What one order adds to each counter.
fn contributions(view: &OrderView) -> Vec<(CounterKey, Amount)> {
    let Some(f) = &view.facts else {
        return Vec::new();
    };
    let one = (1, f.estimasi_nilai_barang);
    let mut out = vec![
        (("status", view.status.label().to_owned()), one),
        (("day", f.created_at.format("%Y-%m-%d").to_string()), one),
    ];
    if view.is_active() {
        out.push((("wilayah", f.wilayah.clone()), one));
        out.push((("total", "active".to_owned()), one));
    }
    out
}

/// The counter changes of a set of row changes, without zero entries, in key order.
pub fn counter_deltas(
    changed: &[(OrderView, OrderView)],
) -> BTreeMap<(&'static str, String), (i64, i64)> {
    let mut deltas: BTreeMap<(&'static str, String), (i64, i64)> = BTreeMap::new();
    for (before, after) in changed {
        for (key, (n, v)) in contributions(before) {
            let e = deltas.entry(key).or_default();
            e.0 -= n;
            e.1 -= v;
        }
        for (key, (n, v)) in contributions(after) {
            let e = deltas.entry(key).or_default();
            e.0 += n;
            e.1 += v;
        }
    }
    deltas.retain(|_, d| *d != (0, 0));
    deltas
}

async fn write_counters(
    tx: &mut Transaction<'_, Postgres>,
    changed: &[(OrderView, OrderView)],
) -> sqlx::Result<()> {
    let deltas = counter_deltas(changed);
    if deltas.is_empty() {
        return Ok(());
    }
    let dims: Vec<&str> = deltas.keys().map(|(d, _)| *d).collect();
    let keys: Vec<&str> = deltas.keys().map(|(_, k)| k.as_str()).collect();
    let orders: Vec<i64> = deltas.values().map(|d| d.0).collect();
    let values: Vec<i64> = deltas.values().map(|d| d.1).collect();
    sqlx::query(
        "INSERT INTO counters (dim, key, orders, value)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[])
         ON CONFLICT (dim, key) DO UPDATE
         SET orders = counters.orders + EXCLUDED.orders, value = counters.value + EXCLUDED.value",
    )
    .bind(&dims)
    .bind(&keys)
    .bind(&orders)
    .bind(&values)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Tells every dashboard-api replica (and so every live feed) what changed. Best effort: a
/// client that misses it catches up with `Last-Event-ID` or its next poll.
async fn announce(
    bus: &Bus,
    by_order: &BTreeMap<Uuid, Vec<&Delivered>>,
    changed: &[(OrderView, OrderView)],
) {
    let changes: Vec<Change> = changed
        .iter()
        .filter_map(|(_, after)| {
            let newest = by_order.get(&after.id)?.iter().max_by_key(|d| d.seq)?;
            Some(Change {
                seq: newest.seq,
                kind: newest.event.type_name().to_owned(),
                order_id: after.id,
                order: order_json(after),
            })
        })
        .collect();
    if changes.is_empty() {
        return;
    }
    let payload = serde_json::to_vec(&changes).expect("changes serialize");
    if let Err(err) = bus
        .client()
        .publish(bus.subject(CHANGES_SUBJECT), payload.into())
        .await
    {
        tracing::warn!(error = %err, "could not announce changes to live feeds");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;

    fn view(status: Status, wilayah: &str, value: i64) -> OrderView {
        let mut v = OrderView::empty(Uuid::now_v7());
        v.status = status;
        v.facts = Some(OrderFacts {
            nama_customer: "A".into(),
            email: "a@b.co".into(),
            nama_barang: "x".into(),
            jenis_barang: "laptop".into(),
            jumlah_barang: 1,
            estimasi_nilai_barang: value,
            wilayah: wilayah.into(),
            id_percakapan: None,
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
        });
        v
    }

    #[test]
    fn a_deletion_moves_the_order_between_counters() {
        let before = view(Status::OnProcess, "Bandung", 100);
        let after = view(Status::Deleted, "Bandung", 100);
        let deltas = counter_deltas(&[(before, after)]);
        assert_eq!(deltas[&("status", "On Process".into())], (-1, -100));
        assert_eq!(deltas[&("status", "Deleted".into())], (1, 100));
        assert_eq!(deltas[&("wilayah", "Bandung".into())], (-1, -100));
        assert_eq!(deltas[&("total", "active".into())], (-1, -100));
        assert!(!deltas.contains_key(&("day", "1970-01-01".into())));
    }

    #[test]
    fn a_placeholder_row_counts_nothing() {
        let empty = OrderView::empty(Uuid::now_v7());
        assert!(counter_deltas(&[(empty.clone(), empty)]).is_empty());
    }
}
