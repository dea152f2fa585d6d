use serde_json::{Value, json};

use crate::helpers::*;

async fn post(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.address))
        .header("X-API-Key", KEY)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_old_workflows_double_encoded_order_is_accepted() {
    let app = spawn_app().await;
    // Exactly what the old n8n HTTP tool sent: dataOrder is a JSON string holding dataOrder.
    let inner = json!({"dataOrder": [order(), {
        "nama_customer": "Rudi Hartono", "email": "rudi@example.com", "nama_barang": "emas UBS",
        "jenis_barang": "emas", "jumlah_barang": 5, "estimasi_nilai_barang": 6000000, "wilayah": "Jawa Timur"
    }]});
    let body = json!({ "dataOrder": inner.to_string() });
    let response = post(&app, "/order", &body).await;
    assert_eq!(response.status(), 200);
    let list: Vec<Value> = response.json().await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(
        list.iter()
            .all(|o| o["status"] == "On Process" && o["id"].is_string())
    );
    let messages = app.stream_messages().await;
    assert_eq!(messages.len(), 2);
    assert_eq!(
        app.opened(&messages[1].2["data"]).await.nama_barang,
        "Emas UBS"
    );

    // Same validation and the same idempotency as the bridge.
    let again: Vec<Value> = post(&app, "/order", &body).await.json().await.unwrap();
    assert_eq!(again, list, "a retry returns the same ids");
    assert_eq!(app.stream_messages().await.len(), 2);
    let mut bad = order();
    bad["jenis_barang"] = json!("kulkas");
    let invalid = json!({"dataOrder": json!({"dataOrder": [bad]}).to_string()});
    let response = post(&app, "/order", &invalid).await;
    assert_eq!(response.status(), 422);
    let detail: Value = response.json().await.unwrap();
    assert_eq!(
        detail["detail"][0]["loc"],
        json!(["body", 0, "jenis_barang"])
    );
    let response = post(&app, "/order", &json!({"dataOrder": "{not json"})).await;
    assert_eq!(response.status(), 422);
    let unauthorized = app
        .client
        .post(format!("{}/order", app.address))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    assert_eq!(app.stream_messages().await.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn a_quote_applies_the_regional_rule() {
    let app = spawn_app().await;
    let body = json!({"wilayah": "DKI Jakarta", "items": [
        {"nama_barang": "MacBook Air", "jumlah_barang": 1, "harga_satuan": 15000000},
        {"nama_barang": "Emas Antam", "jumlah_barang": 5, "harga_satuan": 1400000}
    ]});
    let response = post(&app, "/api/quote", &body).await;
    assert_eq!(response.status(), 200);
    let quote: Value = response.json().await.unwrap();
    assert_eq!(quote["persentase"], 80);
    assert_eq!(quote["items"][0]["nilai_pinjaman"], 12_000_000);
    assert_eq!(quote["items"][1]["nilai_pinjaman"], 5_600_000);
    assert_eq!(quote["total_nilai_pinjaman"], 17_600_000);
    for (province, pct) in [("jawa barat", 70), ("Jatim", 60), ("Sulawesi Selatan", 50)] {
        let q: Value = post(&app, "/api/quote", &json!({"wilayah": province, "items": [{"nama_barang": "TV", "jumlah_barang": 1, "harga_satuan": 1000}]}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(q["persentase"], pct, "{province}");
        assert_eq!(q["total_nilai_pinjaman"], pct * 10);
    }
    let missing = post(&app, "/api/quote", &json!({"items": []})).await;
    assert_eq!(missing.status(), 422);
    let detail: Value = missing.json().await.unwrap();
    assert_eq!(detail["detail"].as_array().unwrap().len(), 2);
    assert!(
        app.stream_messages().await.is_empty(),
        "a quote publishes nothing"
    );
    app.stop().await;
}
