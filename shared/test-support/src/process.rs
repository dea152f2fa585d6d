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
