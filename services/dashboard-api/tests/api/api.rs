use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

#[tokio::test]
async fn an_order_event_appears_in_the_list_and_the_stats() {
    let app = spawn_app().await;
    let id = app
        .create_order("Budi Santoso", "DKI Jakarta", 10_000_000)
        .await;
    app.caught_up().await;

    let orders = app.get_json("/dashboard/orders").await;
    let orders = orders.as_array().unwrap();
    assert_eq!(orders.len(), 1);
    let order = &orders[0];
    assert_eq!(order["id"], id.to_string());
    assert_eq!(order["status"], "On Process");
    assert_eq!(order["nama_customer"], "Budi Santoso");
    assert_eq!(order["estimasi_nilai_barang"], 10_000_000);
    assert_eq!(order["wilayah"], "DKI Jakarta");
    assert_eq!(order["sending"], false);

    let stats = app.get_json("/dashboard/stats").await;
    assert_eq!(stats["total"], 1);
    assert_eq!(stats["total_estimasi_nilai"], 10_000_000);
    assert_eq!(stats["per_status"]["On Process"], 1);
    assert_eq!(stats["per_status"]["Verified"], 0);
    assert_eq!(
        stats["per_wilayah"],
        json!([{"wilayah": "DKI Jakarta", "count": 1, "estimasi_nilai": 10_000_000}])
    );
    assert_eq!(stats["per_day"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn the_list_pages_filters_searches_and_sorts_on_the_server() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for (i, (name, wilayah)) in [
        ("Ani Wijaya", "Bandung"),
        ("Budi Santoso", "Jakarta"),
        ("Citra Lestari", "Bandung"),
        ("Dedi Kurnia", "Surabaya"),
        ("Eka Putri", "Bandung"),
    ]
    .into_iter()
    .enumerate()
    {
        ids.push(
            app.create_order(name, wilayah, (i as i64 + 1) * 1_000_000)
                .await,
        );
    }
    app.caught_up().await;

    // Newest first, two at a time, following the cursor.
    let mut seen = Vec::new();
    let mut path = "/dashboard/orders?limit=2".to_owned();
    loop {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-total-count"], "5");
        let next = response
            .headers()
            .get("x-next-cursor")
            .map(|v| v.to_str().unwrap().to_owned());
        let link = response
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_owned());
        let page: Vec<Value> = response.json().await.unwrap();
        assert!(page.len() <= 2);
        seen.extend(
            page.iter()
                .map(|o| o["nama_customer"].as_str().unwrap().to_owned()),
        );
        match next {
            Some(cursor) => {
                assert!(link.unwrap().contains("rel=\"next\""));
                path = format!("/dashboard/orders?limit=2&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "Eka Putri",
            "Dedi Kurnia",
            "Citra Lestari",
            "Budi Santoso",
            "Ani Wijaya"
        ]
    );

    let bandung: Vec<Value> = app
        .get_json("/dashboard/orders?wilayah=Bandung")
        .await
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(bandung.len(), 3);
    let search: Vec<Value> = app
        .get_json("/dashboard/orders?q=LESTARI")
        .await
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(search.len(), 1);
    assert_eq!(search[0]["nama_customer"], "Citra Lestari");
    let by_email = app.get_json("/dashboard/orders?q=dedi.kurnia%40").await;
    assert_eq!(by_email.as_array().unwrap().len(), 1);
    let by_value = app
        .get_json("/dashboard/orders?sort=estimasi_nilai_barang&order=asc&limit=1")
        .await;
    assert_eq!(by_value[0]["nama_customer"], "Ani Wijaya");
    let by_name = app
        .get_json("/dashboard/orders?sort=nama_customer&order=desc&limit=1")
        .await;
    assert_eq!(by_name[0]["nama_customer"], "Eka Putri");
    let on_process = app.get("/dashboard/orders?status=On%20Process").await;
    assert_eq!(on_process.headers()["x-total-count"], "5");
    let verified = app.get_json("/dashboard/orders?status=Verified").await;
    assert!(verified.as_array().unwrap().is_empty());
    let like_escape = app.get_json("/dashboard/orders?q=%25").await;
    assert!(like_escape.as_array().unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn bad_list_parameters_are_named() {
    let app = spawn_app().await;
    let response = app
        .get("/dashboard/orders?limit=0&status=Done&sort=price&cursor=zzz")
        .await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    let names: Vec<&str> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["loc"][1].as_str().unwrap())
        .collect();
    assert_eq!(names, ["limit", "status", "sort", "cursor"]);
    app.stop().await;
}

#[tokio::test]
async fn deleting_publishes_order_deleted_and_keeps_the_history() {
    let app = spawn_app().await;
    let id = app.create_order("Budi Santoso", "Jakarta", 1_000).await;
    app.caught_up().await;

    let unknown = app
        .client
        .delete(format!(
            "{}/dashboard/order/{}",
            app.address,
            Uuid::now_v7()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.json::<Value>().await.unwrap(),
        json!({"detail": "Order not found"})
    );
    let not_uuid = app
        .client
        .delete(format!("{}/dashboard/order/42", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(not_uuid.status(), 404);

    let response = app
        .client
        .delete(format!("{}/dashboard/order/{id}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"message": "Order berhasil dihapus"})
    );
    app.caught_up().await;

    assert!(
        app.get_json("/dashboard/orders")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    let stats = app.get_json("/dashboard/stats").await;
    assert_eq!(stats["total"], 0);
    assert_eq!(stats["per_status"]["Deleted"], 1);
    let detail = app.get_json(&format!("/dashboard/orders/{id}")).await;
    assert_eq!(detail["order"]["status"], "Deleted");
    let types: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["order.created", "order.deleted"]);
    assert_eq!(detail["history"][1]["actor"], "admin");

    let again = app
        .client
        .delete(format!("{}/dashboard/order/{id}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn unknown_dashboard_paths_are_json_404s() {
    let app = spawn_app().await;
    let response = app.get("/dashboard/nope").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap()["detail"],
        "Not Found"
    );
    let response = app
        .get(&format!("/dashboard/orders/{}", Uuid::now_v7()))
        .await;
    assert_eq!(response.status(), 404);
    app.stop().await;
}

/// 1,300 orders, 1,040 of them in Bandung (more than one 1,000-row export page), valued by their
/// number so a sort can be checked; returns the Bandung ids.
async fn publish_export_orders(app: &TestApp) -> Vec<Uuid> {
    let publishes = (0..1300).map(|i| {
        let bus = app.bus.clone();
        async move {
            let wilayah = if i % 5 == 0 { "Bogor" } else { "Bandung" };
            let id = Uuid::now_v7();
            let e =
                gadai_events::Event::new(id, "n8n", created(&format!("Nasabah {i}"), wilayah, i));
            bus.publish(&e).await.unwrap();
            (wilayah == "Bandung").then_some(id)
        }
    });
    futures::future::join_all(publishes)
        .await
        .into_iter()
        .flatten()
        .collect()
}

#[tokio::test]
async fn the_filtered_view_exports_as_csv_across_pages() {
    let app = spawn_app().await;
    publish_export_orders(&app).await;
    let tricky = gadai_events::Event::new(
        Uuid::now_v7(),
        "n8n",
        gadai_events::EventKind::OrderCreated(gadai_events::OrderCreated {
            nama_customer: "Budi, Jr.".into(),
            email: "budi@example.com".into(),
            nama_barang: "=HYPERLINK(\"http://x\")".into(),
            jenis_barang: "laptop".into(),
            jumlah_barang: 1,
            estimasi_nilai_barang: 5,
            wilayah: "Bandung".into(),
            id_percakapan: None,
            idempotency: None,
            subject: None,
        }),
    );
    app.publish(&tricky).await;
    app.caught_up().await;

    let response = app
        .get("/dashboard/orders/export?format=csv&wilayah=Bandung")
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"gadai-orders-")
    );
    let text = response.text().await.unwrap();
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    assert_eq!(
        lines.next().unwrap(),
        "\u{feff}id,status,nama_customer,email,nama_barang,jenis_barang,jumlah_barang,estimasi_nilai_barang,wilayah,id_percakapan,created_at"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(
        rows.len(),
        1040 + 1,
        "every Bandung order, across the 1,000-row pages"
    );
    assert!(rows.iter().all(|r| r.contains(",Bandung,")));
    let budi = rows.iter().find(|r| r.contains("Budi, Jr.")).unwrap();
    assert!(budi.contains("\"Budi, Jr.\""), "{budi}");
    assert!(
        budi.contains("\"'=HYPERLINK(\"\"http://x\"\")\""),
        "formulas are defused: {budi}"
    );
    let ids: std::collections::HashSet<&str> = rows.iter().map(|r| &r[..36]).collect();
    assert_eq!(ids.len(), rows.len(), "no row twice");

    let bad = app.get("/dashboard/orders/export?format=docx").await;
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(
        body["detail"],
        json!([{"loc": ["query", "format"], "msg": "must be csv, xlsx or pdf", "type": "value_error.format"}])
    );
    app.stop().await;
}

#[tokio::test]
async fn the_filtered_view_exports_as_xlsx_across_pages() {
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};

    let app = spawn_app().await;
    let expected: std::collections::HashSet<String> = publish_export_orders(&app)
        .await
        .iter()
        .map(|id| id.to_string())
        .collect();
    assert_eq!(expected.len(), 1040);
    app.caught_up().await;

    let response = app
        .get("/dashboard/orders/export?format=xlsx&wilayah=Bandung&sort=estimasi_nilai_barang&order=asc")
        .await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(
        headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let disposition = headers["content-disposition"].to_str().unwrap();
    let filename = disposition
        .strip_prefix("attachment; filename=\"gadai-orders-")
        .and_then(|rest| rest.strip_suffix(".xlsx\""))
        .unwrap_or_else(|| panic!("{disposition}"));
    assert!(
        filename.len() == 13
            && filename.as_bytes()[8] == b'-'
            && filename.chars().filter(char::is_ascii_digit).count() == 12,
        "YYYYMMDD-HHMM: {disposition}"
    );
    let bytes = response.bytes().await.unwrap();
    assert_eq!(
        headers["content-length"].to_str().unwrap(),
        bytes.len().to_string()
    );

    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert!(
        book.defined_names()
            .contains(&("_xlnm._FilterDatabase".into(), "Orders!$A$1:$K$1041".into())),
        "the autofilter covers the header and every row: {:?}",
        book.defined_names()
    );
    let range = book.worksheet_range("Orders").unwrap();
    let mut rows = range.rows();
    let header: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(
        header,
        [
            "id",
            "status",
            "nama_customer",
            "email",
            "nama_barang",
            "jenis_barang",
            "jumlah_barang",
            "estimasi_nilai_barang",
            "wilayah",
            "id_percakapan",
            "created_at"
        ]
    );
    let rows: Vec<&[Data]> = rows.collect();
    assert_eq!(
        rows.len(),
        1040,
        "every Bandung order, across the 1,000-row pages"
    );
    let ids: std::collections::HashSet<String> = rows.iter().map(|r| r[0].to_string()).collect();
    assert_eq!(ids, expected, "the filtered orders, each once");
    for row in &rows {
        assert_eq!(row[1], Data::String("On Process".into()));
        assert_eq!(row[8], Data::String("Bandung".into()));
        assert_eq!(row[6], Data::Float(1.0), "jumlah_barang is a number");
        assert!(
            matches!(&row[10], Data::DateTime(at) if at.is_datetime()),
            "created_at is a date-time: {:?}",
            row[10]
        );
    }
    // Written in Jakarta time (UTC+7): the orders were created moments ago.
    let Data::DateTime(at) = &rows[0][10] else {
        unreachable!()
    };
    let jakarta_now = chrono::Utc::now().naive_utc() + chrono::Duration::hours(7);
    let skew = (jakarta_now - at.as_datetime().unwrap())
        .num_seconds()
        .abs();
    assert!(skew < 300, "{at:?} is Jakarta time, {skew}s from now");
    let values: Vec<f64> = rows
        .iter()
        .map(|r| match r[7] {
            Data::Float(v) => v,
            ref other => panic!("estimasi_nilai_barang is a number: {other:?}"),
        })
        .collect();
    assert!(values.is_sorted(), "sorted by value, ascending");
    assert_eq!(values.first(), Some(&1.0));
    assert_eq!(values.last(), Some(&1299.0));
    app.stop().await;
}

#[tokio::test]
async fn the_filtered_view_exports_as_pdf_across_pages() {
    let app = spawn_app().await;
    let mut expected: std::collections::HashSet<String> = publish_export_orders(&app)
        .await
        .iter()
        .map(|id| id.to_string())
        .collect();
    // PDF string syntax in a name, and a character the PDF's font encoding lacks.
    let tricky = app
        .create_order("Budi (Jr) \\ \u{738b}", "Bandung", 12_500_000)
        .await;
    expected.insert(tricky.to_string());
    app.caught_up().await;

    let response = app
        .get("/dashboard/orders/export?format=pdf&wilayah=Bandung")
        .await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/pdf");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"gadai-orders-")
            && disposition.ends_with(".pdf\""),
        "{disposition}"
    );
    let bytes = response.bytes().await.unwrap();
    assert_eq!(
        headers["content-length"].to_str().unwrap(),
        bytes.len().to_string()
    );
    assert!(bytes.starts_with(b"%PDF-"));

    let text = pdf_text(&bytes);
    let ids: Vec<&str> = text
        .split_whitespace()
        .filter(|word| word.len() == 36 && Uuid::parse_str(word).is_ok())
        .collect();
    assert_eq!(
        ids.len(),
        1041,
        "every Bandung order, across the 1,000-row pages"
    );
    let shown: std::collections::HashSet<String> = ids.iter().map(|id| id.to_string()).collect();
    assert_eq!(shown, expected, "the filtered orders, each once");
    assert!(!text.contains("Bogor"), "no order of another region");

    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert!(pages.len() > 1, "many pages");
    for (i, page) in pages.iter().enumerate() {
        assert!(page.contains("Daftar pengajuan gadai"), "page {}", i + 1);
        assert!(
            page.contains("Filter \u{2014} status: semua \u{b7} wilayah: Bandung \u{b7} q: semua \u{b7} urutan: created_at desc"),
            "the filters on page {}: {page}",
            i + 1
        );
        let number = format!("Halaman {} dari {}", i + 1, pages.len());
        assert!(page.contains(&number), "{number}: {page}");
        assert!(page.contains("Diekspor ") && page.contains(" WIB"));
    }
    assert!(text.contains("Halaman 1 dari "));
    assert!(text.contains("Rp 12.500.000"), "Rupiah with dots");
    assert!(text.contains("Rp 1.299"));
    assert!(
        text.contains("Budi (Jr) \\ ?"),
        "escaped, and ? for what the font cannot show"
    );

    let empty = app
        .get("/dashboard/orders/export?format=pdf&wilayah=Atlantis")
        .await;
    assert_eq!(empty.status(), 200);
    let text = pdf_text(&empty.bytes().await.unwrap());
    assert!(text.contains("wilayah: Atlantis") && text.contains("Halaman 1 dari 1"));
    assert!(text.contains("Tidak ada pengajuan yang cocok dengan filter."));
    app.stop().await;
}

/// The text of a PDF, laid out as on the page (`pdftotext -layout`, from poppler-utils).
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.pdf");
    std::fs::write(&path, pdf).unwrap();
    let output = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext runs (Debian package poppler-utils; scripts/test.sh installs it)");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}
