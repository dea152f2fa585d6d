//! `expiry-sweeper [serve | migrate | rebuild [--dry-run]]`: see `gadai_bus::service_main`.

gadai_bus::service_main!(expiry_sweeper, "expiry-sweeper");
