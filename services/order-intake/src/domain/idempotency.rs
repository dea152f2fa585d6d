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

/// A request as the idempotency decision sees it: who keyed it, what its body was, and when.
#[derive(Debug, Clone)]
pub struct Request {
    /// The client's `Idempotency-Key`; without one, the request is keyed by its body.
    pub client: Option<ClientKey>,
    /// [`fingerprint`] of the body.
    pub fingerprint: String,
    pub now: DateTime<Utc>,
    /// `IDEMPOTENCY_FALLBACK_WINDOW`: how long an identical body without a key is a retry.
    pub window: Duration,
}

impl Request {
    /// The keys to look up, newest first; see [`candidate_keys`].
    pub fn candidate_keys(&self) -> Vec<String> {
        candidate_keys(
            self.client.as_ref(),
            &self.fingerprint,
            self.now,
            self.window,
        )
    }
}

/// One order an earlier attempt published, as the intake's index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedOrder {
    pub key: String,
    /// The order's position in its request.
    pub index: usize,
    /// How many orders its request had.
    pub count: usize,
    pub fingerprint: String,
    pub order_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// An earlier attempt of a request, as the index knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earlier {
    pub key: String,
    pub fingerprint: String,
    pub count: usize,
    pub first_seen: DateTime<Utc>,
    /// Order ids by position; complete when `ids.len() == count`.
    pub ids: Vec<Uuid>,
}

impl Earlier {
    /// The earlier attempt under the first of `keys` (newest first) that `found` holds orders
    /// of, or none.
    pub fn first_of(keys: &[String], found: &[IndexedOrder]) -> Option<Earlier> {
        keys.iter().find_map(|key| {
            let mut mine: Vec<&IndexedOrder> = found.iter().filter(|o| &o.key == key).collect();
            mine.sort_by_key(|o| o.index);
            let first = mine.first()?;
            Some(Earlier {
                key: key.clone(),
                fingerprint: first.fingerprint.clone(),
                count: first.count,
                first_seen: mine.iter().map(|o| o.created_at).min()?,
                ids: mine.iter().map(|o| o.order_id).collect(),
            })
        })
    }
}

/// What to do with a request, given the earlier attempt found under its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A new request: publish its orders under `key`.
    New { key: String },
    /// The same request completed before: answer its orders again and publish nothing.
    Replay { ids: Vec<Uuid> },
    /// The same request published only some of its orders (it was answered 503): publish them
    /// all again under its `key`; the ids are the same, so the stored ones come back duplicates.
    Resume { key: String },
    /// The key was used before for a different body: 422.
    Conflict,
}

/// Decides a request against `earlier`, what [`Earlier::first_of`] found under its
/// [`Request::candidate_keys`]. A client's key counts forever; a fallback key only within the
/// window after its first order.
pub fn decide(request: &Request, earlier: Option<&Earlier>) -> Decision {
    let window = chrono::Duration::from_std(request.window).unwrap_or_default();
    let earlier =
        earlier.filter(|e| request.client.is_some() || request.now - e.first_seen <= window);
    match earlier {
        Some(e) if e.fingerprint != request.fingerprint => Decision::Conflict,
        Some(e) if e.ids.len() == e.count => Decision::Replay { ids: e.ids.clone() },
        Some(e) => Decision::Resume { key: e.key.clone() },
        None => Decision::New {
            key: request.candidate_keys().swap_remove(0),
        },
    }
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

    // The decision, given what the index found, when a request comes, then what it does.

    const WINDOW: Duration = Duration::from_secs(600);

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn request(client: Option<&str>, fingerprint: &str, now: i64) -> Request {
        Request {
            client: client.map(|k| ClientKey::parse(k).unwrap()),
            fingerprint: fingerprint.into(),
            now: at(now),
            window: WINDOW,
        }
    }

    fn indexed(
        key: &str,
        index: usize,
        count: usize,
        fingerprint: &str,
        secs: i64,
    ) -> IndexedOrder {
        IndexedOrder {
            key: key.into(),
            index,
            count,
            fingerprint: fingerprint.into(),
            order_id: order_id(key, index),
            created_at: at(secs),
        }
    }

    fn decide_over(request: &Request, found: &[IndexedOrder]) -> Decision {
        let earlier = Earlier::first_of(&request.candidate_keys(), found);
        decide(request, earlier.as_ref())
    }

    #[test]
    fn given_nothing_indexed_when_a_keyed_request_comes_then_it_is_new_under_the_clients_key() {
        let request = request(Some("k-1"), "ff", 1_000_000);
        assert_eq!(
            decide_over(&request, &[]),
            Decision::New {
                key: "key:k-1".into()
            }
        );
    }

    #[test]
    fn given_nothing_indexed_when_a_body_comes_without_a_key_then_it_is_new_in_the_current_bucket()
    {
        let request = request(None, "ff", 1_000_000);
        assert_eq!(
            decide_over(&request, &[]),
            Decision::New {
                key: "body:ff:1666".into()
            }
        );
    }

    #[test]
    fn given_a_completed_request_when_its_key_comes_again_then_its_ids_are_replayed() {
        let found = [
            indexed("key:k-1", 1, 2, "ff", 10),
            indexed("key:k-1", 0, 2, "ff", 10),
        ];
        // A client's key counts forever, long after the fallback window.
        let request = request(Some("k-1"), "ff", 1_000_000);
        assert_eq!(
            decide_over(&request, &found),
            Decision::Replay {
                ids: vec![order_id("key:k-1", 0), order_id("key:k-1", 1)]
            }
        );
    }

    #[test]
    fn given_a_half_done_request_when_its_key_comes_again_then_it_resumes_under_that_key() {
        let found = [indexed("key:k-1", 0, 3, "ff", 10)];
        let request = request(Some("k-1"), "ff", 20);
        assert_eq!(
            decide_over(&request, &found),
            Decision::Resume {
                key: "key:k-1".into()
            }
        );
    }

    #[test]
    fn given_a_request_under_a_key_when_the_key_comes_with_another_body_then_it_conflicts() {
        let found = [indexed("key:k-1", 0, 1, "ff", 10)];
        let request = request(Some("k-1"), "ee", 20);
        assert_eq!(decide_over(&request, &found), Decision::Conflict);
    }

    #[test]
    fn given_a_body_in_the_previous_bucket_when_it_comes_again_within_the_window_then_it_is_replayed()
     {
        // Bucket 1666 starts at 999_600; the earlier one was seen in bucket 1665.
        let found = [indexed("body:ff:1665", 0, 1, "ff", 999_500)];
        let request = request(None, "ff", 1_000_000);
        assert_eq!(
            decide_over(&request, &found),
            Decision::Replay {
                ids: vec![order_id("body:ff:1665", 0)]
            }
        );
    }

    #[test]
    fn given_a_body_seen_exactly_one_window_ago_when_it_comes_again_then_it_still_counts() {
        let found = [indexed("body:ff:1665", 0, 2, "ff", 999_400)];
        let request = request(None, "ff", 1_000_000);
        assert_eq!(
            decide_over(&request, &found),
            Decision::Resume {
                key: "body:ff:1665".into()
            }
        );
    }

    #[test]
    fn given_a_body_seen_over_a_window_ago_when_it_comes_again_then_it_is_new() {
        let found = [indexed("body:ff:1665", 0, 1, "ff", 999_399)];
        let request = request(None, "ff", 1_000_000);
        assert_eq!(
            decide_over(&request, &found),
            Decision::New {
                key: "body:ff:1666".into()
            }
        );
    }

    #[test]
    fn the_newest_key_found_wins_and_first_seen_is_its_oldest_order() {
        let found = [
            indexed("body:ff:1665", 0, 1, "ff", 999_500),
            indexed("body:ff:1666", 1, 2, "ff", 999_700),
            indexed("body:ff:1666", 0, 2, "ff", 999_650),
        ];
        let keys = request(None, "ff", 1_000_000).candidate_keys();
        let earlier = Earlier::first_of(&keys, &found).unwrap();
        assert_eq!(earlier.key, "body:ff:1666");
        assert_eq!(earlier.count, 2);
        assert_eq!(earlier.first_seen, at(999_650));
        assert_eq!(
            earlier.ids,
            [order_id("body:ff:1666", 0), order_id("body:ff:1666", 1)]
        );
        assert_eq!(Earlier::first_of(&keys, &[]), None);
    }
}
