//! Orders as the bridge accepts them: parsed once at the edge, trusted inside.

pub mod idempotency;
pub mod order;
pub mod quote;

pub use order::{Catalog, EmailPolicy, NewOrder, OrderRules, parse_orders};
