//! Real service binaries for system tests: each started with `serve` and an environment of its
//! own, its output in a log file, ready once `/readyz` answers 200, stopped with SIGTERM as an
//! orchestrator would stop it.

use std::{
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::Duration,
};

use anyhow::Context;
use tokio::process::{Child, Command};

use crate::{TestEnv, smtp::free_port};

/// The environment the service processes of one test run read, as production passes their
/// settings: the run's database and stream, loopback, JSON logs at `info`, no trace export, no
/// web app, an API key and an admin of the test's, and a mail sender. Each test changes or adds
/// what it needs with [`ServiceEnv::set`].
#[derive(Clone)]
pub struct ServiceEnv(Vec<(String, String)>);

/// The four services, in the order a system test starts them.
pub const SERVICES: [&str; 4] = [
    "order-intake",
    "verification-mailer",
    "expiry-sweeper",
    "dashboard-api",
];

/// The administrator every [`ServiceEnv`] creates at start.
pub const ADMIN: (&str, &str) = ("admin", "admin-password-123");

impl ServiceEnv {
    pub fn new(env: &TestEnv, apps_key: &str) -> Self {
        let vars = [
            ("DATABASE_URL", env.database_url.as_str()),
            ("DATABASE_MAX_CONNECTIONS", "4"),
            ("NATS_URL", env.bus.url.as_str()),
            ("NATS_STREAM", env.bus.stream.as_str()),
            ("NATS_SUBJECT_PREFIX", env.bus.prefix.as_str()),
            ("NATS_STREAM_MAX_AGE", "1h"),
            ("HTTP_HOST", "127.0.0.1"),
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", "info"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
            ("DB_SCHEMA", ""),
            ("APPS_KEY", apps_key),
            ("WEB_DIST_DIR", "none"),
            ("ADMIN_USERNAME", ADMIN.0),
            ("ADMIN_PASSWORD", ADMIN.1),
            ("MAIL_FROM", "Pegadaian Gadai <no-reply@gadai.example>"),
            (
                "CODE_HMAC_KEY",
                "system-test-hmac-key-with-32-bytes-or-more",
            ),
            ("PII_MASTER_KEYS", crate::PII_MASTER_KEYS),
            ("PII_SUBJECT_KEY", crate::PII_SUBJECT_KEY),
        ];
        ServiceEnv(
            vars.into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    /// Mail goes to the plain SMTP server on `port` of this machine, without login.
    pub fn smtp(self, port: u16) -> Self {
        self.set("SMTP_HOST", "127.0.0.1")
            .set("SMTP_PORT", port.to_string())
            .set("SMTP_TLS", "none")
            .set("SMTP_USER", "")
            .set("SMTP_PASSWORD", "")
            .set("EMAIL_USER", "")
            .set("EMAIL_PASSWORD", "")
    }

    /// Sets `name` to `value`, in place of its earlier value.
    pub fn set(mut self, name: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name.to_owned(), value)),
        }
        self
    }

    pub fn vars(&self) -> &[(String, String)] {
        &self.0
    }
}

/// A service binary of this workspace, from the target directory the running executable was
/// built into (`target/<profile>/`, also for test executables under `deps/`).
pub fn workspace_binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().context("the executable has no directory")?;
    if dir.ends_with("deps") {
        dir = dir.parent().context("deps/ has no parent")?;
    }
    let binary = dir.join(name);
    anyhow::ensure!(
        binary.is_file(),
        "{} is not built (cargo build -p {name})",
        binary.display()
    );
    Ok(binary)
}

pub struct ServiceProcess {
    pub name: String,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    pub log: PathBuf,
    child: Child,
}

impl ServiceProcess {
    /// Starts the workspace binary `name` with `env` on a free port (in `<NAME>_PORT`, as
    /// `ORDER_INTAKE_PORT`) and waits until it is ready.
    pub async fn launch(name: &str, env: &ServiceEnv, log_dir: &Path) -> anyhow::Result<Self> {
        let port = free_port();
        let port_var = format!("{}_PORT", name.to_uppercase().replace('-', "_"));
        let env = env.clone().set(&port_var, port.to_string());
        Self::start(name, &workspace_binary(name)?, env.vars(), port, log_dir).await
    }

    /// Starts `binary serve` with `env` added to this process's environment, listening on
    /// `port`, and waits until it is ready (or fails with the end of its log).
    pub async fn start(
        name: &str,
        binary: &Path,
        env: &[(String, String)],
        port: u16,
        log_dir: &Path,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(log_dir)?;
        let log = log_dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log)?;
        let child = Command::new(binary)
            .arg("serve")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut process = ServiceProcess {
            name: name.to_owned(),
            url: format!("http://127.0.0.1:{port}"),
            log,
            child,
        };
        process.wait_ready(Duration::from_secs(60)).await?;
        Ok(process)
    }

    async fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + limit;
        let probe = format!("{}/readyz", self.url);
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "{} exited before it was ready ({status}):\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            if let Ok(r) = client.get(&probe).send().await
                && r.status() == 200
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!(
                    "{} was not ready within {limit:?}:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The most memory the process has held resident so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }

    /// The last lines of the service's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// SIGTERM, then its exit status; killed when it has not exited within `grace`.
    pub async fn stop(mut self, grace: Duration) -> anyhow::Result<ExitStatus> {
        if let Some(pid) = self.child.id() {
            Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await?;
        }
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                self.child.kill().await?;
                anyhow::bail!("{} did not exit within {grace:?} of SIGTERM", self.name)
            }
        }
    }
}
