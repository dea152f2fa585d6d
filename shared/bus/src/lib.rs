//! NATS JetStream for Gadai services.
//!
//! One stream holds `{prefix}order.>` and `{prefix}verification.>`. [`Bus::publish`] answers only
//! after the PubAck; [`Bus::durable_consumer`] gives a service's durable pull consumer (the
//! loop that feeds it to projections is `gadai_runtime::consume`). NATS only: no Postgres here.

mod headers;
pub mod permissions;

use std::time::{Duration, Instant};

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

pub use headers::{NatsHeaders, NatsHeadersRef};

/// Where NATS and the stream live, who we are to NATS, and how the stream is shaped (all from
/// the environment). `Debug` shows no password, also none written into a URL.
#[derive(Clone)]
pub struct BusSettings {
    /// One server or several of a cluster, comma separated (`nats://a:4222,nats://b:4222`);
    /// may carry credentials (`nats://user:password@host:4222`).
    pub url: String,
    pub stream: String,
    /// Prepended to every subject, e.g. `test123.` (empty in production).
    pub prefix: String,
    /// 0 keeps events forever (the default: the stream is the source of truth).
    pub max_age: Duration,
    pub replicas: usize,
    /// How long JetStream remembers `Nats-Msg-Id`s.
    pub duplicate_window: Duration,
    /// This service's NATS user (`NATS_USER`), when the server asks for one.
    pub user: Option<String>,
    /// Its password (`NATS_PASSWORD`).
    pub password: Option<Secret>,
    pub tls: TlsSettings,
}

/// TLS to NATS.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// PEM file of the CA(s) the server's certificate must chain to (`NATS_TLS_CA`).
    pub ca: Option<std::path::PathBuf>,
    /// Client certificate and key, PEM (`NATS_TLS_CERT`, `NATS_TLS_KEY`), for servers that
    /// verify clients.
    pub cert: Option<std::path::PathBuf>,
    pub key: Option<std::path::PathBuf>,
    /// Refuse a connection without TLS (`NATS_TLS_REQUIRED`; a `tls://` URL implies it).
    pub required: bool,
}

/// A secret string whose `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Debug for BusSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusSettings")
            .field("url", &redact_url(&self.url))
            .field("stream", &self.stream)
            .field("prefix", &self.prefix)
            .field("max_age", &self.max_age)
            .field("replicas", &self.replicas)
            .field("duplicate_window", &self.duplicate_window)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("tls", &self.tls)
            .finish()
    }
}

impl Default for BusSettings {
    /// The local development server, anonymous, stream `GADAI`, no prefix.
    fn default() -> Self {
        BusSettings {
            url: "nats://127.0.0.1:4222".into(),
            stream: "GADAI".into(),
            prefix: String::new(),
            max_age: Duration::ZERO,
            replicas: 1,
            duplicate_window: Duration::from_secs(120),
            user: None,
            password: None,
            tls: TlsSettings::default(),
        }
    }
}

impl BusSettings {
    pub fn from_env() -> anyhow::Result<Self> {
        use gadai_kit::config;
        use std::path::PathBuf;
        let tls = TlsSettings {
            ca: config::optional("NATS_TLS_CA").map(PathBuf::from),
            cert: config::optional("NATS_TLS_CERT").map(PathBuf::from),
            key: config::optional("NATS_TLS_KEY").map(PathBuf::from),
            required: config::parse("NATS_TLS_REQUIRED", false)?,
        };
        anyhow::ensure!(
            tls.cert.is_some() == tls.key.is_some(),
            "NATS_TLS_CERT and NATS_TLS_KEY go together"
        );
        let settings = BusSettings {
            url: config::string("NATS_URL", "nats://127.0.0.1:4222"),
            stream: config::string("NATS_STREAM", "GADAI"),
            prefix: config::string("NATS_SUBJECT_PREFIX", ""),
            max_age: config::duration("NATS_STREAM_MAX_AGE", Duration::ZERO)?,
            replicas: config::parse("NATS_STREAM_REPLICAS", 1)?,
            duplicate_window: config::duration("NATS_DUPLICATE_WINDOW", Duration::from_secs(120))?,
            user: config::optional("NATS_USER"),
            password: config::optional("NATS_PASSWORD").map(Secret),
            tls,
        };
        settings.servers()?;
        anyhow::ensure!(
            settings.password.is_none() || settings.user.is_some(),
            "NATS_PASSWORD is set without NATS_USER"
        );
        if let Some(password) = &settings.password {
            // Placeholders from the example files are refused outside development.
            config::check_secret("NATS_PASSWORD", password.expose(), 16)?;
        }
        Ok(settings)
    }

    /// The servers of `url`, parsed (a list separated by commas, blanks ignored).
    pub fn servers(&self) -> anyhow::Result<Vec<async_nats::ServerAddr>> {
        let servers = self
            .url
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<async_nats::ServerAddr>()
                    .with_context(|| format!("NATS_URL: invalid server address {}", redact_url(s)))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!servers.is_empty(), "NATS_URL names no server");
        Ok(servers)
    }
}

/// Decodes `%XX` escapes (credentials in a URL).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `url` with any password replaced by `***` (each server of a comma-separated list).
pub fn redact_url(url: &str) -> String {
    url.split(',')
        .map(|server| {
            let (scheme, rest) = match server.find("://") {
                Some(i) => server.split_at(i + 3),
                None => ("", server),
            };
            let host_start = rest.find('/').unwrap_or(rest.len());
            match rest[..host_start].rfind('@') {
                Some(at) => {
                    let user = rest[..at].split(':').next().unwrap_or_default();
                    format!("{scheme}{user}:***{}", &rest[at..])
                }
                None => server.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
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
    service: String,
}

/// How many times a publish whose outcome is unknown is retried with the same `Nats-Msg-Id`.
const PUBLISH_ATTEMPTS: u32 = 4;

impl Bus {
    /// Connects as `service` (its inbox prefix and replay consumer follow from the name; see
    /// [`permissions`]).
    pub async fn connect(settings: BusSettings, service: &str) -> anyhow::Result<Self> {
        Self::connect_named(settings, service, service).await
    }

    /// Connects as `service`, showing `connection_name` to the server (`order-intake-rebuild`).
    pub async fn connect_named(
        settings: BusSettings,
        service: &str,
        connection_name: &str,
    ) -> anyhow::Result<Self> {
        let servers = settings.servers()?;
        let mut options = async_nats::ConnectOptions::new()
            .name(connection_name)
            .custom_inbox_prefix(permissions::inbox_prefix(&settings.prefix, service))
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(5))
            .event_callback(|event| async move { log_event(event) });
        // NATS_USER/NATS_PASSWORD, else credentials written into the (first) URL: async-nats
        // parses those but does not send them.
        let from_url = servers.iter().find_map(|s| {
            s.username().map(|u| {
                (
                    percent_decode(u),
                    percent_decode(s.password().unwrap_or("")),
                )
            })
        });
        let credentials = match &settings.user {
            Some(user) => Some((
                user.clone(),
                settings
                    .password
                    .as_ref()
                    .map(|p| p.expose().to_owned())
                    .unwrap_or_default(),
            )),
            None => from_url,
        };
        if let Some((user, password)) = credentials {
            options = options.user_and_password(user, password);
        }
        let tls = &settings.tls;
        if let Some(ca) = &tls.ca {
            options = options.add_root_certificates(ca.clone());
        }
        if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        if tls.required {
            options = options.require_tls(true);
        }
        let client = options
            .connect(servers)
            .await
            .with_context(|| format!("connecting to NATS at {}", redact_url(&settings.url)))?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(Duration::from_secs(5));
        Ok(Bus {
            client,
            js,
            settings,
            service: service.to_owned(),
        })
    }

    /// The service this connection belongs to.
    pub fn service(&self) -> &str {
        &self.service
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
    ///
    /// A stream made by an earlier release may lack a subject of today's catalog
    /// ([`gadai_events::STREAM_SUBJECTS`]): it is given the missing ones where this user may
    /// update the stream. Services may not (an update could also shorten the stream's age), so
    /// in a deployment with NATS permissions the missing subjects are logged with the command
    /// for the NATS administrator, and events of those subjects are refused until then.
    pub async fn ensure_stream(&self) -> anyhow::Result<stream::Stream> {
        let config = stream::Config {
            name: self.settings.stream.clone(),
            subjects: self.stream_subjects(),
            storage: StorageType::File,
            max_age: self.settings.max_age,
            num_replicas: self.settings.replicas,
            duplicate_window: self.settings.duplicate_window,
            ..Default::default()
        };
        let mut stream = self
            .js
            .get_or_create_stream(config)
            .await
            .with_context(|| format!("creating stream {}", self.settings.stream))?;
        let mut current = stream.cached_info().config.clone();
        let missing = missing_subjects(&current.subjects, &self.stream_subjects());
        if !missing.is_empty() {
            current.subjects.extend(missing.iter().cloned());
            match self.js.update_stream(&current).await {
                Ok(_) => {
                    tracing::info!(stream = %current.name, added = ?missing, "stream subjects added");
                    stream = self.js.get_stream(&current.name).await?;
                }
                Err(error) => tracing::error!(
                    stream = %current.name,
                    missing = ?missing,
                    %error,
                    "the stream lacks subjects of this release and this user may not add them; \
                     as the NATS administrator run: nats stream edit {} --subjects '{}'",
                    current.name,
                    current.subjects.join(",")
                ),
            }
        }
        Ok(stream)
    }

    /// The subjects the stream captures, under the prefix.
    pub fn stream_subjects(&self) -> Vec<String> {
        gadai_events::STREAM_SUBJECTS
            .iter()
            .map(|s| self.subject(s))
            .collect()
    }

    /// Publishes an event with its dedupe key and the current trace context, and waits for the
    /// PubAck. A publish that timed out may have been stored, so it is retried with the same
    /// `Nats-Msg-Id`, which makes the retry harmless.
    #[tracing::instrument(
        name = "publish",
        skip_all,
        fields(
            otel.kind = "producer",
            messaging.system = "nats",
            messaging.operation.type = "send",
            messaging.destination.name = event.type_name(),
            order_id = %event.order_id,
        )
    )]
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
                let sending = Instant::now();
                let ack = self
                    .js
                    .publish_with_headers(subject.clone(), headers.clone(), payload.clone())
                    .await?;
                let waiting = Instant::now();
                metrics::histogram!("event_publish_seconds", "phase" => "send")
                    .record(waiting.duration_since(sending).as_secs_f64());
                let ack = ack.await;
                metrics::histogram!("event_publish_seconds", "phase" => "ack")
                    .record(waiting.elapsed().as_secs_f64());
                ack
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

    /// The event the stream stored at `sequence` (one request to the stream's leader, no stream
    /// info first): what a duplicate PubAck's sequence points at.
    pub async fn stored(&self, sequence: u64) -> anyhow::Result<Event> {
        let stream = self.js.get_stream_no_info(&self.settings.stream).await?;
        let message = stream
            .get_raw_message(sequence)
            .await
            .with_context(|| format!("reading sequence {sequence} of {}", self.settings.stream))?;
        Ok(Event::decode(&message.payload)?)
    }

    /// The durable pull consumer `name`, created when missing. Several replicas share it.
    pub async fn durable_consumer(&self, spec: &ConsumerSpec) -> anyhow::Result<PullConsumer> {
        let stream = self.ensure_stream().await?;
        let mut filters: Vec<String> = spec.filters.iter().map(|f| self.subject(f)).collect();
        if filters.len() > 1 && !self.takes_several_filters() {
            tracing::info!(
                consumer = %spec.name,
                server = %self.client.server_info().version,
                "this NATS server takes one filter subject per consumer: the consumer receives \
                 the whole stream and skips what it does not need"
            );
            filters.clear();
        }
        let (filter_subject, filter_subjects) = match filters.len() {
            1 => (filters.remove(0), Vec::new()),
            _ => (String::new(), filters),
        };
        let config = pull::Config {
            durable_name: Some(spec.name.clone()),
            filter_subject,
            filter_subjects,
            ack_policy: AckPolicy::Explicit,
            deliver_policy: DeliverPolicy::All,
            ack_wait: spec.ack_wait,
            max_deliver: spec.max_deliver,
            max_ack_pending: spec.max_ack_pending,
            ..Default::default()
        };
        let mut consumer: PullConsumer = stream
            .get_or_create_consumer(&spec.name, config.clone())
            .await
            .with_context(|| format!("creating consumer {}", spec.name))?;
        // A consumer made by an older release keeps its limits and subjects until told
        // otherwise: bring the editable ones to this release's settings.
        let current = &consumer.cached_info().config;
        let subjects = |one: &String, several: &[String]| {
            let mut all = several.to_vec();
            all.extend((!one.is_empty()).then(|| one.clone()));
            all.sort();
            all
        };
        let current_limits = (
            current.ack_wait,
            current.max_deliver,
            current.max_ack_pending,
        );
        if current_limits != (config.ack_wait, config.max_deliver, config.max_ack_pending) {
            tracing::info!(consumer = %spec.name, ?spec.ack_wait, "updating the consumer's limits");
            consumer = stream
                .create_consumer(config)
                .await
                .with_context(|| format!("updating consumer {}", spec.name))?;
        } else if subjects(&current.filter_subject, &current.filter_subjects)
            != subjects(&config.filter_subject, &config.filter_subjects)
        {
            // A server before 2.10 cannot change a consumer's subjects; one that receives more
            // than it needs is still correct (handlers skip the other types).
            match stream.create_consumer(config).await {
                Ok(updated) => consumer = updated,
                Err(err) => tracing::warn!(
                    consumer = %spec.name, error = %err,
                    "the consumer's subjects could not be changed; it keeps its old ones"
                ),
            }
        }
        Ok(consumer)
    }

    /// Whether the server takes several filter subjects per consumer (NATS 2.10 and later).
    pub fn takes_several_filters(&self) -> bool {
        several_filters_from(&self.client.server_info().version)
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

/// Logs what the connection reports. A permission violation comes back as a server error (the
/// publish or request itself then times out), so it is logged as an error naming the subject.
fn log_event(event: async_nats::Event) {
    use async_nats::{Event, ServerError};
    match event {
        Event::Connected => tracing::info!("NATS connected"),
        Event::Disconnected => tracing::warn!("NATS disconnected, reconnecting"),
        Event::ServerError(ServerError::AuthorizationViolation) => {
            tracing::error!("NATS refused our credentials (authorization violation)")
        }
        Event::ServerError(err) => tracing::error!(error = %err, "NATS server error"),
        Event::ClientError(err) => tracing::warn!(error = %err, "NATS client error"),
        other => tracing::info!(event = %other, "NATS"),
    }
}

/// The subjects of `wanted` that `current` does not list.
fn missing_subjects(current: &[String], wanted: &[String]) -> Vec<String> {
    wanted
        .iter()
        .filter(|w| !current.contains(w))
        .cloned()
        .collect()
}

/// Whether a server of `version` ("2.14.2") takes several filter subjects per consumer.
fn several_filters_from(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (2, 10)
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
    /// The event types it needs; empty takes the whole stream. Several types need NATS 2.10
    /// or later (`filter_subjects`); an older server delivers the whole stream to such a
    /// consumer, whose handler skips the other types.
    pub filters: Vec<String>,
    pub ack_wait: Duration,
    /// Deliveries after which a message that still fails is parked.
    pub max_deliver: i64,
    pub max_ack_pending: i64,
    /// The most messages applied in one transaction.
    pub batch: usize,
    /// Full batches (a backlog) applied at once by one process, each in its own transaction, as
    /// replicas sharing the consumer would; a batch that is not full (live traffic) waits for
    /// the ones before it. Only for sinks that are safe with batches applied out of order at
    /// the same time, as every projection is.
    pub parallel: usize,
    /// How long a batch waits for more messages when nothing is pending (zero: a live message
    /// is applied at once). For consumers nobody waits on, a few milliseconds turn many small
    /// transactions (each a WAL flush) into fewer larger ones under load.
    pub linger: Duration,
    /// A projection that finds at least this many messages pending when it starts (and no
    /// fewer than it has applied) catches up in bulk, the indexes only its readers use set
    /// aside and built once at the end (`gadai_runtime::bulk`); `None` (the default): never.
    /// Handlers never do.
    pub bulk_from: Option<u64>,
}

/// The linger of a projection nobody waits on (the intake's index, the mailer's closed orders,
/// the sweeper's verifications): at 1,000 orders/s a batch holds about 20 events instead of one
/// or two, a twentieth of the commits, and the index, a closed order or an expiry is 20 ms later.
pub const BACKGROUND_LINGER: Duration = Duration::from_millis(20);

impl ConsumerSpec {
    pub fn new(name: impl Into<String>, filters: &[&str]) -> Self {
        ConsumerSpec {
            name: name.into(),
            filters: filters.iter().map(|f| (*f).to_owned()).collect(),
            ack_wait: Duration::from_secs(10),
            max_deliver: 100,
            max_ack_pending: 20_000,
            batch: 500,
            parallel: 1,
            linger: Duration::ZERO,
            bulk_from: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_of_an_earlier_release_lacks_only_the_new_subjects() {
        let old = vec!["p.order.>".to_string(), "p.verification.>".to_string()];
        let wanted: Vec<String> = ["order.>", "verification.>", "customer.>"]
            .iter()
            .map(|s| format!("p.{s}"))
            .collect();
        assert_eq!(missing_subjects(&old, &wanted), ["p.customer.>"]);
        assert!(missing_subjects(&wanted, &wanted).is_empty());
    }

    #[test]
    fn several_filter_subjects_need_nats_2_10() {
        assert!(!several_filters_from("2.9.10"));
        assert!(several_filters_from("2.10.0"));
        assert!(several_filters_from("2.14.2"));
        assert!(several_filters_from("3.0.0"));
        assert!(!several_filters_from(""));
    }

    #[test]
    fn urls_are_shown_without_passwords() {
        assert_eq!(
            redact_url("nats://svc:s3cret@a:4222,nats://b:4222, tls://u:p%40ss@c"),
            "nats://svc:***@a:4222,nats://b:4222, tls://u:***@c"
        );
        assert_eq!(redact_url("nats://a:4222"), "nats://a:4222");
        assert_eq!(percent_decode("p%40ss%2Fx"), "p@ss/x");
    }

    #[test]
    fn several_servers_parse_and_the_password_stays_hidden() {
        let settings = BusSettings {
            url: "nats://a:4222,nats://b:4222, nats://c:4222".into(),
            user: Some("order-intake".into()),
            password: Some(Secret::new("hunter2-secret")),
            ..BusSettings::default()
        };
        assert_eq!(settings.servers().unwrap().len(), 3);
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("order-intake"));
    }
}
