//! What every Gadai process sets up the same way, before any HTTP or bus: configuration from the
//! environment, telemetry (logs, traces), the command line, and the allocator's settings.

pub mod cli;
pub mod config;
pub mod memory;
pub mod telemetry;
