//! Making a retried bridge request safe.
//!
//! With an `Idempotency-Key` header, the key is the client's. Without one, the documented
//! fallback keys the request by the SHA-256 of its canonical body within a time window
//! (`IDEMPOTENCY_FALLBACK_WINDOW`): an identical body retried inside the window is the same
//! request, after it a new one. Order ids are derived from the key and the order's position,
//! so every replica, and every retry, mints the same ids; JetStream's `Nats-Msg-Id` dedupe and
//! the intake's key index then make the second attempt create nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Namespace of the order ids minted from idempotency keys.
const ORDER_NAMESPACE: Uuid = Uuid::from_u128(0x6761_6461_692d_6f72_6465_722d_6964_0001);
const MAX_KEY: usize = 255;

/// A client's `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKey(String);

impl ClientKey {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let key = raw.trim();
        if key.is_empty() || key.len() > MAX_KEY {
            return Err(format!("must be 1 to {MAX_KEY} characters"));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be visible ASCII characters without spaces".into());
        }
        Ok(ClientKey(key.to_owned()))
    }
}

/// SHA-256 (hex) of the body re-serialized with sorted keys, so formatting does not matter.
pub fn fingerprint(body: &Value) -> String {
    let canonical = serde_json::to_vec(body).expect("JSON values serialize");
    hex::encode(Sha256::digest(&canonical))
}

/// The keys under which an earlier attempt of this request may be indexed, newest first.
/// The first one is the key a new request is published under.
pub fn candidate_keys(
    client: Option<&ClientKey>,
    fingerprint: &str,
    now: DateTime<Utc>,
    window: Duration,
) -> Vec<String> {
    match client {
        Some(ClientKey(key)) => vec![format!("key:{key}")],
        None => {
            let width = window.as_secs().max(1) as i64;
            let bucket = now.timestamp().div_euclid(width);
            vec![
                format!("body:{fingerprint}:{bucket}"),
                format!("body:{fingerprint}:{}", bucket - 1),
            ]
        }
    }
}

/// The id of the `index`-th order of the request keyed `key`.
pub fn order_id(key: &str, index: usize) -> Uuid {
    Uuid::new_v5(&ORDER_NAMESPACE, format!("{key}#{index}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formatting_does_not_change_the_fingerprint() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":[1,2]}"#).unwrap();
        let b: Value = serde_json::from_str("{ \"a\" : [1, 2],\n \"b\": 1 }").unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&json!({"a": [2, 1], "b": 1})));
    }

    #[test]
    fn ids_are_stable_per_key_and_position() {
        assert_eq!(order_id("key:a", 0), order_id("key:a", 0));
        assert_ne!(order_id("key:a", 0), order_id("key:a", 1));
        assert_ne!(order_id("key:a", 0), order_id("key:b", 0));
    }

    #[test]
    fn the_fallback_looks_back_one_window() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let keys = candidate_keys(None, "ff", now, Duration::from_secs(600));
        assert_eq!(keys, ["body:ff:1666", "body:ff:1665"]);
        let client = ClientKey::parse("  abc-123 ").unwrap();
        assert_eq!(
            candidate_keys(Some(&client), "ff", now, Duration::from_secs(600)),
            ["key:abc-123"]
        );
    }

    #[test]
    fn keys_must_be_visible_ascii() {
        assert!(ClientKey::parse("").is_err());
        assert!(ClientKey::parse("a b").is_err());
        assert!(ClientKey::parse(&"x".repeat(256)).is_err());
        assert!(ClientKey::parse("550e8400-e29b-41d4-a716-446655440000").is_ok());
    }
}
