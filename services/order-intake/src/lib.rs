//! order-intake: the HTTP bridge n8n posts orders to.
//!
//! A request becomes validated [`domain::NewOrder`]s, each published as `order.created` with
//! the customer's personal fields sealed under their key; the answer comes after JetStream's
//! PubAck. The service projects `order.created` into its own idempotency index so retries stay
//! safe after the stream's duplicate window.
//!
//! It owns the customers' key store (`gadai_privacy`): it answers the other services'
//! `rpc.keys.get`, deletes a customer's key when `customer.erased` arrives, and re-seals events
//! recorded before sealing began ([`reseal`]).

pub mod config;
pub mod domain;
pub mod http;
pub mod keys;
pub mod projection;
pub mod read_model;
pub mod reseal;
pub mod startup;

pub use startup::Application;
