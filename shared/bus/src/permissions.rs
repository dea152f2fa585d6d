//! Who may do what on NATS: one table, rendered into the nats-server configuration that every
//! place starting NATS uses (`make run`, compose, the Helm values, the tests).
//!
//! Each service connects as its own user (by default named like the service) and may publish
//! only the subjects it owns, subscribe only to what it consumes and to its own inbox prefix,
//! and touch in JetStream only its stream's info and creation, its own durable consumers, its
//! replay consumer and the acks of its own consumers. Only the mailer may take
//! `rpc.verification.check` requests and answer them, and only order-intake (the key store's
//! owner) `rpc.keys.get` (`allow_responses`: it may publish to the reply subject of a request it
//! received, nothing else).
//!
//! Subjects are rendered for one subject prefix and one stream name. Production has an empty
//! prefix and stream `GADAI`; an environment that shares a NATS server with another gets its own
//! rendering (`nats-auth --prefix staging. --stream STAGING`), whose inbox prefixes differ too,
//! and user names that must not clash (`--user-suffix`), or better its own NATS account.
//!
//! The JetStream API subjects below are the ones async-nats 0.51 sends for what `Bus` does:
//!
//! | what | subjects |
//! |---|---|
//! | `ensure_stream` (get_or_create_stream), `last_sequence` | `$JS.API.STREAM.INFO.<stream>`, `$JS.API.STREAM.CREATE.<stream>` |
//! | durable pull consumer (get_or_create_consumer) | `$JS.API.CONSUMER.INFO.<stream>.<name>`, `$JS.API.CONSUMER.CREATE.<stream>.<name>[.<filter subject>]` (the filter in the subject only when there is exactly one) |
//! | fetching from it | `$JS.API.CONSUMER.MSG.NEXT.<stream>.<name>` (and `CONSUMER.INFO` after a reconnect) |
//! | ack, nak, term, double ack | `$JS.ACK.<stream>.<name>.>` |
//! | replay (an ordered consumer named `<service>-replay`) | `CONSUMER.CREATE`, `CONSUMER.INFO`, `CONSUMER.MSG.NEXT`, `CONSUMER.DELETE` of that name; async-nats names a re-created ordered consumer `<name>_1`, `<name>_2`, ... ([`REPLAY_RECREATES`] are allowed) |
//! | publishing an event | the event's subject; the PubAck comes to the inbox |
//!
//! Every reply (JetStream API answers, PubAcks, fetched messages, request replies) goes to the
//! client's inbox, `_INBOX_<service>` instead of the default `_INBOX`: a user allowed `_INBOX.>`
//! could read everyone's replies and fetched messages.

use std::fmt::Write;

/// One service's grants, without prefix and stream (filled in by [`Permissions::of`]).
#[derive(Debug, Clone, Copy)]
pub struct Role {
    /// The service, its default NATS user name and its inbox's name.
    pub service: &'static str,
    /// Environment variable holding the user's password where the server's configuration reads
    /// it (`$GADAI_INTAKE_NATS_PASSWORD`).
    pub password_var: &'static str,
    /// Subjects (under the prefix) it publishes: events (JetStream) and core NATS.
    pub publishes: &'static [&'static str],
    /// Core NATS subjects (under the prefix) it subscribes to, with the queue group when one is
    /// required.
    pub subscribes: &'static [(&'static str, Option<&'static str>)],
    /// Its durable consumers on the stream: name and the subjects it reads (under the prefix;
    /// none: the whole stream).
    pub consumers: &'static [(&'static str, &'static [&'static str])],
    /// It answers requests it received (the code check).
    pub answers_requests: bool,
    /// It reads a stored event by its sequence (`$JS.API.STREAM.MSG.GET.<stream>`): the bridge,
    /// to compare a duplicate with the request that met it.
    pub reads_stored: bool,
}

/// The permission table: publishes, subscribes and durable consumers of every service.
pub const ROLES: [Role; 4] = [
    Role {
        service: "order-intake",
        password_var: "GADAI_INTAKE_NATS_PASSWORD",
        publishes: &["order.created"],
        subscribes: &[("rpc.keys.get", Some("order-intake"))],
        consumers: &[("order-intake", &["order.created", "customer.erased"])],
        answers_requests: true,
        reads_stored: true,
    },
    Role {
        service: "dashboard-api",
        password_var: "GADAI_DASHBOARD_NATS_PASSWORD",
        publishes: &[
            "verification.requested",
            "order.deleted",
            "customer.handoff_opened",
            "customer.handoff_closed",
            "verification.template_changed",
            "customer.erased",
            "dashboard.changes",
            "rpc.verification.check",
            "rpc.keys.get",
        ],
        subscribes: &[("dashboard.changes", None)],
        consumers: &[("dashboard-api", &[])],
        answers_requests: false,
        reads_stored: false,
    },
    Role {
        service: "verification-mailer",
        password_var: "GADAI_MAILER_NATS_PASSWORD",
        publishes: &[
            "verification.sent",
            "verification.failed",
            "order.verified",
            "rpc.keys.get",
        ],
        subscribes: &[("rpc.verification.check", Some("verification-mailer"))],
        consumers: &[
            ("verification-mailer", &MAILER_PROJECTION_SUBJECTS),
            ("verification-mailer-send", &["verification.requested"]),
        ],
        answers_requests: true,
        reads_stored: false,
    },
    Role {
        service: "expiry-sweeper",
        password_var: "GADAI_SWEEPER_NATS_PASSWORD",
        publishes: &["order.expired"],
        subscribes: &[],
        consumers: &[("expiry-sweeper", &SWEEPER_SUBJECTS)],
        answers_requests: false,
        reads_stored: false,
    },
];

/// What the mailer's projection (closed orders, erasures and the mail template) reads: no
/// `order.created`, as a send request carries its recipient.
pub const MAILER_PROJECTION_SUBJECTS: [&str; 5] = [
    "order.verified",
    "order.expired",
    "order.deleted",
    "verification.template_changed",
    "customer.erased",
];

/// What the sweeper's projection (open verifications and when each expires) reads: no
/// `order.created`, as an order has nothing to expire until a code is sent.
pub const SWEEPER_SUBJECTS: [&str; 4] = [
    "verification.sent",
    "order.verified",
    "order.expired",
    "order.deleted",
];

/// How many re-creations of a replay's ordered consumer the permissions allow (async-nats
/// re-creates it after two missed heartbeats or a gap; a replay needing more stalls and fails,
/// and the rebuild is run again).
pub const REPLAY_RECREATES: u32 = 3;

/// The role of a service.
pub fn role(service: &str) -> Option<&'static Role> {
    ROLES.iter().find(|r| r.service == service)
}

/// The inbox prefix of `service` under subject prefix `prefix`: `_INBOX_<service>` without a
/// prefix, `_INBOX_<prefix with dots as underscores><service>` with one (`t_ab12.` ->
/// `_INBOX_t_ab12_order-intake`), so environments sharing a server have disjoint inboxes.
pub fn inbox_prefix(prefix: &str, service: &str) -> String {
    let env = prefix.replace('.', "_");
    format!("_INBOX_{env}{service}")
}

/// The name of the ordered consumer a replay (rebuild) of `service` uses.
pub fn replay_consumer(service: &str) -> String {
    format!("{service}-replay")
}

/// A role's grants, rendered for one prefix and stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    pub user: String,
    pub password_var: &'static str,
    pub publish: Vec<String>,
    pub subscribe: Vec<String>,
    pub allow_responses: bool,
}

impl Permissions {
    pub fn of(role: &Role, prefix: &str, stream: &str, user_suffix: &str) -> Self {
        let mut publish: Vec<String> = role
            .publishes
            .iter()
            .map(|s| format!("{prefix}{s}"))
            .collect();
        let api = "$JS.API";
        publish.push(format!("{api}.STREAM.INFO.{stream}"));
        publish.push(format!("{api}.STREAM.CREATE.{stream}"));
        if role.reads_stored {
            publish.push(format!("{api}.STREAM.MSG.GET.{stream}"));
        }
        for (name, filters) in role.consumers {
            publish.push(format!("{api}.CONSUMER.INFO.{stream}.{name}"));
            // One filter travels in the subject; none or several (filter_subjects) do not.
            publish.push(match filters {
                [f] => format!("{api}.CONSUMER.CREATE.{stream}.{name}.{prefix}{f}"),
                _ => format!("{api}.CONSUMER.CREATE.{stream}.{name}"),
            });
            publish.push(format!("{api}.CONSUMER.MSG.NEXT.{stream}.{name}"));
            publish.push(format!("$JS.ACK.{stream}.{name}.>"));
        }
        let replay = replay_consumer(role.service);
        let replays = std::iter::once(replay.clone())
            .chain((1..=REPLAY_RECREATES).map(|n| format!("{replay}_{n}")));
        for name in replays {
            for op in ["CREATE", "INFO", "MSG.NEXT", "DELETE"] {
                publish.push(format!("{api}.CONSUMER.{op}.{stream}.{name}"));
            }
        }
        let mut subscribe: Vec<String> = role
            .subscribes
            .iter()
            .map(|(s, queue)| match queue {
                Some(q) => format!("{prefix}{s} {q}"),
                None => format!("{prefix}{s}"),
            })
            .collect();
        subscribe.push(format!("{}.>", inbox_prefix(prefix, role.service)));
        Permissions {
            user: format!("{}{user_suffix}", role.service),
            password_var: role.password_var,
            publish,
            subscribe,
            allow_responses: role.answers_requests,
        }
    }
}

/// Every role rendered for `prefix` and `stream`.
pub fn all(prefix: &str, stream: &str, user_suffix: &str) -> Vec<Permissions> {
    ROLES
        .iter()
        .map(|r| Permissions::of(r, prefix, stream, user_suffix))
        .collect()
}

/// The nats-server `authorization { users = [...] }` block. Passwords are `$VAR` references to
/// the server's environment (each role's `password_var`), so the file holds no secret and the
/// server refuses to start when one is missing.
pub fn server_config(prefix: &str, stream: &str, user_suffix: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Generated by `cargo run -p gadai-bus --bin nats-auth -- --prefix '{prefix}' --stream '{stream}'`\n\
         # from shared/bus/src/permissions.rs: do not edit by hand. Passwords come from the server's\n\
         # environment; a user may publish and subscribe only what is listed."
    );
    out.push_str("authorization {\n  users = [\n");
    for p in all(prefix, stream, user_suffix) {
        let _ = writeln!(out, "    {{");
        let _ = writeln!(out, "      user: {}", quoted(&p.user));
        let _ = writeln!(out, "      password: ${}", p.password_var);
        out.push_str("      permissions: {\n");
        let _ = writeln!(
            out,
            "        publish: {{ allow: {} }}",
            list(&p.publish, 10)
        );
        let _ = writeln!(
            out,
            "        subscribe: {{ allow: {} }}",
            list(&p.subscribe, 10)
        );
        if p.allow_responses {
            out.push_str("        allow_responses: true\n");
        }
        out.push_str("      }\n    }\n");
    }
    out.push_str("  ]\n}\n");
    out
}

/// The same users as values for the official NATS Helm chart (`config.merge.authorization`),
/// the passwords as `<< $VAR >>` (the chart writes them unquoted: an environment reference
/// the server resolves; `container.env` fills them from the services' Secrets).
pub fn helm_values(prefix: &str, stream: &str, user_suffix: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let _ = writeln!(out, "{pad}authorization:");
    let _ = writeln!(out, "{pad}  users:");
    for p in all(prefix, stream, user_suffix) {
        let _ = writeln!(out, "{pad}    - user: {}", quoted(&p.user));
        let _ = writeln!(out, "{pad}      password: << ${} >>", p.password_var);
        let _ = writeln!(out, "{pad}      permissions:");
        for (what, subjects) in [("publish", &p.publish), ("subscribe", &p.subscribe)] {
            let _ = writeln!(out, "{pad}        {what}:");
            let _ = writeln!(out, "{pad}          allow:");
            for s in subjects {
                let _ = writeln!(out, "{pad}            - {}", quoted(s));
            }
        }
        if p.allow_responses {
            let _ = writeln!(out, "{pad}        allow_responses: true");
        }
    }
    out
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn list(items: &[String], indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::from("[\n");
    for item in items {
        let _ = writeln!(out, "{pad}  {}", quoted(item));
    }
    out.push_str(&pad);
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inboxes_of_environments_are_disjoint() {
        assert_eq!(inbox_prefix("", "order-intake"), "_INBOX_order-intake");
        assert_eq!(
            inbox_prefix("t_ab12.", "order-intake"),
            "_INBOX_t_ab12_order-intake"
        );
    }

    #[test]
    fn only_the_mailer_answers_code_checks_and_only_intake_key_requests() {
        let all = all("", "GADAI", "");
        for p in &all {
            let takes = p
                .subscribe
                .iter()
                .any(|s| s.starts_with("rpc.verification.check"));
            assert_eq!(takes, p.user == "verification-mailer", "{}", p.user);
            let takes_keys = p.subscribe.iter().any(|s| s.starts_with("rpc.keys.get"));
            assert_eq!(takes_keys, p.user == "order-intake", "{}", p.user);
            // Only the bridge reads stored events one by one (a duplicate's body).
            let reads = p.publish.iter().any(|s| s.contains(".STREAM.MSG.GET."));
            assert_eq!(reads, p.user == "order-intake", "{}", p.user);
            assert_eq!(
                p.allow_responses,
                p.user == "verification-mailer" || p.user == "order-intake"
            );
            assert!(
                !p.publish.iter().any(|s| s.starts_with("_INBOX")),
                "no one publishes to inboxes"
            );
        }
    }

    #[test]
    fn the_prefix_applies_to_subjects_and_filters() {
        let p = Permissions::of(role("order-intake").unwrap(), "t_x.", "T_X", "");
        assert!(p.publish.contains(&"t_x.order.created".to_owned()));
        // Two filter subjects (order.created, customer.erased) travel in the request, not the
        // subject.
        assert!(
            p.publish
                .contains(&"$JS.API.CONSUMER.CREATE.T_X.order-intake".to_owned())
        );
        // One filter travels in the subject, under the prefix.
        let mailer = Permissions::of(role("verification-mailer").unwrap(), "t_x.", "T_X", "");
        assert!(
            mailer.publish.contains(
                &"$JS.API.CONSUMER.CREATE.T_X.verification-mailer-send.t_x.verification.requested"
                    .to_owned()
            )
        );
        assert_eq!(
            p.subscribe,
            vec![
                "t_x.rpc.keys.get order-intake".to_owned(),
                "_INBOX_t_x_order-intake.>".to_owned()
            ]
        );
    }
}
