//! `order-intake [serve | migrate | rebuild [--dry-run]]`: see `gadai_runtime::main`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gadai_runtime::main::<order_intake::startup::OrderIntake>().await
}
