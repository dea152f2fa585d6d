//! `dashboard-api [serve | migrate | rebuild [--dry-run] | create-admin USER | create-operator USER
//! | reset-password USER]`: see `gadai_bus::service_main` and `dashboard_api::cli`.

gadai_bus::service_main!(dashboard_api, "dashboard-api", dashboard_api::cli::command);
