use dashboard_api::{
    Application,
    config::Settings,
    startup::{self, MIGRATOR},
};
use gadai_kit::{cli::Command, server, telemetry};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = telemetry::init(
        "dashboard-api",
        telemetry::LogFormat::from_env(),
        std::io::stdout,
    );
    let settings = Settings::from_env()?;
    match Command::from_args(std::env::args().skip(1)) {
        Command::Serve => {
            let shutdown = CancellationToken::new();
            server::cancel_on_signal(shutdown.clone());
            Application::build(settings).await?.run(shutdown).await
        }
        Command::Migrate => gadai_bus::service::migrate_command(&settings.db, &MIGRATOR).await,
        Command::Rebuild { swap } => startup::rebuild(settings, swap).await.map(|_| ()),
        Command::Other(cmd, args)
            if matches!(
                cmd.as_str(),
                "create-admin" | "create-operator" | "reset-password"
            ) =>
        {
            dashboard_api::cli::run(settings, &cmd, &args).await
        }
        Command::Other(cmd, _) => {
            anyhow::bail!("unknown command {cmd:?} (serve, migrate, rebuild [--dry-run])")
        }
    }
}
