//! The dashboard's view of an order, folded from its events, and the decisions operators'
//! commands make on it. Pure: no I/O.

pub mod decide;
pub mod operator;
pub mod order;

pub use decide::{Command, Limits, Refusal, decide};
pub use order::{OrderFacts, OrderView, Status};
