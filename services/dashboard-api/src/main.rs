use dashboard_api::{
    Application,
    config::Settings,
    startup::{self, MIGRATOR},
};
use gadai_bus::service::dispatch;
use gadai_kit::{cli::Command, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = telemetry::init(
        "dashboard-api",
        telemetry::LogFormat::from_env(),
        std::io::stdout,
    );
    let settings = Settings::from_env()?;
    let db = settings.db.clone();
    dispatch(
        Command::from_args(std::env::args().skip(1)),
        &db,
        &MIGRATOR,
        async |shutdown| {
            Application::build(settings.clone())
                .await?
                .run(shutdown)
                .await
        },
        async |swap| startup::rebuild(settings.clone(), swap).await,
        async |cmd, args| match cmd.as_str() {
            "create-admin" | "create-operator" | "reset-password" => {
                dashboard_api::cli::run(settings.clone(), &cmd, &args).await
            }
            _ => anyhow::bail!(
                "unknown command {cmd:?} (serve, migrate, rebuild [--dry-run], \
                 create-admin, create-operator, reset-password)"
            ),
        },
    )
    .await
}
