//! verification-mailer: mails one-time codes and checks them.
//!
//! - `sender`: each `verification.requested` becomes one e-mail (lettre) and one
//!   `verification.sent` or `verification.failed`.
//! - `check`: answers `rpc.verification.check` over NATS request/reply, under budgets shared by
//!   the replicas, and publishes `order.verified` on a match.
//! - `projection`: each order's recipient and whether it can still be verified, and the
//!   newest mail template (`gadai-mail-template` renders it). Recipients stay sealed under the
//!   customer's key; `customer.erased` blanks them.
//!
//! The plaintext code exists only in memory and in the e-mail; the table keeps an HMAC. The
//! recipient's name and address are opened (with a key fetched over `rpc.keys.get`) only in
//! memory, for the one mail; no log line holds them, and no table holds them in the clear but
//! for orders recorded before sealing (until the one-time reseal and a rebuild).

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
