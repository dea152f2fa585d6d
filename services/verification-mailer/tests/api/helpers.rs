//! A mailer (or several) against real Postgres, NATS JetStream and aiosmtpd, and the requests a
//! test makes of it.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use gadai_bus::Bus;
use gadai_events::{
    check::{CheckReply, CheckRequest, OrderRef, SUBJECT},
    *,
};
use gadai_privacy::{
    KeyStore, MasterKeys, SubjectId, SubjectKey,
    personal::{seal_order, seal_recipient},
    rpc,
};
use gadai_runtime::CoreSettings;
use gadai_store::DbSettings;
use gadai_test_support::{
    PII_MASTER_KEYS, PII_SUBJECT_KEY, TestEnv, eventually,
    smtp::{Received, SmtpServer},
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use verification_mailer::{
    Application,
    config::{CheckSettings, KeyAccess, MailSettings, Settings, TlsMode},
};

pub const KEY: &str = "mailer-test-hmac-key-at-least-32-bytes";

/// The settings a replica runs with in these tests: the documented defaults, mail to `smtp_port`.
pub fn settings(env: &TestEnv, smtp_port: u16) -> Settings {
    Settings {
        core: CoreSettings {
            db: DbSettings {
                url: env.database_url.clone(),
                schema: "mailer".into(),
                max_connections: 6,
            },
            bus: env.bus.clone(),
            host: "127.0.0.1".into(),
            port: 0,
            request_timeout: Duration::from_secs(10),
        },
        mail: MailSettings::Smtp {
            host: "127.0.0.1".into(),
            port: smtp_port,
            tls: TlsMode::None,
            user: None,
            password: None,
            timeout: Duration::from_secs(5),
        },
        mail_from: "Gadai <no-reply@example.com>".into(),
        code_key: KEY.as_bytes().to_vec().into(),
        code_ttl: Duration::from_secs(3600),
        max_failed_attempts: 5,
        send_attempts: 3,
        send_ack_wait: Duration::from_secs(10),
        check: CheckSettings::default(),
        pii: KeyAccess::new(PII_MASTER_KEYS).unwrap(),
    }
}

/// The customer an e-mail names, as every service of the tests computes it.
pub fn subject_of(email: &str) -> SubjectId {
    SubjectKey::new(PII_SUBJECT_KEY.as_bytes())
        .unwrap()
        .subject_of(email)
}

/// order-intake's key store, in schema `keys` of the test's database, made the way order-intake
/// makes it (gadai-privacy's migration).
pub async fn key_store(env: &TestEnv) -> KeyStore {
    let db = DbSettings {
        url: env.database_url.clone(),
        schema: "keys".into(),
        max_connections: 4,
    };
    let pool = gadai_store::connect(&db).await.unwrap();
    sqlx::raw_sql("CREATE SCHEMA IF NOT EXISTS keys")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::raw_sql(gadai_privacy::MIGRATION)
        .execute(&pool)
        .await
        .unwrap();
    KeyStore::new(pool, "keys", MasterKeys::parse(PII_MASTER_KEYS).unwrap()).unwrap()
}

/// Answers `rpc.keys.get` from `store` (order-intake's side) until `stop`; returns once it
/// answers.
pub async fn serve_keys(bus: &Bus, store: KeyStore, stop: CancellationToken) {
    let subject = bus.subject(rpc::SUBJECT);
    tokio::spawn(rpc::serve(
        bus.client().clone(),
        subject.clone(),
        store,
        stop,
    ));
    let probe = serde_json::to_vec(&rpc::KeyRequest {
        subjects: Vec::new(),
        create: false,
    })
    .unwrap();
    eventually(Duration::from_secs(10), || async {
        bus.client()
            .request(subject.clone(), probe.clone().into())
            .await
            .ok()
    })
    .await;
}

/// One running replica.
pub struct Mailer {
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Mailer {
    pub async fn start(settings: Settings) -> Mailer {
        let app = Application::build(settings).await.unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run(shutdown.clone()));
        Mailer { shutdown, task }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// A test's database, stream and SMTP server, a client of the stream, and order-intake's key
/// store answering `rpc.keys.get`.
pub struct World {
    pub env: TestEnv,
    pub bus: Bus,
    pub smtp: SmtpServer,
    /// Straight to the test database (tables are named `mailer.*`).
    pub db: PgPool,
    /// The customers' keys, as order-intake holds them.
    pub keys: KeyStore,
    key_server: CancellationToken,
    /// Each order's recipient, sealed as dashboard-api seals it into a send request.
    recipients: Mutex<HashMap<Uuid, Recipient>>,
}

impl World {
    pub async fn new() -> World {
        let env = TestEnv::new().await.unwrap();
        let bus = Bus::connect(env.bus.clone(), "test").await.unwrap();
        bus.ensure_stream().await.unwrap();
        let smtp = SmtpServer::start().await;
        let db = PgPool::connect(&env.database_url).await.unwrap();
        let keys = key_store(&env).await;
        let key_server = CancellationToken::new();
        serve_keys(&bus, keys.clone(), key_server.clone()).await;
        World {
            env,
            bus,
            smtp,
            db,
            keys,
            key_server,
            recipients: Mutex::default(),
        }
    }

    pub fn settings(&self) -> Settings {
        settings(&self.env, self.smtp.port)
    }

    /// Stops answering `rpc.keys.get` (the key store is down).
    pub fn stop_key_server(&self) {
        self.key_server.cancel();
    }

    /// Publishes `order.created` for `id`, mailed to `email`, sealed under the customer's key
    /// as order-intake seals it, and keeps its recipient for [`World::request_code`].
    pub async fn create_order(&self, id: Uuid, email: &str) {
        self.create_order_of(id, email, "Rina").await;
    }

    /// [`World::create_order`] for a customer named `name`.
    pub async fn create_order_of(&self, id: Uuid, email: &str, name: &str) {
        let subject = subject_of(email);
        let key = self.keys.key_for(&subject).await.unwrap();
        let mut order = order_created(email, name);
        seal_order(&key, &subject, &mut order);
        self.recipients
            .lock()
            .unwrap()
            .insert(id, seal_recipient(&key, &subject, name, email));
        self.bus
            .publish(&Event::new(
                id,
                BRIDGE_ACTOR,
                EventKind::OrderCreated(order),
            ))
            .await
            .unwrap();
    }

    /// Publishes the operator's request for code number `request_no` of `order`, with the
    /// recipient dashboard-api would seal into it (none for an order this world did not
    /// create: a request of an earlier release).
    pub async fn request_code(&self, order: Uuid, request_no: u32) {
        let recipient = self.recipients.lock().unwrap().get(&order).cloned();
        self.publish_request(
            order,
            VerificationRequested {
                request_no,
                recipient,
            },
        )
        .await;
    }

    /// Publishes `request` for `order`, as an operator's.
    pub async fn publish_request(&self, order: Uuid, request: VerificationRequested) {
        self.bus
            .publish(&Event::new(
                order,
                "op-1",
                EventKind::VerificationRequested(request),
            ))
            .await
            .unwrap();
    }

    /// A new order whose code was mailed and recorded `sent`: its id and the code.
    pub async fn order_with_code(&self, id: Uuid) -> (Uuid, String) {
        let email = format!("{}@example.com", id.simple());
        self.create_order(id, &email).await;
        self.request_code(id, 0).await;
        let code = self.code_mailed_to(&email).await;
        self.wait_for_state(id, "sent").await;
        (id, code)
    }

    /// The mails received for `email` so far.
    pub fn mails_to(&self, email: &str) -> Vec<Received> {
        self.smtp
            .messages()
            .into_iter()
            .filter(|m| m.to == email)
            .collect()
    }

    /// Waits for the first mail to `email` and reads the code from it.
    pub async fn code_mailed_to(&self, email: &str) -> String {
        let mail = eventually(Duration::from_secs(30), || async {
            self.mails_to(email).into_iter().next()
        })
        .await;
        code_in(&mail)
    }

    /// What the server says of consumer `name` now (`None` before it exists).
    pub async fn consumer_info(&self, name: &str) -> Option<async_nats::jetstream::consumer::Info> {
        let mut consumer: async_nats::jetstream::consumer::PullConsumer = self
            .bus
            .jetstream()
            .get_stream(&self.env.bus.stream)
            .await
            .ok()?
            .get_consumer(name)
            .await
            .ok()?;
        consumer.info().await.ok().cloned()
    }

    /// Waits until consumer `name` has nothing pending or unacknowledged.
    pub async fn settled(&self, name: &str) {
        eventually(Duration::from_secs(60), || async {
            let info = self.consumer_info(name).await?;
            (info.num_pending == 0 && info.num_ack_pending == 0).then_some(())
        })
        .await;
    }

    /// Waits until the mailer's projection has applied everything of its subjects on the
    /// stream.
    pub async fn projected(&self) {
        self.settled(verification_mailer::projection::NAME).await;
    }

    /// Waits until `order`'s newest verification is in `state`.
    pub async fn wait_for_state(&self, order: Uuid, state: &str) {
        eventually(Duration::from_secs(30), || async {
            (self.state_of(order).await.as_deref() == Some(state)).then_some(())
        })
        .await;
    }

    /// The state of `order`'s newest verification (`None` also before the mailer created its
    /// tables).
    pub async fn state_of(&self, order: Uuid) -> Option<String> {
        sqlx::query_scalar(
            "SELECT state FROM mailer.verifications WHERE order_id = $1
             ORDER BY request_no DESC LIMIT 1",
        )
        .bind(order)
        .fetch_optional(&self.db)
        .await
        .ok()
        .flatten()
    }

    /// Failed attempts counted against `order`'s newest code.
    pub async fn attempts_of(&self, order: Uuid) -> i32 {
        sqlx::query_scalar(
            "SELECT attempts FROM mailer.verifications WHERE order_id = $1
             ORDER BY request_no DESC LIMIT 1",
        )
        .bind(order)
        .fetch_one(&self.db)
        .await
        .unwrap()
    }

    /// Asks `rpc.verification.check`, waiting for a replica to be subscribed.
    pub async fn check(&self, kode: &str, order: Option<OrderRef>) -> CheckReply {
        check(&self.bus, kode, order).await
    }

    /// Every event of `type_name` on the stream, in order.
    pub async fn events(&self, type_name: &str) -> Vec<Event> {
        events(&self.bus, type_name).await
    }

    pub async fn cleanup(self) {
        self.key_server.cancel();
        self.smtp.stop().await;
        self.env.cleanup().await;
    }
}

/// An order of `name` at `email`, in plaintext.
pub fn order_created(email: &str, name: &str) -> OrderCreated {
    OrderCreated {
        nama_customer: name.into(),
        email: email.into(),
        nama_barang: "Kamera Canon".into(),
        jenis_barang: "kamera".into(),
        jumlah_barang: 1,
        estimasi_nilai_barang: 4_000_000,
        wilayah: "Depok".into(),
        id_percakapan: None,
        idempotency: None,
        subject: None,
    }
}

pub async fn check(bus: &Bus, kode: &str, order: Option<OrderRef>) -> CheckReply {
    let payload = serde_json::to_vec(&CheckRequest {
        kode_unik: kode.into(),
        order,
    })
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match bus
            .client()
            .request(bus.subject(SUBJECT), payload.clone().into())
            .await
        {
            Ok(answer) => return serde_json::from_slice(&answer.payload).unwrap(),
            // No replica subscribed yet (start-up).
            Err(err)
                if err.kind() == async_nats::client::RequestErrorKind::NoResponders
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => panic!("code check: {err}"),
        }
    }
}

pub async fn events(bus: &Bus, type_name: &str) -> Vec<Event> {
    let mut stream = bus
        .jetstream()
        .get_stream(&bus.settings().stream)
        .await
        .unwrap();
    let last = stream.info().await.unwrap().state.last_sequence;
    let subject = bus.subject(type_name);
    let mut found = Vec::new();
    for seq in 1..=last {
        let Ok(raw) = stream.get_raw_message(seq).await else {
            continue;
        };
        if raw.subject.as_str() == subject {
            found.push(Event::decode_from(type_name, &raw.payload).unwrap());
        }
    }
    found
}

/// The code in a verification mail: the line after "Kode verifikasi Anda:".
pub fn code_in(mail: &Received) -> String {
    let mut lines = mail.text.lines().map(str::trim);
    lines
        .by_ref()
        .find(|l| l.starts_with("Kode verifikasi Anda:"))
        .expect("the code's heading");
    let code = lines.find(|l| !l.is_empty()).expect("the code").to_owned();
    assert_eq!(code.len(), 6, "{code:?}");
    code
}

/// A well-formed code other than `code`.
pub fn wrong(code: &str, n: usize) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut n = n;
    loop {
        let guess: String = (0..6)
            .map(|i| ALPHABET[(n * 7 + i * 3) % ALPHABET.len()] as char)
            .collect();
        if guess != code {
            return guess;
        }
        n += 1;
    }
}

/// An order id with the given first 32 bits (so its reference is `reference`), the rest random.
pub fn id_with_reference(reference: u32) -> Uuid {
    let random = Uuid::new_v4().as_u128() & ((1u128 << 96) - 1);
    Uuid::from_u128(((reference as u128) << 96) | random)
}
