//! dashboard-api: the operators' read model and API.
//!
//! Projects every event into its `dashboard` schema, serves `/dashboard/*` (orders, stats,
//! history, deletion, the live feed) and the built web app, and erases customers whose data has
//! been kept for the retention period ([`retention`]).

pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod limits;
pub mod projection;
pub mod read_model;
pub mod retention;
pub mod startup;

pub use startup::Application;
