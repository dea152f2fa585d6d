//! W3C trace context in NATS headers.

use async_nats::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector};

/// Lets the OpenTelemetry propagator read and write NATS headers.
pub struct NatsHeaders<'a>(pub &'a mut HeaderMap);

impl Injector for NatsHeaders<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value.as_str());
    }
}

/// Read-only view for extraction.
pub struct NatsHeadersRef<'a>(pub &'a HeaderMap);

impl Extractor for NatsHeadersRef<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_ref()).collect()
    }
}
