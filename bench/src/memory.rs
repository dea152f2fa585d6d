//! `memory`: each service's release binary, started with `serve` against a database and stream of
//! its own, idle for 3 s after `/readyz` answers 200: its resident memory (VmRSS), then SIGTERM
//! and the time it takes to exit.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::Context;

use crate::{
    common::{self, APPS_KEY, BenchEnv, Knobs},
    summary::Summary,
};

/// The services, each with the port variables it is known to read (more are found in its
/// `src/config.rs` when the source is there).
const SERVICES: &[(&str, &[&str])] = &[
    ("order-intake", &["ORDER_INTAKE_PORT"]),
    ("dashboard-api", &["DASHBOARD_API_PORT"]),
    (
        "verification-mailer",
        &["VERIFICATION_MAILER_PORT", "MAILER_PORT"],
    ),
    ("expiry-sweeper", &["EXPIRY_SWEEPER_PORT", "SWEEPER_PORT"]),
];
const READY_LIMIT: Duration = Duration::from_secs(30);
const IDLE: Duration = Duration::from_secs(3);
const EXIT_LIMIT: Duration = Duration::from_secs(10);
const BUDGET_MB: f64 = 30.0;

pub async fn run(knobs: &Knobs, summary: &mut Summary) -> anyhow::Result<()> {
    println!("== memory: each release binary idle, resident memory; then SIGTERM ==");
    let bin_dir = match std::env::var_os("BENCH_BIN_DIR") {
        Some(d) => PathBuf::from(d),
        None => std::env::current_exe()?
            .parent()
            .context("the bench binary has no directory")?
            .to_path_buf(),
    };
    let unbuilt: Vec<String> = std::env::var("BENCH_UNBUILT")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let env = BenchEnv::new(knobs).await?;
    let logs = std::env::temp_dir().join(format!("gadai-bench-{}", env.env.tag));
    std::fs::create_dir_all(&logs)?;
    for (name, ports) in SERVICES {
        let binary = bin_dir.join(name);
        if unbuilt.iter().any(|u| u == name) {
            println!(
                "  {name:<20} skipped: it did not build in this run (an older binary is not measured)"
            );
            summary.add(format!("{name} idle RSS"), "did not build", "< 30 MB", None);
            continue;
        }
        if !binary.is_file() {
            println!(
                "  {name:<20} skipped: {} does not exist (not built yet)",
                binary.display()
            );
            summary.add(format!("{name} idle RSS"), "not built", "< 30 MB", None);
            continue;
        }
        match measure(&env, name, ports, &binary, &logs).await {
            Ok(m) => {
                println!(
                    "  {name:<20} ready in {:.1} s on port {}; idle RSS {:.1} MB (peak {:.1} MB); SIGTERM -> exit in {} ({})",
                    m.ready_after.as_secs_f64(),
                    m.port,
                    m.rss_mb,
                    m.hwm_mb,
                    m.exit_after
                        .map(|d| format!("{:.2} s", d.as_secs_f64()))
                        .unwrap_or_else(|| format!(
                            "NOT within {} s (killed)",
                            EXIT_LIMIT.as_secs()
                        )),
                    m.exit_status
                );
                let stopped = m.exit_after.is_some();
                summary.add(
                    format!("{name} idle RSS"),
                    format!(
                        "{:.1} MB{}",
                        m.rss_mb,
                        if stopped { "" } else { ", no clean exit" }
                    ),
                    "< 30 MB",
                    Some(m.rss_mb < BUDGET_MB && stopped),
                );
            }
            Err(err) => {
                println!("  {name:<20} FAILED: {err:#}");
                summary.add(
                    format!("{name} idle RSS"),
                    "failed to start",
                    "< 30 MB",
                    Some(false),
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&logs);
    env.destroy().await;
    println!();
    Ok(())
}

struct Measured {
    port: u16,
    ready_after: Duration,
    rss_mb: f64,
    hwm_mb: f64,
    exit_after: Option<Duration>,
    exit_status: String,
}

async fn measure(
    env: &BenchEnv,
    name: &str,
    known_ports: &[&str],
    binary: &Path,
    logs: &Path,
) -> anyhow::Result<Measured> {
    let log_path = logs.join(format!("{name}.log"));
    let log = std::fs::File::create(&log_path)?;
    let mut command = tokio::process::Command::new(binary);
    command
        .arg("serve")
        .env("DATABASE_URL", &env.env.database_url)
        .env("NATS_URL", &env.env.bus.url)
        .env("NATS_STREAM", &env.env.bus.stream)
        .env("NATS_SUBJECT_PREFIX", &env.env.bus.prefix)
        .env("APPS_KEY", APPS_KEY)
        .env("CODE_HMAC_KEY", "bench-code-hmac-key-0f3a9c7e51d2b846")
        .env("HTTP_HOST", "127.0.0.1")
        .env("WEB_DIST_DIR", "does-not-exist")
        .env_remove("DB_SCHEMA")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    for var in port_variables(name, known_ports) {
        command.env(var, "0");
    }
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let pid = child.id().context("no pid")?;

    let client = common::http_client()?;
    let port = loop {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!(
                "exited before it was ready ({status}); last log lines:\n{}",
                tail(&log_path)
            );
        }
        if started.elapsed() > READY_LIMIT {
            let _ = child.kill().await;
            anyhow::bail!(
                "/readyz did not answer 200 within {} s; last log lines:\n{}",
                READY_LIMIT.as_secs(),
                tail(&log_path)
            );
        }
        let mut ready = None;
        for port in listening_ports(pid) {
            let url = format!("http://127.0.0.1:{port}/readyz");
            if let Ok(r) = client.get(&url).send().await
                && r.status() == 200
            {
                ready = Some(port);
                break;
            }
        }
        if let Some(port) = ready {
            break port;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let ready_after = started.elapsed();
    drop(client);

    tokio::time::sleep(IDLE).await;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = |key: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    let rss_mb = kb("VmRSS:") / 1024.0;
    let hwm_mb = kb("VmHWM:") / 1024.0;

    let term = Instant::now();
    let sent = tokio::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .await?;
    anyhow::ensure!(sent.success(), "kill -TERM {pid} failed");
    let (exit_after, exit_status) = match tokio::time::timeout(EXIT_LIMIT, child.wait()).await {
        Ok(status) => (Some(term.elapsed()), status?.to_string()),
        Err(_) => {
            let _ = child.kill().await;
            (None, "killed".to_owned())
        }
    };
    Ok(Measured {
        port,
        ready_after,
        rss_mb,
        hwm_mb,
        exit_after,
        exit_status,
    })
}

/// Every `*_PORT` variable the service may read, all set to 0 so it binds a free port.
fn port_variables(name: &str, known: &[&str]) -> BTreeSet<String> {
    let mut vars: BTreeSet<String> = known.iter().map(|s| s.to_string()).collect();
    let config = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../services")
        .join(name)
        .join("src/config.rs");
    if let Ok(source) = std::fs::read_to_string(config) {
        for piece in source.split('"').skip(1).step_by(2) {
            if piece.ends_with("_PORT")
                && piece
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                vars.insert(piece.to_owned());
            }
        }
    }
    vars
}

/// TCP ports the process listens on, from `/proc` (so a port chosen by the OS is found).
fn listening_ports(pid: u32) -> Vec<u16> {
    let mut inodes = BTreeSet::new();
    if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                let target = target.to_string_lossy();
                if let Some(inode) = target
                    .strip_prefix("socket:[")
                    .and_then(|s| s.strip_suffix(']'))
                {
                    inodes.insert(inode.to_owned());
                }
            }
        }
    }
    let mut ports = BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if cols.len() > 9
                && cols[3] == "0A"
                && inodes.contains(cols[9])
                && let Some(port) = cols[1]
                    .rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
            {
                ports.insert(port);
            }
        }
    }
    ports.into_iter().collect()
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..]
        .iter()
        .map(|l| format!("    | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
