//! JSON Schemas of the envelopes, generated from the Rust types.
//!
//! `gen-schemas` writes them to `proto-schemas/events/`; a test compares the committed files
//! with what the types produce, so the two cannot drift apart.

use schemars::{JsonSchema, generate::SchemaSettings};
use serde_json::{Value, json};

use crate::*;

/// The schema of one event type's full envelope, with `type` and `version` pinned.
pub fn envelope_schema<D: JsonSchema>(type_name: &str) -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<Envelope<D>>().to_value();
    schema["$id"] = json!(format!(
        "https://gadai.example/schemas/events/{type_name}.json"
    ));
    schema["title"] = json!(type_name);
    schema["properties"]["type"] = json!({ "const": type_name, "description": "The event type, equal to the NATS subject without the configured prefix." });
    schema["properties"]["version"] = json!({ "const": VERSION, "description": "Payload version; changes within a version are additive only." });
    schema
}

/// Every event type with its schema, in catalog order.
pub fn all_schemas() -> Vec<(&'static str, Value)> {
    let schemas = vec![
        envelope_schema::<OrderCreated>("order.created"),
        envelope_schema::<VerificationRequested>("verification.requested"),
        envelope_schema::<VerificationSent>("verification.sent"),
        envelope_schema::<VerificationFailed>("verification.failed"),
        envelope_schema::<OrderVerified>("order.verified"),
        envelope_schema::<OrderExpired>("order.expired"),
        envelope_schema::<OrderDeleted>("order.deleted"),
        envelope_schema::<HandoffOpened>("customer.handoff_opened"),
        envelope_schema::<HandoffClosed>("customer.handoff_closed"),
        envelope_schema::<TemplateChanged>("verification.template_changed"),
        envelope_schema::<CustomerErased>("customer.erased"),
    ];
    EVENT_TYPES.into_iter().zip(schemas).collect()
}
