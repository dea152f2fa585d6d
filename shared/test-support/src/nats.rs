//! A nats-server of the test's own, configured with the project's users and permissions
//! (`gadai_bus::permissions`), the passwords coming from its environment as in compose and
//! Kubernetes. Needs a `nats-server` binary: `NATS_SERVER_BIN`, else `nats-server` on `PATH`,
//! else Debian's `/usr/sbin/nats-server`.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::Context;
use gadai_bus::{BusSettings, Secret, permissions};
use uuid::Uuid;

/// A running nats-server with JetStream and the services' users, on a free loopback port, its
/// store and log in a temporary directory; stopped when dropped.
pub struct AuthNats {
    /// `nats://127.0.0.1:<port>`, without credentials.
    pub url: String,
    pub port: u16,
    /// The subject prefix and stream the permissions were rendered for (`t_<tag>.`, `T_<TAG>`).
    pub prefix: String,
    pub stream: String,
    passwords: BTreeMap<&'static str, String>,
    log: PathBuf,
    child: Child,
    dir: tempfile::TempDir,
}

pub fn nats_server_bin() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("NATS_SERVER_BIN") {
        return Ok(bin.into());
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("nats-server"))
        .find(|p| p.is_file());
    on_path
        .or_else(|| Some(PathBuf::from("/usr/sbin/nats-server")).filter(|p| p.is_file()))
        .context("no nats-server binary (set NATS_SERVER_BIN or install the nats-server package)")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl AuthNats {
    /// A server whose permissions are rendered for a fresh prefix and stream.
    pub async fn start() -> anyhow::Result<Self> {
        let tag = Uuid::new_v4().simple().to_string()[..12].to_owned();
        Self::start_for(&format!("t_{tag}."), &format!("T_{}", tag.to_uppercase())).await
    }

    /// A server whose permissions are rendered for `prefix` and `stream`.
    pub async fn start_for(prefix: &str, stream: &str) -> anyhow::Result<Self> {
        crate::init_telemetry();
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let store = dir.path().join("jetstream");
        let config = format!(
            "listen: 127.0.0.1:{port}\n\
             server_name: gadai_test_{port}\n\
             jetstream {{ store_dir: {store:?} }}\n\
             {}",
            permissions::server_config(prefix, stream, "")
        );
        let config_path = dir.path().join("nats.conf");
        std::fs::write(&config_path, config)?;
        let passwords: BTreeMap<&'static str, String> = permissions::ROLES
            .iter()
            // nats-server parses an environment reference as a value: a password starting
            // with a digit would be read as a number, so it starts with a letter.
            .map(|r| (r.service, format!("p{}", Uuid::new_v4().simple())))
            .collect();
        let log = dir.path().join("nats.log");
        let mut command = Command::new(nats_server_bin()?);
        command
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log)?)
            .stderr(std::fs::File::options().append(true).open(&log)?);
        for role in &permissions::ROLES {
            command.env(role.password_var, &passwords[role.service]);
        }
        let mut child = command.spawn().context("starting nats-server")?;
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = child.try_wait()? {
                anyhow::bail!(
                    "nats-server exited ({status}):\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            if std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("Server is ready")
            {
                break;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                anyhow::bail!("nats-server did not become ready on port {port}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Ok(AuthNats {
            url: format!("nats://127.0.0.1:{port}"),
            port,
            prefix: prefix.to_owned(),
            stream: stream.to_owned(),
            passwords,
            log,
            child,
            dir,
        })
    }

    /// Settings without credentials.
    pub fn anonymous(&self) -> BusSettings {
        BusSettings {
            url: self.url.clone(),
            stream: self.stream.clone(),
            prefix: self.prefix.clone(),
            max_age: Duration::from_secs(3600),
            ..BusSettings::default()
        }
    }

    /// Settings of `service`'s user, with its password.
    pub fn settings(&self, service: &str) -> BusSettings {
        BusSettings {
            user: Some(service.to_owned()),
            password: Some(Secret::new(self.password(service))),
            ..self.anonymous()
        }
    }

    pub fn password(&self, service: &str) -> &str {
        self.passwords
            .get(service)
            .unwrap_or_else(|| panic!("no NATS user for {service}"))
    }

    /// What the server logged so far (permission violations are logged there).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The server's JetStream store directory (every stream's files).
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("jetstream")
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Waits up to `timeout` for `needle` in the server's log.
    /// Whether the server logs (within `timeout`) that `user` was refused `kind` ("Publish",
    /// "Subscription") on `subject`. NATS 2.9 writes `Publish Violation - User "u", Subject
    /// "s"`, 2.10 and later `"$G/user:u" - Publish Violation - Subject "s"`.
    pub async fn wait_violation(
        &self,
        kind: &str,
        user: &str,
        subject: &str,
        timeout: Duration,
    ) -> bool {
        let old = format!("{kind} Violation - User \"{user}\", Subject \"{subject}\"");
        let new = format!("user:{user}\" - {kind} Violation - Subject \"{subject}\"");
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let log = self.log();
            if log.contains(&old) || log.contains(&new) {
                return true;
            }
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.log().contains(needle) {
                return true;
            }
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for AuthNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
