//! `verification-mailer [serve | migrate | rebuild [--dry-run]]`: see `gadai_runtime::main`.

#[global_allocator]
static ALLOCATOR: gadai_runtime::Allocator = gadai_runtime::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gadai_runtime::main::<verification_mailer::startup::VerificationMailer>().await
}
