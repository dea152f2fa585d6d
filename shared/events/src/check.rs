//! `rpc.verification.check`: the one request/reply of the system. dashboard-api asks, any
//! verification-mailer replica (queue group `verification-mailer`) answers.
//!
//! A check names the order its code was issued for (the order id, or the reference printed in
//! the mail), so a guess costs an attempt of that one code; a code alone is searched among all
//! live codes only when the operator opted into it (`VERIFY_ALLOW_CODE_ONLY`), under a budget of
//! its own. On a match the mailer publishes `order.verified` before it records the code as used,
//! so a matched code and its event never disagree.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The subject (under the prefix) and the responders' queue group. It is deliberately outside
/// `verification.>`: the stream captures that, and would store each request and answer it with
/// a PubAck.
pub const SUBJECT: &str = "rpc.verification.check";
pub const QUEUE_GROUP: &str = "verification-mailer";

/// Is this code valid for this order? The code travels only inside this request, never in an
/// event.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CheckRequest {
    pub kode_unik: String,
    /// The order the code was issued for; `None` only for the code-only opt-in.
    #[serde(default)]
    pub order: Option<OrderRef>,
}

/// How a check names its order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderRef {
    /// The order's id.
    Id(Uuid),
    /// The reference printed in the mail: the order id's first 8 hex digits, upper case.
    Reference(Reference),
}

/// An order reference as printed in the mail: the first 8 hex digits of the order id, upper
/// case (`3F9A0C12`). Parsed leniently (case, spaces, a `#` or dashes are forgiven).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub struct Reference(u32);

impl Reference {
    /// The reference of an order.
    pub fn of(order_id: Uuid) -> Self {
        Reference((order_id.as_u128() >> 96) as u32)
    }

    /// Parses what a customer typed: 8 hex digits, ignoring case, spaces, `#` and `-`.
    pub fn parse(text: &str) -> Option<Self> {
        let digits: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '#' | '-'))
            .collect();
        if digits.len() != 8 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(&digits, 16).ok().map(Reference)
    }

    /// The range of order ids that carry this reference: `[low, high]`.
    pub fn id_range(self) -> (Uuid, Uuid) {
        let base = (self.0 as u128) << 96;
        (
            Uuid::from_u128(base),
            Uuid::from_u128(base | ((1u128 << 96) - 1)),
        )
    }

    pub fn matches(self, order_id: Uuid) -> bool {
        Reference::of(order_id) == self
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:08X}", self.0)
    }
}

impl TryFrom<String> for Reference {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Reference::parse(&text).ok_or_else(|| format!("{text:?} is not an order reference"))
    }
}

impl From<Reference> for String {
    fn from(r: Reference) -> String {
        r.to_string()
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The code was valid: `order.verified` is on the stream (the mailer published it).
    Matched,
    /// Wrong, used, replaced or expired.
    NotFound,
    /// Too many failed attempts against the named order's code: it no longer works.
    Locked,
    /// The shared budget of failed checks (or of code-only checks) is spent for this window:
    /// nothing was checked. `retry_after_secs` says when the window ends.
    Throttled,
    /// The check could not be completed (the mailer's database or the stream did not answer):
    /// nothing changed, no attempt was counted. The caller answers 503; a retry is safe.
    Unavailable,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Matched,
        Outcome::NotFound,
        Outcome::Locked,
        Outcome::Throttled,
        Outcome::Unavailable,
    ];

    /// The wire name (as serialized), also the `outcome` label of the metrics.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Matched => "matched",
            Outcome::NotFound => "not_found",
            Outcome::Locked => "locked",
            Outcome::Throttled => "throttled",
            Outcome::Unavailable => "unavailable",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct CheckReply {
    pub outcome: Outcome,
    pub order_id: Option<Uuid>,
    pub verification_id: Option<Uuid>,
    /// With `Throttled`: seconds until the budget's window ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl CheckReply {
    pub fn not(outcome: Outcome) -> Self {
        CheckReply {
            outcome,
            order_id: None,
            verification_id: None,
            retry_after_secs: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcomes_label_is_its_wire_name() {
        for outcome in Outcome::ALL {
            assert_eq!(
                serde_json::to_value(outcome).unwrap(),
                serde_json::json!(outcome.label())
            );
        }
    }

    #[test]
    fn a_reference_is_the_ids_first_eight_hex_digits() {
        let id = Uuid::parse_str("3f9a0c12-7b44-5d6e-8f00-0123456789ab").unwrap();
        let r = Reference::of(id);
        assert_eq!(r.to_string(), "3F9A0C12");
        assert!(r.matches(id));
        let (low, high) = r.id_range();
        assert!(low <= id && id <= high);
        assert_eq!(low.to_string(), "3f9a0c12-0000-0000-0000-000000000000");
        assert_eq!(high.to_string(), "3f9a0c12-ffff-ffff-ffff-ffffffffffff");
    }

    #[test]
    fn references_are_parsed_leniently_and_nothing_else_passes() {
        let want = Reference::parse("3F9A0C12").unwrap();
        for typed in ["3f9a0c12", " 3F9A 0C12 ", "#3F9A-0C12"] {
            assert_eq!(Reference::parse(typed), Some(want), "{typed:?}");
        }
        for bad in [
            "",
            "3F9A0C1",
            "3F9A0C123",
            "3F9A0C1G",
            "ZZZZZZZZ",
            "3f9a0c12-7b44",
        ] {
            assert_eq!(Reference::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn requests_travel_as_json() {
        let id = Uuid::now_v7();
        let request = CheckRequest {
            kode_unik: "ABC234".into(),
            order: Some(OrderRef::Reference(Reference::of(id))),
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(
            json["order"]["reference"],
            serde_json::json!(Reference::of(id).to_string())
        );
        let back: CheckRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back.order, request.order);
        let by_id: CheckRequest =
            serde_json::from_value(serde_json::json!({"kode_unik": "X", "order": {"id": id}}))
                .unwrap();
        assert_eq!(by_id.order, Some(OrderRef::Id(id)));
    }
}
