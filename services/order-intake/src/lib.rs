//! order-intake: the HTTP bridge n8n posts orders to.
//!
//! A request becomes validated [`domain::NewOrder`]s, each published as `order.created`; the
//! answer comes after JetStream's PubAck. The service projects `order.created` into its own
//! idempotency index so retries stay safe after the stream's duplicate window.

pub mod config;
pub mod domain;
pub mod http;
pub mod projection;
pub mod read_model;
pub mod startup;

pub use startup::Application;
