use gadai_bus::service::{dispatch, no_other_commands};
use gadai_kit::{cli::Command, telemetry};
use verification_mailer::{
    Application,
    config::Settings,
    startup::{self, MIGRATOR},
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = telemetry::init(
        "verification-mailer",
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
        no_other_commands,
    )
    .await
}
