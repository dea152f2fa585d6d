//! `verification-mailer [serve | migrate | rebuild [--dry-run]]`: see `gadai_runtime::main`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gadai_runtime::main::<verification_mailer::startup::VerificationMailer>().await
}
