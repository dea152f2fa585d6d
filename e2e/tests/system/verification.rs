use std::time::Duration;

use gadai_test_support::{
    captured_logs, eventually,
    smtp::{SmtpServer, free_port},
};
use serde_json::{Value, json};

use crate::harness::*;

/// Everything on the test's stream, as text.
async fn stream_text(system: &System) -> String {
    let client = async_nats::connect(&system.env.bus.url).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream(&system.env.bus.stream).await.unwrap();
    let last = stream.info().await.unwrap().state.last_sequence;
    let mut out = String::new();
    for seq in 1..=last {
        if let Ok(m) = stream.get_raw_message(seq).await {
            out.push_str(&String::from_utf8_lossy(&m.payload));
            for (k, v) in m.headers.iter() {
                out.push_str(&format!("{k:?}={v:?}"));
            }
        }
    }
    out
}

/// Every row of every table of a schema, as text.
async fn tables_text(system: &System, schema: &str) -> String {
    let pool = sqlx::PgPool::connect(&system.env.database_url)
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(schema)
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut out = String::new();
    for t in tables {
        let rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT to_jsonb(t)::text FROM {schema}.{t} t"))
                .fetch_all(&pool)
                .await
                .unwrap();
        out.push_str(&rows.join("\n"));
    }
    out
}

#[tokio::test]
async fn a_code_mailed_in_indonesian_verifies_the_order_once_and_appears_nowhere_else() {
    let smtp = SmtpServer::start().await;
    let system = start(Knobs::with_smtp(&smtp)).await;
    let id = system.new_order("siti@example.com").await;

    let response = system.send_verification(&id).await;
    assert_eq!(response.status(), 202);
    let accepted = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&accepted).unwrap();
    assert_eq!(
        body["message"],
        "Email verifikasi sedang dikirim ke siti@example.com"
    );
    assert_eq!(body["order_id"], id.as_str());
    assert!(body.get("kode_unik").is_none());

    let mail = smtp.wait_for(1, Duration::from_secs(15)).await.remove(0);
    // Bahasa Indonesia first, then English: the customer's language is not known.
    assert_eq!(
        mail.subject,
        "Kode Verifikasi Peminjaman Anda / Your Loan Verification Code"
    );
    assert_eq!(mail.to, "siti@example.com");
    let reference = reference_of(&id);
    for part in [&mail.text, &mail.html] {
        assert!(part.contains("Halo Siti Rahma"), "{part}");
        assert!(part.contains(&reference));
        assert!(part.contains("Kode berlaku hingga"));
        assert!(part.contains("WIB"));
        assert!(part.contains("asisten virtual Pegadaian"));
        assert!(
            part.contains("Hello Siti Rahma"),
            "the English part: {part}"
        );
        assert!(part.find("Halo Siti Rahma") < part.find("Hello Siti Rahma"));
    }
    assert!(mail.html.contains(r#"<html lang="id">"#));
    assert!(mail.raw.contains("multipart/alternative"));
    let code = code_in(&mail.text);
    assert_eq!(code.len(), 6, "{code}");
    assert!(mail.html.contains(&code));
    assert!(!accepted.contains(&code));

    let order = system.wait_status(&id, "On Verification").await;
    assert!(order["expires_at"].is_string());

    // The customer types it back with other case and spaces, with the reference from the mail,
    // through n8n.
    let response = system
        .verify(json!({"kode_unik": format!("  {}  ", code.to_lowercase()),
                       "referensi": reference.to_lowercase()}))
        .await;
    assert_eq!(response.status(), 200);
    let verified: Value = response.json().await.unwrap();
    assert_eq!(
        verified,
        json!({"message": "Order berhasil diverifikasi", "order_id": id})
    );
    system.wait_status(&id, "Verified").await;

    // Single use: once the verification is applied, the code no longer works.
    eventually(Duration::from_secs(10), || async {
        let r = system
            .verify(json!({"kode_unik": code, "referensi": reference}))
            .await;
        (r.status() == 404).then_some(())
    })
    .await;
    let again: Value = system
        .verify(json!({"kode_unik": code, "referensi": reference}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, json!({"detail": "Kode tidak valid"}));

    // The plaintext exists only in the mail: not in events, tables or logs.
    assert!(
        !stream_text(&system).await.contains(&code),
        "the code is on the stream"
    );
    for schema in ["mailer", "dashboard", "sweeper", "intake"] {
        assert!(
            !tables_text(&system, schema).await.contains(&code),
            "the code is in schema {schema}"
        );
    }
    let logs = captured_logs();
    assert!(logs.contains("verification"), "logs were captured");
    assert!(!logs.contains(&code), "the code is in the logs");

    let detail: Value = system
        .client
        .get(format!("{}/dashboard/orders/{id}", system.dashboard))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let types: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "order.created",
            "verification.requested",
            "verification.sent",
            "order.verified"
        ]
    );
    system.stop().await;
    smtp.stop().await;
}

#[tokio::test]
async fn a_double_click_sends_one_mail_and_the_seed_errors_hold() {
    let smtp = SmtpServer::start().await;
    let system = start(Knobs::with_smtp(&smtp)).await;
    let id = system.new_order("budi@example.com").await;
    let (a, b) = tokio::join!(system.send_verification(&id), system.send_verification(&id));
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (202, 202));
    system.wait_status(&id, "On Verification").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(smtp.messages().len(), 1, "one mail for a double click");

    let again = system.send_verification(&id).await;
    assert_eq!(again.status(), 400);
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        json!({"detail": "Order sudah verified atau sedang dalam proses verifikasi"})
    );
    let unknown = system
        .send_verification(&uuid::Uuid::now_v7().to_string())
        .await;
    assert_eq!(unknown.status(), 404);
    let early = system
        .client
        .post(format!(
            "{}/dashboard/verification/{id}/resend",
            system.dashboard
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(early.status(), 429, "the resend cool-down applies");
    assert!(early.headers().contains_key("retry-after"));
    let bad = system.verify(json!({"order_id": 5})).await;
    assert_eq!(bad.status(), 422);
    let names: Vec<Value> = bad.json::<Value>().await.unwrap()["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["loc"][1].clone())
        .collect();
    assert_eq!(names, [json!("kode_unik"), json!("order_id")]);
    // A code alone names no order: refused, and nothing is checked.
    let alone = system.verify(json!({"kode_unik": "ABCDEF"})).await;
    assert_eq!(alone.status(), 422);
    let detail = alone.json::<Value>().await.unwrap()["detail"].clone();
    assert_eq!(detail[0]["loc"], json!(["body", "referensi"]), "{detail}");
    let no_key = system
        .client
        .post(format!("{}/dashboard/verify", system.dashboard))
        .json(&json!({"kode_unik": "ABCDEF"}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 401);
    system.stop().await;
    smtp.stop().await;
}

#[tokio::test]
async fn wrong_codes_fail_and_a_named_order_locks_after_five() {
    let smtp = SmtpServer::start().await;
    let system = start(Knobs::with_smtp(&smtp)).await;
    let id = system.new_order("ani@example.com").await;
    system.send_verification(&id).await;
    let code = code_in(&smtp.wait_for(1, Duration::from_secs(15)).await[0].text);
    system.wait_status(&id, "On Verification").await;
    let wrong = if code == "ABCDEF" { "ABCDEG" } else { "ABCDEF" };
    let reference = reference_of(&id);

    // Wrong codes count against the order's code, whether it is named by reference or by id.
    for attempt in 0..5 {
        let named = if attempt % 2 == 0 {
            json!({"kode_unik": wrong, "referensi": reference})
        } else {
            json!({"kode_unik": wrong, "order_id": id})
        };
        let response = system.verify(named).await;
        assert_eq!(response.status(), 404);
    }
    let sixth = system
        .verify(json!({"kode_unik": code, "referensi": reference}))
        .await;
    assert_eq!(
        sixth.status(),
        404,
        "the right code fails after five wrong ones"
    );
    let detail = sixth.json::<Value>().await.unwrap()["detail"].clone();
    assert!(
        detail
            .as_str()
            .unwrap()
            .contains("minta petugas mengirim kode baru"),
        "{detail}"
    );
    let unnamed = system.verify(json!({"kode_unik": code})).await;
    assert_eq!(unnamed.status(), 422, "a code alone is refused");
    assert_eq!(
        system.order(&id).await.unwrap()["status"],
        "On Verification"
    );
    system.stop().await;
    smtp.stop().await;
}

#[tokio::test]
async fn verify_is_rate_limited_per_client() {
    let smtp = SmtpServer::start().await;
    let mut knobs = Knobs::with_smtp(&smtp);
    knobs.verify_rate_limit = 3;
    let system = start(knobs).await;
    let guess = json!({"kode_unik": "ABCDEF", "referensi": "0000ABCD"});
    for _ in 0..3 {
        assert_eq!(system.verify(guess.clone()).await.status(), 404);
    }
    let limited = system.verify(guess).await;
    assert_eq!(limited.status(), 429);
    assert!(
        limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    system.stop().await;
    smtp.stop().await;
}

#[tokio::test]
async fn smtp_down_fails_the_send_with_the_reason_and_a_later_send_works() {
    let port = free_port();
    let mut knobs = Knobs {
        smtp_port: port,
        code_ttl: Duration::from_secs(3600),
        sweep_interval: Duration::from_secs(3600),
        verify_rate_limit: 1000,
        send_attempts: 2,
        resend_cooldown: Duration::from_secs(60),
    };
    knobs.send_attempts = 2;
    let system = start(knobs).await;
    let id = system.new_order("dedi@example.com").await;
    assert_eq!(system.send_verification(&id).await.status(), 202);
    let order = eventually(Duration::from_secs(20), || async {
        let o = system.order(&id).await?;
        (o["last_error"].is_string() && o["sending"] == false).then_some(o)
    })
    .await;
    assert_eq!(order["status"], "On Process");
    assert!(
        order["last_error"]
            .as_str()
            .unwrap()
            .contains("after 2 attempts"),
        "{order}"
    );

    // The server comes back: the operator sends again, and it works.
    let smtp = SmtpServer::start_on(port).await;
    assert_eq!(system.send_verification(&id).await.status(), 202);
    smtp.wait_for(1, Duration::from_secs(15)).await;
    let order = system.wait_status(&id, "On Verification").await;
    assert!(order["last_error"].is_null());
    assert_eq!(order["send_count"], 2);
    system.stop().await;
    smtp.stop().await;
}

#[tokio::test]
async fn an_unused_code_expires_its_order_and_stops_working() {
    let smtp = SmtpServer::start().await;
    let mut knobs = Knobs::with_smtp(&smtp);
    knobs.code_ttl = Duration::from_secs(2);
    knobs.sweep_interval = Duration::from_millis(300);
    let system = start(knobs).await;
    let id = system.new_order("eka@example.com").await;
    system.send_verification(&id).await;
    let code = code_in(&smtp.wait_for(1, Duration::from_secs(15)).await[0].text);
    system.wait_status(&id, "On Verification").await;
    let expired = system.wait_status(&id, "Expired").await;
    assert_eq!(expired["status"], "Expired");
    assert!(
        !system.active_ids().await.contains(&id),
        "expired orders leave the active list"
    );
    assert_eq!(
        system
            .verify(json!({"kode_unik": code, "referensi": reference_of(&id)}))
            .await
            .status(),
        404
    );
    system.stop().await;
    smtp.stop().await;
}

#[tokio::test]
async fn a_resend_replaces_the_old_code() {
    let smtp = SmtpServer::start().await;
    let mut knobs = Knobs::with_smtp(&smtp);
    knobs.resend_cooldown = Duration::ZERO;
    let system = start(knobs).await;
    let id = system.new_order("fajar@example.com").await;
    system.send_verification(&id).await;
    let first = code_in(&smtp.wait_for(1, Duration::from_secs(15)).await[0].text);
    system.wait_status(&id, "On Verification").await;
    let resend = system
        .client
        .post(format!(
            "{}/dashboard/verification/{id}/resend",
            system.dashboard
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resend.status(), 202);
    let mails = smtp.wait_for(2, Duration::from_secs(15)).await;
    let second = code_in(&mails[1].text);
    eventually(Duration::from_secs(10), || async {
        let o = system.order(&id).await?;
        (o["send_count"] == 2 && o["sending"] == false).then_some(())
    })
    .await;
    let reference = reference_of(&id);
    assert_eq!(
        system
            .verify(json!({"kode_unik": first, "referensi": reference}))
            .await
            .status(),
        404,
        "the old code was replaced"
    );
    assert_eq!(
        system
            .verify(json!({"kode_unik": second, "referensi": reference}))
            .await
            .status(),
        200
    );
    system.wait_status(&id, "Verified").await;
    system.stop().await;
    smtp.stop().await;
}

#[tokio::test]
async fn the_template_an_admin_saves_is_the_next_mail_escaped_and_its_code_verifies() {
    let smtp = SmtpServer::start().await;
    let system = start(Knobs::with_smtp(&smtp)).await;
    let id = system.new_order("gita@example.com").await;

    let mut template: Value = system.get_json("/dashboard/mail-template").await;
    let mut template = template["template"].take();
    template["id"]["greeting"] = json!("Salam {nama} <i>PENANDA</i>");
    template["en"]["subject"] = json!("Code for {nama}");
    let saved = system
        .client
        .put(format!("{}/dashboard/mail-template", system.dashboard))
        .json(&template)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 202);
    // At once: the mailer waits for its projection to have the template before it composes.
    assert_eq!(system.send_verification(&id).await.status(), 202);

    let mail = smtp.wait_for(1, Duration::from_secs(15)).await.remove(0);
    assert_eq!(
        mail.subject,
        "Kode Verifikasi Peminjaman Anda / Code for Siti Rahma"
    );
    assert!(
        mail.text.starts_with("Salam Siti Rahma <i>PENANDA</i>\n"),
        "{}",
        mail.text
    );
    assert!(
        mail.html
            .contains("Salam Siti Rahma &lt;i&gt;PENANDA&lt;/i&gt;"),
        "{}",
        mail.html
    );
    assert!(!mail.html.contains("<i>PENANDA"));
    let code = code_in(&mail.text);
    system.wait_status(&id, "On Verification").await;
    let verified = system
        .verify(json!({"kode_unik": code, "referensi": reference_of(&id)}))
        .await;
    assert_eq!(verified.status(), 200);
    system.wait_status(&id, "Verified").await;
    system.stop().await;
    smtp.stop().await;
}
