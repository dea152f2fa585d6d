//! Running a durable pull consumer: the one place where messages become applied, acked, retried or
//! parked.
//!
//! Messages arrive in batches of whatever is ready (up to `spec.batch`; while the server says more
//! are pending, a backlog, the batch is filled up to `spec.batch`, waiting at most [`FILL_WAIT`]).
//! While a batch is applied, whatever arrives is received and decoded into the next one, which
//! is applied as soon as the first commits; full batches (a backlog) are applied up to
//! [`ConsumerSpec::parallel`] at once, each in its own transaction. A [`Projection`] gets
//! each batch inside a Postgres transaction this loop owns: it begins it (holding the schema's
//! shared lock), lets the projection write, advances the checkpoint, commits, runs the projection's
//! post-commit step, and only then acks the messages (the last one with a double ack, so the server
//! confirms). A [`Handler`] (work with side effects outside the database, such as a mail) gets each
//! message with no transaction and no checkpoint; it is acked after the handler returns. A message
//! that cannot be decoded, or that the database refuses as bad data, is parked: terminated, logged
//! with its sequence, kept in `parked_events`. Transient failures are NAKed with a growing delay.
//! While a batch is being applied, its messages get a progress ack every third of AckWait, so long
//! work (a slow SMTP send) is not redelivered to another replica; a replica that dies stops sending
//! them, and its messages are redelivered one AckWait later.

use std::{future::Future, time::Duration};

use async_nats::jetstream::{AckKind, Message, consumer::PullConsumer};
use futures::StreamExt;
use gadai_bus::{Bus, ConsumerSpec, NatsHeadersRef};
use gadai_events::Event;
use gadai_store::{BatchTx, Kept};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// One decoded message of a batch.
pub struct Delivered {
    /// The stream sequence: the checkpoint and the per-row version.
    pub seq: u64,
    pub event: Event,
    /// How many times the server has delivered it (1 the first time).
    pub delivered: i64,
    /// The consumer span of this message, a child of the publisher's trace.
    pub span: tracing::Span,
}

impl Delivered {
    /// `event` at `seq`, delivered for the first time and outside any trace (a replay's, a
    /// test's).
    pub fn first(seq: u64, event: Event) -> Self {
        Delivered {
            seq,
            event,
            delivered: 1,
            span: tracing::Span::none(),
        }
    }
}

/// Why a projection could not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The event can never be applied (bad data): park it.
    #[error("poison: {0}")]
    Poison(String),
    /// Try again later (database down, serialization failure, ...).
    #[error(transparent)]
    Transient(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ApplyError {
    fn from(err: sqlx::Error) -> Self {
        // SQLSTATE classes 22 (data exception) and 23 (integrity constraint) mean the event's
        // data is at fault, not the database: retrying cannot help.
        if let sqlx::Error::Database(db) = &err
            && db
                .code()
                .is_some_and(|c| c.starts_with("22") || c.starts_with("23"))
        {
            return ApplyError::Poison(db.message().to_owned());
        }
        ApplyError::Transient(err.into())
    }
}

/// The transaction a [`Projection`] writes a batch in.
pub type Tx<'a> = &'a mut BatchTx;

/// Events folded into tables of the service's schema. It knows only its SQL: the consumer loop
/// (and the replay of a rebuild) runs it as [`Stored`], on the service's pool and schema, and
/// owns the transaction: it begins it (with [`Projection::begin_with`]'s statements) and calls
/// [`Projection::record`] while it calls [`Projection::prepare`], calls [`Projection::apply`],
/// advances the checkpoint named [`Projection::NAME`], commits, then calls
/// [`Projection::committed`].
pub trait Projection: Send + Sync + 'static {
    /// The checkpoint's name, under which parked messages are recorded too.
    const NAME: &'static str;
    /// What `prepare` hands to `apply` (`()` for most).
    type Prepared: Send;
    /// What `record` hands to `apply` (`()` for most).
    type Recorded: Send + Default;
    /// What `apply` hands to `committed`.
    type Applied: Send;
    /// Indexes of its schema that only its readers use, never its own statements: a bulk
    /// catch-up (see [`crate::bulk`]) sets them aside. None by default (never in bulk).
    const BULK_INDEXES: &'static [&'static str] = &[];

    /// SQL to run in the round trip that begins the batch's transaction, after the schema's
    /// lock: the advisory locks the batch takes before anything else, say. Text with literals
    /// only (that round trip takes no parameters), made from the batch alone, before `prepare`.
    fn begin_with(
        &self,
        batch: &[Delivered],
    ) -> impl Future<Output = Result<Option<String>, ApplyError>> + Send {
        let _ = batch;
        async { Ok(None) }
    }

    /// The batch's work that needs no transaction (a request to another service, say): it
    /// runs while the transaction is begun and [`Projection::record`] writes, so the waits
    /// overlap.
    fn prepare(
        &self,
        batch: &[Delivered],
    ) -> impl Future<Output = Result<Self::Prepared, ApplyError>> + Send;

    /// The batch's statements that need nothing from `prepare` (recording the history, reading
    /// what the batch is checked against): they run in `tx` right after its begin, while
    /// `prepare` is under way. Nothing by default.
    fn record(
        &self,
        tx: Tx<'_>,
        batch: &[Delivered],
    ) -> impl Future<Output = Result<Self::Recorded, ApplyError>> + Send {
        let _ = (tx, batch);
        async { Ok(Self::Recorded::default()) }
    }

    /// Writes the batch's events in `tx`, with what `prepare` and `record` returned. Applying
    /// an event that was applied before must change nothing.
    fn apply(
        &self,
        tx: Tx<'_>,
        batch: &[Delivered],
        prepared: Self::Prepared,
        recorded: Self::Recorded,
    ) -> impl Future<Output = Result<Self::Applied, ApplyError>> + Send;

    /// Runs after the commit (announcing the changes, say); it cannot fail the batch.
    fn committed(&self, applied: Self::Applied) -> impl Future<Output = ()> + Send {
        let _ = applied;
        async {}
    }
}

/// Work with side effects outside the service's tables (a mail): no transaction, no
/// checkpoint. Each message is acked once `handle` returns `Ok`; a redelivery must be safe.
pub trait Handler: Send + Sync + 'static {
    /// The name under which parked messages are recorded.
    const NAME: &'static str;

    /// Where parked messages are recorded (the schema's `parked_events`).
    fn pool(&self) -> &PgPool;

    fn handle(&self, message: &Delivered) -> impl Future<Output = Result<(), ApplyError>> + Send;
}

/// A [`Handler`], as the consumer loop runs it.
pub struct Handled<H>(pub H);

/// A [`Projection`] on the pool and schema it writes to, as the consumer loop and the replay
/// run it (see [`crate::Base::stored`]).
pub struct Stored<P> {
    pub pool: PgPool,
    pub schema: String,
    pub projection: P,
    /// The connection of the last batch, kept for the next ([`Kept`]). Live batches go one at
    /// a time; the full batches of a backlog that go beside it take theirs from the pool, where
    /// one more round trip per batch of thousands of events does not count.
    kept: Kept,
}

impl<P> Stored<P> {
    pub fn new(pool: PgPool, schema: String, projection: P) -> Self {
        Stored {
            kept: Kept::of(&pool, 1),
            pool,
            schema,
            projection,
        }
    }
}

/// What the consumer loop and the replay feed batches to: a [`Stored`] projection, in a
/// transaction of its own, or a [`Handled`] handler.
pub trait Sink: Send + Sync + 'static {
    /// Applies the batch; `Ok` means every message of it may be acked.
    fn apply(&self, batch: &[Delivered]) -> impl Future<Output = Result<(), ApplyError>> + Send;

    /// Where parked messages are recorded (the schema's `parked_events`), and under which name.
    fn parked_in(&self) -> (&PgPool, &'static str);

    /// Called as the consumer starts, with the messages pending for it: whether it catches
    /// up in bulk (see [`crate::bulk`]). Only projections do.
    fn begin_catch_up(
        &self,
        spec: &ConsumerSpec,
        pending: u64,
    ) -> impl Future<Output = anyhow::Result<bool>> + Send {
        let _ = (spec, pending);
        async { Ok(false) }
    }

    /// Whether indexes are set aside now (by any replica, one that died included).
    fn caught_up_in_bulk(&self) -> impl Future<Output = anyhow::Result<bool>> + Send {
        async { Ok(false) }
    }

    /// Called once a bulk catch-up has fewer than a batch of messages left.
    fn end_catch_up(&self) -> impl Future<Output = anyhow::Result<()>> + Send {
        async { Ok(()) }
    }

    /// Records a parked message where ops can see it.
    fn park(
        &self,
        seq: u64,
        subject: &str,
        reason: &str,
        payload: &[u8],
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        let (pool, name) = self.parked_in();
        async move {
            gadai_store::park(pool, name, seq, subject, reason, payload).await?;
            Ok(())
        }
    }
}

impl<P: Projection> Sink for Stored<P> {
    /// Begins the batch's transaction (with the projection's `begin_with`) on a kept
    /// connection and records it while `prepare` runs, applies it, then commits with the
    /// checkpoint in the commit's round trip ([`BatchTx`]) and keeps the connection for the
    /// next batch. A batch that fails is rolled back, and its connection goes back to the pool.
    async fn apply(&self, batch: &[Delivered]) -> Result<(), ApplyError> {
        let Some(last) = batch.iter().map(|d| d.seq).max() else {
            return Ok(());
        };
        let then = self.projection.begin_with(batch).await?;
        let begun = async {
            let mut tx = staged(P::NAME, "begin", async {
                let conn = self.kept.take().await?;
                BatchTx::begin(conn, &self.schema, then.as_deref()).await
            })
            .await?;
            let recorded = staged(P::NAME, "record", self.projection.record(&mut tx, batch)).await;
            unless_failed(tx, recorded).await
        };
        let (begun, prepared) = tokio::join!(
            begun,
            staged(P::NAME, "prepare", self.projection.prepare(batch))
        );
        let (mut tx, recorded) = begun?;
        let applied = async {
            let prepared = prepared?;
            let applied = self.projection.apply(&mut tx, batch, prepared, recorded);
            staged(P::NAME, "apply", applied).await
        }
        .await;
        let (tx, applied) = unless_failed(tx, applied).await?;
        let conn = staged(P::NAME, "commit", tx.commit_through(P::NAME, last)).await?;
        self.kept.keep(conn);
        staged(P::NAME, "committed", self.projection.committed(applied)).await;
        tracing::debug!(
            projection = P::NAME,
            events = batch.len(),
            through = last,
            "batch applied"
        );
        Ok(())
    }

    fn parked_in(&self) -> (&PgPool, &'static str) {
        (&self.pool, P::NAME)
    }

    async fn begin_catch_up(&self, spec: &ConsumerSpec, pending: u64) -> anyhow::Result<bool> {
        // A projection that names no index never catches up in bulk: no lock, no query.
        if P::BULK_INDEXES.is_empty() {
            return Ok(false);
        }
        crate::bulk::begin(
            &self.pool,
            &self.schema,
            P::NAME,
            P::BULK_INDEXES,
            spec,
            pending,
        )
        .await
    }

    async fn caught_up_in_bulk(&self) -> anyhow::Result<bool> {
        if P::BULK_INDEXES.is_empty() {
            return Ok(false);
        }
        crate::bulk::underway(&self.pool, &self.schema).await
    }

    async fn end_catch_up(&self) -> anyhow::Result<()> {
        crate::bulk::end(&self.pool, &self.schema, P::NAME).await
    }
}

/// The transaction with what a step of it gave, or, when the step failed, the transaction
/// rolled back and the step's error.
async fn unless_failed<T>(
    tx: BatchTx,
    step: Result<T, ApplyError>,
) -> Result<(BatchTx, T), ApplyError> {
    match step {
        Ok(value) => Ok((tx, value)),
        Err(err) => {
            tx.rollback().await;
            Err(err)
        }
    }
}

/// Runs one stage of applying a batch, recording its time in
/// `projection_stage_seconds{projection, stage}`: `wait` (from the batch's first message to the
/// start of its apply), the transaction's `begin` then the projection's `record` while its
/// `prepare` runs, `apply`, `commit` (with the checkpoint) and `committed` (what follows the
/// commit: the announcements, say).
async fn staged<T>(projection: &str, stage: &'static str, work: impl Future<Output = T>) -> T {
    let started = std::time::Instant::now();
    let out = work.await;
    record_stage(projection, stage, started.elapsed());
    out
}

fn record_stage(projection: &str, stage: &'static str, spent: Duration) {
    metrics::histogram!(
        "projection_stage_seconds",
        "projection" => projection.to_owned(),
        "stage" => stage
    )
    .record(spent.as_secs_f64());
}

impl<H: Handler> Sink for Handled<H> {
    /// Handles the messages in order, stopping at the first failure (the loop then retries
    /// them one by one).
    async fn apply(&self, batch: &[Delivered]) -> Result<(), ApplyError> {
        for message in batch {
            self.0
                .handle(message)
                .instrument(message.span.clone())
                .await?;
        }
        Ok(())
    }

    fn parked_in(&self) -> (&PgPool, &'static str) {
        (self.0.pool(), H::NAME)
    }
}

/// Feeds the durable consumer `spec` to `projection` until `shutdown` is cancelled. The batch in
/// hand when shutdown comes is finished and acked first.
pub async fn run<P: Sink>(
    bus: Bus,
    spec: ConsumerSpec,
    projection: P,
    shutdown: CancellationToken,
) {
    // Exported at 0 from the start, so alerts and rates see the first parked or applied event.
    for counter in [
        "projection_events_applied_total",
        "projection_events_parked_total",
    ] {
        metrics::counter!(counter, "projection" => spec.name.clone()).increment(0);
    }
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        match consume(&bus, &spec, &projection, &shutdown).await {
            Ok(()) => backoff = Duration::from_millis(200),
            Err(err) => {
                tracing::warn!(consumer = %spec.name, error = ?err, "consumer interrupted, reconnecting");
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(backoff) => {}
        }
    }
    tracing::info!(consumer = %spec.name, "consumer stopped");
}

async fn consume<P: Sink>(
    bus: &Bus,
    spec: &ConsumerSpec,
    projection: &P,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let consumer = bus.durable_consumer(spec).await?;
    let bulk = projection
        .begin_catch_up(spec, consumer.cached_info().num_pending)
        .await?;
    tokio::select! {
        result = receive_and_apply(bus, spec, projection, shutdown, &consumer) => result,
        never = watch_backlog(bus, spec, projection, &consumer, bulk) => match never {},
    }
}

/// How often each consumer's backlog is measured for its gauges.
const BACKLOG_EVERY: Duration = Duration::from_secs(5);
/// How often during a bulk catch-up, whose end (the indexes built again) waits for it.
const BULK_BACKLOG_EVERY: Duration = Duration::from_secs(1);

/// Keeps the consumer's gauges current: `consumer_pending_messages` (messages of its subjects
/// not yet delivered, the server's count), `projection_lag_events` (see [`lag`]) and
/// `projection_bulk_catch_up`. During a bulk catch-up (`bulk`, or indexes found aside by
/// another replica, one that died included), ends it once fewer than a batch of messages are
/// pending.
async fn watch_backlog<P: Sink>(
    bus: &Bus,
    spec: &ConsumerSpec,
    projection: &P,
    consumer: &PullConsumer,
    mut bulk: bool,
) -> std::convert::Infallible {
    let pending = metrics::gauge!("consumer_pending_messages", "consumer" => spec.name.clone());
    let lagging = metrics::gauge!("projection_lag_events", "projection" => spec.name.clone());
    let in_bulk = metrics::gauge!("projection_bulk_catch_up", "projection" => spec.name.clone());
    loop {
        if !bulk {
            match projection.caught_up_in_bulk().await {
                Ok(aside) => bulk = aside,
                Err(err) => {
                    tracing::debug!(consumer = %spec.name, error = %err, "set-aside indexes not read")
                }
            }
        }
        let measured = async {
            let info = consumer.get_info().await?;
            let last = bus.last_sequence().await?;
            anyhow::Ok((info, last))
        };
        match measured.await {
            Ok((info, last)) => {
                pending.set(info.num_pending as f64);
                lagging.set(lag(
                    last,
                    info.ack_floor.stream_sequence,
                    info.num_pending,
                    info.num_ack_pending as u64,
                ) as f64);
                if bulk && info.num_pending < spec.batch as u64 {
                    match projection.end_catch_up().await {
                        Ok(()) => bulk = false,
                        Err(err) => {
                            tracing::warn!(consumer = %spec.name, error = %err, "indexes not built yet, trying again")
                        }
                    }
                }
            }
            Err(err) => {
                tracing::debug!(consumer = %spec.name, error = %err, "backlog not measured")
            }
        }
        in_bulk.set(if bulk { 1.0 } else { 0.0 });
        tokio::time::sleep(if bulk {
            BULK_BACKLOG_EVERY
        } else {
            BACKLOG_EVERY
        })
        .await;
    }
}

/// How far a consumer is behind the stream, in stream sequences: the stream's last sequence
/// minus the last one the consumer had acked (applied), or 0 when nothing of its subjects waits
/// or is in hand (a filtered consumer is not behind because other subjects moved on).
fn lag(stream_last: u64, acked_through: u64, pending: u64, in_hand: u64) -> u64 {
    if pending == 0 && in_hand == 0 {
        0
    } else {
        stream_last.saturating_sub(acked_through)
    }
}

async fn receive_and_apply<P: Sink>(
    bus: &Bus,
    spec: &ConsumerSpec,
    projection: &P,
    shutdown: &CancellationToken,
    consumer: &PullConsumer,
) -> anyhow::Result<()> {
    let messages = consumer
        .stream()
        .max_messages_per_batch(spec.batch)
        // Short-lived pull requests: one left behind by a stopped replica ends soon.
        .heartbeat(Duration::from_secs(2))
        .expires(Duration::from_secs(5))
        .messages()
        .await?;
    let mut chunks = messages.ready_chunks(spec.batch);
    // Received beyond a full batch: the start of the next one.
    let mut over: Vec<Item> = Vec::new();
    // The batches being applied, each in its own transaction (see [`ConsumerSpec::parallel`]).
    let mut applying = futures::stream::FuturesUnordered::new();
    let mut ended = false;
    loop {
        let mut next = Gathering::default();
        next.take(bus, spec, projection, std::mem::take(&mut over), &mut over)
            .await;
        // While batches are applied, what arrives is received and decoded into the next one,
        // which thus holds everything that arrived before they committed: a live message waits
        // for at most the batch in hand, not for the one after it too. A full batch (a backlog)
        // goes in beside the others as soon as there is room for it.
        while !applying.is_empty() {
            if next.len() >= spec.batch && applying.len() < spec.parallel {
                break;
            }
            tokio::select! {
                _ = applying.next() => {}
                chunk = chunks.next(), if !ended && next.len() < spec.batch => match chunk {
                    Some(chunk) => next.take(bus, spec, projection, chunk, &mut over).await,
                    None => ended = true,
                },
            }
        }
        if shutdown.is_cancelled() {
            while applying.next().await.is_some() {}
            nak_all(over.drain(..).flatten()).await;
            nak_all(next.prepared.received.into_iter().map(|r| r.message)).await;
            hand_back(&mut chunks).await;
            return Ok(());
        }
        if next.is_empty() && !ended {
            tokio::select! {
                _ = shutdown.cancelled() => continue,
                chunk = chunks.next() => match chunk {
                    Some(chunk) => next.take(bus, spec, projection, chunk, &mut over).await,
                    None => ended = true,
                },
            }
        }
        if !ended {
            ended = next
                .fill(bus, spec, projection, &mut chunks, &mut over)
                .await;
        }
        if ended && next.is_empty() {
            while applying.next().await.is_some() {}
            anyhow::bail!("message stream ended");
        }
        if !next.prepared.decoded.is_empty() {
            applying.push(settle(spec, projection, next.prepared, next.first_at));
        }
    }
}

/// One item of the pull consumer's message stream.
type Item = Result<Message, async_nats::jetstream::consumer::pull::MessagesError>;

/// The longest a batch waits for more messages while the server says more are pending.
const FILL_WAIT: Duration = Duration::from_millis(50);

/// The next batch, as it is received and decoded.
#[derive(Default)]
struct Gathering {
    prepared: Prepared,
    /// When its first message arrived.
    first_at: Option<tokio::time::Instant>,
    /// Whether the server had more messages for the consumer when it delivered the last one
    /// (a backlog: catching up after downtime, or a burst).
    backlog: bool,
    /// Messages received, decodable or not (those that are not were parked).
    count: usize,
}

impl Gathering {
    fn len(&self) -> usize {
        self.count
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Decodes `chunk` into the batch, up to `spec.batch` messages; the rest goes to `over`.
    async fn take<P: Sink>(
        &mut self,
        bus: &Bus,
        spec: &ConsumerSpec,
        projection: &P,
        mut chunk: Vec<Item>,
        over: &mut Vec<Item>,
    ) {
        if chunk.is_empty() {
            return;
        }
        let room = spec.batch.saturating_sub(self.count);
        if chunk.len() > room {
            over.extend(chunk.split_off(room));
        }
        self.first_at.get_or_insert_with(tokio::time::Instant::now);
        self.count += chunk.len();
        self.backlog = chunk
            .iter()
            .rev()
            .find_map(|m| m.as_ref().ok())
            .and_then(|m| m.info().ok())
            .is_some_and(|info| info.pending > 0);
        let prepared = prepare(bus, spec, projection, chunk).await;
        self.prepared.received.extend(prepared.received);
        self.prepared.decoded.extend(prepared.decoded);
    }

    /// Tops the batch up to `spec.batch` messages while the server says more are pending,
    /// waiting at most [`FILL_WAIT`] from its first message, or for `spec.linger` when nothing
    /// is pending. During a catch-up the batches are full (fewer transactions, statements and
    /// key requests per event); a live message, with nothing pending behind it, is applied at
    /// once unless the consumer lingers. Returns whether the message stream ended.
    async fn fill<P: Sink, S>(
        &mut self,
        bus: &Bus,
        spec: &ConsumerSpec,
        projection: &P,
        chunks: &mut S,
        over: &mut Vec<Item>,
    ) -> bool
    where
        S: futures::Stream<Item = Vec<Item>> + Unpin,
    {
        let Some(started) = self.first_at else {
            return false;
        };
        while self.len() < spec.batch {
            let wait = if self.backlog {
                FILL_WAIT.max(spec.linger)
            } else {
                spec.linger
            };
            if started.elapsed() >= wait {
                break;
            }
            match tokio::time::timeout_at(started + wait, chunks.next()).await {
                Ok(Some(more)) => self.take(bus, spec, projection, more, over).await,
                Ok(None) => return true,
                Err(_) => break,
            }
        }
        false
    }
}

/// At shutdown, NAKs the messages already received but not applied, so another replica gets
/// them at once instead of after AckWait.
async fn hand_back<S>(chunks: &mut S)
where
    S: futures::Stream<Item = Vec<Item>> + Unpin,
{
    use futures::FutureExt;
    while let Some(Some(chunk)) = chunks.next().now_or_never() {
        nak_all(chunk.into_iter().flatten()).await;
    }
}

async fn nak_all(messages: impl IntoIterator<Item = Message>) {
    for message in messages {
        let _ = message.ack_with(AckKind::Nak(None)).await;
    }
}

struct Received {
    message: Message,
    seq: u64,
    delivered: i64,
}

/// A received batch, decoded; what did not decode is parked already.
#[derive(Default)]
struct Prepared {
    received: Vec<Received>,
    decoded: Vec<Delivered>,
}

async fn prepare<P: Sink>(
    bus: &Bus,
    spec: &ConsumerSpec,
    projection: &P,
    chunk: Vec<Item>,
) -> Prepared {
    let mut received = Vec::with_capacity(chunk.len());
    let mut decoded = Vec::with_capacity(chunk.len());
    for item in chunk {
        let message = match item {
            Ok(message) => message,
            // Missing heartbeats and the like are not fatal: the stream recovers.
            Err(err) => {
                tracing::warn!(consumer = %spec.name, error = %err, "consumer stream error");
                continue;
            }
        };
        let (seq, delivered) = match message.info() {
            Ok(info) => (info.stream_sequence, info.delivered),
            Err(err) => {
                tracing::warn!(error = %err, "message without JetStream metadata, skipped");
                continue;
            }
        };
        match decode(bus, spec, &message, seq, delivered) {
            Ok(d) => {
                decoded.push(d);
                received.push(Received {
                    message,
                    seq,
                    delivered,
                });
            }
            Err(reason) => park(spec, projection, &message, seq, &reason).await,
        }
    }
    Prepared { received, decoded }
}

/// Applies a batch and acks it; when the batch fails, applies its events one by one so that
/// good events are not held back by a bad one.
async fn settle<P: Sink>(
    spec: &ConsumerSpec,
    projection: &P,
    batch: Prepared,
    first_at: Option<tokio::time::Instant>,
) {
    let started = std::time::Instant::now();
    if let Some(first_at) = first_at {
        record_stage(&spec.name, "wait", first_at.elapsed());
    }
    let Prepared { received, decoded } = batch;
    let count = decoded.len();
    let applying = projection
        .apply(&decoded)
        .instrument(apply_span(spec, &decoded));
    match keep_alive(spec, &received, applying).await {
        Ok(()) => {
            ack_all(&received).await;
            metrics::counter!("projection_events_applied_total", "projection" => spec.name.clone())
                .increment(count as u64);
            metrics::histogram!("projection_batch_seconds", "projection" => spec.name.clone())
                .record(started.elapsed().as_secs_f64());
            if let Some(last) = received.iter().map(|r| r.seq).max() {
                metrics::gauge!("projection_last_sequence", "projection" => spec.name.clone())
                    .set(last as f64);
            }
        }
        Err(_) if count > 1 => {
            for (d, r) in decoded.into_iter().zip(received) {
                let result = keep_alive(
                    spec,
                    std::slice::from_ref(&r),
                    projection
                        .apply(std::slice::from_ref(&d))
                        .instrument(d.span.clone()),
                )
                .await;
                settle_single(spec, projection, r, result).await;
            }
        }
        Err(err) => {
            let r = received
                .into_iter()
                .next()
                .expect("one received per decoded");
            settle_single(spec, projection, r, Err(err)).await;
        }
    }
}

/// Runs `work` on `received`, sending a progress ack for each of them every third of AckWait
/// until it is done.
/// The span a batch is applied in. For one message, that message's consumer span, so its trace
/// runs from the publisher's request into the projection's work and logs. For several, a
/// `projection.apply` span under the first message's consumer span and linked to every other's
/// (OpenTelemetry's shape for work on a batch), so each message's trace leads to it.
fn apply_span(spec: &ConsumerSpec, decoded: &[Delivered]) -> tracing::Span {
    match decoded {
        [] => tracing::Span::none(),
        [one] => one.span.clone(),
        [first, rest @ ..] => {
            let span = tracing::info_span!(
                parent: &first.span,
                "projection.apply",
                projection = %spec.name,
                messaging.batch.message_count = decoded.len(),
            );
            for d in rest {
                gadai_kit::telemetry::add_link(&span, &d.span);
            }
            span
        }
    }
}

async fn keep_alive<T>(
    spec: &ConsumerSpec,
    received: &[Received],
    work: impl Future<Output = T>,
) -> T {
    let period = (spec.ack_wait / 3).max(Duration::from_millis(100));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = ticks.tick() => {
                for r in received {
                    if let Err(e) = r.message.ack_with(AckKind::Progress).await {
                        tracing::warn!(seq = r.seq, error = %e, "progress ack failed");
                    }
                }
            }
        }
    }
}

fn decode(
    bus: &Bus,
    spec: &ConsumerSpec,
    message: &Message,
    seq: u64,
    delivered: i64,
) -> Result<Delivered, String> {
    let type_name = bus
        .type_of(&message.subject)
        .ok_or_else(|| format!("subject {} is outside the prefix", message.subject))?;
    let event = Event::decode_from(type_name, &message.payload).map_err(|e| e.to_string())?;
    let span = tracing::info_span!(
        "projection.process",
        otel.kind = "consumer",
        messaging.system = "nats",
        messaging.operation.type = "process",
        messaging.consumer.group.name = %spec.name,
        messaging.destination.name = %message.subject,
        messaging.message.id = %event.id,
        stream_sequence = seq,
        order_id = %event.order_id,
    );
    if let Some(headers) = &message.headers {
        gadai_kit::telemetry::set_parent_from(&span, &NatsHeadersRef(headers));
    }
    Ok(Delivered {
        seq,
        event,
        delivered,
        span,
    })
}

async fn settle_single<P: Sink>(
    spec: &ConsumerSpec,
    projection: &P,
    r: Received,
    result: Result<(), ApplyError>,
) {
    match result {
        Ok(()) => ack_all(std::slice::from_ref(&r)).await,
        Err(ApplyError::Poison(reason)) => park(spec, projection, &r.message, r.seq, &reason).await,
        Err(ApplyError::Transient(err)) if r.delivered >= spec.max_deliver => {
            let reason = format!("still failing after {} deliveries: {err:#}", r.delivered);
            park(spec, projection, &r.message, r.seq, &reason).await;
        }
        Err(ApplyError::Transient(err)) => {
            let delay = nak_delay(r.delivered);
            tracing::warn!(consumer = %spec.name, seq = r.seq, error = ?err, ?delay, "apply failed, will retry");
            if let Err(e) = r.message.ack_with(AckKind::Nak(Some(delay))).await {
                tracing::warn!(error = %e, "nak failed; AckWait will redeliver");
            }
        }
    }
}

/// The redelivery delay after `delivered` failed attempts: 1 s doubling up to a minute.
pub fn nak_delay(delivered: i64) -> Duration {
    let exp = delivered.clamp(1, 7) as u32 - 1;
    Duration::from_secs(2u64.pow(exp)).min(Duration::from_secs(60))
}

async fn ack_all(received: &[Received]) {
    let Some((last, rest)) = received.split_last() else {
        return;
    };
    for r in rest {
        if let Err(e) = r.message.ack().await {
            tracing::warn!(seq = r.seq, error = %e, "ack failed; the event may be redelivered (harmless)");
        }
    }
    // Acks on one connection are processed in order: confirming the last confirms them all.
    if let Err(e) = last.message.double_ack().await {
        tracing::warn!(seq = last.seq, error = %e, "ack not confirmed; the events may be redelivered (harmless)");
    }
}

async fn park<P: Sink>(
    spec: &ConsumerSpec,
    projection: &P,
    message: &Message,
    seq: u64,
    reason: &str,
) {
    tracing::error!(consumer = %spec.name, seq, subject = %message.subject, reason, "poison message parked");
    metrics::counter!("projection_events_parked_total", "projection" => spec.name.clone())
        .increment(1);
    if let Err(err) = projection
        .park(seq, &message.subject, reason, &message.payload)
        .instrument(tracing::info_span!("park"))
        .await
    {
        tracing::error!(seq, error = ?err, "could not record the parked message");
    }
    if let Err(err) = message.ack_with(AckKind::Term).await {
        tracing::warn!(seq, error = %err, "terminating the parked message failed");
    }
}

#[cfg(test)]
mod tests {
    use super::{lag, nak_delay};
    use std::time::Duration;

    #[test]
    fn given_nothing_waiting_when_lag_is_measured_then_it_is_zero_even_if_the_stream_moved_on() {
        // A consumer of order.created only: other subjects moved the stream to 900.
        assert_eq!(lag(900, 120, 0, 0), 0);
    }

    #[test]
    fn given_messages_waiting_when_lag_is_measured_then_it_counts_from_the_last_acked() {
        assert_eq!(lag(900, 120, 35, 0), 780);
        // Delivered but not yet acked (a batch in hand) counts too.
        assert_eq!(lag(900, 880, 0, 20), 20);
    }

    #[test]
    fn given_an_ack_floor_ahead_of_a_stale_stream_reading_when_measured_then_it_does_not_underflow()
    {
        assert_eq!(lag(100, 120, 1, 0), 0);
    }

    #[test]
    fn nak_delay_grows_and_is_capped() {
        assert_eq!(nak_delay(1), Duration::from_secs(1));
        assert_eq!(nak_delay(2), Duration::from_secs(2));
        assert_eq!(nak_delay(5), Duration::from_secs(16));
        assert_eq!(nak_delay(50), Duration::from_secs(60));
    }
}
