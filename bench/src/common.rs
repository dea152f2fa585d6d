//! What every scenario shares: a private database and stream, the services run in-process,
//! the knobs from the environment, percentiles and the data generator.

use std::{
    io::Write,
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::Context;
use gadai_bus::BusSettings;
use gadai_runtime::ServiceSettings;
use gadai_store::DbSettings;
use gadai_test_support::TestEnv;
use sqlx::{Connection, Executor, PgConnection, PgPool};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The bridge key the in-process order-intake is configured with.
pub const APPS_KEY: &str = "bench-apps-key-5e0f2c9a71d84b36c2";

/// The knobs `scripts/bench.sh` passes through.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// Length of each timed load phase (`BENCH_SECONDS`, default 10).
    pub seconds: u64,
    /// Events published for the catch-up scenario (`BENCH_EVENTS`; 1,000,000, or 100,000 with
    /// `BENCH_QUICK=1`).
    pub events: u64,
    pub quick: bool,
    /// Steady rate of the `visible` scenario (`BENCH_RATE`, default 1,000 orders/s).
    pub rate: u64,
    /// Connections of the `bridge` scenario (`BENCH_CONNECTIONS`, default 16).
    pub connections: u64,
    /// Where created databases and streams are written down, so that a crash can be cleaned
    /// up after (`BENCH_LEDGER`).
    pub ledger: Option<PathBuf>,
}

impl Knobs {
    pub fn from_env() -> anyhow::Result<Self> {
        let quick = matches!(
            std::env::var("BENCH_QUICK").as_deref(),
            Ok("1") | Ok("true") | Ok("yes")
        );
        let events_default = if quick { 100_000 } else { 1_000_000 };
        Ok(Knobs {
            seconds: number("BENCH_SECONDS", 10)?.clamp(1, 600),
            events: number("BENCH_EVENTS", events_default)?.clamp(1, 5_000_000),
            quick,
            rate: number("BENCH_RATE", 1_000)?.clamp(1, 20_000),
            connections: number("BENCH_CONNECTIONS", 16)?.clamp(1, 1_000),
            ledger: std::env::var_os("BENCH_LEDGER")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        })
    }
}

fn number(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .replace('_', "")
            .parse()
            .with_context(|| format!("{name}={v:?} is not a whole number")),
        _ => Ok(default),
    }
}

/// A database and a stream that belong to one scenario; dropped by [`BenchEnv::destroy`].
pub struct BenchEnv {
    pub env: TestEnv,
}

impl BenchEnv {
    pub async fn new(knobs: &Knobs) -> anyhow::Result<Self> {
        let env = TestEnv::new()
            .await
            .context("creating a bench database (is Postgres up? `make infra`)")?;
        if let Some(path) = &knobs.ledger {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening the ledger {}", path.display()))?;
            writeln!(file, "{}\t{}", database_name(&env), env.bus.stream)?;
        }
        Ok(BenchEnv { env })
    }

    pub fn bus(&self) -> BusSettings {
        self.env.bus.clone()
    }

    pub fn db(&self, schema: &str) -> DbSettings {
        DbSettings {
            url: self.env.database_url.clone(),
            schema: schema.into(),
            max_connections: 10,
        }
    }

    pub fn database(&self) -> String {
        database_name(&self.env)
    }

    /// Deletes the stream and drops the database (whoever is still connected is cut off).
    pub async fn destroy(self) {
        let db = self.database();
        let stream = self.env.bus.stream.clone();
        if let Err(err) = drop_resources(&self.env.bus.url, &db, &stream).await {
            println!("  note: cleanup of {db} / {stream} failed: {err:#}");
        }
    }
}

fn database_name(env: &TestEnv) -> String {
    format!("gadai_t_{}", env.tag)
}

/// Has Postgres write every dirty buffer out (`CHECKPOINT`) and says how long it took, so that
/// what one phase wrote is not flushed during the next phase's measurement.
pub async fn checkpoint(database_url: &str) -> String {
    let started = Instant::now();
    let done = async {
        let mut conn = PgConnection::connect(database_url).await?;
        conn.execute("CHECKPOINT").await?;
        conn.close().await
    }
    .await;
    match done {
        Ok(()) => format!(
            "checkpoint: the writes so far are on disk after {:.1} s",
            started.elapsed().as_secs_f64()
        ),
        Err(err) => format!("note: CHECKPOINT failed ({err}); the next phase may flush them"),
    }
}

/// Deletes one stream and drops one database; both may be gone already.
pub async fn drop_resources(nats_url: &str, database: &str, stream: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        database.starts_with("gadai_t_")
            && database
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "refusing to drop {database:?}: not a bench database name"
    );
    if let Ok(client) = async_nats::connect(nats_url).await {
        let js = async_nats::jetstream::new(client);
        let _ = js.delete_stream(stream).await;
    }
    let mut conn = PgConnection::connect(&gadai_test_support::admin_url()).await?;
    conn.execute(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)").as_str())
        .await?;
    conn.close().await?;
    Ok(())
}

/// A service running in this process, stopped with [`Running::stop`].
pub struct Running {
    pub port: u16,
    pub pool: PgPool,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Cancels and waits (at most 45 s) for the service to drain.
    pub async fn stop(self) {
        self.shutdown.cancel();
        match tokio::time::timeout(Duration::from_secs(45), self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(err))) => println!("  note: service ended with an error: {err:#}"),
            Ok(Err(err)) => println!("  note: service task failed: {err}"),
            Err(_) => println!("  note: service did not stop within 45 s"),
        }
    }
}

/// order-intake's production settings (its `from_env` defaults), pointed at the bench's
/// database and stream, on a free port. `main` has set `APPS_KEY` to [`APPS_KEY`].
pub fn intake_settings(env: &BenchEnv) -> anyhow::Result<order_intake::config::Settings> {
    let mut s = order_intake::config::Settings::from_env().context("order-intake settings")?;
    s.core.db = env.db("intake");
    s.core.bus = env.bus();
    s.core.host = "127.0.0.1".into();
    s.core.port = 0;
    s.apps_key = APPS_KEY.into();
    Ok(s)
}

/// dashboard-api's production settings, pointed at the bench's database and stream.
pub fn dashboard_settings(env: &BenchEnv) -> anyhow::Result<dashboard_api::config::Settings> {
    let mut s = dashboard_api::config::Settings::from_env().context("dashboard-api settings")?;
    s.core.db = env.db("dashboard");
    s.core.bus = env.bus();
    s.core.host = "127.0.0.1".into();
    s.core.port = 0;
    s.web_dist = "does-not-exist".into();
    s.apps_key = APPS_KEY.into();
    s.bootstrap_admin = Some((OPERATOR.into(), operator_password().into()));
    Ok(s)
}

/// The operator the bench logs in as (created as the first admin at start-up).
const OPERATOR: &str = "bench";

/// A password for this process's bench operator.
fn operator_password() -> String {
    static PASSWORD: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PASSWORD
        .get_or_init(|| uuid::Uuid::new_v4().simple().to_string())
        .clone()
}

/// Logs in to dashboard-api as the bench operator; returns the `Cookie` header to send.
pub async fn login(client: &reqwest::Client, dashboard: &Running) -> anyhow::Result<String> {
    let response = client
        .post(dashboard.url("/dashboard/auth/login"))
        .json(&serde_json::json!({ "username": OPERATOR, "password": operator_password() }))
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 200,
        "login as {OPERATOR} answered {}",
        response.status()
    );
    let cookie = response
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("login set no cookie")?;
    Ok(cookie.to_owned())
}

pub async fn start_intake(env: &BenchEnv) -> anyhow::Result<Running> {
    start::<order_intake::startup::OrderIntake>(intake_settings(env)?).await
}

pub async fn start_dashboard(env: &BenchEnv) -> anyhow::Result<Running> {
    start::<dashboard_api::startup::DashboardApi>(dashboard_settings(env)?).await
}

/// Builds the service with `settings` and runs it in this process.
pub async fn start<S: gadai_runtime::Service>(settings: S::Settings) -> anyhow::Result<Running> {
    let app = gadai_runtime::Application::<S>::build(settings)
        .await
        .with_context(|| format!("starting {}", S::NAME))?;
    let port = app.port();
    let pool = app.pool().clone();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run(shutdown.clone()));
    Ok(Running {
        port,
        pool,
        shutdown,
        task,
    })
}

/// Waits until `GET url` answers 200, at most `limit`.
pub async fn wait_ready(client: &reqwest::Client, url: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(r) = client.get(url).send().await
            && r.status() == 200
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// An HTTP client for 127.0.0.1 only: no proxy, generous connection pool.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(20))
        .build()?)
}

/// Nearest-rank percentiles over a sample.
pub struct Sample {
    sorted: Vec<Duration>,
}

impl Sample {
    pub fn new(mut values: Vec<Duration>) -> Self {
        values.sort_unstable();
        Sample { sorted: values }
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// The `p`-th percentile (0 < p <= 100), zero when empty.
    pub fn pct(&self, p: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.sorted.len() as f64).ceil() as usize;
        self.sorted[rank.clamp(1, self.sorted.len()) - 1]
    }

    pub fn max(&self) -> Duration {
        self.sorted.last().copied().unwrap_or_default()
    }
}

pub fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1000.0;
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// `12345.6` as `12,346`.
pub fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A small deterministic generator (xorshift64*), so runs see the same kind of data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

pub const FIRST_NAMES: &[&str] = &[
    "Budi", "Siti", "Agus", "Dewi", "Rudi", "Ayu", "Joko", "Rina", "Andi", "Putri", "Hendra",
    "Wati", "Bambang", "Sri", "Yusuf", "Nur", "Fajar", "Indah", "Rizky", "Maya",
];
pub const LAST_NAMES: &[&str] = &[
    "Santoso",
    "Wijaya",
    "Saputra",
    "Lestari",
    "Hidayat",
    "Kusuma",
    "Pratama",
    "Susanti",
    "Nugroho",
    "Rahmawati",
    "Siregar",
    "Harahap",
    "Gunawan",
    "Setiawan",
    "Halim",
];
/// Regions, the first ones more frequent than the last (see [`Rng`] use in `order`).
pub const WILAYAH: &[&str] = &[
    "DKI Jakarta",
    "Jawa Barat",
    "Jawa Timur",
    "Jawa Tengah",
    "Banten",
    "Sumatera Utara",
    "DI Yogyakarta",
    "Sulawesi Selatan",
    "Bali",
    "Kalimantan Timur",
    "Riau",
    "Papua",
];
/// (category, items, base value in Rupiah)
pub const ITEMS: &[(&str, &[&str], i64)] = &[
    (
        "handphone",
        &[
            "iPhone 14",
            "Samsung Galaxy S23",
            "Xiaomi Redmi Note 12",
            "Oppo Reno 8",
        ],
        6_000_000,
    ),
    (
        "laptop",
        &[
            "MacBook Air M2",
            "ASUS ROG Strix",
            "Lenovo ThinkPad X1",
            "Acer Aspire 5",
        ],
        12_000_000,
    ),
    (
        "televisi",
        &["Samsung Smart TV 43", "LG OLED 55", "Sony Bravia 50"],
        5_000_000,
    ),
    (
        "kamera",
        &["Canon EOS 80D", "Sony Alpha A6400", "Fujifilm X-T30"],
        9_000_000,
    ),
    ("emas", &["emas antam", "emas UBS"], 1_100_000),
    (
        "elektronik",
        &["PlayStation 5", "Nintendo Switch", "iPad Air"],
        4_000_000,
    ),
];

/// One varied, valid order (as the bridge would have accepted it).
pub fn order(rng: &mut Rng, n: u64) -> gadai_events::OrderCreated {
    let first = *rng.pick(FIRST_NAMES);
    let last = *rng.pick(LAST_NAMES);
    // Skewed: the lower of two draws, so Jakarta is common and Papua rare.
    let w = rng
        .below(WILAYAH.len() as u64)
        .min(rng.below(WILAYAH.len() as u64));
    let (category, items, base) = *rng.pick(ITEMS);
    let quantity = 1 + rng.below(3) as i64;
    let value = (base / 4 + (rng.below(400) as i64) * base / 100) / 10_000 * 10_000 * quantity;
    gadai_events::OrderCreated {
        nama_customer: format!("{first} {last}"),
        email: format!(
            "{}.{}{}@example.com",
            first.to_lowercase(),
            last.to_lowercase(),
            n % 1000
        ),
        nama_barang: rng.pick(items).to_string(),
        jenis_barang: category.to_owned(),
        jumlah_barang: quantity,
        estimasi_nilai_barang: value,
        wilayah: WILAYAH[w as usize].to_owned(),
        id_percakapan: Some(format!("chat-{n}")),
        idempotency: None,
        subject: None,
    }
}
