//! `rpc.verification.check`: the one request/reply of the system. dashboard-api asks, any
//! verification-mailer replica (queue group `verification-mailer`) answers.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The subject (under the prefix) and the responders' queue group. It is deliberately outside
/// `verification.>`: the stream captures that, and would store each request and answer it with
/// a PubAck.
pub const SUBJECT: &str = "rpc.verification.check";
pub const QUEUE_GROUP: &str = "verification-mailer";

/// Is this code valid? The code travels only inside this request, never in an event.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct CheckRequest {
    pub kode_unik: String,
    /// When given, failed attempts count against this order's code.
    #[serde(default)]
    pub order_id: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The code is valid: the caller publishes `order.verified`.
    Matched,
    /// Wrong, used, replaced or expired.
    NotFound,
    /// Too many failed attempts against the named order's code.
    Locked,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct CheckReply {
    pub outcome: Outcome,
    pub order_id: Option<Uuid>,
    pub verification_id: Option<Uuid>,
}

impl CheckReply {
    pub fn not(outcome: Outcome) -> Self {
        CheckReply {
            outcome,
            order_id: None,
            verification_id: None,
        }
    }
}
