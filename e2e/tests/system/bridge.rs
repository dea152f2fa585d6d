use std::time::Duration;

use gadai_test_support::{eventually, smtp::SmtpServer};
use serde_json::{Value, json};

use crate::harness::*;

#[tokio::test]
async fn an_order_posted_to_the_bridge_appears_in_the_dashboard_list_and_stats() {
    let smtp = SmtpServer::start().await;
    let system = start(Knobs::with_smtp(&smtp)).await;
    let body = json!([
        order("siti@example.com"),
        {"nama_customer": "Agus", "email": "agus@example.com", "nama_barang": "emas antam",
         "jenis_barang": "Emas", "jumlah_barang": "10", "estimasi_nilai_barang": 12000000, "wilayah": "DKI Jakarta"}
    ]);
    let response = system
        .client
        .post(format!("{}/api/insert-orders", system.intake))
        .header("X-API-Key", KEY)
        .header("Idempotency-Key", "e2e-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let mut want: Vec<String> = created["order_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    want.sort();

    let listed = eventually(Duration::from_secs(10), || async {
        let mut ids = system.active_ids().await;
        ids.sort();
        (ids.len() == 2).then_some(ids)
    })
    .await;
    assert_eq!(listed, want);
    let orders: Vec<Value> = system.get_json("/dashboard/orders").await;
    let siti = orders
        .iter()
        .find(|o| o["email"] == "siti@example.com")
        .unwrap();
    assert_eq!(siti["nama_customer"], "Siti Rahma");
    assert_eq!(siti["status"], "On Process");
    let gold = orders.iter().find(|o| o["jenis_barang"] == "emas").unwrap();
    assert_eq!(gold["nama_barang"], "Emas Antam");
    assert_eq!(gold["jumlah_barang"], 10);

    let stats: Value = system
        .client
        .get(format!("{}/dashboard/stats", system.dashboard))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["total"], 2);
    assert_eq!(stats["total_estimasi_nilai"], 21_000_000);
    assert_eq!(stats["per_status"]["On Process"], 2);
    assert_eq!(stats["per_wilayah"].as_array().unwrap().len(), 2);

    // A retry of the same request changes nothing downstream either.
    let again = system
        .client
        .post(format!("{}/api/insert-orders", system.intake))
        .header("X-API-Key", KEY)
        .header("Idempotency-Key", "e2e-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 201);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(system.active_ids().await.len(), 2);
    system.stop().await;
    smtp.stop().await;
}
