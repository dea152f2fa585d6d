//! The event catalog of DESIGN.md section 3.
//!
//! Every event travels as one JSON [`Envelope`]; its `data` is the payload of one [`EventKind`].
//! Decoding is strict at the edge: [`Event::decode`] turns bytes into a typed event or a
//! [`DecodeError`] that names what was wrong, so a poison message can be parked.

pub mod check;
mod schema;

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

pub use schema::{all_schemas, envelope_schema};

/// The envelope version every payload below is published with.
pub const VERSION: u32 = 1;

/// The actor recorded for events the system causes on its own (expiry, mail outcomes).
pub const SYSTEM_ACTOR: &str = "system";
/// The actor recorded for orders that came through the n8n bridge.
pub const BRIDGE_ACTOR: &str = "n8n";

/// The JSON envelope shared by every event.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Envelope<D> {
    /// Unique id of this event (UUID v7).
    pub id: Uuid,
    /// The event type, equal to the NATS subject without the configured prefix.
    #[serde(rename = "type")]
    pub kind: String,
    /// Payload version; changes within a version are additive only.
    pub version: u32,
    /// When the fact happened (RFC 3339, UTC).
    pub occurred_at: DateTime<Utc>,
    /// The order this event is about. Events of other things name the order they concern, or
    /// the nil UUID when there is none: a hand-off (`customer.*`) names the order the customer
    /// referred to, a mail template change (`verification.template_changed`) none.
    pub order_id: Uuid,
    /// Who caused it: `n8n`, an operator's id, or `system`.
    pub actor: String,
    /// The type-specific payload.
    pub data: D,
}

/// `order.created`: a valid order came through the bridge.
///
/// When `subject` is present the personal fields (`nama_customer`, `email`, `nama_barang`,
/// `id_percakapan`) are sealed under that customer's key (`pii:v1:<generation>:...`, see
/// `gadai-privacy`); orders recorded before sealing have no `subject` and plaintext fields.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct OrderCreated {
    pub nama_customer: String,
    pub email: String,
    /// The item as the customer described it: free text, so sealed like the name.
    pub nama_barang: String,
    /// Category, lower case, from the configured catalog.
    pub jenis_barang: String,
    /// Units, or grams for gold.
    pub jumlah_barang: i64,
    /// Estimated value in Rupiah.
    pub estimasi_nilai_barang: i64,
    pub wilayah: String,
    #[serde(default)]
    pub id_percakapan: Option<String>,
    /// Present when the order came from a request with an idempotency key (or its fallback).
    #[serde(default)]
    pub idempotency: Option<IdempotencyRef>,
    /// The customer's subject id (keyed hash of the e-mail) whose key sealed the personal
    /// fields; absent on orders recorded before sealing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// Where an order sits in the idempotent request that created it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct IdempotencyRef {
    /// The effective idempotency key (client's header, or the documented fallback).
    pub key: String,
    /// SHA-256 (hex) of the canonical request body.
    pub fingerprint: String,
    /// Position of this order in the request's batch, from 0.
    pub index: u32,
    /// How many orders the request held.
    pub count: u32,
}

/// `verification.requested`: an operator asked for a code to be sent.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct VerificationRequested {
    /// How many sends were requested for this order before this one.
    pub request_no: u32,
    /// Where the code goes, sealed under the customer's key by dashboard-api from its read
    /// model: the mailer needs nothing else of the order (it keeps no copy of every order's
    /// name and address). Absent on requests recorded before this field; the mailer fails
    /// those for good and the operator sends again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Recipient>,
}

impl VerificationRequested {
    /// Request `request_no` with no recipient yet (dashboard-api seals it in before publishing).
    pub fn numbered(request_no: u32) -> Self {
        VerificationRequested {
            request_no,
            recipient: None,
        }
    }
}

/// The name and address a code is mailed to, each sealed under the key of `subject`
/// (`pii:v1:<generation>:...`, see `gadai-privacy`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Recipient {
    /// The customer's subject id (keyed hash of the e-mail).
    pub subject: String,
    pub nama_customer: String,
    pub email: String,
}

/// `verification.sent`: the SMTP server accepted the mail.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct VerificationSent {
    pub verification_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// `verification.failed`: sending failed for good.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct VerificationFailed {
    pub verification_id: Uuid,
    pub reason: String,
}

/// `order.verified`: the customer's code matched.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct OrderVerified {
    pub verification_id: Uuid,
}

/// `order.expired`: no valid code arrived before `expires_at`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct OrderExpired {
    pub verification_id: Uuid,
}

/// `order.deleted`: an operator deleted the order.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct OrderDeleted {
    #[serde(default)]
    pub reason: Option<String>,
}

/// `customer.handoff_opened`: the agent handed a conversation to a person (the customer asked
/// for one, or the question is outside its knowledge).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct HandoffOpened {
    /// The hand-off's id (derived from the agent's request, so a retry names the same one).
    pub handoff_id: Uuid,
    /// The chat conversation the officer can read back.
    pub id_percakapan: String,
    pub nama_customer: String,
    pub email: String,
    /// The order reference the customer gave, when any (8 hex digits, upper case).
    #[serde(default)]
    pub referensi: Option<String>,
    /// What the customer needs, in the agent's words.
    pub ringkasan: String,
    /// The customer's subject id whose key sealed `id_percakapan`, `nama_customer`, `email` and
    /// `ringkasan`; absent on hand-offs recorded before sealing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// `customer.erased`: a customer's personal data is erased (UU PDP 27/2022): their key is
/// deleted from the key store, so every field sealed under it, in every copy of the stream,
/// becomes unreadable, and every projection blanks what it holds of them. The event names the
/// customer only by subject id; it records who (`actor`), when (`occurred_at`) and why.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct CustomerErased {
    /// The customer's subject id (keyed hash of the e-mail).
    pub subject: String,
    /// Keys of this generation and older are erased (0: the customer had no key; only
    /// plaintext recorded before sealing is blanked).
    pub generation: u32,
    /// On what basis.
    pub dasar: ErasureBasis,
    /// Why: a request reference or the retention rule. Never personal data.
    pub alasan: String,
}

/// The basis of an erasure.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErasureBasis {
    /// The customer asked (an admin erased by e-mail or by one of the customer's orders).
    Permintaan,
    /// The retention period after the customer's last order or hand-off closed has passed.
    Retensi,
}

impl ErasureBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            ErasureBasis::Permintaan => "permintaan",
            ErasureBasis::Retensi => "retensi",
        }
    }
}

/// `customer.handoff_closed`: an operator contacted the customer ("sudah dihubungi").
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct HandoffClosed {
    pub handoff_id: Uuid,
}

/// `verification.template_changed`: an admin changed the verification mail's text; the mailer
/// uses the newest one for the next mail.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct TemplateChanged {
    pub template: MailTemplate,
}

/// The editable parts of the verification mail, in Bahasa Indonesia and English. Placeholders:
/// `{nama}`, `{referensi}`, `{kode}` (required in `instructions`) and `{berlaku_sampai}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct MailTemplate {
    pub id: MailText,
    pub en: MailText,
}

/// One language's parts of the verification mail.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct MailText {
    pub subject: String,
    pub greeting: String,
    pub instructions: String,
    pub footer: String,
}

/// The payload of an event, one variant per type of the catalog. It serializes as the payload
/// itself (the envelope's `data`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EventKind {
    OrderCreated(OrderCreated),
    VerificationRequested(VerificationRequested),
    VerificationSent(VerificationSent),
    VerificationFailed(VerificationFailed),
    OrderVerified(OrderVerified),
    OrderExpired(OrderExpired),
    OrderDeleted(OrderDeleted),
    HandoffOpened(HandoffOpened),
    HandoffClosed(HandoffClosed),
    TemplateChanged(TemplateChanged),
    CustomerErased(CustomerErased),
}

/// Every type name of the catalog, in the order of DESIGN.md section 3.
pub const EVENT_TYPES: [&str; 11] = [
    "order.created",
    "verification.requested",
    "verification.sent",
    "verification.failed",
    "order.verified",
    "order.expired",
    "order.deleted",
    "customer.handoff_opened",
    "customer.handoff_closed",
    "verification.template_changed",
    "customer.erased",
];

/// The subjects (under the prefix) the stream captures: every event type is under one of them.
pub const STREAM_SUBJECTS: [&str; 3] = ["order.>", "verification.>", "customer.>"];

impl EventKind {
    /// The type name, which is also the subject (before the prefix).
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::OrderCreated(_) => "order.created",
            EventKind::VerificationRequested(_) => "verification.requested",
            EventKind::VerificationSent(_) => "verification.sent",
            EventKind::VerificationFailed(_) => "verification.failed",
            EventKind::OrderVerified(_) => "order.verified",
            EventKind::OrderExpired(_) => "order.expired",
            EventKind::OrderDeleted(_) => "order.deleted",
            EventKind::HandoffOpened(_) => "customer.handoff_opened",
            EventKind::HandoffClosed(_) => "customer.handoff_closed",
            EventKind::TemplateChanged(_) => "verification.template_changed",
            EventKind::CustomerErased(_) => "customer.erased",
        }
    }

    /// Whether this event is part of an order's life (the others name an order at most in
    /// passing: hand-offs, mail templates).
    pub fn is_order_event(&self) -> bool {
        !matches!(
            self,
            EventKind::HandoffOpened(_)
                | EventKind::HandoffClosed(_)
                | EventKind::TemplateChanged(_)
                | EventKind::CustomerErased(_)
        )
    }

    fn data_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("payload types serialize to JSON")
    }

    /// The payload of type `kind` from `data`: a stored JSON value, or the raw text of an
    /// envelope's `data`, parsed straight into its type.
    fn from_data<'de, D>(kind: &str, data: D) -> Result<Self, DecodeError>
    where
        D: serde::Deserializer<'de, Error = serde_json::Error>,
    {
        fn parse<'de, T: Deserialize<'de>>(
            kind: &str,
            data: impl serde::Deserializer<'de, Error = serde_json::Error>,
        ) -> Result<T, DecodeError> {
            T::deserialize(data).map_err(|e| DecodeError::Data {
                kind: kind.to_owned(),
                reason: e.to_string(),
            })
        }
        Ok(match kind {
            "order.created" => EventKind::OrderCreated(parse(kind, data)?),
            "verification.requested" => EventKind::VerificationRequested(parse(kind, data)?),
            "verification.sent" => EventKind::VerificationSent(parse(kind, data)?),
            "verification.failed" => EventKind::VerificationFailed(parse(kind, data)?),
            "order.verified" => EventKind::OrderVerified(parse(kind, data)?),
            "order.expired" => EventKind::OrderExpired(parse(kind, data)?),
            "order.deleted" => EventKind::OrderDeleted(parse(kind, data)?),
            "customer.handoff_opened" => EventKind::HandoffOpened(parse(kind, data)?),
            "customer.handoff_closed" => EventKind::HandoffClosed(parse(kind, data)?),
            "verification.template_changed" => EventKind::TemplateChanged(parse(kind, data)?),
            "customer.erased" => EventKind::CustomerErased(parse(kind, data)?),
            other => return Err(DecodeError::UnknownType(other.to_owned())),
        })
    }
}

/// An envelope as it arrives: its `data` stays raw JSON text until its `type` says what to
/// parse it into (no intermediate tree of values).
#[derive(Deserialize)]
struct Arriving<'a> {
    id: Uuid,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    version: u32,
    occurred_at: DateTime<Utc>,
    order_id: Uuid,
    actor: String,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// A typed event: the envelope with its payload decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub version: u32,
    pub occurred_at: DateTime<Utc>,
    pub order_id: Uuid,
    pub actor: String,
    pub kind: EventKind,
}

/// Why bytes from the stream are not an event we understand.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("not a JSON event envelope: {0}")]
    Envelope(String),
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    #[error("unsupported version {version} of {kind}")]
    Version { kind: String, version: u32 },
    #[error("invalid data for {kind}: {reason}")]
    Data { kind: String, reason: String },
    #[error("type {envelope:?} does not match subject {subject:?}")]
    SubjectMismatch { envelope: String, subject: String },
}

impl Event {
    /// A new event happening now, with a fresh UUID v7 id.
    pub fn new(order_id: Uuid, actor: impl Into<String>, kind: EventKind) -> Self {
        Event {
            id: Uuid::now_v7(),
            version: VERSION,
            occurred_at: Utc::now(),
            order_id,
            actor: actor.into(),
            kind,
        }
    }

    pub fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }

    /// The JSON envelope of this event.
    pub fn to_envelope(&self) -> Envelope<serde_json::Value> {
        self.envelope_with(self.kind.data_json())
    }

    /// The envelope as JSON bytes, the payload serialized in place.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(&self.envelope_with(&self.kind)).expect("envelopes serialize to JSON")
    }

    fn envelope_with<D>(&self, data: D) -> Envelope<D> {
        Envelope {
            id: self.id,
            kind: self.type_name().to_owned(),
            version: self.version,
            occurred_at: self.occurred_at,
            order_id: self.order_id,
            actor: self.actor.clone(),
            data,
        }
    }

    /// Rebuilds an event from stored parts (a history row): the payload is checked again.
    pub fn from_parts(
        id: Uuid,
        type_name: &str,
        occurred_at: DateTime<Utc>,
        order_id: Uuid,
        actor: String,
        data: serde_json::Value,
    ) -> Result<Self, DecodeError> {
        Ok(Event {
            id,
            version: VERSION,
            occurred_at,
            order_id,
            actor,
            kind: EventKind::from_data(type_name, data)?,
        })
    }

    /// The payload as JSON (the envelope's `data`).
    pub fn data_json(&self) -> serde_json::Value {
        self.kind.data_json()
    }

    /// Decodes an envelope; newer versions than we know are refused, not guessed at.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let envelope: Arriving<'_> =
            serde_json::from_slice(bytes).map_err(|e| DecodeError::Envelope(e.to_string()))?;
        if envelope.version != VERSION {
            return Err(DecodeError::Version {
                kind: envelope.kind.into_owned(),
                version: envelope.version,
            });
        }
        let kind = EventKind::from_data(&envelope.kind, envelope.data)?;
        Ok(Event {
            id: envelope.id,
            version: envelope.version,
            occurred_at: envelope.occurred_at,
            order_id: envelope.order_id,
            actor: envelope.actor,
            kind,
        })
    }

    /// Decodes and checks that the envelope's type is the subject it arrived on.
    pub fn decode_from(subject_type: &str, bytes: &[u8]) -> Result<Self, DecodeError> {
        let event = Event::decode(bytes)?;
        if event.type_name() != subject_type {
            return Err(DecodeError::SubjectMismatch {
                envelope: event.type_name().to_owned(),
                subject: subject_type.to_owned(),
            });
        }
        Ok(event)
    }

    /// The `Nats-Msg-Id` of this event, per the catalog's dedupe keys.
    ///
    /// `verification.requested` needs the count of earlier requests, which it carries.
    pub fn dedupe_key(&self) -> String {
        let order = self.order_id;
        match &self.kind {
            EventKind::OrderCreated(_) => format!("order.created:{order}"),
            EventKind::VerificationRequested(d) => {
                format!("verification.requested:{order}:{}", d.request_no)
            }
            EventKind::VerificationSent(d) => format!("verification.sent:{}", d.verification_id),
            EventKind::VerificationFailed(d) => {
                format!("verification.failed:{}", d.verification_id)
            }
            EventKind::OrderVerified(_) => format!("order.verified:{order}"),
            EventKind::OrderExpired(d) => format!("order.expired:{order}:{}", d.verification_id),
            EventKind::OrderDeleted(_) => format!("order.deleted:{order}"),
            EventKind::HandoffOpened(d) => format!("customer.handoff_opened:{}", d.handoff_id),
            EventKind::HandoffClosed(d) => format!("customer.handoff_closed:{}", d.handoff_id),
            EventKind::TemplateChanged(_) => format!("verification.template_changed:{}", self.id),
            // One erasure per generation: a retried request and two replicas of the retention
            // sweep publish one event.
            EventKind::CustomerErased(d) => {
                format!("customer.erased:{}:{}", d.subject, d.generation)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created() -> EventKind {
        EventKind::OrderCreated(OrderCreated {
            nama_customer: "Budi Santoso".into(),
            email: "budi@example.com".into(),
            nama_barang: "iPhone 14".into(),
            jenis_barang: "handphone".into(),
            jumlah_barang: 1,
            estimasi_nilai_barang: 10_000_000,
            wilayah: "DKI Jakarta".into(),
            id_percakapan: None,
            idempotency: None,
            subject: None,
        })
    }

    fn text(instructions: &str) -> MailText {
        MailText {
            subject: "Subjek".into(),
            greeting: "Halo {nama}".into(),
            instructions: instructions.into(),
            footer: "Pegadaian".into(),
        }
    }

    #[test]
    fn every_type_lies_under_a_stream_subject() {
        for name in EVENT_TYPES {
            let root = name.split('.').next().unwrap();
            assert!(
                STREAM_SUBJECTS.contains(&format!("{root}.>").as_str()),
                "{name} is not captured by the stream"
            );
        }
    }

    #[test]
    fn every_kind_round_trips_through_its_envelope() {
        let v = Uuid::now_v7();
        let kinds = [
            created(),
            EventKind::VerificationRequested(VerificationRequested::numbered(2)),
            EventKind::VerificationSent(VerificationSent {
                verification_id: v,
                expires_at: Utc::now(),
            }),
            EventKind::VerificationFailed(VerificationFailed {
                verification_id: v,
                reason: "550 mailbox unavailable".into(),
            }),
            EventKind::OrderVerified(OrderVerified { verification_id: v }),
            EventKind::OrderExpired(OrderExpired { verification_id: v }),
            EventKind::OrderDeleted(OrderDeleted { reason: None }),
            EventKind::HandoffOpened(HandoffOpened {
                handoff_id: v,
                id_percakapan: "chat-1".into(),
                nama_customer: "Budi Santoso".into(),
                email: "budi@example.com".into(),
                referensi: Some("3F9A0C12".into()),
                ringkasan: "Ingin bicara dengan petugas".into(),
                subject: None,
            }),
            EventKind::HandoffClosed(HandoffClosed { handoff_id: v }),
            EventKind::TemplateChanged(TemplateChanged {
                template: MailTemplate {
                    id: text("Kode {kode}"),
                    en: text("Code {kode}"),
                },
            }),
            EventKind::CustomerErased(CustomerErased {
                subject: "ab".repeat(32),
                generation: 2,
                dasar: ErasureBasis::Retensi,
                alasan: "retensi 365 hari".into(),
            }),
        ];
        let names: Vec<_> = kinds.iter().map(EventKind::type_name).collect();
        assert_eq!(names, EVENT_TYPES);
        for kind in kinds {
            let event = Event::new(Uuid::now_v7(), "operator-1", kind);
            let decoded = Event::decode_from(event.type_name(), &event.encode()).unwrap();
            assert_eq!(decoded, event);
        }
    }

    #[test]
    fn decoding_names_what_is_wrong() {
        assert!(matches!(
            Event::decode(b"{not json"),
            Err(DecodeError::Envelope(_))
        ));
        let mut env = Event::new(Uuid::now_v7(), "n8n", created()).to_envelope();
        env.kind = "order.teleported".into();
        let bytes = serde_json::to_vec(&env).unwrap();
        assert_eq!(
            Event::decode(&bytes),
            Err(DecodeError::UnknownType("order.teleported".into()))
        );
        env.kind = "order.created".into();
        env.data = serde_json::json!({"nama_customer": 5});
        let err = Event::decode(&serde_json::to_vec(&env).unwrap()).unwrap_err();
        assert!(matches!(err, DecodeError::Data { .. }), "{err:?}");
        env.version = 9;
        let err = Event::decode(&serde_json::to_vec(&env).unwrap()).unwrap_err();
        assert!(matches!(err, DecodeError::Version { version: 9, .. }));
    }

    #[test]
    fn an_envelope_decodes_whatever_its_key_order_escapes_and_extra_keys() {
        // `data` before `type`, escaped text in the payload and the envelope, a key we do not
        // know: the payload is kept as raw text until the type is read, then parsed as it.
        let text = r#"{"data":{"nama_customer":"Budi \"Bude\" Santoso","email":"b@x.id",
            "nama_barang":"Kamera \u00e9","jenis_barang":"kamera","jumlah_barang":2,
            "estimasi_nilai_barang":3500000,"wilayah":"Jawa\nBarat"},"later":[1,{"a":2}],
            "actor":"op\u002d1","version":1,"order_id":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
            "occurred_at":"2026-12-03T14:00:00Z","id":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c",
            "type":"order.created"}"#;
        let event = Event::decode_from("order.created", text.as_bytes()).unwrap();
        assert_eq!(event.actor, "op-1");
        assert_eq!(event.occurred_at.to_rfc3339(), "2026-12-03T14:00:00+00:00");
        let EventKind::OrderCreated(order) = &event.kind else {
            panic!("{:?}", event.kind);
        };
        assert_eq!(order.nama_customer, "Budi \"Bude\" Santoso");
        assert_eq!(order.nama_barang, "Kamera é");
        assert_eq!(order.wilayah, "Jawa\nBarat");
        assert_eq!(order.jumlah_barang, 2);
        // Encoded in place, the payload is what the envelope of values says it is.
        let encoded: serde_json::Value = serde_json::from_slice(&event.encode()).unwrap();
        assert_eq!(encoded, serde_json::to_value(event.to_envelope()).unwrap());
        assert_eq!(Event::decode(&event.encode()).unwrap(), event);
    }

    #[test]
    fn an_envelope_on_the_wrong_subject_is_refused() {
        let event = Event::new(Uuid::now_v7(), "n8n", created());
        let err = Event::decode_from("order.deleted", &event.encode()).unwrap_err();
        assert!(matches!(err, DecodeError::SubjectMismatch { .. }));
    }

    #[test]
    fn dedupe_keys_follow_the_catalog() {
        let order = Uuid::now_v7();
        let req = Event::new(
            order,
            "op",
            EventKind::VerificationRequested(VerificationRequested::numbered(0)),
        );
        assert_eq!(
            req.dedupe_key(),
            format!("verification.requested:{order}:0")
        );
        let del = Event::new(
            order,
            "op",
            EventKind::OrderDeleted(OrderDeleted { reason: None }),
        );
        assert_eq!(del.dedupe_key(), format!("order.deleted:{order}"));
    }
}
