//! The verification mail's template through the API: admins only, checked field by field, a
//! change is an event (the admin its actor), the current template and the history follow it.

use std::time::Duration;

use gadai_events::{EventKind, MailTemplate};
use gadai_mail_template::default_template;
use gadai_test_support::eventually;
use serde_json::{Value, json};

use crate::helpers::*;

const ROUTE: &str = "/dashboard/mail-template";

fn body(template: &MailTemplate) -> Value {
    serde_json::to_value(template).unwrap()
}

/// The default with the Indonesian greeting changed.
fn greeting(text: &str) -> MailTemplate {
    let mut t = default_template();
    t.id.greeting = text.into();
    t
}

impl TestApp {
    async fn put_template(&self, client: &reqwest::Client, template: &Value) -> reqwest::Response {
        client
            .put(format!("{}{ROUTE}", self.address))
            .json(template)
            .send()
            .await
            .unwrap()
    }

    async fn preview(&self, template: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}{ROUTE}/preview", self.address))
            .json(template)
            .send()
            .await
            .unwrap()
    }

    /// Waits until `GET /dashboard/mail-template` shows `template`.
    async fn current_template_is(&self, template: &MailTemplate) -> Value {
        let expected = body(template);
        eventually(Duration::from_secs(10), || async {
            let current = self.get_json(ROUTE).await;
            (current["template"] == expected).then_some(current)
        })
        .await
    }

    async fn operator(&self) -> reqwest::Client {
        let created = self
            .client
            .post(format!("{}/dashboard/operators", self.address))
            .json(&json!({"username": "siti", "password": "operator-pass-1", "role": "operator"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        logged_in(&self.address, "siti", "operator-pass-1").await
    }
}

/// `(loc, type)` of each error of a 422.
async fn field_errors(response: reqwest::Response) -> Vec<(Vec<String>, String)> {
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    body["detail"]
        .as_array()
        .expect("a list of field errors")
        .iter()
        .map(|e| {
            let loc = e["loc"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().to_owned())
                .collect();
            (loc, e["type"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn operators_may_not_read_change_or_preview_the_template() {
    let app = spawn_app().await;
    let siti = app.operator().await;
    let default = body(&default_template());
    for (method, path) in [
        ("GET", ROUTE.to_owned()),
        ("PUT", ROUTE.to_owned()),
        ("POST", format!("{ROUTE}/preview")),
        ("GET", format!("{ROUTE}/history")),
    ] {
        let url = format!("{}{path}", app.address);
        let request = match method {
            "GET" => siti.get(url),
            "PUT" => siti.put(url).json(&default),
            _ => siti.post(url).json(&default),
        };
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{method} {path}");
    }
    // Nothing was published.
    app.caught_up().await;
    assert!(app.get_json(ROUTE).await["changed_by"].is_null());
    // Without a session: 401.
    let anonymous = reqwest::get(format!("{}{ROUTE}", app.address))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn a_template_that_breaks_the_rules_is_refused_with_each_field_named() {
    let app = spawn_app().await;
    let mut t = default_template();
    t.id.instructions = "Nomor referensi: {referensi}".into();
    t.en.subject = "Your code\nis here".into();
    t.en.greeting = "Hello {name}".into();
    let response = app.put_template(&app.client, &body(&t)).await;
    let errors = field_errors(response).await;
    assert_eq!(
        errors,
        [
            (
                vec!["body".into(), "id".into(), "instructions".into()],
                "value_error.placeholder_required".into()
            ),
            (
                vec!["body".into(), "en".into(), "subject".into()],
                "value_error.single_line".into()
            ),
            (
                vec!["body".into(), "en".into(), "greeting".into()],
                "value_error.placeholder_unknown".into()
            ),
        ]
    );
    // The preview checks the same way.
    let preview = app.preview(&body(&t)).await;
    assert_eq!(field_errors(preview).await.len(), 3);
    // A body that is not a template at all.
    let missing = app
        .put_template(&app.client, &json!({"id": {"subject": "x"}}))
        .await;
    assert_eq!(missing.status(), 422);
    // Too long: refused before anything is published.
    let mut long = default_template();
    long.en.footer = "x".repeat(2_001);
    let errors = field_errors(app.put_template(&app.client, &body(&long)).await).await;
    assert_eq!(
        errors,
        [(
            vec!["body".into(), "en".into(), "footer".into()],
            "value_error.too_long".into()
        )]
    );
    let huge = json!({"id": "x".repeat(200 * 1024)});
    assert_eq!(app.put_template(&app.client, &huge).await.status(), 413);
    app.caught_up().await;
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM order_events WHERE type = 'verification.template_changed'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(events, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_saved_template_is_an_event_by_the_admin_and_becomes_current_with_its_history() {
    let app = spawn_app().await;
    let first = app.get_json(ROUTE).await;
    assert_eq!(first["template"], body(&default_template()));
    assert_eq!(first["default_template"], body(&default_template()));
    assert!(first["changed_at"].is_null() && first["changed_by"].is_null());
    assert_eq!(
        first["placeholders"],
        json!(["{nama}", "{referensi}", "{kode}", "{berlaku_sampai}"])
    );
    assert_eq!(first["subject_max_chars"], 150);
    assert!(app.get_json(&format!("{ROUTE}/history")).await == json!([]));

    let changed = greeting("Salam hangat {nama}");
    let response = app.put_template(&app.client, &body(&changed)).await;
    assert_eq!(response.status(), 202);
    let saved: Value = response.json().await.unwrap();
    assert_eq!(saved["template"], body(&changed));

    // On the stream, with the admin as actor and no order.
    let events = events_of(&app, "verification.template_changed").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, ADMIN);
    assert!(events[0].order_id.is_nil());
    match &events[0].kind {
        EventKind::TemplateChanged(t) => assert_eq!(t.template, changed),
        other => panic!("{other:?}"),
    }

    let current = app.current_template_is(&changed).await;
    assert_eq!(current["changed_by"], ADMIN);
    assert!(current["changed_at"].is_string());

    let mut second = changed.clone();
    second.en.footer = "Pegadaian".into();
    second.en.subject = "Your code for {nama}".into();
    assert_eq!(
        app.put_template(&app.client, &body(&second)).await.status(),
        202
    );
    app.current_template_is(&second).await;
    let history = app.get_json(&format!("{ROUTE}/history")).await;
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["template"], body(&second), "newest first");
    assert_eq!(history[0]["changed_by"], ADMIN);
    assert_eq!(
        history[0]["changed_fields"],
        json!(["en.subject", "en.footer"])
    );
    assert_eq!(history[1]["changed_fields"], json!(["id.greeting"]));
    assert!(history[0]["seq"].as_i64() > history[1]["seq"].as_i64());
    // A template event is not an order: the orders list stays empty.
    assert_eq!(app.get_json("/dashboard/orders").await, json!([]));
    app.stop().await;
}

#[tokio::test]
async fn the_preview_renders_sample_values_with_every_text_escaped() {
    let app = spawn_app().await;
    let t = greeting("<script>alert(1)</script> Halo {nama} <b>tebal</b>");
    let response = app.preview(&body(&t)).await;
    assert_eq!(response.status(), 200);
    let preview: Value = response.json().await.unwrap();
    let html = preview["html"].as_str().unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("<b>tebal"));
    assert!(html.contains(
        "&lt;script&gt;alert(1)&lt;/script&gt; Halo Budi Santoso &lt;b&gt;tebal&lt;/b&gt;"
    ));
    assert!(html.contains("AB3D5F"), "the sample code");
    let text = preview["text"].as_str().unwrap();
    assert!(text.starts_with("<script>alert(1)</script> Halo Budi Santoso <b>tebal</b>\n"));
    assert!(text.contains("Kode verifikasi Anda:\n\n    AB3D5F"));
    assert!(text.contains("Hello Budi Santoso,"), "the English part too");
    assert_eq!(
        preview["subject"],
        "Kode Verifikasi Peminjaman Anda / Your Loan Verification Code"
    );
    // A preview publishes nothing.
    app.caught_up().await;
    assert!(
        events_of(&app, "verification.template_changed")
            .await
            .is_empty()
    );
    app.stop().await;
}

/// Every event of `type_name` on the test's stream, in order.
async fn events_of(app: &TestApp, type_name: &str) -> Vec<gadai_events::Event> {
    let mut stream = app
        .bus
        .jetstream()
        .get_stream(&app.env.bus.stream)
        .await
        .unwrap();
    let last = stream.info().await.unwrap().state.last_sequence;
    let mut found = Vec::new();
    for seq in 1..=last {
        let Ok(raw) = stream.get_raw_message(seq).await else {
            continue;
        };
        if raw.subject.as_str() == app.bus.subject(type_name) {
            found.push(gadai_events::Event::decode_from(type_name, &raw.payload).unwrap());
        }
    }
    found
}
