//! expiry-sweeper: expires orders whose code was not used before `expires_at`, and erases
//! customers whose data has been kept for the retention period.
//!
//! Projects `verification.sent`, `order.verified`, `order.deleted` and `order.expired` into its
//! own table of open verifications, and every `SWEEP_INTERVAL` publishes `order.expired` for
//! those past due. Projects each customer's orders and hand-offs (`order.created`,
//! `customer.handoff_opened`, their closing events, `customer.erased`) by subject id, and every
//! `RETENTION_SWEEP_INTERVAL` publishes `customer.erased` for customers whose items have all
//! been closed for `RETENTION_PERIOD` (see [`retention`]). It holds no key and no personal field.

pub mod config;
pub mod domain;
pub mod projection;
pub mod read_model;
pub mod retention;
pub mod startup;
pub mod sweep;

pub use startup::Application;
