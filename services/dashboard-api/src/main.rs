//! `dashboard-api [serve | migrate | rebuild [--dry-run] | create-admin USER | create-operator USER
//! | reset-password USER]`: see `gadai_runtime::main` and `dashboard_api::cli`.

#[global_allocator]
static ALLOCATOR: gadai_runtime::Allocator = gadai_runtime::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gadai_runtime::main::<dashboard_api::startup::DashboardApi>().await
}
