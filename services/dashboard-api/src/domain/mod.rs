//! The dashboard's view of an order, folded from its events. Pure: no I/O.

pub mod operator;
pub mod order;

pub use order::{OrderFacts, OrderView, Status};
