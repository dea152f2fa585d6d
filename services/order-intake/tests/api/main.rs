//! order-intake through its public surface, against real Postgres and NATS JetStream.

mod agent_tools;
mod helpers;
mod idempotency;
mod in_flight;
mod insert_orders;
mod openapi;
mod privacy;
mod reseal;
