//! Customers' personal fields in the projection (issue 15, UU PDP 27/2022): opening what
//! `order.created` and `customer.handoff_opened` seal, and knowing who is erased.
//!
//! Per batch, before anything is written:
//!
//! 1. Each personal event's customer: the subject id it names, or for plaintext recorded before
//!    sealing the one its e-mail makes (so an erasure by e-mail reaches old rows too).
//! 2. The keys of the sealed ones, in one `rpc.keys.get` request (order-intake owns the store).
//!    Keys are never kept beyond the batch: an erasure reaches every batch after it. A key older
//!    than the seal (the customer's key was re-made in between) is fetched once more. The key
//!    store not answering fails the batch, which is retried later: never parked, never written
//!    as erased. Steps 1 and 2 ([`fetch`]) need no transaction: they run while the batch's
//!    transaction is begun and its erasures are read (step 3, [`erasures`]).
//! 3. In the batch's transaction, every customer the batch names is locked (an advisory lock
//!    on the subject's key, one of 256, in one order: exclusive for the customers the batch
//!    erases, shared for the others) and their erasures read from `erased_subjects`, with the
//!    batch's own `customer.erased` added. Two replicas applying an erasure and an
//!    `order.created` of the same customer at once (with a key fetched before the erasure) thus
//!    apply them one after the other, and the second sees the first: the order is written
//!    erased, or blanked by the erasure.
//!
//! Whether an erasure reaches a row is [`Erasure::covers`]: it does not depend on the order the
//! events are applied in, so replicas and a rebuild agree.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use gadai_events::{CustomerErased, EventKind};
use gadai_privacy::{
    KeyClient, KeyError, KeyState, Keys, OpenError, SubjectId, SubjectKey,
    personal::{self, HandoffPersonal, Personal, ReadError},
    rpc::MAX_SUBJECTS,
};
use gadai_runtime::{ApplyError, Delivered, Tx};

use crate::domain::{Customer, Erasure, OrderPersonal};

/// What the projection reads customers' keys with, and names customers by.
pub struct Privacy {
    keys: KeyClient,
    subjects: Arc<SubjectKey>,
    timeout: Duration,
    /// Until when the key store counts as down after a request failed: a failed batch is
    /// retried one event at a time, and each of those fails at once instead of waiting out
    /// the timeout again.
    down_until: Mutex<Option<Instant>>,
}

/// A reader of the customers' keys over `bus` (`rpc.keys.get`, answered by order-intake).
pub fn key_client(pii: &gadai_privacy::Pii, bus: &gadai_bus::Bus) -> anyhow::Result<KeyClient> {
    pii.key_client(bus.client(), bus.subject(gadai_privacy::rpc::SUBJECT))
}

impl Privacy {
    /// What the projection opens customers' fields with, asking over `bus`.
    pub fn from_settings(pii: &gadai_privacy::Pii, bus: &gadai_bus::Bus) -> anyhow::Result<Self> {
        Ok(Privacy::new(
            key_client(pii, bus)?,
            pii.subjects.clone(),
            pii.access.keys_timeout,
        ))
    }

    pub fn new(keys: KeyClient, subjects: Arc<SubjectKey>, timeout: Duration) -> Self {
        Privacy {
            keys,
            subjects,
            timeout,
            down_until: Mutex::new(None),
        }
    }

    pub fn subjects(&self) -> &SubjectKey {
        &self.subjects
    }

    /// The keys of `subjects`, in one request (none when there are none).
    async fn fetch(&self, subjects: &BTreeSet<SubjectId>) -> Result<Keys, ApplyError> {
        if subjects.is_empty() {
            return Ok(Keys::default());
        }
        if self.is_down() {
            return Err(ApplyError::Transient(anyhow::anyhow!(
                "the key store (rpc.keys.get) failed a moment ago; retrying later"
            )));
        }
        let fetched = self.fetch_chunks(subjects).await;
        self.mark_down(fetched.is_err());
        fetched.map_err(|err| {
            ApplyError::Transient(anyhow::Error::new(err).context("fetching customers' keys"))
        })
    }

    /// The keys of `subjects`, in requests of at most [`MAX_SUBJECTS`] (what one request may
    /// name) sent at once: a large batch (a catch-up's) waits for one round trip, not one per
    /// thousand customers.
    async fn fetch_chunks(&self, subjects: &BTreeSet<SubjectId>) -> Result<Keys, KeyError> {
        if subjects.len() <= MAX_SUBJECTS {
            return self.keys.fetch(subjects).await;
        }
        let all: Vec<&SubjectId> = subjects.iter().collect();
        let chunks: Vec<&[&SubjectId]> = all.chunks(MAX_SUBJECTS).collect();
        let fetched = futures::future::try_join_all(
            chunks
                .iter()
                .map(|chunk| self.keys.fetch(chunk.iter().copied())),
        )
        .await?;
        let mut keys = Keys::default();
        for (chunk, part) in chunks.iter().zip(&fetched) {
            for subject in chunk.iter() {
                let state = match part.get(subject) {
                    KeyState::Live(key) => KeyState::Live(key.clone()),
                    KeyState::Erased { generation } => KeyState::Erased {
                        generation: *generation,
                    },
                    KeyState::Unknown => KeyState::Unknown,
                };
                keys.insert((*subject).clone(), state);
            }
        }
        Ok(keys)
    }

    fn is_down(&self) -> bool {
        let down = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
        down.is_some_and(|until| Instant::now() < until)
    }

    fn mark_down(&self, failed: bool) {
        let mut down = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
        *down = failed.then(|| Instant::now() + self.timeout);
    }
}

/// An `order.created` or `customer.handoff_opened` as the projection writes it: whose, and the
/// personal fields (`None`: erased).
pub type Revealed<T> = (Customer, Option<T>);

/// What a batch's personal events hold, opened and checked against erasures.
#[derive(Default)]
pub struct Opened {
    /// By the stream sequence of each `order.created`.
    pub orders: HashMap<i64, Revealed<OrderPersonal>>,
    /// By the stream sequence of each `customer.handoff_opened`.
    pub handoffs: HashMap<i64, Revealed<HandoffPersonal>>,
    /// The batch's erasures, in stream order.
    pub erasures: Vec<BatchErasure>,
    /// Every customer of the batch that is erased, this batch's erasures included.
    pub erased: HashMap<String, Erasure>,
}

/// One `customer.erased` of the batch.
#[derive(Debug, Clone)]
pub struct BatchErasure {
    pub seq: i64,
    pub event_id: uuid::Uuid,
    pub occurred_at: DateTime<Utc>,
    pub actor: String,
    /// The order the admin erased by (the envelope's), if any.
    pub order_id: Option<uuid::Uuid>,
    pub data: CustomerErased,
}

impl BatchErasure {
    pub fn erasure(&self) -> Erasure {
        Erasure {
            generation: self.data.generation,
            seq: self.seq,
        }
    }
}

impl Opened {
    /// The erasure known for `customer`, if the batch named them and they are erased.
    pub fn erasure_of(&self, customer: &Customer) -> Option<&Erasure> {
        self.erased.get(customer.subject.as_deref()?)
    }

    /// The erasure known for the customer of `view`'s order.
    pub fn erasure_of_view(&self, view: &crate::domain::OrderView) -> Option<&Erasure> {
        self.erasure_of(&view.facts.as_ref()?.customer)
    }

    /// The subjects the batch erases.
    pub fn erased_subjects(&self) -> Vec<String> {
        let set: BTreeSet<&str> = self
            .erasures
            .iter()
            .map(|e| e.data.subject.as_str())
            .collect();
        set.into_iter().map(str::to_owned).collect()
    }
}

/// A personal event of the batch, before it is opened.
struct Found {
    seq: i64,
    subject: SubjectId,
    /// The key generation that sealed it; 0 for plaintext.
    generation: u32,
}

/// A batch's personal events, read with their customers' keys (steps 1 and 2 of the module's
/// documentation): what needs no transaction, so it runs while the batch's transaction begins.
pub struct Fetched {
    found: Vec<Found>,
    reads: Vec<Result<Read, ReadError>>,
    erasures: Vec<BatchErasure>,
}

/// The batch's customers (step 1 of the module's documentation). [`locks`], [`fetch`] and
/// [`named`] each make it (they run before and beside the transaction's start): parsing, no
/// copies.
struct Customers<'a> {
    /// Each personal event's customer, in batch order.
    found: Vec<Found>,
    /// The personal events, in the same order.
    events: Vec<&'a EventKind>,
    /// The batch's `customer.erased`, each with its subject id checked.
    erasures: Vec<(&'a Delivered, &'a CustomerErased)>,
}

impl Customers<'_> {
    /// Every customer the batch names, erased ones included.
    fn subjects(&self) -> BTreeSet<&str> {
        self.found
            .iter()
            .map(|f| f.subject.as_str())
            .chain(self.erasures.iter().map(|(_, c)| c.subject.as_str()))
            .collect()
    }
}

fn customers<'a>(privacy: &Privacy, batch: &'a [Delivered]) -> Result<Customers<'a>, ApplyError> {
    let mut found = Vec::new();
    let mut events = Vec::new();
    let mut erasures = Vec::new();
    for d in batch {
        let seq = d.seq as i64;
        match &d.event.kind {
            EventKind::OrderCreated(o) => {
                found.push(identify(privacy, seq, &o.subject, &o.email)?);
                events.push(&d.event.kind);
            }
            EventKind::HandoffOpened(h) => {
                found.push(identify(privacy, seq, &h.subject, &h.email)?);
                events.push(&d.event.kind);
            }
            EventKind::CustomerErased(c) => {
                SubjectId::parse(&c.subject).map_err(|_| {
                    ApplyError::Poison(format!("customer.erased at {seq}: not a subject id"))
                })?;
                erasures.push((d, c));
            }
            _ => {}
        }
    }
    Ok(Customers {
        found,
        events,
        erasures,
    })
}

fn batch_erasure((d, c): (&Delivered, &CustomerErased)) -> BatchErasure {
    BatchErasure {
        seq: d.seq as i64,
        event_id: d.event.id,
        occurred_at: d.event.occurred_at,
        actor: d.event.actor.clone(),
        order_id: (!d.event.order_id.is_nil()).then_some(d.event.order_id),
        data: c.clone(),
    }
}

/// The statement that locks the batch's customers (step 3's locks), run with the batch's
/// `BEGIN` in one round trip; `None` when the batch names no customer.
pub fn locks(privacy: &Privacy, batch: &[Delivered]) -> Result<Option<String>, ApplyError> {
    let customers = customers(privacy, batch)?;
    let subjects = customers.subjects();
    if subjects.is_empty() {
        return Ok(None);
    }
    let erasing: BTreeSet<&str> = customers
        .erasures
        .iter()
        .map(|(_, c)| c.subject.as_str())
        .collect();
    let (keys, exclusive) = lock_keys(&subjects, &erasing);
    Ok(Some(lock_statement(&keys, &exclusive)))
}

/// Identifies the batch's customers, fetches the keys of the sealed ones and reads their
/// fields; see the module's documentation.
pub async fn fetch(privacy: &Privacy, batch: &[Delivered]) -> Result<Fetched, ApplyError> {
    let Customers {
        found,
        events,
        erasures,
    } = customers(privacy, batch)?;
    let erasures = erasures.into_iter().map(batch_erasure).collect();
    let sealed: BTreeSet<SubjectId> = found
        .iter()
        .filter(|f| f.generation > 0)
        .map(|f| f.subject.clone())
        .collect();
    let keys = privacy.fetch(&sealed).await?;
    let mut reads: Vec<Result<Read, ReadError>> =
        events.iter().map(|event| read(&keys, event)).collect();
    let stale: BTreeSet<SubjectId> = found
        .iter()
        .zip(&reads)
        .filter(|(_, r)| matches!(r, Err(ReadError::StaleKey)))
        .map(|(f, _)| f.subject.clone())
        .collect();
    if !stale.is_empty() {
        let again = privacy.fetch(&stale).await?;
        for (event, r) in events.iter().zip(&mut reads) {
            if matches!(r, Err(ReadError::StaleKey)) {
                *r = read(&again, event);
            }
        }
    }
    Ok(Fetched {
        found,
        reads,
        erasures,
    })
}

/// What step 3 needs of the batch's customers ([`named`]).
pub struct Named {
    /// Every customer the batch names, erased ones included: those whose erasures are read from
    /// `erased_subjects`.
    pub subjects: Vec<String>,
    /// The batch's own `customer.erased`.
    erasures: Vec<BatchErasure>,
}

/// The batch's customers for step 3, whose erasures are read under the locks the batch's
/// `BEGIN` took ([`locks`]). The read is part of the statement that records the batch's
/// history (one round trip for both), so it needs nothing [`fetch`] reads and runs while
/// [`fetch`] does.
pub fn named(privacy: &Privacy, batch: &[Delivered]) -> Result<Named, ApplyError> {
    let customers = customers(privacy, batch)?;
    Ok(Named {
        subjects: customers
            .subjects()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        erasures: customers.erasures.into_iter().map(batch_erasure).collect(),
    })
}

/// The erasures of the batch's customers (step 3 of the module's documentation): `applied`,
/// what `erased_subjects` held for the [`Named`] subjects (subject, generation, sequence), with
/// the batch's own `customer.erased` added and recorded.
pub async fn erasures(
    tx: Tx<'_>,
    named: Named,
    applied: Vec<(String, i32, i64)>,
) -> Result<HashMap<String, Erasure>, ApplyError> {
    Ok(erased(tx, applied, &named.erasures).await?)
}

/// Checks the fields [`fetch`] read against the customers' erasures ([`erasures`]).
pub fn open(fetched: Fetched, erased: HashMap<String, Erasure>) -> Result<Opened, ApplyError> {
    let Fetched {
        found,
        reads,
        erasures,
    } = fetched;
    let mut opened = Opened {
        erasures,
        erased,
        ..Opened::default()
    };
    for (f, read) in found.iter().zip(reads) {
        let customer = Customer {
            subject: Some(f.subject.as_str().to_owned()),
            generation: f.generation,
            recorded_seq: f.seq,
        };
        let reached = opened
            .erasure_of(&customer)
            .is_some_and(|e| e.covers(f.generation, f.seq));
        match read {
            Ok(Read::Order(personal)) => {
                let personal = into_fields(personal).filter(|_| !reached);
                opened.orders.insert(f.seq, (customer, personal));
            }
            Ok(Read::Handoff(personal)) => {
                let personal = into_fields(personal).filter(|_| !reached);
                opened.handoffs.insert(f.seq, (customer, personal));
            }
            Err(ReadError::StaleKey) => {
                return Err(ApplyError::Transient(anyhow::anyhow!(
                    "the key store's key of customer {} is still older than the one that \
                     sealed the event at {}; retrying later",
                    f.subject,
                    f.seq
                )));
            }
            Err(err) => return Err(unreadable(f.seq, &err)),
        }
    }
    Ok(opened)
}

/// Who an event's customer is: the subject it names (its fields sealed under the generation
/// their seal says), or, for plaintext recorded before sealing, the subject of its e-mail.
fn identify(
    privacy: &Privacy,
    seq: i64,
    subject: &Option<String>,
    email: &str,
) -> Result<Found, ApplyError> {
    let (subject, generation) = match personal::subject_of(subject.as_deref()) {
        Ok(Some(subject)) => {
            let generation = gadai_privacy::sealed_generation(email)
                .filter(|g| *g > 0)
                .ok_or_else(|| {
                    let err = ReadError::Field {
                        field: gadai_privacy::fields::EMAIL,
                        source: OpenError::Malformed,
                    };
                    unreadable(seq, &err)
                })?;
            (subject, generation)
        }
        Ok(None) => (privacy.subjects.subject_of(email), 0),
        Err(err) => return Err(unreadable(seq, &err)),
    };
    Ok(Found {
        seq,
        subject,
        generation,
    })
}

/// An event whose personal fields can never be read (a garbled seal, a field sealed for another
/// one): parked. The reason names the field, never its content.
fn unreadable(seq: i64, err: &ReadError) -> ApplyError {
    ApplyError::Poison(format!("personal fields of the event at {seq}: {err}"))
}

enum Read {
    Order(Personal<OrderPersonal>),
    Handoff(Personal<HandoffPersonal>),
}

fn read(keys: &Keys, event: &EventKind) -> Result<Read, ReadError> {
    match event {
        EventKind::OrderCreated(o) => personal::open_order(keys, o).map(Read::Order),
        EventKind::HandoffOpened(h) => personal::open_handoff(keys, h).map(Read::Handoff),
        _ => unreachable!("only personal events are found"),
    }
}

fn into_fields<T>(personal: Personal<T>) -> Option<T> {
    match personal {
        Personal::Readable(fields) => Some(fields),
        Personal::Erased => None,
    }
}

/// The statement that locks `keys` until the transaction ends, in one order whoever locks them:
/// exclusively where `exclusive` says so (the batch erases the customer), the others shared. An
/// erasure thus waits for every batch naming a customer of its key and is waited for by them,
/// while batches that only record customers' orders and hand-offs (a catch-up's, whose
/// customers recur from batch to batch) do not wait for each other: they write nothing another
/// such batch reads. Keys are the first [`LOCK_KEY_BITS`] bits of the subject id (a keyed hash:
/// evenly spread), in the two-key space under the schema's hash, apart from the schema's own
/// lock (one 64-bit key).
fn lock_statement(keys: &[i32], exclusive: &[bool]) -> String {
    let keys: Vec<String> = keys.iter().map(i32::to_string).collect();
    let modes: Vec<&str> = exclusive
        .iter()
        .map(|x| if *x { "t" } else { "f" })
        .collect();
    format!(
        "SELECT CASE WHEN x THEN pg_advisory_xact_lock(hashtext(current_schema()), k) \
                ELSE pg_advisory_xact_lock_shared(hashtext(current_schema()), k) END \
         FROM unnest('{{{}}}'::int4[], '{{{}}}'::bool[]) AS t(k, x)",
        keys.join(","),
        modes.join(",")
    )
}

/// How many bits of a subject id make its lock key: 256 keys, so a batch takes at most 256
/// locks however many customers it names. With one key per customer (32 bits), a backlog's
/// batch of 2,000 took 2,000 locks and released them at its commit, and two such batches at
/// once held 4,000 of the 6,400 slots of a default server's lock table (64 per connection);
/// now they hold 512. Customers sharing a key only wait for each other when one is erased: an
/// erasure (rare) waits for the batches naming any customer of its key.
const LOCK_KEY_BITS: u32 = 8;

/// The advisory lock keys of `subjects` in ascending order, each once, and whether it is taken
/// exclusively (a subject of `erasing` has it, or shares it with another).
fn lock_keys(subjects: &BTreeSet<&str>, erasing: &BTreeSet<&str>) -> (Vec<i32>, Vec<bool>) {
    let key = |s: &str| {
        let leading = u32::from_str_radix(s.get(..8)?, 16).ok()?;
        Some((leading >> (32 - LOCK_KEY_BITS)) as i32)
    };
    let mut keys: std::collections::BTreeMap<i32, bool> = std::collections::BTreeMap::new();
    for subject in subjects {
        if let Some(k) = key(subject) {
            *keys.entry(k).or_default() |= erasing.contains(subject);
        }
    }
    keys.into_iter().unzip()
}

/// The erasures `applied` before, with `batch`'s added (and recorded).
async fn erased(
    tx: Tx<'_>,
    applied: Vec<(String, i32, i64)>,
    batch: &[BatchErasure],
) -> sqlx::Result<HashMap<String, Erasure>> {
    let mut erased: HashMap<String, Erasure> = applied
        .into_iter()
        .map(|(subject, generation, seq)| {
            let erasure = Erasure {
                generation: generation.max(0) as u32,
                seq,
            };
            (subject, erasure)
        })
        .collect();
    let mut recorded: HashMap<&str, (Erasure, DateTime<Utc>)> = HashMap::new();
    for e in batch {
        let entry = recorded
            .entry(e.data.subject.as_str())
            .or_insert((e.erasure(), e.occurred_at));
        *entry = (entry.0.and(e.erasure()), entry.1.max(e.occurred_at));
        let known = erased.entry(e.data.subject.clone()).or_insert(e.erasure());
        *known = known.and(e.erasure());
    }
    if !recorded.is_empty() {
        let subjects: Vec<&str> = recorded.keys().copied().collect();
        let generations: Vec<i32> = recorded.values().map(|r| r.0.generation as i32).collect();
        let seqs: Vec<i64> = recorded.values().map(|r| r.0.seq).collect();
        let times: Vec<DateTime<Utc>> = recorded.values().map(|r| r.1).collect();
        sqlx::query(
            "INSERT INTO erased_subjects AS e (subject, generation, seq, erased_at)
             SELECT * FROM UNNEST($1::text[], $2::int4[], $3::bigint[], $4::timestamptz[])
             ON CONFLICT (subject) DO UPDATE SET
                 generation = GREATEST(e.generation, EXCLUDED.generation),
                 seq = GREATEST(e.seq, EXCLUDED.seq),
                 erased_at = GREATEST(e.erased_at, EXCLUDED.erased_at)",
        )
        .bind(&subjects)
        .bind(&generations)
        .bind(&seqs)
        .bind(&times)
        .execute(&mut **tx)
        .await?;
    }
    Ok(erased)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erased_customers_are_locked_exclusively_the_others_shared_each_key_once_in_order() {
        let a = "0a000000".to_owned() + &"0".repeat(56);
        let b = "ff000000".to_owned() + &"1".repeat(56);
        // Another customer of b's key: the key is taken once.
        let b_too = "ffabcdef".to_owned() + &"2".repeat(56);
        let c = "7fffffff".to_owned() + &"3".repeat(56);
        let subjects: BTreeSet<&str> = [a.as_str(), b.as_str(), b_too.as_str(), c.as_str()]
            .into_iter()
            .collect();
        let erasing: BTreeSet<&str> = [b_too.as_str()].into_iter().collect();
        let (keys, exclusive) = lock_keys(&subjects, &erasing);
        assert_eq!(keys, vec![10, 127, 255]);
        assert_eq!(exclusive, vec![false, false, true]);
        assert_eq!(lock_keys(&subjects, &BTreeSet::new()).1, vec![false; 3]);
        let statement = lock_statement(&keys, &exclusive);
        assert!(
            statement.ends_with("unnest('{10,127,255}'::int4[], '{f,f,t}'::bool[]) AS t(k, x)"),
            "{statement}"
        );
    }

    #[test]
    fn a_backlog_batch_of_customers_takes_at_most_256_locks() {
        let subjects: Vec<String> = (0..2_000u32)
            .map(|i| format!("{:08x}", i.wrapping_mul(2_654_435_761)) + &"0".repeat(56))
            .collect();
        let subjects: BTreeSet<&str> = subjects.iter().map(String::as_str).collect();
        let (keys, _) = lock_keys(&subjects, &BTreeSet::new());
        assert!(keys.len() <= 256 && keys.len() > 200, "{} keys", keys.len());
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "ascending, each once");
        assert!(keys.iter().all(|k| (0..256).contains(k)));
    }
}
