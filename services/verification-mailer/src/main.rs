//! `verification-mailer [serve | migrate | rebuild [--dry-run]]`: see `gadai_bus::service_main`.

gadai_bus::service_main!(verification_mailer, "verification-mailer");
