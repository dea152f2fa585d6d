//! `expiry-sweeper [serve | migrate | rebuild [--dry-run]]`: see `gadai_runtime::main`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gadai_runtime::main::<expiry_sweeper::startup::ExpirySweeper>().await
}
