//! dashboard-api's operator commands:
//!
//! - `dashboard-api create-admin USERNAME` / `create-operator USERNAME`
//! - `dashboard-api reset-password USERNAME`
//!
//! The password is read from `OPERATOR_PASSWORD` when set, else from the first line of standard
//! input (so it stays out of the shell history and the process list).

use std::io::BufRead;

use anyhow::{Context, bail};

use crate::{
    config::Settings,
    domain::operator::{Role, check_password, parse_username},
    http::{create_operator, set_password},
    startup::MIGRATOR,
};

/// The commands dashboard-api has beside serve, migrate and rebuild.
pub async fn command(settings: Settings, cmd: String, args: Vec<String>) -> anyhow::Result<()> {
    match cmd.as_str() {
        "create-admin" | "create-operator" | "reset-password" => run(settings, &cmd, &args).await,
        _ => bail!(
            "unknown command {cmd:?} (serve, migrate, rebuild [--dry-run], \
             create-admin, create-operator, reset-password)"
        ),
    }
}

async fn run(settings: Settings, command: &str, args: &[String]) -> anyhow::Result<()> {
    let Some(username) = args.first() else {
        bail!("usage: dashboard-api {command} USERNAME (password from OPERATOR_PASSWORD or stdin)");
    };
    let username = parse_username(username).map_err(|e| anyhow::anyhow!("username: {e}"))?;
    let pool = gadai_store::connect(&settings.core.db).await?;
    gadai_store::migrate(&pool, &settings.core.db.schema, &MIGRATOR).await?;
    let password = read_password()?;
    check_password(&password).map_err(|e| anyhow::anyhow!("password: {e}"))?;
    match command {
        "create-admin" | "create-operator" => {
            let role = if command == "create-admin" {
                Role::Admin
            } else {
                Role::Operator
            };
            create_operator(&pool, &username, &username, &password, role).await?;
            eprintln!("{command}: {username} ({}) created", role.as_str());
        }
        "reset-password" => {
            let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM operators WHERE username = $1")
                .bind(&username)
                .fetch_optional(&pool)
                .await?
                .with_context(|| format!("no operator named {username}"))?;
            set_password(&pool, id, &password).await?;
            eprintln!(
                "reset-password: the password of {username} is changed and its sessions ended"
            );
        }
        other => bail!("unknown command {other:?}"),
    }
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("OPERATOR_PASSWORD") {
        return Ok(p);
    }
    eprintln!("password (one line on standard input):");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
