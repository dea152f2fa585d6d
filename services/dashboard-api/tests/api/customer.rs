//! The agent's customer-service routes: status and a new code by reference and e-mail, and
//! hand-offs to a person, seen live by operators and closed by them.

use std::time::Duration;

use chrono::Utc;
use gadai_events::{Event, EventKind, VerificationRequested, VerificationSent, check::Reference};
use gadai_test_support::eventually;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    helpers::*,
    live::{feed, next_event},
};

const KEY: &str = "test-apps-key";

/// POSTs `body` to `path` of the replica at `address` as n8n does: status, body, Retry-After.
async fn agent_post(address: &str, path: &str, body: Value) -> (u16, Value, Option<String>) {
    let response = reqwest::Client::new()
        .post(format!("{address}{path}"))
        .header("X-API-Key", KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.json().await.unwrap_or(Value::Null), retry)
}

fn pair(id: Uuid, email: &str) -> Value {
    json!({"referensi": Reference::of(id).to_string().to_lowercase(), "email": email})
}

/// Mails a code for `id` (as the mailer would have) `ago` before now, valid for a day.
async fn code_sent(app: &TestApp, id: Uuid, ago: chrono::Duration) -> u64 {
    app.publish(&Event::new(
        id,
        "admin",
        EventKind::VerificationRequested(VerificationRequested::numbered(0)),
    ))
    .await;
    let mut sent = Event::new(
        id,
        "system",
        EventKind::VerificationSent(VerificationSent {
            verification_id: Uuid::now_v7(),
            expires_at: Utc::now() + chrono::Duration::hours(24) - ago,
        }),
    );
    sent.occurred_at = Utc::now() - ago;
    app.publish(&sent).await
}

#[tokio::test]
async fn the_status_is_told_only_for_the_right_reference_and_email() {
    let app = spawn_app().await;
    let id = app
        .create_order("Budi Santoso", "DKI Jakarta", 1_000_000)
        .await;
    app.caught_up().await;

    let (status, body, _) = agent_post(
        &app.address,
        "/dashboard/customer/status",
        pair(id, "BUDI.santoso@example.com"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "menunggu_petugas");
    assert_eq!(body["referensi"], Reference::of(id).to_string());
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "berlaku_sampai",
            "kode_dikirim_pada",
            "pesan",
            "referensi",
            "status"
        ],
        "nothing else of the order"
    );
    assert!(!body.to_string().contains("Budi"), "{body}");

    // A wrong e-mail and an unknown reference get the same answer.
    let (wrong_mail, a, _) = agent_post(
        &app.address,
        "/dashboard/customer/status",
        pair(id, "siti@example.com"),
    )
    .await;
    let other = Uuid::new_v4();
    let (unknown, b, _) = agent_post(
        &app.address,
        "/dashboard/customer/status",
        pair(other, "budi.santoso@example.com"),
    )
    .await;
    assert_eq!((wrong_mail, unknown), (404, 404));
    assert_eq!(a, b);
    assert!(
        a["detail"]
            .as_str()
            .unwrap()
            .starts_with("Pengajuan tidak ditemukan")
    );

    let seq = code_sent(&app, id, chrono::Duration::zero()).await;
    app.applied(seq).await;
    let (_, body, _) = agent_post(
        &app.address,
        "/dashboard/customer/status",
        pair(id, "budi.santoso@example.com"),
    )
    .await;
    assert_eq!(body["status"], "kode_terkirim", "{body}");
    assert!(body["berlaku_sampai"].is_string() && body["kode_dikirim_pada"].is_string());
    assert!(body["pesan"].as_str().unwrap().contains("WIB"), "{body}");

    // Bad input is named; no key is 401.
    let (status, body, _) = agent_post(
        &app.address,
        "/dashboard/customer/status",
        json!({"referensi": "XYZ"}),
    )
    .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["loc"][1].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["referensi", "email"]);
    let no_key = reqwest::Client::new()
        .post(format!("{}/dashboard/customer/status", app.address))
        .json(&pair(id, "budi.santoso@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn a_new_code_for_the_customer_follows_the_operators_rules() {
    let app = spawn_app().await;
    // A code request seals its recipient with the customer's key.
    let _keys = key_server(&app.env).await;
    let waiting = app
        .create_order("Siti Rahma", "Jawa Barat", 2_000_000)
        .await;
    let fresh = app
        .create_order("Dewi Lestari", "Jawa Barat", 3_000_000)
        .await;
    let cooled = app.create_order("Rina Wati", "Jawa Barat", 4_000_000).await;
    code_sent(&app, fresh, chrono::Duration::zero()).await;
    code_sent(&app, cooled, chrono::Duration::minutes(2)).await;
    app.caught_up().await;

    let (status, body, _) = agent_post(
        &app.address,
        "/dashboard/customer/resend",
        pair(waiting, "siti.rahma@example.com"),
    )
    .await;
    assert_eq!(status, 400, "no code was sent yet: {body}");
    let (status, _, retry) = agent_post(
        &app.address,
        "/dashboard/customer/resend",
        pair(fresh, "dewi.lestari@example.com"),
    )
    .await;
    assert_eq!(status, 429, "within the cool-down");
    assert!(retry.unwrap().parse::<u64>().unwrap() > 0);

    let (status, body, _) = agent_post(
        &app.address,
        "/dashboard/customer/resend",
        pair(cooled, "rina.wati@example.com"),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["referensi"], Reference::of(cooled).to_string());
    // Recorded with the agent as actor, in the order's history.
    app.caught_up().await;
    let detail = app.get_json(&format!("/dashboard/orders/{cooled}")).await;
    let last = detail["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["type"], "verification.requested");
    assert_eq!(last["actor"], "n8n");
    assert_eq!(last["data"]["request_no"], 1);
    assert_eq!(detail["order"]["sending"], true);
    app.stop().await;
}

#[tokio::test]
async fn failed_lookups_spend_a_budget_shared_by_the_replicas() {
    let env = gadai_test_support::TestEnv::new().await.unwrap();
    let mut s = settings(&env);
    s.customer_lookup_budget = 2;
    let app = spawn_in_with(env, s.clone()).await;
    let (second, stop) = replica(s).await;
    let id = app
        .create_order("Budi Santoso", "DKI Jakarta", 1_000_000)
        .await;
    app.caught_up().await;
    let right = pair(id, "budi.santoso@example.com");
    let wrong = pair(id, "maling@example.com");

    assert_eq!(
        agent_post(&app.address, "/dashboard/customer/status", right.clone())
            .await
            .0,
        200
    );
    assert_eq!(
        agent_post(&app.address, "/dashboard/customer/status", wrong.clone())
            .await
            .0,
        404
    );
    assert_eq!(
        agent_post(&second, "/dashboard/customer/resend", wrong.clone())
            .await
            .0,
        404
    );
    // Spent, across both replicas: even the right pair waits for the next hour now.
    let (status, _, retry) = agent_post(&second, "/dashboard/customer/status", right).await;
    assert_eq!(status, 429);
    assert!(retry.unwrap().parse::<u64>().unwrap() > 3000);
    assert_eq!(
        agent_post(&app.address, "/dashboard/customer/status", wrong)
            .await
            .0,
        429
    );
    stop.cancel();
    app.stop().await;
}

fn handoff_body(conversation: &str, referensi: &str, email: &str) -> Value {
    json!({
        "id_percakapan": conversation,
        "nama_customer": "Siti Rahma",
        "email": email,
        "referensi": referensi,
        "ringkasan": "Ingin bertanya tentang perpanjangan gadai emas; minta bicara dengan petugas",
    })
}

#[tokio::test]
async fn a_handoff_reaches_the_operators_live_and_they_close_it() {
    let app = spawn_app().await;
    // Hand-offs are sealed under the customer's key (order-intake's store).
    let _keys = key_server(&app.env).await;
    let order = app
        .create_order("Siti Rahma", "Jawa Barat", 2_000_000)
        .await;
    app.caught_up().await;
    let response = app.get("/dashboard/events").await;
    let mut live = feed(response.bytes_stream());
    tokio::time::sleep(Duration::from_millis(200)).await;

    let reference = Reference::of(order).to_string();
    let body = handoff_body("chat-77", &reference, "siti.rahma@example.com");
    let (status, opened, _) =
        agent_post(&app.address, "/dashboard/customer/handoff", body.clone()).await;
    assert_eq!(status, 201, "{opened}");
    assert!(opened["pesan"].as_str().unwrap().contains("melalui email"));
    let id = opened["handoff_id"].as_str().unwrap().to_owned();

    let (opened_seq, change) =
        next_event(&mut live, "handoff", |d| d["handoff"]["id"] == id.as_str()).await;
    assert_eq!(change["type"], "customer.handoff_opened");
    assert_eq!(change["handoff"]["ringkasan"], body["ringkasan"]);
    assert_eq!(
        change["handoff"]["order_id"],
        order.to_string(),
        "linked to the order"
    );

    // While open, the conversation gets its hand-off back instead of a second one.
    let (status, again, _) = agent_post(
        &app.address,
        "/dashboard/customer/handoff",
        handoff_body("chat-77", "", "siti.rahma@example.com"),
    )
    .await;
    assert_eq!(
        (status, again["handoff_id"].as_str()),
        (200, Some(id.as_str()))
    );

    let queue = app.get_json("/dashboard/handoffs").await;
    assert_eq!(queue["open"], 1);
    let item = &queue["items"][0];
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["id_percakapan"], "chat-77");
    assert_eq!(item["referensi"], reference);
    assert_eq!(item["email"], "siti.rahma@example.com");
    assert!(item["closed_at"].is_null());

    // "Sudah dihubungi": recorded with the operator, gone from the queue, live.
    let closed = app
        .client
        .post(format!("{}/dashboard/handoffs/{id}/close", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200);
    let (_, change) = next_event(&mut live, "handoff", |d| {
        d["type"] == "customer.handoff_closed" && d["handoff"]["id"] == id.as_str()
    })
    .await;
    assert_eq!(change["handoff"]["closed_by"], "admin");
    app.caught_up().await;
    assert_eq!(app.get_json("/dashboard/handoffs").await["open"], 0);
    let history = app.get_json(&format!("/dashboard/orders/{order}")).await["history"].clone();
    let actors: Vec<(&str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actors,
        [
            ("order.created", "n8n"),
            ("customer.handoff_opened", "n8n"),
            ("customer.handoff_closed", "admin"),
        ]
    );
    // A feed reconnecting from before the hand-off gets its current state.
    let since: u64 = opened_seq.parse::<u64>().unwrap() - 1;
    let resumed = app
        .client
        .get(format!("{}/dashboard/events", app.address))
        .header("Last-Event-ID", since.to_string())
        .send()
        .await
        .unwrap();
    let mut resumed = feed(resumed.bytes_stream());
    let (_, replayed) = next_event(&mut resumed, "handoff", |d| {
        d["handoff"]["id"] == id.as_str()
    })
    .await;
    assert_eq!(replayed["type"], "customer.handoff_closed");
    assert_eq!(replayed["handoff"]["closed_by"], "admin");

    // Closing again changes nothing; an unknown id is 404.
    let again = app
        .client
        .post(format!("{}/dashboard/handoffs/{id}/close", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    let unknown = app
        .client
        .post(format!(
            "{}/dashboard/handoffs/{}/close",
            app.address,
            Uuid::new_v4()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn handoffs_are_checked_limited_and_rebuilt() {
    let env = gadai_test_support::TestEnv::new().await.unwrap();
    let mut s = settings(&env);
    s.handoff_rate_limit = 2;
    let app = spawn_in_with(env, s).await;
    let _keys = key_server(&app.env).await;

    let (status, body, _) = agent_post(
        &app.address,
        "/dashboard/customer/handoff",
        json!({"id_percakapan": "", "email": "bukan-email", "referensi": "nope"}),
    )
    .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["loc"][1].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "id_percakapan",
            "nama_customer",
            "email",
            "ringkasan",
            "referensi"
        ]
    );
    for conversation in ["chat-1", "chat-2"] {
        let (status, _, _) = agent_post(
            &app.address,
            "/dashboard/customer/handoff",
            handoff_body(conversation, "", "siti@example.com"),
        )
        .await;
        assert_eq!(status, 201);
    }
    let (status, _, retry) = agent_post(
        &app.address,
        "/dashboard/customer/handoff",
        handoff_body("chat-3", "", "siti@example.com"),
    )
    .await;
    assert_eq!(status, 429, "the hour's hand-offs are spent");
    assert!(retry.is_some());
    app.caught_up().await;

    // A rebuild replays the hand-offs into the same queue.
    let before = dump(&app.pool, "dashboard", "handoffs", "id").await;
    assert_eq!(before.len(), 2);
    dashboard_api::startup::rebuild(settings(&app.env), true)
        .await
        .unwrap();
    let pool = app.pool.clone();
    let after = eventually(Duration::from_secs(10), || {
        let pool = pool.clone();
        async move {
            let rows = dump(&pool, "dashboard", "handoffs", "id").await;
            (rows.len() == 2).then_some(rows)
        }
    })
    .await;
    assert_eq!(before, after);
    app.stop().await;
}
