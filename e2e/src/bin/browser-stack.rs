//! `browser-stack -- COMMAND...`: runs COMMAND against the whole system, started for it alone.
//!
//! A fresh database and stream, a real SMTP server (aiosmtpd), and the four service binaries
//! from this target directory, each configured through its environment as ops would run it,
//! with dashboard-api serving the built web app (`web_dashboard/dist`). COMMAND (the browser
//! tests) gets the addresses in `GADAI_E2E_*` variables; its exit status is this program's.
//! Service logs land in `$GADAI_E2E_ARTIFACTS/logs/` (default `artifacts/browser`).

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use anyhow::Context;
use gadai_test_support::{
    TestEnv,
    process::{ADMIN, SERVICES, ServiceEnv, ServiceProcess},
    smtp::SmtpServer,
};

// Production rules apply to these binaries (no APP_ENV): the key is as long as a real one.
const APPS_KEY: &str = "browser-e2e-key-9c1f4a7d2b6e8035";
/// Long enough that the countdown is still showing when a test on a loaded machine looks for it
/// (4 s once ran out first), short enough that waiting for its end costs little.
const RESEND_COOLDOWN: &str = "20s";
const LOGIN_RATE_LIMIT: &str = "5";

#[tokio::main]
async fn main() -> ExitCode {
    let command: Vec<String> = std::env::args().skip(1).skip_while(|a| a == "--").collect();
    if command.is_empty() {
        eprintln!("usage: browser-stack -- COMMAND [ARGS...]");
        return ExitCode::from(2);
    }
    match run(&command).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("browser-stack: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: &[String]) -> anyhow::Result<ExitCode> {
    let artifacts = PathBuf::from(
        std::env::var("GADAI_E2E_ARTIFACTS").unwrap_or_else(|_| "artifacts/browser".into()),
    );
    let web_dist = std::env::var("WEB_DIST_DIR").unwrap_or_else(|_| "web_dashboard/dist".into());
    anyhow::ensure!(
        Path::new(&web_dist).join("index.html").is_file(),
        "{web_dist}/index.html is missing: build the dashboard first (cd web_dashboard && npm run build)"
    );
    std::fs::create_dir_all(&artifacts)?;
    let artifacts = artifacts.canonicalize()?;

    let env = TestEnv::new().await?;
    let smtp = SmtpServer::start().await;
    let shared = service_env(&env, &smtp, &web_dist);
    let mut running = Vec::new();
    let started = start_services(&shared, &artifacts.join("logs"), &mut running).await;
    let outcome = match started {
        Ok(()) => run_command(command, &running, &smtp, &artifacts).await,
        Err(err) => Err(err),
    };
    let mut stopped_cleanly = true;
    for service in running.into_iter().rev() {
        let name = service.name.clone();
        match service.stop(Duration::from_secs(15)).await {
            Ok(status) if status.success() => {}
            Ok(status) => {
                eprintln!("browser-stack: {name} exited with {status} after SIGTERM");
                stopped_cleanly = false;
            }
            Err(err) => {
                eprintln!("browser-stack: {err:#}");
                stopped_cleanly = false;
            }
        }
    }
    smtp.stop().await;
    env.cleanup().await;
    let code = outcome?;
    Ok(if stopped_cleanly {
        code
    } else {
        ExitCode::FAILURE
    })
}

/// The environment every service reads (each adds its own port).
fn service_env(env: &TestEnv, smtp: &SmtpServer, web_dist: &str) -> ServiceEnv {
    ServiceEnv::new(env, APPS_KEY)
        .smtp(smtp.port)
        .set("DATABASE_MAX_CONNECTIONS", "5")
        .set("WEB_DIST_DIR", web_dist)
        .set("COOKIE_SECURE", "auto")
        .set("LOGIN_RATE_LIMIT", LOGIN_RATE_LIMIT)
        .set("RESEND_COOLDOWN", RESEND_COOLDOWN)
}

/// Starts the services one after the other (each migrates its own schema at start).
async fn start_services(
    shared: &ServiceEnv,
    logs: &Path,
    running: &mut Vec<ServiceProcess>,
) -> anyhow::Result<()> {
    for name in SERVICES {
        let service = ServiceProcess::launch(name, shared, logs).await?;
        println!("browser-stack: {name} ready at {}", service.url);
        running.push(service);
    }
    Ok(())
}

async fn run_command(
    command: &[String],
    running: &[ServiceProcess],
    smtp: &SmtpServer,
    artifacts: &Path,
) -> anyhow::Result<ExitCode> {
    let url_of = |name: &str| {
        running
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.url.clone())
            .with_context(|| format!("{name} is not running"))
    };
    let status = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .env("GADAI_E2E_DASHBOARD_URL", url_of("dashboard-api")?)
        .env("GADAI_E2E_INTAKE_URL", url_of("order-intake")?)
        .env("GADAI_E2E_APPS_KEY", APPS_KEY)
        .env("GADAI_E2E_ADMIN_USERNAME", ADMIN.0)
        .env("GADAI_E2E_ADMIN_PASSWORD", ADMIN.1)
        .env("GADAI_E2E_LOGIN_RATE_LIMIT", LOGIN_RATE_LIMIT)
        .env("GADAI_E2E_MAILDIR", smtp.maildir())
        .env("GADAI_E2E_ARTIFACTS", artifacts)
        .status()
        .await
        .with_context(|| format!("running {}", command[0]))?;
    if !status.success() {
        for service in running {
            eprintln!(
                "--- last lines of {} ({}):\n{}",
                service.name,
                service.log.display(),
                service.log_tail()
            );
        }
    }
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}
