//! Limits that hold across replicas, the client behind a trusted proxy, a login flood that
//! neither exhausts memory nor blocks other operators, live feeds bound to their session, the
//! security headers, and start-up refusing placeholder secrets.

use std::time::{Duration, Instant};

use gadai_test_support::{TestEnv, process::ServiceProcess, smtp::free_port};
use serde_json::{Value, json};

use crate::helpers::*;

async fn login(address: &str, username: &str, password: &str, from: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new()
        .post(format!("{address}/dashboard/auth/login"))
        .json(&json!({"username": username, "password": password}));
    if let Some(ip) = from {
        request = request.header("X-Forwarded-For", ip);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn login_and_verify_limits_hold_across_two_replicas() {
    let env = TestEnv::new().await.unwrap();
    let mut s = settings(&env);
    s.login_rate_limit = 3;
    s.verify_rate_limit = 3;
    let (a, stop_a) = replica(s.clone()).await;
    let (b, stop_b) = replica(s).await;
    // Three wrong passwords spread over both replicas spend the one shared allowance.
    for (i, address) in [&a, &b, &a].into_iter().enumerate() {
        assert_eq!(
            login(address, "penyusup", &format!("tebakan-{i}"), None).await,
            401
        );
    }
    assert_eq!(login(&b, "penyusup", "tebakan-3", None).await, 429);
    assert_eq!(login(&a, "penyusup", "tebakan-4", None).await, 429);
    // Code checks too: the fourth, on either replica, is refused before anything is checked.
    let verify = |address: &str| {
        reqwest::Client::new()
            .post(format!("{address}/dashboard/verify"))
            .header("X-API-Key", "test-apps-key")
            .json(&json!({"kode_unik": "ABCDEF"}))
            .send()
    };
    for address in [&a, &b, &b] {
        assert_eq!(verify(address).await.unwrap().status(), 422);
    }
    let limited = verify(&a).await.unwrap();
    assert_eq!(limited.status(), 429);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    stop_a.cancel();
    stop_b.cancel();
    env.cleanup().await;
}

#[tokio::test]
async fn forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    let env = TestEnv::new().await.unwrap();
    let mut s = settings(&env);
    s.login_rate_limit = 2;
    s.trusted_proxies =
        gadai_http::client::TrustedProxies::parse(&["127.0.0.1/32".into()]).unwrap();
    let (behind_proxy, stop_a) = replica(s.clone()).await;
    s.trusted_proxies = Default::default();
    s.core.db.schema = "dashboard_direct".into();
    let (direct, stop_b) = replica(s).await;

    // Behind the (trusted) ingress, each client is counted on its own: one person's wrong
    // passwords do not lock the account for everybody else.
    let (mallory, alice) = (Some("203.0.113.7"), Some("198.51.100.20"));
    for i in 0..2 {
        assert_eq!(
            login(&behind_proxy, ADMIN, &format!("salah-{i}"), mallory).await,
            401
        );
    }
    assert_eq!(login(&behind_proxy, ADMIN, "salah-2", mallory).await, 429);
    assert_eq!(login(&behind_proxy, ADMIN, PASSWORD, alice).await, 200);
    // A client that writes its own X-Forwarded-For to a service that trusts no proxy changes
    // nothing: the header is ignored and the peer address is counted.
    for (i, forged) in ["203.0.113.1", "203.0.113.2"].into_iter().enumerate() {
        assert_eq!(
            login(&direct, ADMIN, &format!("salah-{i}"), Some(forged)).await,
            401
        );
    }
    assert_eq!(
        login(&direct, ADMIN, "salah-2", Some("203.0.113.3")).await,
        429
    );
    stop_a.cancel();
    stop_b.cancel();
    env.cleanup().await;
}

/// A real dashboard-api process with production settings and the default login limits.
async fn serve_binary(env: &TestEnv, extra: &[(&str, &str)]) -> ServiceProcess {
    let port = free_port();
    let mut vars: Vec<(String, String)> = [
        ("DATABASE_URL", env.database_url.as_str()),
        ("NATS_URL", env.bus.url.as_str()),
        ("NATS_STREAM", env.bus.stream.as_str()),
        ("NATS_SUBJECT_PREFIX", env.bus.prefix.as_str()),
        ("APPS_KEY", "flood-test-apps-key-7c2e9b41d05a"),
        ("PII_MASTER_KEYS", gadai_test_support::PII_MASTER_KEYS),
        ("PII_SUBJECT_KEY", gadai_test_support::PII_SUBJECT_KEY),
        ("ADMIN_USERNAME", ADMIN),
        ("ADMIN_PASSWORD", PASSWORD),
        ("WEB_DIST_DIR", "does-not-exist"),
        ("LOG_FORMAT", "json"),
        ("RUST_LOG", "warn"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    vars.push(("DASHBOARD_API_PORT".into(), port.to_string()));
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let logs = std::env::temp_dir().join(format!("gadai-flood-{}", env.tag));
    ServiceProcess::start(
        "dashboard-api",
        std::path::Path::new(env!("CARGO_BIN_EXE_dashboard-api")),
        &vars,
        port,
        &logs,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_login_flood_leaves_memory_bounded_and_other_operators_served() {
    let env = TestEnv::new().await.unwrap();
    // Every attempt from this address is let through to the hash (the per-address limit is
    // what normally stops a flood first): the worst case for memory.
    let service = serve_binary(&env, &[("LOGIN_CLIENT_RATE_LIMIT", "100000")]).await;
    let url = service.url.clone();
    let operator = logged_in(&url, ADMIN, PASSWORD).await;
    let before = service.peak_rss_kib().unwrap();

    // 300 attempts with distinct made-up usernames of 1 KB (refused before any hashing) and
    // 300 with distinct plausible ones (each runs Argon2id against the throwaway hash).
    let client = reqwest::Client::new();
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..600 {
        let (client, url) = (client.clone(), url.clone());
        let username = if i % 2 == 0 {
            format!("{i}-{}", "x".repeat(1024))
        } else {
            format!("tamu{i}")
        };
        flood.spawn(async move {
            client
                .post(format!("{url}/dashboard/auth/login"))
                .json(&json!({"username": username, "password": "bukan-kata-sandinya"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        });
    }
    // Meanwhile the service stays alive and serves an operator who is already logged in.
    let mut health_worst = Duration::ZERO;
    for _ in 0..10 {
        let started = Instant::now();
        let health = client
            .get(format!("{url}/healthz"))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        health_worst = health_worst.max(started.elapsed());
        let orders = operator
            .get(format!("{url}/dashboard/orders"))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap();
        assert_eq!(orders.status(), 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut answers = std::collections::BTreeMap::new();
    while let Some(status) = flood.join_next().await {
        *answers.entry(status.unwrap()).or_insert(0) += 1;
    }
    let peak = service.peak_rss_kib().unwrap();
    println!(
        "login flood: answers {answers:?}, peak memory {before} -> {peak} KiB, \
         worst /healthz {health_worst:?}"
    );
    assert!(
        answers.keys().all(|s| [401, 503].contains(s)),
        "only refusals and 'busy': {answers:?}"
    );
    assert!(
        answers.get(&401).copied().unwrap_or(0) >= 300,
        "{answers:?}"
    );
    assert!(
        peak < 128 * 1024,
        "peak resident memory {peak} KiB is over the pod's 128 MiB"
    );
    // The right password still works afterwards.
    assert_eq!(login(&url, ADMIN, PASSWORD, None).await, 200);
    service.stop(Duration::from_secs(20)).await.unwrap();
    env.cleanup().await;
}

#[tokio::test]
async fn start_up_refuses_placeholder_secrets_outside_development() {
    let env = TestEnv::new().await.unwrap();
    let bin = env!("CARGO_BIN_EXE_dashboard-api");
    let run = |key: &str, dev: bool| {
        let mut command = std::process::Command::new(bin);
        command
            .arg("migrate")
            .env("DATABASE_URL", &env.database_url)
            .env("NATS_URL", &env.bus.url)
            .env("APPS_KEY", key)
            .env("PII_MASTER_KEYS", gadai_test_support::PII_MASTER_KEYS)
            .env("PII_SUBJECT_KEY", gadai_test_support::PII_SUBJECT_KEY)
            .env_remove("ADMIN_PASSWORD");
        if dev {
            command.env("APP_ENV", "development");
        } else {
            command.env_remove("APP_ENV");
        }
        command.output().unwrap()
    };
    for placeholder in [
        "change-me-apps-key",
        "replace-with-openssl-rand-hex-32",
        "k3y",
    ] {
        let out = run(placeholder, false);
        assert!(!out.status.success(), "{placeholder} was accepted");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("APPS_KEY"), "{said}");
        assert!(!said.contains(placeholder), "the value is echoed: {said}");
    }
    assert!(
        run("change-me-apps-key", true).status.success(),
        "development"
    );
    assert!(
        run("f3b9c1d27e4a8650b2c9d1e3f4a5b6c7", false)
            .status
            .success()
    );
    env.cleanup().await;
}

#[tokio::test]
async fn live_feeds_end_with_their_session_and_are_bounded() {
    let env = TestEnv::new().await.unwrap();
    let mut s = settings(&env);
    s.feeds_per_operator = 2;
    let app = spawn_in_with(env, s).await;
    let feed = |client: reqwest::Client| {
        let url = format!("{}/dashboard/events", app.address);
        async move { client.get(url).send().await.unwrap() }
    };
    let first = feed(app.client.clone()).await;
    let second = feed(app.client.clone()).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = feed(app.client.clone()).await;
    assert_eq!(third.status(), 429, "a third feed of one operator");

    // The session is deleted behind this replica's back (as a password reset, a deactivation
    // or a logout on another replica does): its feeds end within the check interval.
    let mut first = first.bytes_stream();
    let mut second = second.bytes_stream();
    use futures::StreamExt;
    assert!(first.next().await.is_some(), "the feed starts");
    assert!(second.next().await.is_some(), "the feed starts");
    sqlx::query("DELETE FROM sessions")
        .execute(&app.pool)
        .await
        .unwrap();
    for stream in [&mut first, &mut second] {
        let ended = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(chunk) = stream.next().await {
                if chunk.is_err() {
                    break;
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "the feed outlived its session");
    }
    // A fresh session opens feeds again; logging it out ends its feed at once.
    let client = logged_in(&app.address, ADMIN, PASSWORD).await;
    let open = feed(client.clone()).await;
    assert_eq!(open.status(), 200);
    let mut open = open.bytes_stream();
    assert!(open.next().await.is_some());
    let logout = client
        .post(format!("{}/dashboard/auth/logout", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 200);
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(Ok(_)) = open.next().await {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "logout ends the feed on this replica at once"
    );
    app.stop().await;
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/dashboard/orders", "/dashboard/nope", "/openapi.json"] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert!(
            !headers.contains_key("strict-transport-security"),
            "plain HTTP"
        );
    }
    let over_https = app
        .client
        .get(format!("{}/dashboard/orders", app.address))
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    assert!(
        over_https.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=31536000")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_code_alone_is_refused_with_the_field_named() {
    let app = spawn_app().await;
    let response = reqwest::Client::new()
        .post(format!("{}/dashboard/verify", app.address))
        .header("X-API-Key", "test-apps-key")
        .json(&json!({"kode_unik": "ABC234"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["detail"][0]["loc"], json!(["body", "referensi"]));
    assert!(
        body["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("order reference")
    );
    app.stop().await;
}

#[tokio::test]
async fn secrets_never_show_in_debug_output() {
    let env = TestEnv::new().await.unwrap();
    let printed = format!("{:?}", settings(&env));
    assert!(printed.contains("apps_key"), "{printed}");
    assert!(!printed.contains("test-apps-key"), "{printed}");
    assert!(!printed.contains(PASSWORD), "{printed}");
    env.cleanup().await;
}
