//! Prints the NATS users and permissions of the Gadai services (shared/bus/src/permissions.rs)
//! for one subject prefix and stream:
//!
//!   nats-auth [--prefix P] [--stream NAME] [--user-suffix S] [--format conf|helm]
//!
//! `conf` (the default) is a nats-server configuration block to include (`make run` and compose
//! use it); `helm` is the `authorization` part of the NATS Helm chart's `config.merge` values.
//! Passwords are references to environment variables of the server (`$GADAI_INTAKE_NATS_PASSWORD`
//! and so on), never values.

use gadai_bus::permissions;

fn main() {
    let mut prefix = String::new();
    let mut stream = "GADAI".to_owned();
    let mut suffix = String::new();
    let mut format = "conf".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next().unwrap_or_else(|| {
                eprintln!("nats-auth: {name} needs a value");
                std::process::exit(2)
            })
        };
        match arg.as_str() {
            "--prefix" => prefix = value("--prefix"),
            "--stream" => stream = value("--stream"),
            "--user-suffix" => suffix = value("--user-suffix"),
            "--format" => format = value("--format"),
            "-h" | "--help" => {
                println!(
                    "usage: nats-auth [--prefix P] [--stream NAME] [--user-suffix S] [--format conf|helm]"
                );
                return;
            }
            other => {
                eprintln!("nats-auth: unknown argument {other:?} (see --help)");
                std::process::exit(2);
            }
        }
    }
    match format.as_str() {
        "conf" => print!("{}", permissions::server_config(&prefix, &stream, &suffix)),
        "helm" => print!("{}", permissions::helm_values(&prefix, &stream, &suffix, 0)),
        other => {
            eprintln!("nats-auth: unknown format {other:?} (conf or helm)");
            std::process::exit(2);
        }
    }
}
