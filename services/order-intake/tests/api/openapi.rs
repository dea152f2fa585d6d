use gadai_test_support::openapi::{check_generated, documented, routed};
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn the_openapi_document_matches_the_routes() {
    let doc: Value = serde_json::from_str(order_intake::http::OPENAPI).unwrap();
    let source = include_str!("../../src/http/mod.rs");
    assert_eq!(
        documented(&doc),
        routed(source),
        "document and router disagree"
    );
    let app = spawn_app().await;
    let quote = serde_json::json!({"wilayah": "Bali", "items": [{"nama_barang": "TV", "jumlah_barang": 1, "harga_satuan": 1}]});
    let legacy =
        serde_json::json!({"dataOrder": serde_json::json!({"dataOrder": [order()]}).to_string()});
    for (method, path) in documented(&doc) {
        let body = match path.as_str() {
            "/api/quote" => quote.clone(),
            "/order" => legacy.clone(),
            _ => order(),
        };
        let response = app
            .client
            .request(method.parse().unwrap(), format!("{}{path}", app.address))
            .header("X-API-Key", KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{method} {path}: {}",
            response.status()
        );
    }
    let served: Value = app
        .client
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, doc);
    app.stop().await;
}

#[test]
fn the_committed_document_is_the_generated_one() {
    check_generated(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json")),
        order_intake::http::OPENAPI,
        &order_intake::http::openapi::document(),
    );
}
