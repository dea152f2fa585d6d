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
fn every_event_the_code_encodes_validates_against_its_committed_schema() {
    use gadai_events::*;
    let v = uuid::Uuid::now_v7();
    let kinds = [
        EventKind::OrderCreated(OrderCreated {
            nama_customer: "Budi".into(),
            email: "b@example.com".into(),
            nama_barang: "TV".into(),
            jenis_barang: "televisi".into(),
            jumlah_barang: 1,
            estimasi_nilai_barang: 1,
            wilayah: "Depok".into(),
            id_percakapan: Some("c-1".into()),
            idempotency: Some(IdempotencyRef {
                key: "key:1".into(),
                fingerprint: "ab".into(),
                index: 0,
                count: 1,
            }),
            subject: Some("ab".repeat(32)),
        }),
        EventKind::VerificationRequested(VerificationRequested::numbered(0)),
        EventKind::VerificationSent(VerificationSent {
            verification_id: v,
            expires_at: chrono::Utc::now(),
        }),
        EventKind::VerificationFailed(VerificationFailed {
            verification_id: v,
            reason: "x".into(),
        }),
        EventKind::OrderVerified(OrderVerified { verification_id: v }),
        EventKind::OrderExpired(OrderExpired { verification_id: v }),
        EventKind::OrderDeleted(OrderDeleted { reason: None }),
        EventKind::CustomerErased(CustomerErased {
            subject: "ab".repeat(32),
            generation: 1,
            dasar: ErasureBasis::Permintaan,
            alasan: "DPO-2026-001".into(),
        }),
    ];
    for kind in kinds {
        let event = Event::new(uuid::Uuid::now_v7(), "op", kind);
        let path = committed_dir().join(format!("{}.json", event.type_name()));
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
        let instance: serde_json::Value = serde_json::from_slice(&event.encode()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", event.type_name());

        // And the schema refuses what the decoder refuses: a wrong type, a missing field.
        let mut wrong = instance.clone();
        wrong["type"] = "order.teleported".into();
        assert!(!validator.is_valid(&wrong));
        let mut missing = instance;
        missing.as_object_mut().unwrap().remove("order_id");
        assert!(!validator.is_valid(&missing));
    }
}
