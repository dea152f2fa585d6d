//! NATS JetStream for Gadai services.
//!
//! One stream holds `{prefix}order.>` and `{prefix}verification.>`. [`Bus::publish`] answers only
//! after the PubAck; [`consume::run`] feeds a durable pull consumer's messages to a projection in
//! batches, acks after the projection's transaction commits and parks poison messages.

pub mod consume;
mod headers;
pub mod rebuild;
pub mod replay;
pub mod service;

use std::time::Duration;

use anyhow::Context;
use async_nats::{
    HeaderMap,
    jetstream::{
        self,
        consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull},
        context::PublishErrorKind,
        stream::{self, StorageType},
    },
};
use gadai_events::Event;

pub use headers::NatsHeaders;

/// Where the stream lives and how it is shaped (all from the environment).
#[derive(Debug, Clone)]
pub struct BusSettings {
    pub url: String,
    pub stream: String,
    /// Prepended to every subject, e.g. `test123.` (empty in production).
    pub prefix: String,
    /// 0 keeps events forever (the default: the stream is the source of truth).
    pub max_age: Duration,
    pub replicas: usize,
    /// How long JetStream remembers `Nats-Msg-Id`s.
    pub duplicate_window: Duration,
}

impl BusSettings {
    pub fn from_env() -> anyhow::Result<Self> {
        use gadai_kit::config;
        Ok(BusSettings {
            url: config::string("NATS_URL", "nats://127.0.0.1:4222"),
            stream: config::string("NATS_STREAM", "GADAI"),
            prefix: config::string("NATS_SUBJECT_PREFIX", ""),
            max_age: config::duration("NATS_STREAM_MAX_AGE", Duration::ZERO)?,
            replicas: config::parse("NATS_STREAM_REPLICAS", 1)?,
            duplicate_window: config::duration("NATS_DUPLICATE_WINDOW", Duration::from_secs(120))?,
        })
    }
}

/// The result of a publish the server stored (or recognized as a duplicate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub sequence: u64,
    pub duplicate: bool,
}

/// A connection to NATS and the Gadai stream.
#[derive(Clone)]
pub struct Bus {
    client: async_nats::Client,
    js: jetstream::Context,
    settings: BusSettings,
}

/// How many times a publish whose outcome is unknown is retried with the same `Nats-Msg-Id`.
const PUBLISH_ATTEMPTS: u32 = 4;

impl Bus {
    pub async fn connect(settings: BusSettings, name: &str) -> anyhow::Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .name(name)
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(5))
            .connect(&settings.url)
            .await
            .with_context(|| format!("connecting to NATS at {}", settings.url))?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(Duration::from_secs(5));
        Ok(Bus {
            client,
            js,
            settings,
        })
    }

    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    pub fn settings(&self) -> &BusSettings {
        &self.settings
    }

    /// The full subject of an event type (or any name under the prefix).
    pub fn subject(&self, name: &str) -> String {
        format!("{}{}", self.settings.prefix, name)
    }

    /// The event type of a full subject, when it is under our prefix.
    pub fn type_of<'a>(&self, subject: &'a str) -> Option<&'a str> {
        subject.strip_prefix(self.settings.prefix.as_str())
    }

    /// Creates the stream when it is missing (idempotent; several replicas may race).
    pub async fn ensure_stream(&self) -> anyhow::Result<stream::Stream> {
        let config = stream::Config {
            name: self.settings.stream.clone(),
            subjects: vec![self.subject("order.>"), self.subject("verification.>")],
            storage: StorageType::File,
            max_age: self.settings.max_age,
            num_replicas: self.settings.replicas,
            duplicate_window: self.settings.duplicate_window,
            ..Default::default()
        };
        self.js
            .get_or_create_stream(config)
            .await
            .with_context(|| format!("creating stream {}", self.settings.stream))
    }

    /// Publishes an event with its dedupe key and the current trace context, and waits for the
    /// PubAck. A publish that timed out may have been stored, so it is retried with the same
    /// `Nats-Msg-Id`, which makes the retry harmless.
    #[tracing::instrument(skip_all, fields(messaging.destination.name = event.type_name(), order_id = %event.order_id))]
    pub async fn publish(&self, event: &Event) -> anyhow::Result<Stored> {
        self.publish_with_id(event, &event.dedupe_key()).await
    }

    pub async fn publish_with_id(&self, event: &Event, msg_id: &str) -> anyhow::Result<Stored> {
        let subject = self.subject(event.type_name());
        let payload = bytes::Bytes::from(event.encode());
        let mut headers = HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, msg_id);
        gadai_kit::telemetry::inject_current(&mut NatsHeaders(&mut headers));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = async {
                self.js
                    .publish_with_headers(subject.clone(), headers.clone(), payload.clone())
                    .await?
                    .await
            }
            .await;
            match result {
                Ok(ack) => {
                    metrics::counter!("events_published_total", "type" => event.type_name())
                        .increment(1);
                    return Ok(Stored {
                        sequence: ack.sequence,
                        duplicate: ack.duplicate,
                    });
                }
                Err(err) if attempt < PUBLISH_ATTEMPTS && retryable(err.kind()) => {
                    tracing::warn!(error = %err, attempt, "publish outcome unknown, retrying with the same Nats-Msg-Id");
                    tokio::time::sleep(Duration::from_millis(50 * 2u64.pow(attempt))).await;
                }
                Err(err) => {
                    return Err(anyhow::Error::new(err)
                        .context(format!("publishing {} to {subject}", event.type_name())));
                }
            }
        }
    }

    /// The durable pull consumer `name`, created when missing. Several replicas share it.
    pub async fn durable_consumer(&self, spec: &ConsumerSpec) -> anyhow::Result<PullConsumer> {
        let stream = self.ensure_stream().await?;
        let config = pull::Config {
            durable_name: Some(spec.name.clone()),
            filter_subject: spec
                .filter
                .as_deref()
                .map(|f| self.subject(f))
                .unwrap_or_default(),
            ack_policy: AckPolicy::Explicit,
            deliver_policy: DeliverPolicy::All,
            ack_wait: spec.ack_wait,
            max_deliver: spec.max_deliver,
            max_ack_pending: spec.max_ack_pending,
            ..Default::default()
        };
        stream
            .get_or_create_consumer(&spec.name, config)
            .await
            .with_context(|| format!("creating consumer {}", spec.name))
    }

    /// The last sequence the stream holds now (0 when empty).
    pub async fn last_sequence(&self) -> anyhow::Result<u64> {
        let mut stream = self.ensure_stream().await?;
        Ok(stream.info().await?.state.last_sequence)
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }
}

fn retryable(kind: PublishErrorKind) -> bool {
    matches!(
        kind,
        PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe | PublishErrorKind::Other
    )
}

/// A durable consumer's identity and limits.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// The durable name, shared by every replica of the service.
    pub name: String,
    /// One event type (2.9 allows one filter subject); `None` takes the whole stream.
    pub filter: Option<String>,
    pub ack_wait: Duration,
    /// Deliveries after which a message that still fails is parked.
    pub max_deliver: i64,
    pub max_ack_pending: i64,
    /// The most messages applied in one transaction.
    pub batch: usize,
}

impl ConsumerSpec {
    pub fn new(name: impl Into<String>, filter: Option<&str>) -> Self {
        ConsumerSpec {
            name: name.into(),
            filter: filter.map(str::to_owned),
            ack_wait: Duration::from_secs(10),
            max_deliver: 100,
            max_ack_pending: 20_000,
            batch: 500,
        }
    }
}
