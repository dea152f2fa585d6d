//! The services' NATS users and permissions (`gadai_bus::permissions`) against a real
//! nats-server configured with them: who is refused what, and that each service's own work
//! (stream, durable consumers, acks, replay, its events) goes through.

use std::time::Duration;

use async_nats::jetstream;
use futures::StreamExt;
use gadai_bus::{Bus, BusSettings, ConsumerSpec, permissions};
use gadai_events::{
    Event, EventKind, OrderCreated, OrderDeleted, OrderExpired, OrderVerified, VerificationFailed,
    VerificationRequested, VerificationSent,
};
use gadai_runtime::consume::{ApplyError, Delivered, Handled, Handler};
use gadai_test_support::nats::AuthNats;
use uuid::Uuid;

const VIOLATION_WAIT: Duration = Duration::from_secs(5);

/// A raw client logged in as `service`, with that service's inbox prefix.
async fn client_as(nats: &AuthNats, service: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(
        service.to_owned(),
        nats.password(service).to_owned(),
    )
    .custom_inbox_prefix(permissions::inbox_prefix(&nats.prefix, service))
    .connect(&nats.url)
    .await
    .unwrap_or_else(|e| panic!("{service} connects: {e}"))
}

async fn bus_as(nats: &AuthNats, service: &str) -> Bus {
    Bus::connect(nats.settings(service), service).await.unwrap()
}

/// A JetStream context that gives up after one second (a refused request gets no answer).
/// Publishes `subject` as `service` (its `client`) and asserts the server refused it and logged
/// the violation.
async fn assert_publish_refused(
    nats: &AuthNats,
    client: &async_nats::Client,
    service: &str,
    subject: &str,
) {
    client
        .publish(subject.to_owned(), "{}".into())
        .await
        .unwrap();
    client.flush().await.unwrap();
    assert!(
        nats.wait_violation("Publish", service, subject, VIOLATION_WAIT)
            .await,
        "{service} may publish {subject}:\n{}",
        nats.log()
    );
}

fn impatient(client: &async_nats::Client) -> jetstream::Context {
    let mut js = jetstream::new(client.clone());
    js.set_timeout(Duration::from_secs(1));
    js
}

fn event(kind: EventKind) -> Event {
    Event::new(Uuid::now_v7(), "test", kind)
}

fn created() -> EventKind {
    EventKind::OrderCreated(OrderCreated {
        nama_customer: "Siti Rahma".into(),
        email: "siti@example.com".into(),
        nama_barang: "Samsung Galaxy S23".into(),
        jenis_barang: "handphone".into(),
        jumlah_barang: 1,
        estimasi_nilai_barang: 9_000_000,
        wilayah: "Jawa Barat".into(),
        id_percakapan: None,
        idempotency: None,
        subject: None,
    })
}

/// The events each service owns.
fn own_events(service: &str) -> Vec<EventKind> {
    let verification_id = Uuid::now_v7();
    match service {
        "order-intake" => vec![created()],
        "dashboard-api" => vec![
            EventKind::VerificationRequested(VerificationRequested::numbered(0)),
            EventKind::OrderDeleted(OrderDeleted { reason: None }),
        ],
        "verification-mailer" => vec![
            EventKind::VerificationSent(VerificationSent {
                verification_id,
                expires_at: chrono::Utc::now(),
            }),
            EventKind::VerificationFailed(VerificationFailed {
                verification_id,
                reason: "test".into(),
            }),
            EventKind::OrderVerified(OrderVerified { verification_id }),
        ],
        "expiry-sweeper" => vec![EventKind::OrderExpired(OrderExpired { verification_id })],
        other => panic!("unknown service {other}"),
    }
}

#[tokio::test]
async fn anonymous_clients_and_wrong_passwords_are_refused() {
    let nats = AuthNats::start().await.unwrap();
    let anonymous = async_nats::connect(&nats.url).await;
    assert!(anonymous.is_err(), "an anonymous client was let in");
    let wrong = async_nats::ConnectOptions::with_user_and_password(
        "order-intake".into(),
        "not-the-password".into(),
    )
    .connect(&nats.url)
    .await;
    assert!(wrong.is_err(), "a wrong password was let in");
    // A service with the password of another is refused too.
    let swapped = async_nats::ConnectOptions::with_user_and_password(
        "order-intake".into(),
        nats.password("dashboard-api").into(),
    )
    .connect(&nats.url)
    .await;
    assert!(swapped.is_err());
    assert!(
        nats.wait_log(
            "authentication error - User \"order-intake\"",
            VIOLATION_WAIT
        )
        .await,
        "{}",
        nats.log()
    );
}

#[tokio::test]
async fn a_service_publishes_only_the_events_it_owns() {
    let nats = AuthNats::start().await.unwrap();
    // Every service may create the stream; the first one does.
    bus_as(&nats, "order-intake")
        .await
        .ensure_stream()
        .await
        .unwrap();
    for (service, foreign) in [
        ("order-intake", "order.deleted"),
        ("order-intake", "order.verified"),
        ("dashboard-api", "order.verified"),
        ("dashboard-api", "order.created"),
        ("verification-mailer", "order.deleted"),
        ("expiry-sweeper", "verification.sent"),
        // Retention is dashboard-api's: the sweeper erases no one.
        ("expiry-sweeper", "customer.erased"),
    ] {
        let client = client_as(&nats, service).await;
        let subject = format!("{}{foreign}", nats.prefix);
        let refused = impatient(&client)
            .publish(subject.clone(), "{}".into())
            .await
            .unwrap()
            .await;
        assert!(refused.is_err(), "{service} stored {foreign}");
        assert!(
            nats.wait_violation("Publish", service, &subject, VIOLATION_WAIT)
                .await,
            "no violation logged for {service} publishing {foreign}:\n{}",
            nats.log()
        );
    }
    // The stream holds nothing of it.
    let bus = bus_as(&nats, "expiry-sweeper").await;
    assert_eq!(bus.last_sequence().await.unwrap(), 0);
}

#[tokio::test]
async fn each_service_runs_its_stream_consumers_acks_and_replay() {
    let nats = AuthNats::start().await.unwrap();
    let services: Vec<&str> = permissions::ROLES.iter().map(|r| r.service).collect();
    let mut published = 0;
    for service in &services {
        let bus = bus_as(&nats, service).await;
        bus.ensure_stream().await.unwrap();
        for kind in own_events(service) {
            let stored = bus.publish(&event(kind)).await.unwrap();
            assert!(!stored.duplicate);
            published += 1;
        }
    }
    for role in &permissions::ROLES {
        let bus = bus_as(&nats, role.service).await;
        for (name, filters) in role.consumers {
            let consumer = bus
                .durable_consumer(&ConsumerSpec::new(*name, filters))
                .await
                .unwrap_or_else(|e| panic!("{}: consumer {name}: {e:#}", role.service));
            // Opened again (after a restart): found, not created.
            bus.durable_consumer(&ConsumerSpec::new(*name, filters))
                .await
                .unwrap();
            // Several subjects are filtered by NATS 2.10 and later; an older server delivers
            // the whole stream to such a consumer.
            let expected = match filters {
                [] => published,
                [_, _, ..] if !bus.takes_several_filters() => published,
                subjects => subjects
                    .iter()
                    .map(|f| own_events_total(&services, f))
                    .sum(),
            };
            let mut messages = consumer
                .fetch()
                .max_messages(100)
                .expires(Duration::from_secs(1))
                .messages()
                .await
                .unwrap();
            let mut got = 0;
            while let Some(message) = messages.next().await {
                let message = message.unwrap();
                message
                    .double_ack()
                    .await
                    .unwrap_or_else(|e| panic!("{}: ack on {name}: {e}", role.service));
                got += 1;
            }
            assert_eq!(got, expected, "{}: {name}", role.service);
        }
        // rebuild's replay: an ordered consumer named after the service, run twice in a row as
        // a rebuild does (the whole stream, then the tail).
        let counter = Handled(Counter::default());
        let last = bus.last_sequence().await.unwrap();
        let n = gadai_runtime::replay::replay(&bus, &counter, 1, last - 1, 10, |_, _| {})
            .await
            .unwrap_or_else(|e| panic!("{}: replay: {e:#}", role.service));
        assert_eq!(n, last - 1);
        let n = gadai_runtime::replay::replay(&bus, &counter, last, last, 10, |_, _| {})
            .await
            .unwrap();
        assert_eq!(n, 1, "{}: replay of the tail", role.service);
    }
    assert!(
        !nats.log().contains("Violation"),
        "permission violations:\n{}",
        nats.log()
    );
}

fn own_events_total(services: &[&str], subject: &str) -> u64 {
    services
        .iter()
        .flat_map(|s| own_events(s))
        .filter(|k| event(k.clone()).type_name() == subject)
        .count() as u64
}

#[derive(Default)]
struct Counter {
    pool: Option<sqlx::PgPool>,
}

impl Handler for Counter {
    const NAME: &'static str = "counter";
    fn pool(&self) -> &sqlx::PgPool {
        self.pool.as_ref().expect("nothing is parked")
    }
    async fn handle(&self, _message: &Delivered) -> Result<(), ApplyError> {
        Ok(())
    }
}

#[tokio::test]
async fn only_the_mailer_takes_and_answers_code_checks() {
    let nats = AuthNats::start().await.unwrap();
    let subject = format!("{}rpc.verification.check", nats.prefix);
    // The mailer's replicas, in their queue group.
    let mailer = client_as(&nats, "verification-mailer").await;
    let mut requests = mailer
        .queue_subscribe(subject.clone(), "verification-mailer".into())
        .await
        .unwrap();
    let answering = mailer.clone();
    tokio::spawn(async move {
        while let Some(request) = requests.next().await {
            if let Some(reply) = request.reply {
                answering
                    .publish(reply, r#"{"outcome":"not_found"}"#.into())
                    .await
                    .unwrap();
            }
        }
    });
    mailer.flush().await.unwrap();
    // dashboard-api asks and gets the mailer's answer.
    let dashboard = client_as(&nats, "dashboard-api").await;
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        dashboard.request(subject.clone(), "{}".into()),
    )
    .await
    .expect("the mailer answered in time")
    .unwrap();
    assert_eq!(&answer.payload[..], br#"{"outcome":"not_found"}"#);

    // Nobody else may take the requests (and forge "matched"), not even the mailer outside its
    // queue group.
    for service in ["dashboard-api", "order-intake", "expiry-sweeper"] {
        let client = client_as(&nats, service).await;
        let _ = client.subscribe(subject.clone()).await.unwrap();
        let _ = client
            .queue_subscribe(subject.clone(), "verification-mailer".into())
            .await
            .unwrap();
        client.flush().await.unwrap();
        assert!(
            nats.wait_violation("Subscription", service, &subject, VIOLATION_WAIT)
                .await,
            "{service} subscribed to the code check:\n{}",
            nats.log()
        );
    }
    let _ = mailer.subscribe(subject.clone()).await.unwrap();
    mailer.flush().await.unwrap();
    assert!(
        nats.wait_violation(
            "Subscription",
            "verification-mailer",
            &subject,
            VIOLATION_WAIT
        )
        .await
    );
    // Only dashboard-api asks.
    let intake = client_as(&nats, "order-intake").await;
    assert_publish_refused(&nats, &intake, "order-intake", &subject).await;
    // The mailer answers requests it received, and publishes to no other inbox: no forged
    // replies to a dashboard inbox it merely guessed.
    let guessed = format!(
        "{}.forged.1",
        permissions::inbox_prefix(&nats.prefix, "dashboard-api")
    );
    mailer
        .publish(guessed.clone(), r#"{"outcome":"matched"}"#.into())
        .await
        .unwrap();
    mailer.flush().await.unwrap();
    assert!(
        nats.wait_violation("Publish", "verification-mailer", &guessed, VIOLATION_WAIT)
            .await,
        "{}",
        nats.log()
    );
    // Still answered afterwards (one violation does not cut the mailer off).
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        dashboard.request(subject.clone(), "{}".into()),
    )
    .await
    .expect("the mailer still answers")
    .unwrap();
    assert!(!answer.payload.is_empty());
}

#[tokio::test]
async fn no_service_touches_another_services_consumers_inboxes_or_the_stream() {
    let nats = AuthNats::start().await.unwrap();
    let dashboard = bus_as(&nats, "dashboard-api").await;
    dashboard.ensure_stream().await.unwrap();
    dashboard
        .durable_consumer(&ConsumerSpec::new("dashboard-api", &[]))
        .await
        .unwrap();
    let intake = client_as(&nats, "order-intake").await;
    let js = impatient(&intake);
    let stream = nats.stream.clone();

    // Another service's durable: not opened, not created, not fetched from, not acked, not
    // deleted; no consumer of a name of its choosing or without a name.
    let foreign = js
        .get_consumer_from_stream::<jetstream::consumer::pull::Config, _, _>(
            "dashboard-api",
            &stream,
        )
        .await;
    assert!(foreign.is_err());
    let created = js
        .create_consumer_on_stream(
            jetstream::consumer::pull::Config {
                durable_name: Some("mine-now".into()),
                ..Default::default()
            },
            &stream,
        )
        .await;
    assert!(
        created.is_err(),
        "order-intake created a consumer it does not own"
    );
    let ephemeral = js
        .create_consumer_on_stream(jetstream::consumer::pull::Config::default(), &stream)
        .await;
    assert!(
        ephemeral.is_err(),
        "order-intake created an unnamed consumer"
    );
    for subject in [
        format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.dashboard-api"),
        format!("$JS.ACK.{stream}.dashboard-api.1.1.1.1.0"),
        format!("$JS.API.CONSUMER.DELETE.{stream}.dashboard-api"),
        format!("$JS.API.CONSUMER.CREATE.{stream}.verification-mailer"),
        format!("$JS.API.STREAM.DELETE.{stream}"),
        format!("$JS.API.STREAM.PURGE.{stream}"),
        format!("$JS.API.STREAM.UPDATE.{stream}"),
        format!("$JS.API.STREAM.MSG.DELETE.{stream}"),
        format!("$JS.API.CONSUMER.LIST.{stream}"),
    ] {
        assert_publish_refused(&nats, &intake, "order-intake", &subject).await;
    }
    assert!(js.delete_stream(&stream).await.is_err());

    // The bridge reads a stored event by its sequence (a duplicate's body); no other service
    // reads the stream but through its own consumers.
    let bridge = bus_as(&nats, "order-intake").await;
    let order = event(crate::created());
    let stored = bridge.publish(&order).await.unwrap();
    assert_eq!(bridge.stored(stored.sequence).await.unwrap().id, order.id);
    let subject = format!("$JS.API.STREAM.MSG.GET.{stream}");
    let reader = client_as(&nats, "dashboard-api").await;
    assert_publish_refused(&nats, &reader, "dashboard-api", &subject).await;

    // Another service's inbox, or everyone's, cannot be read.
    for subject in [
        format!(
            "{}.>",
            permissions::inbox_prefix(&nats.prefix, "dashboard-api")
        ),
        "_INBOX.>".to_owned(),
        ">".to_owned(),
        format!("{}>", nats.prefix),
    ] {
        let _ = intake.subscribe(subject.clone()).await.unwrap();
        intake.flush().await.unwrap();
        assert!(
            nats.wait_violation("Subscription", "order-intake", &subject, VIOLATION_WAIT)
                .await,
            "order-intake may subscribe to {subject}:\n{}",
            nats.log()
        );
    }
    // The stream and the dashboard's consumer are still there.
    let mut info = dashboard.ensure_stream().await.unwrap();
    assert_eq!(info.info().await.unwrap().config.name, stream);
}

#[tokio::test]
async fn nats_url_may_list_several_servers_and_carry_credentials() {
    let nats = AuthNats::start().await.unwrap();
    // A dead server first, then ours: the client goes on to the next.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let settings = BusSettings {
        url: format!("nats://127.0.0.1:{dead}, {}", nats.url),
        ..nats.settings("expiry-sweeper")
    };
    assert_eq!(settings.servers().unwrap().len(), 2);
    let bus = Bus::connect(settings, "expiry-sweeper").await.unwrap();
    bus.ensure_stream().await.unwrap();
    bus.publish(&event(own_events("expiry-sweeper").remove(0)))
        .await
        .unwrap();

    // Credentials in the URL instead of NATS_USER/NATS_PASSWORD; Debug shows no password.
    let password = nats.password("order-intake").to_owned();
    let settings = BusSettings {
        url: format!("nats://order-intake:{password}@127.0.0.1:{}", nats.port),
        ..nats.anonymous()
    };
    let shown = format!("{settings:?} {:?}", nats.settings("order-intake"));
    assert!(!shown.contains(&password), "{shown}");
    assert!(!shown.contains(nats.password("order-intake")));
    let bus = Bus::connect(settings, "order-intake").await.unwrap();
    bus.publish(&event(created())).await.unwrap();
    assert_eq!(bus.last_sequence().await.unwrap(), 2);
}

#[tokio::test]
async fn a_consumer_made_without_subjects_is_narrowed_where_the_server_can() {
    let nats = AuthNats::start().await.unwrap();
    let bus = bus_as(&nats, "expiry-sweeper").await;
    // As an older release made it: the whole stream.
    bus.durable_consumer(&ConsumerSpec::new("expiry-sweeper", &[]))
        .await
        .unwrap();
    let consumer = bus
        .durable_consumer(&ConsumerSpec::new(
            "expiry-sweeper",
            &permissions::SWEEPER_SUBJECTS,
        ))
        .await
        .unwrap();
    let config = &consumer.cached_info().config;
    let mut subjects = config.filter_subjects.clone();
    subjects.sort();
    if bus.takes_several_filters() {
        let mut wanted: Vec<String> = permissions::SWEEPER_SUBJECTS
            .iter()
            .map(|s| format!("{}{s}", nats.prefix))
            .collect();
        wanted.sort();
        assert_eq!(subjects, wanted, "{}", nats.log());
    } else {
        assert!(subjects.is_empty() && config.filter_subject.is_empty());
    }
    assert!(!nats.log().contains("Violation"), "{}", nats.log());
}
