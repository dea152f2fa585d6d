//! The dashboard projection: every event into `orders`, `order_events` and `counters`.
//!
//! One batch is one transaction. Each order of the batch is first folded from nothing over the
//! batch's events; those rows are inserted in id order, and an order that already has a row gets
//! that row locked instead (replicas lock in the same order, so they cannot deadlock). A new
//! order thus costs one insert. The events are recorded in `order_events`, whose primary key
//! (the stream sequence) drops events applied before; an existing order's new events are folded
//! onto its row, or, when an older event arrives after a newer one (replicas share the
//! consumer), the order is folded again from its whole history, in sequence order. The counters
//! count each candidate as a new order in the statement that inserts the rows, and move by the
//! difference between each existing row before and after (less what was counted for it) in the
//! statement that writes them. The checkpoint is written in the same transaction; after the
//! commit the changes are announced for the live feeds.
//!
//! Customers' personal fields (issue 15) are opened first ([`personal`]): the batch's sealed
//! `order.created` and `customer.handoff_opened` with their customers' keys, fetched in one
//! request. Rows hold them readable (the list searches and sorts by name), with the customer's
//! subject id; `customer.erased` blanks them ([`erasure`]), and the history never holds them
//! ([`read_model::recorded_data`]).

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use gadai_bus::{Bus, BusSettings};
use gadai_events::Event;
use gadai_runtime::{ApplyError, Delivered, Projection, Tx};
use serde_json::Value;

use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::{
    config::Pii,
    domain::{Erasure, OrderView},
    read_model::{
        self, COLUMN_COUNT, COLUMNS, OrderRow, RowsQuery, bind_rows, order_json, unnest_rows,
    },
};

mod erasure;
mod handoffs;
pub mod personal;

pub use personal::Privacy;

pub const NAME: &str = "dashboard-api";
/// The most events applied in one transaction. Live, a batch holds what has arrived (a few
/// events); while catching up, the consumer loop fills batches to this size (one transaction,
/// one key request and a few statements per 2,000 events instead of per ~120).
pub const BATCH: usize = 2_000;
/// Settings of a batch of a backlog (half of [`BATCH`] or more): its new rows wait in the
/// trigram index's pending list until 32 MB of them are sorted into the index at once, in
/// memory (the server's default is 4 MB). 300,000 events caught up at 19,539 and 20,022
/// events/s against 18,749 and 19,208 without; 1,000,000 at 16,981 and 16,768 against 16,267
/// and 16,895 (run alternately).
const CATCHING_UP: &str = "SET LOCAL gin_pending_list_limit = '32MB'; SET LOCAL work_mem = '64MB'";
/// Settings of a live batch: the batch that finds the pending list over 1 MB sorts it into the
/// index, a quarter of the default's work, so the batches behind it wait less. At 1,000
/// orders/s, visible at p99 27.9-36.2 ms (max 50.8-108) against 30.8-51.9 ms (max 75.7-132)
/// with the default 4 MB, four runs each, alternately.
const LIVE: &str = "SET LOCAL gin_pending_list_limit = '1MB'";
/// Core NATS subject (under the prefix) where applied changes are announced.
pub const CHANGES_SUBJECT: &str = "dashboard.changes";
/// The most changes a live feed is sent one by one, from one batch or when it reconnects;
/// beyond that it is told to reload its lists. A backlog batch (up to [`BATCH`] orders) is
/// thus announced in one small message instead of a megabyte of rows that every replica would
/// parse and no operator could read: while catching up 1,000,000 events, one message per
/// batch instead of 4,000 of 250 rows.
pub const LIVE_CHANGES_AT_MOST: usize = 500;

/// The projection; its `Default` (no announcements) is the one a rebuild replays through.
#[derive(Default)]
pub struct Dashboard {
    /// Where to announce changes; `None` during a rebuild.
    pub announce: Option<Bus>,
    /// The customers' keys and the subject key; the `Default` (a rebuild's, which the runtime
    /// makes without the settings) reads them from the environment when it first needs them.
    privacy: OnceCell<Arc<Privacy>>,
}

impl Dashboard {
    pub fn new(announce: Option<Bus>, privacy: Arc<Privacy>) -> Self {
        Dashboard {
            announce,
            privacy: OnceCell::new_with(Some(privacy)),
        }
    }

    async fn privacy(&self) -> Result<&Privacy, ApplyError> {
        let privacy = self
            .privacy
            .get_or_try_init(privacy_from_env)
            .await
            .map_err(ApplyError::Transient)?;
        Ok(privacy)
    }
}

/// The keys as the service reads them from the environment, with a connection of its own to
/// ask for them (the `rebuild` command's projection).
async fn privacy_from_env() -> anyhow::Result<Arc<Privacy>> {
    let pii = Pii::from_env()?;
    let bus = Bus::connect_named(BusSettings::from_env()?, NAME, &format!("{NAME}-keys")).await?;
    Ok(Arc::new(Privacy::from_settings(&pii, &bus)?))
}

/// What a batch announces once committed (the JSON of [`CHANGES_SUBJECT`]'s messages): its
/// changes, as an array, or, when there are more than [`LIVE_CHANGES_AT_MOST`],
/// `{"resync": seq}` with the batch's newest sequence.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Announcement {
    Changes(Vec<Change>),
    Resync { resync: u64 },
}

/// One applied change, as the live feed sends it: an order's new state, or a hand-off's.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Change {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub order_id: Uuid,
    /// The order's row (`null` for a hand-off's change).
    pub order: Value,
    /// The hand-off's row, for `customer.handoff_*` changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<Value>,
}

impl Projection for Dashboard {
    const NAME: &'static str = NAME;
    /// The list's B-tree indexes (its filters and sorts, migrations 0001 and 0008). The
    /// projection's own lookups use the history's and the erasures' indexes, which stay. So
    /// does the trigram index: its backlog batches already go through a 32 MB pending list, and
    /// building it took 15-19 s over 1,000,000 orders, more than setting it aside saved
    /// (1,000,000 events at 10,592 events/s with it aside, 11,136 with it kept, 9,892 with
    /// every index kept; 2026-12-03, one machine, 09:24-09:39).
    const BULK_INDEXES: &'static [&'static str] = &[
        "orders_active_created",
        "orders_active_state",
        "orders_active_wilayah",
        "orders_active_value",
        "orders_active_name",
    ];
    /// The batch's personal fields, read with their customers' keys.
    type Prepared = personal::Fetched;
    /// The erasures of the batch's customers, and the events the history did not hold yet.
    type Recorded = Recorded;
    /// What to announce once committed.
    type Applied = Option<Announcement>;

    /// The batch's customers are locked with its `BEGIN`, with the settings of a live batch
    /// ([`LIVE`]) or a backlog's ([`CATCHING_UP`]).
    async fn begin_with(&self, batch: &[Delivered]) -> Result<Option<String>, ApplyError> {
        let locks = personal::locks(self.privacy().await?, batch)?;
        let settings = if batch.len() < BATCH / 2 {
            LIVE
        } else {
            CATCHING_UP
        };
        Ok(Some(match locks {
            Some(locks) => format!("{settings}; {locks}"),
            None => settings.to_owned(),
        }))
    }

    async fn prepare(&self, batch: &[Delivered]) -> Result<personal::Fetched, ApplyError> {
        personal::fetch(self.privacy().await?, batch).await
    }

    /// What needs no key: the customers' erasures, read under the batch's locks, and the
    /// events, recorded in the history (in sequence order, as replicas do, so two batches
    /// holding one redelivered event cannot wait for each other).
    async fn record(&self, tx: Tx<'_>, batch: &[Delivered]) -> Result<Recorded, ApplyError> {
        let named = personal::named(self.privacy().await?, batch)?;
        let (fresh, applied) = record_events(tx, batch, &named.subjects).await?;
        let erased = personal::erasures(tx, named, applied).await?;
        Ok(Recorded { erased, fresh })
    }

    async fn apply(
        &self,
        tx: Tx<'_>,
        batch: &[Delivered],
        fetched: personal::Fetched,
        Recorded { erased, fresh }: Recorded,
    ) -> Result<Option<Announcement>, ApplyError> {
        let opened = personal::open(fetched, erased)?;
        let mut candidates = fold_new(batch);
        for view in &mut candidates {
            reveal(view, None, &opened);
        }
        // The rows the batch's erasures blank are locked with the others, in the same order.
        let erasing = erasure::rows(tx, &opened).await?;
        let named: HashSet<Uuid> = candidates.iter().map(|c| c.id).collect();
        candidates.extend(
            erasing
                .iter()
                .filter(|id| !named.contains(id))
                .map(|id| OrderView::empty(*id)),
        );
        candidates.sort_by_key(|c| c.id);
        let Upsert {
            mut existing,
            inserted: mut changed,
            uncounted: mut deltas,
        } = insert_or_lock(tx, candidates).await?;

        let mut by_order: BTreeMap<Uuid, Vec<&Delivered>> = BTreeMap::new();
        let mut others = Vec::new();
        for d in batch.iter().filter(|d| fresh.contains(&(d.seq as i64))) {
            if d.event.kind.is_order_event() {
                by_order.entry(d.event.order_id).or_default().push(d);
            } else {
                others.push(d);
            }
        }
        let handoffs = handoffs::apply(tx, &others, &opened).await?;
        let mut late = Vec::new();
        let mut updated: Vec<(OrderView, OrderView)> = Vec::new();
        for (id, events) in &by_order {
            let Some(before) = existing.remove(id) else {
                continue; // inserted above, already folded
            };
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
            reveal(&mut after, Some(&before), &opened);
            updated.push((before, after));
        }
        if !late.is_empty() {
            for (before, mut after) in refold(tx, late).await? {
                reveal(&mut after, Some(&before), &opened);
                updated.push((before, after));
            }
        }
        // Rows locked for nothing but an erasure (or for events applied before).
        let mut erased: Vec<(OrderView, i64)> = Vec::new();
        for before in existing.into_values() {
            let mut after = before.clone();
            reveal(&mut after, Some(&before), &opened);
            if after != before {
                if let Some(erasure) = opened.erasure_of_view(&after) {
                    erased.push((after.clone(), erasure.seq));
                }
                updated.push((before, after));
            }
        }
        for (before, after) in &updated {
            deltas.change(before, after);
        }
        write_rows(tx, &updated, deltas).await?;
        changed.extend(updated);
        erasure::record(tx, &opened).await?;
        if self.announce.is_none() {
            return Ok(None);
        }
        if changed.len() + erased.len() + handoffs.len() > LIVE_CHANGES_AT_MOST {
            let newest = batch.iter().map(|d| d.seq).max().unwrap_or_default();
            return Ok(Some(Announcement::Resync { resync: newest }));
        }
        let mut all = changes(&by_order, &changed);
        all.extend(erased.iter().map(|(view, seq)| Change {
            seq: *seq as u64,
            kind: "customer.erased".to_owned(),
            order_id: view.id,
            order: order_json(view),
            handoff: None,
        }));
        all.extend(handoffs);
        Ok(Some(Announcement::Changes(all)))
    }

    /// Tells the live feeds what changed, after the commit.
    async fn committed(&self, announcement: Option<Announcement>) {
        if let (Some(bus), Some(announcement)) = (&self.announce, announcement) {
            announce(bus, announcement).await;
        }
    }
}

/// What [`Dashboard`]'s `record` hands to its `apply`.
#[derive(Default)]
pub struct Recorded {
    /// The erasures of the batch's customers ([`personal::erasures`]).
    erased: HashMap<String, Erasure>,
    /// The sequences the history did not hold before the batch.
    fresh: HashSet<i64>,
}

/// Gives `view` its customer's personal fields as the projection knows them: opened from the
/// batch's `order.created` when the batch holds the one it was folded from, else as `before`
/// had them (the fold cannot open sealed fields, and the history does not hold them); then
/// blanks them when one of the batch's customers' erasures reaches them.
fn reveal(view: &mut OrderView, before: Option<&OrderView>, opened: &personal::Opened) {
    let Some(facts) = &view.facts else { return };
    if let Some((customer, personal)) = opened.orders.get(&facts.customer.recorded_seq) {
        view.reveal(customer.clone(), personal.clone());
    } else if let Some(known) = before.and_then(|b| b.facts.as_ref()) {
        view.reveal(known.customer.clone(), known.personal.clone());
    }
    if let Some(erasure) = opened.erasure_of_view(view) {
        view.erase(erasure);
    }
}

/// Each order of the batch folded from nothing over the batch's events (each sequence once, in
/// stream order), in id order: the row to insert if the order has none yet.
fn fold_new(batch: &[Delivered]) -> Vec<OrderView> {
    let mut by_order: BTreeMap<Uuid, BTreeMap<u64, &Delivered>> = BTreeMap::new();
    for d in batch.iter().filter(|d| d.event.kind.is_order_event()) {
        by_order
            .entry(d.event.order_id)
            .or_default()
            .insert(d.seq, d);
    }
    by_order
        .into_iter()
        .map(|(id, events)| {
            let mut view = OrderView::empty(id);
            for (seq, d) in events {
                view.apply(seq as i64, &d.event);
            }
            view
        })
        .collect()
}

/// A row `insert_or_lock` returned: the id of one this transaction inserted, or one that was
/// there, as it was (only these are read whole: a backlog batch inserts thousands).
enum Upserted {
    Inserted(Uuid),
    Existing(Box<OrderRow>),
}

impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for Upserted {
    fn from_row(row: &'r sqlx::postgres::PgRow) -> sqlx::Result<Self> {
        use sqlx::Row;
        Ok(if row.try_get("inserted")? {
            Upserted::Inserted(row.try_get("id")?)
        } else {
            Upserted::Existing(Box::new(OrderRow::from_row(row)?))
        })
    }
}

/// What [`insert_or_lock`] found.
struct Upsert {
    /// The rows that were there, as they were.
    existing: HashMap<Uuid, OrderView>,
    /// The rows it inserted, as changes from nothing.
    inserted: Vec<(OrderView, OrderView)>,
    /// What the counters must still take back: the statement counted every candidate as new,
    /// and those that had a row were not.
    uncounted: Deltas,
}

/// Inserts the candidates of orders that have no row yet, and locks the rows of the others, in
/// id order; in the same statement, counts every candidate into the counters as a new order
/// (most are: a live batch's rows then cost one statement, not two). Returns the existing rows
/// as they were, the inserted ones as changes from nothing (no event of theirs can have been
/// applied before: a row comes with its first event), and the counting of the others to take
/// back.
async fn insert_or_lock(tx: Tx<'_>, candidates: Vec<OrderView>) -> sqlx::Result<Upsert> {
    let rows: Vec<OrderRow> = candidates.iter().map(OrderRow::from).collect();
    let mut counted = Deltas::default();
    for c in &candidates {
        counted.add(c);
    }
    // xmax is 0 on a row version this statement inserted, and set on one it locked.
    let query = format!(
        "WITH counted AS ({})
         INSERT INTO orders ({COLUMNS})
         SELECT * FROM {} ORDER BY 1
         ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id
         RETURNING {COLUMNS}, (xmax = 0) AS inserted",
        Deltas::upsert(COLUMN_COUNT + 1),
        unnest_rows()
    );
    let upserted: Vec<Upserted> = counted
        .bind(bind_rows(sqlx::query_as(&query), &rows))
        .fetch_all(&mut **tx)
        .await?;
    let mut inserted = HashSet::new();
    let mut existing = HashMap::new();
    for u in upserted {
        match u {
            Upserted::Inserted(id) => {
                inserted.insert(id);
            }
            Upserted::Existing(row) => {
                existing.insert(row.id, OrderView::from(*row));
            }
        }
    }
    let mut uncounted = Deltas::default();
    let mut new = Vec::new();
    for c in candidates {
        if inserted.contains(&c.id) {
            new.push((OrderView::empty(c.id), c));
        } else {
            uncounted.remove(&c);
        }
    }
    Ok(Upsert {
        existing,
        inserted: new,
        uncounted,
    })
}

/// Records the events in the history and reads the erasures of `subjects` applied before:
/// returns the sequences that were new, and the erasures (subject, generation, sequence).
async fn record_events(
    tx: Tx<'_>,
    batch: &[Delivered],
    subjects: &[String],
) -> sqlx::Result<(HashSet<i64>, Vec<(String, i32, i64)>)> {
    let seqs: Vec<i64> = batch.iter().map(|d| d.seq as i64).collect();
    let ids: Vec<Uuid> = batch.iter().map(|d| d.event.id).collect();
    let orders: Vec<Uuid> = batch.iter().map(|d| d.event.order_id).collect();
    let types: Vec<&str> = batch.iter().map(|d| d.event.type_name()).collect();
    let actors: Vec<&str> = batch.iter().map(|d| d.event.actor.as_str()).collect();
    let times: Vec<DateTime<Utc>> = batch.iter().map(|d| d.event.occurred_at).collect();
    let data: Vec<Value> = batch
        .iter()
        .map(|d| read_model::recorded_data(&d.event))
        .collect();
    // One round trip: the history's new rows (no subject) and the erasures applied before
    // (read under the batch's locks, taken with its `BEGIN`).
    let rows: Vec<(Option<String>, i32, i64)> = sqlx::query_as(
        "WITH fresh AS (
             INSERT INTO order_events (seq, event_id, order_id, type, actor, occurred_at, data)
             SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::jsonb[])
             ORDER BY 1
             ON CONFLICT (seq) DO NOTHING
             RETURNING seq)
         SELECT NULL::text, 0, seq FROM fresh
         UNION ALL
         SELECT subject, generation, seq FROM erased_subjects WHERE subject = ANY($8)",
    )
    .bind(&seqs)
    .bind(&ids)
    .bind(&orders)
    .bind(&types)
    .bind(&actors)
    .bind(&times)
    .bind(&data)
    .bind(subjects)
    .fetch_all(&mut **tx)
    .await?;
    let mut fresh = HashSet::with_capacity(batch.len());
    let mut erased = Vec::new();
    for (subject, generation, seq) in rows {
        match subject {
            None => {
                fresh.insert(seq);
            }
            Some(subject) => erased.push((subject, generation, seq)),
        }
    }
    Ok((fresh, erased))
}

/// Folds orders again from their whole history, in stream order.
async fn refold(
    tx: Tx<'_>,
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
                read_model::as_event_data(&r.r#type, r.data),
            )
            .map(|e| (r.seq, e))
            .map_err(|e| ApplyError::Poison(format!("stored event {}: {e}", r.seq)))
        })
        .collect()
}

/// Writes the new state of rows that existed before the batch, and moves the counters by
/// `deltas`, in one statement.
async fn write_rows(
    tx: Tx<'_>,
    changed: &[(OrderView, OrderView)],
    deltas: Deltas,
) -> sqlx::Result<()> {
    if changed.is_empty() {
        if !deltas.is_empty() {
            deltas
                .bind(sqlx::query_as::<_, ()>(&Deltas::upsert(1)))
                .fetch_all(&mut **tx)
                .await?;
        }
        return Ok(());
    }
    let rows: Vec<OrderRow> = changed
        .iter()
        .map(|(_, after)| OrderRow::from(after))
        .collect();
    let set: Vec<String> = COLUMNS
        .split(',')
        .map(str::trim)
        .filter(|c| *c != "id")
        .map(|c| format!("{c} = u.{c}"))
        .collect();
    let query = format!(
        "WITH counted AS ({})
         UPDATE orders o SET {} FROM {} AS u({COLUMNS})
         WHERE o.id = u.id RETURNING o.id",
        Deltas::upsert(COLUMN_COUNT + 1),
        set.join(", "),
        unnest_rows()
    );
    let _: Vec<(Uuid,)> = deltas
        .bind(bind_rows(sqlx::query_as(&query), &rows))
        .fetch_all(&mut **tx)
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

/// How much each counter moves: orders and their total estimated value, in key order.
#[derive(Debug, Default)]
struct Deltas(BTreeMap<CounterKey, Amount>);

impl Deltas {
    /// Moves the counters from `before` to `after`.
    fn change(&mut self, before: &OrderView, after: &OrderView) {
        self.remove(before);
        self.add(after);
    }

    /// Counts `view` in.
    fn add(&mut self, view: &OrderView) {
        self.tally(view, 1);
    }

    /// Counts `view` out.
    fn remove(&mut self, view: &OrderView) {
        self.tally(view, -1);
    }

    fn tally(&mut self, view: &OrderView, sign: i64) {
        for (key, (n, v)) in contributions(view) {
            let e = self.0.entry(key).or_default();
            e.0 += sign * n;
            e.1 += sign * v;
        }
    }

    /// The counters that move, without those that come back to where they were.
    fn moved(&self) -> BTreeMap<&CounterKey, Amount> {
        self.0
            .iter()
            .filter(|(_, d)| **d != (0, 0))
            .map(|(k, d)| (k, *d))
            .collect()
    }

    fn is_empty(&self) -> bool {
        self.0.values().all(|d| *d == (0, 0))
    }

    /// The statement that moves the counters by the four arrays [`Deltas::bind`] binds, from
    /// parameter `$first` on.
    fn upsert(first: usize) -> String {
        let [d, k, o, v] = [first, first + 1, first + 2, first + 3];
        format!(
            "INSERT INTO counters (dim, key, orders, value)
             SELECT * FROM UNNEST(${d}::text[], ${k}::text[], ${o}::bigint[], ${v}::bigint[])
             ON CONFLICT (dim, key) DO UPDATE
             SET orders = counters.orders + EXCLUDED.orders,
                 value = counters.value + EXCLUDED.value"
        )
    }

    /// Binds the counters that move, for [`Deltas::upsert`].
    fn bind<'q, O>(&self, query: RowsQuery<'q, O>) -> RowsQuery<'q, O> {
        let moved = self.moved();
        let dims: Vec<&str> = moved.keys().map(|(d, _)| *d).collect();
        let keys: Vec<String> = moved.keys().map(|(_, k)| k.clone()).collect();
        let orders: Vec<i64> = moved.values().map(|d| d.0).collect();
        let values: Vec<i64> = moved.values().map(|d| d.1).collect();
        query.bind(dims).bind(keys).bind(orders).bind(values)
    }
}

/// What the live feeds are told of the changed rows: each with the newest event of the batch.
fn changes(
    by_order: &BTreeMap<Uuid, Vec<&Delivered>>,
    changed: &[(OrderView, OrderView)],
) -> Vec<Change> {
    changed
        .iter()
        .filter_map(|(_, after)| {
            let newest = by_order.get(&after.id)?.iter().max_by_key(|d| d.seq)?;
            Some(Change {
                seq: newest.seq,
                kind: newest.event.type_name().to_owned(),
                order_id: after.id,
                order: order_json(after),
                handoff: None,
            })
        })
        .collect()
}

/// A batch's changes are announced in messages of at most this many: [`LIVE_CHANGES_AT_MOST`]
/// hand-offs, whose summaries run to kilobytes, could pass NATS's 1 MB payload limit.
const ANNOUNCE_CHUNK: usize = 250;

/// Tells every dashboard-api replica (and so every live feed) what changed, changes in
/// messages of [`ANNOUNCE_CHUNK`]. Best effort: a client that misses it catches up with
/// `Last-Event-ID` or its next poll.
async fn announce(bus: &Bus, announcement: Announcement) {
    let payloads: Vec<Vec<u8>> = match &announcement {
        // A slice of changes is an `Announcement::Changes` on the wire.
        Announcement::Changes(changes) => changes
            .chunks(ANNOUNCE_CHUNK)
            .map(|chunk| serde_json::to_vec(chunk).expect("changes serialize"))
            .collect(),
        resync => vec![serde_json::to_vec(resync).expect("a resync serializes")],
    };
    for payload in payloads {
        if let Err(err) = bus
            .client()
            .publish(bus.subject(CHANGES_SUBJECT), payload.into())
            .await
        {
            tracing::warn!(error = %err, "could not announce changes to live feeds");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrderFacts;
    use crate::domain::Status;

    fn view(status: Status, wilayah: &str, value: i64) -> OrderView {
        let mut v = OrderView::empty(Uuid::now_v7());
        v.status = status;
        v.facts = Some(OrderFacts {
            personal: None,
            customer: Default::default(),
            jenis_barang: "laptop".into(),
            jumlah_barang: 1,
            estimasi_nilai_barang: value,
            wilayah: wilayah.into(),
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
        });
        v
    }

    #[test]
    fn a_deletion_moves_the_order_between_counters() {
        let before = view(Status::OnProcess, "Bandung", 100);
        let after = view(Status::Deleted, "Bandung", 100);
        let mut deltas = Deltas::default();
        deltas.change(&before, &after);
        let moved = deltas.moved();
        assert_eq!(moved[&("status", "On Process".into())], (-1, -100));
        assert_eq!(moved[&("status", "Deleted".into())], (1, 100));
        assert_eq!(moved[&("wilayah", "Bandung".into())], (-1, -100));
        assert_eq!(moved[&("total", "active".into())], (-1, -100));
        assert!(!moved.contains_key(&("day", "1970-01-01".into())));
    }

    #[test]
    fn a_placeholder_row_counts_nothing() {
        let empty = OrderView::empty(Uuid::now_v7());
        let mut deltas = Deltas::default();
        deltas.change(&empty, &empty);
        assert!(deltas.is_empty());
    }
}
