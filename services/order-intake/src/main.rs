//! `order-intake [serve | migrate | rebuild [--dry-run] | reseal --from STREAM --to STREAM |
//! rewrap-keys]`: see `gadai_runtime::main`, `order_intake::reseal` and the README's
//! "Data pribadi" (master key rotation).

#[global_allocator]
static ALLOCATOR: gadai_runtime::Allocator = gadai_runtime::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gadai_runtime::main::<order_intake::startup::OrderIntake>().await
}
