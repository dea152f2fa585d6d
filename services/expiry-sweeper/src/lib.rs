//! expiry-sweeper: expires orders whose code was not used before `expires_at`.
//!
//! Projects `verification.sent`, `order.verified`, `order.deleted` and `order.expired` into its
//! own table of open verifications, and every `SWEEP_INTERVAL` publishes `order.expired` for
//! those past due. It holds no key, no personal field and nothing per customer (retention, which
//! erases customers whose data has been kept long enough, is dashboard-api's).

pub mod config;
pub mod domain;
pub mod projection;
pub mod read_model;
pub mod startup;
pub mod sweep;

pub use startup::Application;
