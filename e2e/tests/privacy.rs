//! Personal data that can be forgotten (UU PDP 27/2022), checked on the four service binaries as
//! they run in production: their own NATS users, a nats-server of the test's own (so its
//! JetStream store directory can be searched byte by byte), a real SMTP server.
//!
//! - A customer's name, e-mail, item and conversation never enter the stream in plaintext.
//! - The access export holds every personal field of the customer, decrypted.
//! - After an admin erases the customer: their name and e-mail are in no table of any schema
//!   (`pg_dump` of the whole database), in no API answer or export, in no log line of any
//!   service, and not in plaintext anywhere in the JetStream store; statistics are unchanged; a
//!   rebuild of the dashboard keeps them erased; another customer's data is untouched.
//! - Retention, with two dashboard-api replicas running its rounds: exactly the customer whose
//!   orders are all closed past the period is erased, once.
//!
//! Needs the service binaries in this target directory (`cargo test --workspace` builds them).

use std::{path::Path, time::Duration};

use gadai_test_support::{
    TestEnv, eventually, logged_in,
    nats::AuthNats,
    process::{ADMIN, SERVICES, ServiceEnv, ServiceProcess, workspace_binary},
    smtp::SmtpServer,
};
use serde_json::{Value, json};

const APPS_KEY: &str = "privacy-e2e-key-7c41d09be2a55f13";

/// The customer who asks to be forgotten: strings that occur nowhere else.
const SITI_NAME: &str = "Sitiwati Hapusdata";
const SITI_EMAIL: &str = "sitiwati.hapusdata@example.co.id";
const SITI_ITEM: &str = "Laptop kantor Sitiwati";
const SITI_CHAT: &str = "chat-sitiwati-7781";
const SITI_SUMMARY: &str = "Sitiwati ingin bicara soal taksiran";
/// A customer who stays.
const BUDI_NAME: &str = "Budiman Tetapada";
const BUDI_EMAIL: &str = "budiman.tetapada@example.co.id";

fn env_of(service: &str, env: &TestEnv, nats: &AuthNats, smtp: &SmtpServer) -> ServiceEnv {
    ServiceEnv::new(env, APPS_KEY)
        .smtp(smtp.port)
        .set("NATS_URL", &nats.url)
        .set("NATS_STREAM", &nats.stream)
        .set("NATS_SUBJECT_PREFIX", &nats.prefix)
        .set("NATS_USER", service)
        .set("NATS_PASSWORD", nats.password(service))
        .set("RETENTION_PERIOD", "off")
}

fn vars_of<'a>(services: &'a [(&str, ServiceEnv)], name: &str) -> &'a [(String, String)] {
    services.iter().find(|(s, _)| *s == name).unwrap().1.vars()
}

struct Stack {
    running: Vec<ServiceProcess>,
    logs: tempfile::TempDir,
}

impl Stack {
    async fn start(services: &[(&str, ServiceEnv)], nats: &AuthNats) -> Stack {
        let logs = tempfile::tempdir().unwrap();
        let mut running = Vec::new();
        for (service, vars) in services {
            let started = ServiceProcess::launch(service, vars, logs.path()).await;
            running.push(started.unwrap_or_else(|e| {
                panic!("{service} did not start: {e:#}\nNATS log:\n{}", nats.log())
            }));
        }
        Stack { running, logs }
    }

    fn url(&self, name: &str) -> String {
        self.running
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.url.clone())
            .unwrap()
    }

    /// Every service's log so far, concatenated.
    fn all_logs(&self) -> String {
        let mut text = String::new();
        for entry in std::fs::read_dir(self.logs.path()).unwrap().flatten() {
            text.push_str(&String::from_utf8_lossy(
                &std::fs::read(entry.path()).unwrap_or_default(),
            ));
        }
        text
    }

    async fn stop(self) {
        for service in self.running.into_iter().rev() {
            let name = service.name.clone();
            let status = service.stop(Duration::from_secs(15)).await.unwrap();
            assert!(status.success(), "{name} exited with {status}");
        }
    }
}

async fn post_order(intake: &str, name: &str, email: &str, item: &str, chat: &str) -> String {
    let body = json!({"nama_customer": name, "email": email, "nama_barang": item,
        "jenis_barang": "laptop", "jumlah_barang": 1, "estimasi_nilai_barang": 7_500_000,
        "wilayah": "Jawa Barat", "id_percakapan": chat});
    let response = reqwest::Client::new()
        .post(format!("{intake}/api/insert-orders"))
        .header("X-API-Key", APPS_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let body: Value = response.json().await.unwrap();
    body["order_ids"][0].as_str().unwrap().to_owned()
}

/// Every byte under `dir` that is a file.
fn bytes_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

fn files_containing(files: &[(String, Vec<u8>)], needle: &str) -> Vec<String> {
    let needle = needle.as_bytes();
    files
        .iter()
        .filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle))
        .map(|(path, _)| path.clone())
        .collect()
}

/// The whole database (every schema, data and all), as `pg_dump` writes it.
async fn dump(database_url: &str) -> String {
    let output = tokio::process::Command::new("pg_dump")
        .args(["--no-owner", "--data-only", database_url])
        .output()
        .await
        .expect("pg_dump (postgresql-client) is installed");
    assert!(
        output.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

async fn get_text(client: &reqwest::Client, url: String) -> String {
    let response = client.get(&url).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.text().await.unwrap()
}

/// The text of the XLSX and PDF exports of the active orders.
async fn spreadsheets(admin: &reqwest::Client, dashboard: &str) -> (String, String) {
    let export = |format: &'static str| {
        let url = format!("{dashboard}/dashboard/orders/export?format={format}");
        async move {
            let response = admin.get(url).send().await.unwrap();
            assert!(response.status().is_success(), "{format} export");
            response.bytes().await.unwrap().to_vec()
        }
    };
    (
        xlsx_text(&export("xlsx").await),
        pdf_text(&export("pdf").await),
    )
}

/// What operators can read of the system over HTTP: lists, details with history, hand-offs,
/// statistics and the three exports.
async fn api_answers(admin: &reqwest::Client, dashboard: &str, ids: &[&str]) -> String {
    let mut text = String::new();
    for path in [
        "/dashboard/orders?limit=100",
        "/dashboard/handoffs",
        "/dashboard/stats",
        "/dashboard/orders/export?format=csv",
        "/dashboard/admin/erasures",
    ] {
        text.push_str(&get_text(admin, format!("{dashboard}{path}")).await);
    }
    let (xlsx, pdf) = spreadsheets(admin, dashboard).await;
    text.push_str(&xlsx);
    text.push_str(&pdf);
    for id in ids {
        text.push_str(&get_text(admin, format!("{dashboard}/dashboard/orders/{id}")).await);
    }
    text
}

/// Every cell of every sheet of an XLSX file, as text.
fn xlsx_text(bytes: &[u8]) -> String {
    use calamine::{Reader, Xlsx, open_workbook_from_rs};
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut text = String::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).unwrap();
        for row in range.rows() {
            for cell in row {
                text.push_str(&cell.to_string());
                text.push('\t');
            }
            text.push('\n');
        }
    }
    text
}

/// The text of a PDF (`pdftotext`, from poppler-utils, which `make test` installs).
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.pdf");
    std::fs::write(&path, pdf).unwrap();
    let output = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (Debian package poppler-utils)");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn an_erased_customer_is_gone_from_every_table_answer_log_and_the_stream_store() {
    let env = TestEnv::new().await.unwrap();
    let nats = AuthNats::start().await.unwrap();
    let smtp = SmtpServer::start().await;
    let services: Vec<(&str, ServiceEnv)> = SERVICES
        .iter()
        .map(|s| (*s, env_of(s, &env, &nats, &smtp)))
        .collect();
    let stack = Stack::start(&services, &nats).await;
    let (intake, dashboard) = (stack.url("order-intake"), stack.url("dashboard-api"));
    let admin = logged_in(&dashboard, ADMIN.0, ADMIN.1).await;

    // Two orders and a hand-off of Siti, one order of Budi.
    let siti_1 = post_order(&intake, SITI_NAME, SITI_EMAIL, SITI_ITEM, SITI_CHAT).await;
    let siti_2 = post_order(
        &intake,
        SITI_NAME,
        " Sitiwati.Hapusdata@Example.co.id ",
        SITI_ITEM,
        SITI_CHAT,
    )
    .await;
    let budi = post_order(
        &intake,
        BUDI_NAME,
        BUDI_EMAIL,
        "Kamera Budiman",
        "chat-budiman",
    )
    .await;
    let handoff = reqwest::Client::new()
        .post(format!("{dashboard}/dashboard/customer/handoff"))
        .header("X-API-Key", APPS_KEY)
        .json(
            &json!({"id_percakapan": SITI_CHAT, "nama_customer": SITI_NAME,
            "email": SITI_EMAIL, "ringkasan": SITI_SUMMARY}),
        )
        .send()
        .await
        .unwrap();
    assert!(
        handoff.status().is_success(),
        "handoff: {}",
        handoff.status()
    );
    eventually(Duration::from_secs(30), || {
        let admin = admin.clone();
        let url = format!("{dashboard}/dashboard/handoffs");
        let orders = format!("{dashboard}/dashboard/orders?limit=100");
        async move {
            let h = admin.get(url).send().await.ok()?.text().await.ok()?;
            let o = admin.get(orders).send().await.ok()?.text().await.ok()?;
            (h.contains(SITI_SUMMARY) && o.matches(SITI_NAME).count() == 2 && o.contains(BUDI_NAME))
                .then_some(())
        }
    })
    .await;
    // The mailer opens the sealed address when it sends.
    let sent = admin
        .post(format!("{dashboard}/dashboard/verification/{siti_1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    let mail = smtp.wait_for(1, Duration::from_secs(30)).await.remove(0);
    assert!(mail.to.contains(SITI_EMAIL), "mailed to {:?}", mail.to);
    assert!(mail.text.contains(SITI_NAME));

    // Sealed from the start: none of Siti's strings is in the stream's files, even before any
    // erasure; the non-personal facts are.
    let store = bytes_under(&nats.store_dir());
    for secret in [
        SITI_NAME,
        SITI_EMAIL,
        SITI_ITEM,
        SITI_CHAT,
        SITI_SUMMARY,
        BUDI_EMAIL,
    ] {
        let found = files_containing(&store, secret);
        assert!(found.is_empty(), "{secret:?} in plaintext in {found:?}");
    }
    assert!(!files_containing(&store, "Jawa Barat").is_empty());

    // The access export holds every personal field, decrypted.
    let export = admin
        .post(format!("{dashboard}/dashboard/admin/customers/data"))
        .json(&json!({ "email": SITI_EMAIL }))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let export: Value = export.json().await.unwrap();
    let orders = export["pesanan"].as_array().unwrap();
    let mut ids: Vec<&str> = orders.iter().map(|o| o["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut expected = vec![siti_1.as_str(), siti_2.as_str()];
    expected.sort();
    assert_eq!(ids, expected, "{export:#}");
    for order in orders {
        assert_eq!(order["nama_customer"], SITI_NAME);
        assert_eq!(
            order["email"].as_str().unwrap().trim().to_lowercase(),
            SITI_EMAIL
        );
        assert_eq!(order["nama_barang"], SITI_ITEM);
        assert_eq!(order["id_percakapan"], SITI_CHAT);
        assert!(!order["riwayat"].as_array().unwrap().is_empty());
    }
    assert_eq!(export["handoff"][0]["ringkasan"], SITI_SUMMARY);
    assert!(!export.to_string().contains(BUDI_NAME));

    // The statistics once the mail's outcome is projected (the order is On Verification).
    eventually(Duration::from_secs(30), || {
        let admin = admin.clone();
        let url = format!("{dashboard}/dashboard/orders/{siti_1}");
        async move {
            let body: Value = admin.get(url).send().await.ok()?.json().await.ok()?;
            (body["order"]["status"] == "On Verification").then_some(())
        }
    })
    .await;
    let stats_before = get_text(&admin, format!("{dashboard}/dashboard/stats")).await;
    // The exports are read as text: before the erasure they show Siti.
    let (xlsx, pdf) = spreadsheets(&admin, &dashboard).await;
    assert!(xlsx.contains(SITI_NAME), "{xlsx}");
    assert!(pdf.contains(SITI_EMAIL), "{pdf}");

    // The admin erases Siti by e-mail.
    let erased = admin
        .post(format!("{dashboard}/dashboard/admin/erasures"))
        .json(&json!({"email": SITI_EMAIL, "alasan": "DPO-2026-0042"}))
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), 202, "{}", erased.text().await.unwrap());
    let erased: Value = erased.json().await.unwrap();
    assert_eq!(erased["pesanan"], 2);
    eventually(Duration::from_secs(30), || {
        let admin = admin.clone();
        let url = format!("{dashboard}/dashboard/orders?limit=100");
        async move {
            let o = admin.get(url).send().await.ok()?.text().await.ok()?;
            (!o.contains(SITI_NAME) && o.contains(BUDI_NAME)).then_some(())
        }
    })
    .await;
    // order-intake has deleted the key (its projection applied the erasure).
    let pool = sqlx::PgPool::connect(&env.database_url).await.unwrap();
    eventually(Duration::from_secs(30), || {
        let pool = pool.clone();
        async move {
            let erased: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM intake.customer_keys WHERE erased_at IS NOT NULL",
            )
            .fetch_one(&pool)
            .await
            .ok()?;
            (erased == 1).then_some(())
        }
    })
    .await;

    let answers = api_answers(&admin, &dashboard, &[&siti_1, &siti_2, &budi]).await;
    for secret in [SITI_NAME, SITI_EMAIL, SITI_ITEM, SITI_CHAT, SITI_SUMMARY] {
        assert!(!answers.contains(secret), "{secret:?} in an API answer");
    }
    assert!(
        answers.contains(BUDI_NAME),
        "the other customer is untouched"
    );
    assert!(answers.contains("data_dihapus"));
    assert_eq!(
        get_text(&admin, format!("{dashboard}/dashboard/stats")).await,
        stats_before,
        "statistics keep their counts"
    );
    let gone = admin
        .post(format!("{dashboard}/dashboard/admin/customers/data"))
        .json(&json!({ "email": SITI_EMAIL }))
        .send()
        .await
        .unwrap();
    let gone = gone.text().await.unwrap();
    for secret in [SITI_NAME, SITI_ITEM, SITI_CHAT, SITI_SUMMARY] {
        assert!(
            !gone.contains(secret),
            "{secret:?} in the access export after erasure"
        );
    }
    // The customer's status lookup no longer finds the order by its e-mail.
    let reference = siti_2[..8].to_uppercase();
    let status = reqwest::Client::new()
        .post(format!("{dashboard}/dashboard/customer/status"))
        .header("X-API-Key", APPS_KEY)
        .json(&json!({"referensi": reference, "email": SITI_EMAIL}))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 404);

    let database = dump(&env.database_url).await;
    for secret in [SITI_NAME, SITI_EMAIL, SITI_ITEM, SITI_CHAT, SITI_SUMMARY] {
        assert!(
            !database.contains(secret),
            "{secret:?} in a table (pg_dump)"
        );
    }
    assert!(
        database.contains(BUDI_NAME),
        "the dump holds the other customer"
    );

    let store = bytes_under(&nats.store_dir());
    for secret in [SITI_NAME, SITI_EMAIL, SITI_ITEM, SITI_CHAT, SITI_SUMMARY] {
        assert!(
            files_containing(&store, secret).is_empty(),
            "{secret:?} in the stream store"
        );
    }

    // A rebuild of the dashboard replays the stream: the keys are gone, so Siti stays erased.
    let rebuilt = tokio::process::Command::new(workspace_binary("dashboard-api").unwrap())
        .arg("rebuild")
        .envs(vars_of(&services, "dashboard-api").iter().cloned())
        .output()
        .await
        .unwrap();
    assert!(
        rebuilt.status.success(),
        "rebuild: {}{}",
        String::from_utf8_lossy(&rebuilt.stdout),
        String::from_utf8_lossy(&rebuilt.stderr)
    );
    let answers = api_answers(&admin, &dashboard, &[&siti_1, &siti_2, &budi]).await;
    for secret in [SITI_NAME, SITI_EMAIL, SITI_ITEM, SITI_CHAT, SITI_SUMMARY] {
        assert!(
            !answers.contains(secret),
            "{secret:?} back after the rebuild"
        );
    }
    assert!(answers.contains(BUDI_NAME));
    assert_eq!(
        get_text(&admin, format!("{dashboard}/dashboard/stats")).await,
        stats_before
    );
    let database = dump(&env.database_url).await;
    for secret in [SITI_NAME, SITI_EMAIL, SITI_ITEM, SITI_CHAT, SITI_SUMMARY] {
        assert!(
            !database.contains(secret),
            "{secret:?} in a table after the rebuild"
        );
    }

    // No service ever logged them (the rebuild's own output included).
    let logs = format!(
        "{}{}{}",
        stack.all_logs(),
        String::from_utf8_lossy(&rebuilt.stdout),
        String::from_utf8_lossy(&rebuilt.stderr)
    );
    assert!(
        logs.contains("order-intake") || !logs.is_empty(),
        "the logs were read"
    );
    for secret in [
        SITI_NAME,
        SITI_EMAIL,
        SITI_ITEM,
        SITI_CHAT,
        SITI_SUMMARY,
        BUDI_EMAIL,
    ] {
        assert!(!logs.contains(secret), "{secret:?} in a log line");
    }
    assert!(!nats.log().contains("Violation"), "{}", nats.log());
    stack.stop().await;

    // Master key rotation: a new key first, the old one after it; every live key (Budi's; Siti's
    // is gone) is re-wrapped under the new one, and the old one then wraps none.
    let rotated = format!(
        "t2:cm90YXRlZC10ZXN0LW1hc3Rlci1rZXktMzItYnl0ZXM=,{}",
        gadai_test_support::PII_MASTER_KEYS
    );
    let rewrap = tokio::process::Command::new(workspace_binary("order-intake").unwrap())
        .arg("rewrap-keys")
        .envs(vars_of(&services, "order-intake").iter().cloned())
        .env("PII_MASTER_KEYS", rotated)
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&rewrap.stderr);
    assert!(rewrap.status.success(), "rewrap-keys: {said}");
    assert!(
        said.contains("1 keys re-wrapped under master key \"t2\""),
        "{said}"
    );
    assert!(
        said.contains("master key \"t2\" wraps 1 live keys"),
        "{said}"
    );
    assert!(!said.contains("\"t1\" wraps"), "{said}");
    smtp.stop().await;
}

#[tokio::test]
async fn retention_erases_exactly_the_customers_past_their_period_once_across_two_replicas() {
    let env = TestEnv::new().await.unwrap();
    let nats = AuthNats::start().await.unwrap();
    let smtp = SmtpServer::start().await;
    // A period of seconds stands in for 365 days; what is checked does not depend on how long
    // the machine takes: the open order is never past its period, the closed one always ends up
    // past it.
    let with_retention = |s: &str| {
        env_of(s, &env, &nats, &smtp)
            .set("RETENTION_PERIOD", "2s")
            .set("RETENTION_SWEEP_INTERVAL", "1s")
    };
    let services = vec![
        ("order-intake", env_of("order-intake", &env, &nats, &smtp)),
        (
            "verification-mailer",
            env_of("verification-mailer", &env, &nats, &smtp),
        ),
        ("dashboard-api", with_retention("dashboard-api")),
        ("dashboard-api", with_retention("dashboard-api")),
        (
            "expiry-sweeper",
            env_of("expiry-sweeper", &env, &nats, &smtp),
        ),
    ];
    let stack = Stack::start(&services, &nats).await;
    let (intake, dashboard) = (stack.url("order-intake"), stack.url("dashboard-api"));
    let admin = logged_in(&dashboard, ADMIN.0, ADMIN.1).await;

    let closed = post_order(&intake, SITI_NAME, SITI_EMAIL, SITI_ITEM, SITI_CHAT).await;
    let open = post_order(
        &intake,
        BUDI_NAME,
        BUDI_EMAIL,
        "Kamera Budiman",
        "chat-budiman",
    )
    .await;
    eventually(Duration::from_secs(30), || {
        let admin = admin.clone();
        let url = format!("{dashboard}/dashboard/orders/{closed}");
        async move {
            admin
                .get(url)
                .send()
                .await
                .ok()?
                .status()
                .is_success()
                .then_some(())
        }
    })
    .await;
    let deleted = admin
        .delete(format!("{dashboard}/dashboard/order/{closed}"))
        .send()
        .await
        .unwrap();
    assert!(
        deleted.status().is_success(),
        "delete: {}",
        deleted.status()
    );

    // The deleted order's customer is erased by retention...
    eventually(Duration::from_secs(60), || {
        let admin = admin.clone();
        let url = format!("{dashboard}/dashboard/admin/erasures");
        async move {
            let log: Value = admin.get(url).send().await.ok()?.json().await.ok()?;
            (log.as_array()?.len() == 1).then_some(())
        }
    })
    .await;
    // ...a few more rounds of both replicas change nothing.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let log: Value = admin
        .get(format!("{dashboard}/dashboard/admin/erasures"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The log holds one row per customer.erased event: one row, one event from two replicas.
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 1, "one erasure: {log:#?}");
    assert_eq!(log[0]["dasar"], "retensi");
    assert_eq!(log[0]["actor"], "system");

    let closed_order = get_text(&admin, format!("{dashboard}/dashboard/orders/{closed}")).await;
    assert!(
        !closed_order.contains(SITI_NAME),
        "the closed order's customer is erased"
    );
    let open_order = get_text(&admin, format!("{dashboard}/dashboard/orders/{open}")).await;
    assert!(
        open_order.contains(BUDI_NAME),
        "the open order's customer is kept"
    );
    stack.stop().await;
    smtp.stop().await;
}
