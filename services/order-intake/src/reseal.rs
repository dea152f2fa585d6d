//! `order-intake reseal --from OLD --to NEW`: the one-time migration of a stream whose events
//! were recorded before sealing began (issue 15, item 6).
//!
//! Events recorded before this release carry the customer's name, e-mail, item and
//! conversation (and a hand-off's summary) in plaintext, and the stream keeps them forever.
//! JetStream cannot rewrite a stored message, so the migration writes a new stream: every
//! message of the old one, in order, with the personal fields of each `order.created` and
//! `customer.handoff_opened` that has no `subject` sealed under its customer's key (made in
//! the key store when the customer has none), and every other message byte for byte as it was.
//! Each message keeps its subject and headers (`Nats-Msg-Id`, `traceparent`); each event its
//! envelope (id, order id, `occurred_at`, actor), so order ids, the events' order and their
//! dedupe keys stay what they were. Sequence numbers are the new stream's own (1, 2, ... in the
//! old order; they differ from the old ones where the old stream had gaps or a repeated
//! `Nats-Msg-Id` is left out, see below), which is why every projection is rebuilt afterwards.
//!
//! # How it works on NATS 2.9
//!
//! Two streams cannot capture the same subjects, and 2.9 has no subject transforms, so the copy
//! cannot be written under other subjects and renamed later. Instead the old stream gives its
//! subjects up: it is edited to capture only `<prefix>retired.<OLD>` (nobody publishes there),
//! which keeps every message it holds readable. The new stream is then created with the old
//! one's configuration (storage, replicas, age limit, duplicate window, ...), its new name and
//! the live subjects, and the messages are published to it on their own subjects. Each PubAck
//! is checked: the new stream's sequences must follow one another, so an event published by
//! anything else during the copy (a service left running) stops it.
//!
//! A message whose `Nats-Msg-Id` the old stream holds twice (published further apart than the
//! duplicate window) is kept once: JetStream's dedupe drops the second copy, as it would have
//! had they come within the window (a dedupe key names one fact). Such messages are counted and
//! listed by their old sequence.
//!
//! # A customer erased before the migration
//!
//! An erasure (`customer.erased`) of a customer whose plaintext events precede it must stay an
//! erasure: sealing those events under the customer's current key would make them readable
//! again (an erasure of generation 0 deletes no key; a customer who came back has a new one).
//! Such events are sealed under a throwaway key, which is not kept, and under a random subject
//! that is nobody's: every reader finds no key for it and shows the fields as erased. A first
//! pass over the old stream finds the erasures; a plaintext event is treated so when an erasure
//! of its customer comes after it.
//!
//! # Running it again
//!
//! It refuses a new stream that already holds messages, and changes nothing then: run after a
//! complete migration it only says so. After an interrupted one, delete the new stream and run
//! it again (the old stream, already retired, is read as it is).
//!
//! # Procedure (ops)
//!
//! 1. Stop every service (order-intake, dashboard-api, verification-mailer, expiry-sweeper,
//!    all replicas): nothing may publish while the subjects move. n8n's calls then get errors
//!    and retry later.
//! 2. Back up the old stream (`nats stream backup OLD dir/`), the database (the `intake`
//!    schema's `customer_keys` is where new keys go) and make sure `PII_MASTER_KEYS` and
//!    `PII_SUBJECT_KEY` are backed up.
//! 3. Run the migration with order-intake's configuration (its database, `PII_*` keys and
//!    `NATS_SUBJECT_PREFIX`), as a NATS user that may edit and create streams (order-intake's
//!    own user may not: use the administrator's `NATS_USER`/`NATS_PASSWORD`):
//!    `order-intake reseal --from GADAI --to GADAI_V2`. It prints how many events it copied and
//!    sealed.
//! 4. Point every service at the new stream: `NATS_STREAM=GADAI_V2`, and render the NATS
//!    users' permissions for it (`nats-auth --stream GADAI_V2`), since they name the stream.
//! 5. Rebuild every projection from the new stream: `order-intake rebuild`,
//!    `dashboard-api rebuild`, `verification-mailer rebuild`, `expiry-sweeper rebuild` (their
//!    rows carry the old stream's sequences). order-intake's rebuild keeps the key store.
//! 6. Start the services. Their durable consumers are new and read the new stream from its
//!    first event: projections apply what they hold already (no change), and the mailer's
//!    sender finds every old request's outcome recorded and mails nothing.
//! 7. When the dashboard shows the orders as before, delete the old stream
//!    (`nats stream rm GADAI`) and destroy its backups: they hold the plaintext. Until then,
//!    going back is: stop the services, `nats stream rm GADAI_V2`,
//!    `nats stream edit GADAI --subjects '<its old subjects>'`, the old `NATS_STREAM`, rebuild.
//!
//! On a NATS server before 2.10, this is also how order-intake's consumer gains
//! `customer.erased`: such a server cannot change the subjects of the existing durable
//! consumer (`order.created` only), and the new stream's consumers are made afresh.

use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use async_nats::jetstream::{
    self, ErrorCode,
    consumer::{DeliverPolicy, pull::OrderedConfig},
    context::{GetStreamErrorKind, PublishAckFuture},
    stream::{self, Stream},
};
use futures::StreamExt;
use gadai_bus::Bus;
use gadai_events::{Event, EventKind};
use gadai_privacy::{
    DataKey, KeyStore, SubjectId, SubjectKey,
    personal::{seal_handoff, seal_order},
};
use uuid::Uuid;

use crate::{config::Settings, startup::MIGRATOR};

/// Publishes awaiting their PubAck at once.
const IN_FLIGHT: usize = 256;
/// The longest the old stream may stay silent while it still owes messages.
const STALL: Duration = Duration::from_secs(30);

/// What a migration did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// Messages the old stream held (up to its last sequence).
    pub read: u64,
    /// Messages written to the new stream.
    pub copied: u64,
    /// Plaintext events sealed under their customer's key.
    pub sealed: u64,
    /// Plaintext events of customers erased after them, sealed under a throwaway key.
    pub sealed_erased: u64,
    /// Messages that are not events this release reads (copied as they were).
    pub undecodable: u64,
    /// Old sequences of messages left out as repeats of an earlier `Nats-Msg-Id`.
    pub duplicates: Vec<u64>,
    /// The new stream's last sequence.
    pub last_sequence: u64,
}

/// The `reseal` subcommand: parses `--from OLD --to NEW`, migrates, prints what it did.
pub async fn command(settings: Settings, args: &[String]) -> anyhow::Result<()> {
    let (from, to) = parse_args(args)?;
    let started = Instant::now();
    let report = reseal(&settings, &from, &to).await?;
    eprintln!(
        "reseal: {} events copied from {from} to {to} in {:.1} s: {} sealed, {} sealed as \
         erased (their customer was erased later), {} not readable as events (copied as they \
         were), {} left out as repeats of an earlier Nats-Msg-Id{}",
        report.copied,
        started.elapsed().as_secs_f64(),
        report.sealed,
        report.sealed_erased,
        report.undecodable,
        report.duplicates.len(),
        if report.duplicates.is_empty() {
            String::new()
        } else {
            format!(" (old sequences {:?})", report.duplicates)
        }
    );
    eprintln!(
        "reseal: next, point NATS_STREAM at {to}, rebuild every service's projection, start the \
         services; delete {from} once the dashboard shows the orders as before"
    );
    Ok(())
}

fn parse_args(args: &[String]) -> anyhow::Result<(String, String)> {
    const USAGE: &str = "usage: order-intake reseal --from OLD_STREAM --to NEW_STREAM";
    let (mut from, mut to) = (None, None);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let slot = match arg.as_str() {
            "--from" => &mut from,
            "--to" => &mut to,
            other => bail!("unknown argument {other:?}; {USAGE}"),
        };
        *slot = Some(args.next().context(USAGE)?.clone());
    }
    match (from, to) {
        (Some(from), Some(to)) if from != to => Ok((from, to)),
        (Some(_), Some(_)) => bail!("--from and --to must name two streams; {USAGE}"),
        _ => bail!(USAGE),
    }
}

/// Migrates stream `from` into a new stream `to` (see the module's documentation), with
/// order-intake's database, keys and subject prefix from `settings`.
pub async fn reseal(settings: &Settings, from: &str, to: &str) -> anyhow::Result<ResealReport> {
    anyhow::ensure!(from != to, "the old and the new stream must differ");
    let bus = Bus::connect_named(
        settings.core.bus.clone(),
        "order-intake",
        "order-intake-reseal",
    )
    .await?;
    let js = bus.jetstream();
    let mut old = js
        .get_stream(from)
        .await
        .with_context(|| format!("the old stream {from}"))?;
    let old_config = old.info().await?.config.clone();
    anyhow::ensure!(
        old_config.mirror.is_none() && old_config.sources.is_none(),
        "{from} is a mirror or takes sources: migrate the stream it copies"
    );
    let existing = empty_or_missing(js, to).await?;

    let pool = gadai_store::connect(&settings.core.db).await?;
    gadai_store::migrate(&pool, &settings.core.db.schema, &MIGRATOR).await?;
    let keys = KeyStore::new(pool, &settings.core.db.schema, settings.pii.masters()?)?;

    let live_subjects = live_subjects(&bus, &old_config.subjects, from);
    retire(js, &old_config, &bus.subject(&format!("retired.{from}"))).await?;
    let until = old.info().await?.state.last_sequence;
    let mut new = match existing {
        Some(stream) => stream,
        None => {
            let config = stream::Config {
                name: to.to_owned(),
                subjects: live_subjects,
                first_sequence: None,
                ..old_config.clone()
            };
            js.create_stream(config)
                .await
                .with_context(|| format!("creating {to}"))?
        }
    };

    let erasures = erasures(&bus, &old, until).await?;
    let mut copy = Copy {
        bus: &bus,
        keys: &keys,
        subjects: &settings.pii.subjects,
        erasures,
        cache: HashMap::new(),
        report: ResealReport::default(),
    };
    copy.run(&old, &new, until).await?;
    let mut report = copy.report;
    let state = new.info().await?.state.clone();
    anyhow::ensure!(
        state.messages == report.copied,
        "{to} holds {} messages where {} were copied: was something else publishing?",
        state.messages,
        report.copied
    );
    report.last_sequence = state.last_sequence;
    Ok(report)
}

/// The new stream when it exists and is empty (a run stopped before it copied anything),
/// `None` when it does not exist; an error when it holds messages.
async fn empty_or_missing(js: &jetstream::Context, to: &str) -> anyhow::Result<Option<Stream>> {
    match js.get_stream(to).await {
        Ok(mut stream) => {
            let held = stream.info().await?.state.messages;
            anyhow::ensure!(
                held == 0,
                "{to} already holds {held} messages: the migration ran into it before (nothing \
                 to do), or it is another stream. To run it again, delete {to} first"
            );
            Ok(Some(stream))
        }
        Err(err)
            if matches!(
                err.kind(),
                GetStreamErrorKind::JetStream(e) if e.error_code() == ErrorCode::STREAM_NOT_FOUND
            ) =>
        {
            Ok(None)
        }
        Err(err) => Err(err).with_context(|| format!("looking for {to}")),
    }
}

/// The subjects the new stream captures: today's catalog under the prefix, and any other the
/// old stream captured (before it was retired).
fn live_subjects(bus: &Bus, old: &[String], from: &str) -> Vec<String> {
    let retired = bus.subject(&format!("retired.{from}"));
    let mut subjects = bus.stream_subjects();
    for subject in old {
        if *subject != retired && !subjects.contains(subject) {
            subjects.push(subject.clone());
        }
    }
    subjects
}

/// Makes the old stream give up its subjects (it keeps its messages), unless it has already.
async fn retire(
    js: &jetstream::Context,
    config: &stream::Config,
    retired: &str,
) -> anyhow::Result<()> {
    if config.subjects == [retired] {
        return Ok(());
    }
    let edited = stream::Config {
        subjects: vec![retired.to_owned()],
        ..config.clone()
    };
    js.update_stream(&edited).await.with_context(|| {
        format!(
            "releasing the subjects of {} (this NATS user must be allowed to edit streams)",
            config.name
        )
    })?;
    eprintln!(
        "reseal: {} gave up its subjects {:?} (now {retired}); its messages stay",
        config.name, config.subjects
    );
    Ok(())
}

/// Every message of `stream` up to `until`, in order.
struct Reader {
    messages: jetstream::consumer::pull::Ordered,
    until: u64,
    done: bool,
}

impl Reader {
    async fn open(stream: &Stream, until: u64) -> anyhow::Result<Self> {
        let consumer = stream
            .create_consumer(OrderedConfig {
                deliver_policy: DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .context("reading the old stream")?;
        Ok(Reader {
            messages: consumer.messages().await?,
            until,
            done: until == 0,
        })
    }

    async fn next(&mut self) -> anyhow::Result<Option<(u64, jetstream::Message)>> {
        if self.done {
            return Ok(None);
        }
        let message = tokio::time::timeout(STALL, self.messages.next())
            .await
            .context("the old stream stopped delivering")?
            .context("the old stream ended early")?
            .context("reading the old stream")?;
        let seq = message.info().map_err(anyhow::Error::msg)?.stream_sequence;
        self.done = seq >= self.until;
        Ok(Some((seq, message)))
    }
}

/// The first pass: for each customer erased in the stream, the sequence of their last erasure.
async fn erasures(bus: &Bus, stream: &Stream, until: u64) -> anyhow::Result<HashMap<String, u64>> {
    let mut erased = HashMap::new();
    let mut reader = Reader::open(stream, until).await?;
    while let Some((seq, message)) = reader.next().await? {
        let Some(kind @ "customer.erased") = bus.type_of(&message.subject) else {
            continue;
        };
        if let Ok(Event {
            kind: EventKind::CustomerErased(e),
            ..
        }) = Event::decode_from(kind, &message.payload)
        {
            erased.insert(e.subject, seq);
        }
    }
    Ok(erased)
}

/// The second pass.
struct Copy<'a> {
    bus: &'a Bus,
    keys: &'a KeyStore,
    subjects: &'a SubjectKey,
    /// Customer -> the sequence of their last erasure.
    erasures: HashMap<String, u64>,
    /// Keys fetched in this run (the owner's store; the services are stopped).
    cache: HashMap<SubjectId, DataKey>,
    report: ResealReport,
}

impl Copy<'_> {
    async fn run(&mut self, old: &Stream, new: &Stream, until: u64) -> anyhow::Result<()> {
        let js = self.bus.jetstream();
        let target = new.cached_info().config.name.clone();
        let mut reader = Reader::open(old, until).await?;
        let mut pending: VecDeque<(u64, PublishAckFuture)> = VecDeque::new();
        let mut last = 0u64;
        let mut reported = Instant::now();
        while let Some((seq, message)) = reader.next().await? {
            self.report.read += 1;
            let payload = self.migrated(seq, &message).await?;
            let headers = message.headers.clone().unwrap_or_default();
            let ack = js
                .publish_with_headers(message.subject.clone(), headers, payload.into())
                .await
                .with_context(|| format!("publishing old sequence {seq} to {target}"))?;
            pending.push_back((seq, ack));
            if pending.len() >= IN_FLIGHT {
                self.settle(pending.drain(..), &mut last, &target).await?;
            }
            if reported.elapsed() > Duration::from_secs(1) {
                eprintln!("reseal: copied up to old sequence {seq} of {until}");
                reported = Instant::now();
            }
        }
        self.settle(pending.drain(..), &mut last, &target).await
    }

    /// Waits for the PubAcks in hand, in order, and checks that the new stream took them one
    /// after another.
    async fn settle(
        &mut self,
        acks: impl Iterator<Item = (u64, PublishAckFuture)>,
        last: &mut u64,
        target: &str,
    ) -> anyhow::Result<()> {
        for (seq, ack) in acks {
            let ack = ack.await.with_context(|| {
                format!(
                    "no PubAck from {target} for old sequence {seq}: the copy is incomplete; \
                     delete {target} and run the migration again"
                )
            })?;
            if ack.duplicate {
                self.report.duplicates.push(seq);
            } else if ack.sequence == *last + 1 {
                *last = ack.sequence;
                self.report.copied += 1;
            } else {
                bail!(
                    "{target} stored old sequence {seq} at {} where {} was due: something else \
                     publishes to its subjects (is a service still running?). Stop it, delete \
                     {target} and run the migration again",
                    ack.sequence,
                    *last + 1
                );
            }
        }
        Ok(())
    }

    /// The body to write for the old message at `seq`: sealed when it is a plaintext event
    /// with personal fields, else the old bytes.
    async fn migrated(
        &mut self,
        seq: u64,
        message: &jetstream::Message,
    ) -> anyhow::Result<Vec<u8>> {
        let unchanged = || message.payload.to_vec();
        let Some(kind @ ("order.created" | "customer.handoff_opened")) =
            self.bus.type_of(&message.subject)
        else {
            return Ok(unchanged());
        };
        let mut event = match Event::decode_from(kind, &message.payload) {
            Ok(event) => event,
            Err(_) => {
                // Not the decoder's reason: it may quote a field's value.
                tracing::warn!(seq, "not an event this release reads: copied as it was");
                self.report.undecodable += 1;
                return Ok(unchanged());
            }
        };
        let email = match &event.kind {
            EventKind::OrderCreated(o) if o.subject.is_none() => o.email.clone(),
            EventKind::HandoffOpened(h) if h.subject.is_none() => h.email.clone(),
            _ => return Ok(unchanged()),
        };
        let customer = self.subjects.subject_of(&email);
        let erased_later = self
            .erasures
            .get(customer.as_str())
            .is_some_and(|&erasure| erasure > seq);
        let throwaway;
        let (subject, key) = if erased_later {
            self.report.sealed_erased += 1;
            throwaway = DataKey::generate(1);
            (nobody(), &throwaway)
        } else {
            self.report.sealed += 1;
            (customer.clone(), self.key_of(&customer).await?)
        };
        match &mut event.kind {
            EventKind::OrderCreated(o) => seal_order(key, &subject, o),
            EventKind::HandoffOpened(h) => seal_handoff(key, &subject, h),
            _ => unreachable!("only these two carry personal fields"),
        }
        Ok(event.encode())
    }

    /// The customer's key: from this run's cache, else the store (made when they have none).
    async fn key_of(&mut self, customer: &SubjectId) -> anyhow::Result<&DataKey> {
        if !self.cache.contains_key(customer) {
            let key = self.keys.key_for(customer).await?;
            self.cache.insert(customer.clone(), key);
        }
        Ok(&self.cache[customer])
    }
}

/// A subject id that is nobody's (random), for fields that must read as erased.
fn nobody() -> SubjectId {
    let random = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    SubjectId::parse(&random).expect("64 lower-case hex digits")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_command_names_both_streams() {
        assert_eq!(
            parse_args(&args("--from GADAI --to GADAI_V2")).unwrap(),
            ("GADAI".to_owned(), "GADAI_V2".to_owned())
        );
        assert_eq!(
            parse_args(&args("--to B --from A")).unwrap(),
            ("A".to_owned(), "B".to_owned())
        );
        for bad in [
            "",
            "--from A",
            "--from A --to",
            "--from A --to A",
            "--from A --to B -x",
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn nobody_is_a_subject_of_its_own() {
        assert_ne!(nobody(), nobody());
    }
}
