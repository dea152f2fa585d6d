//! The committed schemas in `proto-schemas/events` must be what the Rust types generate.

use std::path::PathBuf;

fn committed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto-schemas/events")
}

#[test]
fn committed_schemas_match_the_types() {
    let mut drifted = Vec::new();
    for (name, schema) in gadai_events::all_schemas() {
        let path = committed_dir().join(format!("{name}.json"));
        let committed: serde_json::Value = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).expect("committed schema is JSON"),
            Err(_) => {
                drifted.push(format!("{name}: missing {}", path.display()));
                continue;
            }
        };
        if committed != schema {
            drifted.push(format!("{name}: differs from the Rust type"));
        }
    }
    assert!(
        drifted.is_empty(),
        "schemas drifted (run `cargo run -p gadai-events --bin gen-schemas`): {drifted:#?}"
    );
}

#[test]
fn an_event_the_code_publishes_validates_against_its_schema_shape() {
    // A light structural check without a validator crate: every required property of the
    // generated schema is present in an encoded envelope.
    let event = gadai_events::Event::new(
        uuid::Uuid::now_v7(),
        "n8n",
        gadai_events::EventKind::OrderDeleted(gadai_events::OrderDeleted { reason: None }),
    );
    let encoded: serde_json::Value = serde_json::from_slice(&event.encode()).unwrap();
    let schema = gadai_events::envelope_schema::<gadai_events::OrderDeleted>("order.deleted");
    for field in schema["required"].as_array().unwrap() {
        let field = field.as_str().unwrap();
        assert!(encoded.get(field).is_some(), "missing {field}");
    }
    assert_eq!(encoded["type"], schema["properties"]["type"]["const"]);
}
