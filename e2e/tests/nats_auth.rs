//! The four service binaries against a nats-server with the project's users and permissions
//! (`gadai_bus::permissions`), each configured through its environment as compose, Kubernetes
//! and `make run` do it: its own `NATS_USER`/`NATS_PASSWORD`. One order goes through the whole
//! flow (bridge, dashboard, code mailed, code checked over request/reply, verified), another
//! expires through the sweeper, every service's `rebuild` replays the stream, and the server
//! logs not one permission violation.
//!
//! Needs the service binaries in this target directory (`cargo test --workspace` builds them;
//! alone: `cargo build -p order-intake -p dashboard-api -p verification-mailer -p expiry-sweeper`).

use std::time::Duration;

use gadai_bus::permissions;
use gadai_test_support::{
    TestEnv, logged_in,
    nats::AuthNats,
    process::{ADMIN, SERVICES, ServiceEnv, ServiceProcess, workspace_binary},
    smtp::SmtpServer,
};
use serde_json::{Value, json};

const APPS_KEY: &str = "nats-auth-e2e-key-4b1d9c7a2e6f8035";

/// What every service reads, on the authenticating server as its own NATS user.
fn env_of(service: &str, env: &TestEnv, nats: &AuthNats, smtp: &SmtpServer) -> ServiceEnv {
    ServiceEnv::new(env, APPS_KEY)
        .smtp(smtp.port)
        .set("NATS_URL", &nats.url)
        .set("NATS_STREAM", &nats.stream)
        .set("NATS_SUBJECT_PREFIX", &nats.prefix)
        .set("NATS_USER", service)
        .set("NATS_PASSWORD", nats.password(service))
        // Short enough for the second order to expire within the test, long enough for the
        // first to be verified.
        .set("VERIFICATION_TTL", "8s")
        .set("SWEEP_INTERVAL", "1s")
}

fn code_in(text: &str) -> String {
    text.split("Kode verifikasi Anda:")
        .nth(1)
        .and_then(|after| after.lines().map(str::trim).find(|l| !l.is_empty()))
        .expect("a code in the mail")
        .to_owned()
}

#[tokio::test]
async fn the_services_work_under_their_nats_permissions() {
    let env = TestEnv::new().await.unwrap();
    let nats = AuthNats::start().await.unwrap();
    let smtp = SmtpServer::start().await;
    let logs = tempfile::tempdir().unwrap();

    let mut running = Vec::new();
    for service in SERVICES {
        let vars = env_of(service, &env, &nats, &smtp);
        let started = ServiceProcess::launch(service, &vars, logs.path()).await;
        running.push(started.unwrap_or_else(|e| {
            panic!("{service} did not start: {e:#}\nNATS log:\n{}", nats.log())
        }));
    }
    let url = |name: &str| {
        running
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.url.clone())
            .unwrap()
    };
    let (intake, dashboard) = (url("order-intake"), url("dashboard-api"));
    let outcome = flow(&intake, &dashboard, &smtp, &nats).await;
    if let Err(failure) = &outcome {
        for service in &running {
            eprintln!("--- {}:\n{}", service.name, service.log_tail());
        }
        panic!("{failure}\nNATS log:\n{}", nats.log());
    }

    // Each service's rebuild replays the stream under its own user.
    for service in SERVICES {
        let output = tokio::process::Command::new(workspace_binary(service).unwrap())
            .args(["rebuild", "--dry-run"])
            .envs(env_of(service, &env, &nats, &smtp).vars().iter().cloned())
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "{service} rebuild failed: {}{}\nNATS log:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            nats.log()
        );
    }

    let violations: Vec<String> = nats
        .log()
        .lines()
        .filter(|l| l.contains("Violation"))
        .map(str::to_owned)
        .collect();
    assert!(
        violations.is_empty(),
        "permission violations:\n{}",
        violations.join("\n")
    );
    for service in running.into_iter().rev() {
        let name = service.name.clone();
        let status = service.stop(Duration::from_secs(15)).await.unwrap();
        assert!(status.success(), "{name} exited with {status}");
    }
    smtp.stop().await;
    // The permission table names the durable consumers the services really use.
    let table: Vec<&str> = permissions::ROLES
        .iter()
        .flat_map(|r| r.consumers.iter().map(|(name, _)| *name))
        .collect();
    assert_eq!(
        table,
        [
            order_intake::projection::NAME,
            dashboard_api::projection::NAME,
            verification_mailer::projection::NAME,
            verification_mailer::sender::NAME,
            expiry_sweeper::projection::NAME,
        ]
    );
}

/// Order in, code mailed, code checked, verified; a second order expires.
async fn flow(
    intake: &str,
    dashboard: &str,
    smtp: &SmtpServer,
    nats: &AuthNats,
) -> Result<(), String> {
    let http = reqwest::Client::new();
    let order = |email: &str| {
        json!({"nama_customer": "siti rahma", "email": email, "nama_barang": "Samsung Galaxy S23",
               "jenis_barang": "handphone", "jumlah_barang": 1, "estimasi_nilai_barang": 9000000,
               "wilayah": "Jawa Barat"})
    };
    let post = |email: &'static str| {
        let http = http.clone();
        let body = order(email);
        async move {
            let response = http
                .post(format!("{intake}/api/insert-orders"))
                .header("X-API-Key", APPS_KEY)
                .json(&body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if response.status() != 201 {
                return Err(format!("insert-orders answered {}", response.status()));
            }
            let body: Value = response.json().await.map_err(|e| e.to_string())?;
            Ok::<String, String>(body["order_ids"][0].as_str().unwrap_or_default().to_owned())
        }
    };
    let operator = logged_in(dashboard, ADMIN.0, ADMIN.1).await;
    let status_of = |id: String| {
        let operator = operator.clone();
        async move {
            let response = operator
                .get(format!("{dashboard}/dashboard/orders/{id}"))
                .send()
                .await
                .ok()?;
            let body: Value = response.json().await.ok()?;
            let order = &body["order"];
            (order["sending"] == false).then(|| order["status"].as_str().unwrap_or("").to_owned())
        }
    };
    let wait_status = |id: String, want: &'static str| {
        let status_of = &status_of;
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            let mut last = None;
            while tokio::time::Instant::now() < deadline {
                last = status_of(id.clone()).await;
                if last.as_deref() == Some(want) {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(format!(
                "order {id} never became {want} (last seen: {last:?})"
            ))
        }
    };

    // order-intake publishes order.created; dashboard-api projects it.
    let first = post("siti@example.com").await?;
    wait_status(first.clone(), "On Process").await?;

    // dashboard-api publishes verification.requested; the mailer mails the code and publishes
    // verification.sent.
    let sent = operator
        .post(format!("{dashboard}/dashboard/verification/{first}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if sent.status() != 202 {
        return Err(format!("send verification answered {}", sent.status()));
    }
    let mail = smtp.wait_for(1, Duration::from_secs(20)).await.remove(0);
    let code = code_in(&mail.text);
    wait_status(first.clone(), "On Verification").await?;

    // The check goes over rpc.verification.check (only the mailer answers) and the order
    // becomes Verified.
    let verified = http
        .post(format!("{dashboard}/dashboard/verify"))
        .header("X-API-Key", APPS_KEY)
        .json(&json!({"kode_unik": code, "order_id": first}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = verified.status();
    let body = verified.text().await.unwrap_or_default();
    if status != 200 {
        return Err(format!("verify answered {status}: {body}"));
    }
    wait_status(first.clone(), "Verified").await?;

    // The sweeper publishes order.expired for a code nobody used.
    let second = post("budi@example.com").await?;
    wait_status(second.clone(), "On Process").await?;
    operator
        .post(format!("{dashboard}/dashboard/verification/{second}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    wait_status(second.clone(), "On Verification").await?;
    wait_status(second.clone(), "Expired").await?;
    if nats.log().contains("Violation") {
        return Err("the server logged permission violations".into());
    }
    Ok(())
}
