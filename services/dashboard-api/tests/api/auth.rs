use std::time::Duration;

use gadai_test_support::TestEnv;
use serde_json::{Value, json};

use crate::helpers::*;

async fn login(
    app: &TestApp,
    username: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{}/dashboard/auth/login", app.address))
        .json(&json!({"username": username, "password": password}));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn every_dashboard_route_needs_a_session() {
    let app = spawn_app().await;
    let anon = reqwest::Client::new();
    for (method, path) in [
        ("GET", "/dashboard/orders"),
        ("GET", "/dashboard/stats"),
        ("GET", "/dashboard/events"),
        ("GET", "/dashboard/auth/me"),
        ("GET", "/dashboard/operators"),
        (
            "POST",
            "/dashboard/verification/00000000-0000-0000-0000-000000000000",
        ),
        (
            "DELETE",
            "/dashboard/order/00000000-0000-0000-0000-000000000000",
        ),
    ] {
        let response = anon
            .request(method.parse().unwrap(), format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["detail"], "Silakan masuk terlebih dahulu");
    }
    app.stop().await;
}

#[tokio::test]
async fn login_sets_a_secure_session_cookie_and_logout_ends_it() {
    let app = spawn_app().await;
    let wrong = login(&app, ADMIN, "not-the-password", &[]).await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.json::<Value>().await.unwrap()["detail"],
        "Username atau password salah"
    );
    assert_eq!(login(&app, "nobody", PASSWORD, &[]).await.status(), 401);

    let ok = login(&app, ADMIN, PASSWORD, &[]).await;
    assert_eq!(ok.status(), 200);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("gadai_session="));
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: no Secure flag");
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["operator"]["role"], "admin");
    assert!(body["csrf_token"].as_str().unwrap().len() >= 32);
    // The UI's resend cool-down comes from the server's settings (RESEND_COOLDOWN, 60 s here).
    assert_eq!(
        body["limits"],
        json!({"resend_cooldown_seconds": 60, "max_verification_sends": 3})
    );
    let behind_tls = login(&app, ADMIN, PASSWORD, &[("X-Forwarded-Proto", "https")]).await;
    assert!(
        behind_tls.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );

    let me: Value = app
        .client
        .get(format!("{}/dashboard/auth/me", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["operator"]["username"], "admin");
    assert_eq!(me["limits"]["resend_cooldown_seconds"], 60);
    let out = app
        .client
        .post(format!("{}/dashboard/auth/logout", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = app
        .client
        .get(format!("{}/dashboard/orders", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401, "the session is gone on the server too");
    app.stop().await;
}

#[tokio::test]
async fn writes_need_the_sessions_csrf_token() {
    let app = spawn_app().await;
    let id = app.create_order("Budi Santoso", "Jakarta", 1).await;
    app.caught_up().await;
    // The session cookie alone (as a cross-site form would send it) is not enough.
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let no_csrf = reqwest::Client::builder()
        .cookie_provider(jar)
        .build()
        .unwrap();
    no_csrf
        .post(format!("{}/dashboard/auth/login", app.address))
        .json(&json!({"username": ADMIN, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let reads = no_csrf
        .get(format!("{}/dashboard/orders", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(reads.status(), 200);
    let forged = no_csrf
        .delete(format!("{}/dashboard/order/{id}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let wrong = no_csrf
        .delete(format!("{}/dashboard/order/{id}", app.address))
        .header("X-CSRF-Token", "guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let real = app
        .client
        .delete(format!("{}/dashboard/order/{id}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(real.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn operators_cannot_delete_admins_can_and_the_actor_is_recorded() {
    let app = spawn_app().await;
    // A code request seals its recipient with the customer's key.
    let _keys = key_server(&app.env).await;
    let created = app
        .client
        .post(format!("{}/dashboard/operators", app.address))
        .json(&json!({"username": "siti", "password": "operator-pass-1", "role": "operator", "display_name": "Siti"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let duplicate = app
        .client
        .post(format!("{}/dashboard/operators", app.address))
        .json(&json!({"username": "siti", "password": "operator-pass-1", "role": "operator"}))
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), 409);
    let invalid = app
        .client
        .post(format!("{}/dashboard/operators", app.address))
        .json(&json!({"username": "x", "password": "short", "role": "boss"}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 422);
    assert_eq!(
        invalid.json::<Value>().await.unwrap()["detail"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let siti = logged_in(&app.address, "siti", "operator-pass-1").await;
    let id = app.create_order("Budi Santoso", "Jakarta", 1).await;
    app.caught_up().await;
    let refused = siti
        .delete(format!("{}/dashboard/order/{id}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        siti.get(format!("{}/dashboard/operators", app.address))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let sent = siti
        .post(format!("{}/dashboard/verification/{id}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202, "operators send verification");
    app.caught_up().await;
    let deleted = app
        .client
        .delete(format!("{}/dashboard/order/{id}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    app.caught_up().await;
    let detail = app.get_json(&format!("/dashboard/orders/{id}")).await;
    let actors: Vec<(&str, &str)> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["type"].as_str().unwrap(), h["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actors,
        [
            ("order.created", "n8n"),
            ("verification.requested", "siti"),
            ("order.deleted", "admin")
        ]
    );

    // Deactivating an operator ends their sessions.
    let list: Vec<Value> = app
        .get_json("/dashboard/operators")
        .await
        .as_array()
        .unwrap()
        .clone();
    let siti_id = list.iter().find(|o| o["username"] == "siti").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let off = app
        .client
        .patch(format!("{}/dashboard/operators/{siti_id}", app.address))
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 200);
    assert_eq!(
        siti.get(format!("{}/dashboard/orders", app.address))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    app.stop().await;
}

#[tokio::test]
async fn wrong_passwords_are_rate_limited() {
    let env = TestEnv::new().await.unwrap();
    let mut s = settings(&env);
    s.login_rate_limit = 3;
    let (address, shutdown) = replica(s).await;
    let client = reqwest::Client::new();
    let attempt = || {
        client
            .post(format!("{address}/dashboard/auth/login"))
            .json(&json!({"username": ADMIN, "password": "guess-guess-guess"}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(attempt().await.unwrap().status(), 401);
    }
    let limited = attempt().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    // Even the right password waits out the window.
    let right = client
        .post(format!("{address}/dashboard/auth/login"))
        .json(&json!({"username": ADMIN, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 429);
    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(50)).await;
    env.cleanup().await;
}

#[tokio::test]
async fn the_cli_creates_admins_and_resets_passwords() {
    let app = spawn_app().await;
    let bin = env!("CARGO_BIN_EXE_dashboard-api");
    let run = |args: &[&str], password: &str| {
        std::process::Command::new(bin)
            .args(args)
            .env("DATABASE_URL", &app.env.database_url)
            .env("NATS_URL", &app.env.bus.url)
            .env("APPS_KEY", "cli-test-apps-key-0123456789abcdef")
            .env("PII_MASTER_KEYS", gadai_test_support::PII_MASTER_KEYS)
            .env("PII_SUBJECT_KEY", gadai_test_support::PII_SUBJECT_KEY)
            .env("OPERATOR_PASSWORD", password)
            .output()
            .unwrap()
    };
    let out = run(&["create-admin", "Rina"], "rina-password-1");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    logged_in(&app.address, "rina", "rina-password-1").await;
    let out = run(&["reset-password", "rina"], "rina-password-2");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        login(&app, "rina", "rina-password-1", &[]).await.status(),
        401
    );
    assert_eq!(
        login(&app, "rina", "rina-password-2", &[]).await.status(),
        200
    );
    let weak = run(&["create-operator", "dodi"], "short");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 10 characters"));
    app.stop().await;
}
