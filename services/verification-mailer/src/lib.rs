//! verification-mailer: mails one-time codes and checks them.
//!
//! - `sender`: each `verification.requested` becomes one e-mail (lettre) and one
//!   `verification.sent` or `verification.failed`.
//! - `check`: answers `rpc.verification.check` over NATS request/reply, under budgets shared by
//!   the replicas, and publishes `order.verified` on a match.
//! - `projection`: which orders closed (verified, expired, deleted), which customers were
//!   erased, and the newest mail template (`gadai-mail-template` renders it). It reads no
//!   `order.created`: each request carries its recipient.
//!
//! The plaintext code exists only in memory and in the e-mail; the table keeps an HMAC. The
//! recipient's name and address come sealed under the customer's key in the request and are
//! opened (with a key fetched over `rpc.keys.get`) only in memory, for the one mail; no table
//! or log line holds them.

pub mod check;
pub mod config;
pub mod domain;
pub mod failpoint;
pub mod projection;
pub mod read_model;
pub mod sender;
pub mod startup;
pub mod transport;

pub use startup::Application;
