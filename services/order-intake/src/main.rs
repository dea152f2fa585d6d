//! `order-intake [serve | migrate | rebuild [--dry-run]]`: see `gadai_bus::service_main`.

gadai_bus::service_main!(order_intake, "order-intake");
