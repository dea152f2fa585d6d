//! The dashboard and the alerts against a real Prometheus server (Debian's `prometheus`
//! package): the four service binaries run as processes, each scraped every second with the
//! `service` label the compose and Kubernetes scrape configs set, with the repository's
//! `compose/prometheus/alerts.yml` loaded as its rules. After real traffic (orders accepted and
//! rejected, a mail sent, code checks matched, failed and throttled) every dashboard query of
//! `compose/grafana/queries.json` and every alert expression must evaluate and return data.
//!
//! Alert expressions return series only while they fire, so each is checked in three ways:
//! the server's own evaluation of the rule is healthy; the expression as written evaluates
//! successfully through the query API; and its "bool form" (every top-level comparison turned
//! into `op bool`, so it yields 0 or 1 instead of filtering) returns data, as does each
//! operand of its top-level comparisons and `and`/`or`/`unless`. The bool form and the operands
//! return data exactly when every series the alert reads exists with the labels it joins on:
//! a renamed metric or label would leave an alert that can never fire, which `promtool test
//! rules` (synthetic series) cannot see.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use gadai_test_support::{
    TestEnv, eventually, logged_in,
    process::{ADMIN, SERVICES, ServiceEnv, ServiceProcess},
    smtp::{SmtpServer, free_port},
};
use serde_json::{Value, json};

// Production rules apply to these binaries (no APP_ENV): the key is as long as a real one.
const APPS_KEY: &str = "monitoring-e2e-key-3f8a1c6d9b2e7054";
/// Two failed code checks an hour: the third is refused (`outcome="throttled"`), so the input
/// of GadaiCodeCheckBudgetSpent exists.
const FAILURE_BUDGET: &str = "2";
/// How long the expressions may take to return data once the traffic is sent (rates need two
/// scrapes of a series, the backlog gauges are measured every 5 s).
const SETTLE: Duration = Duration::from_secs(40);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e/ has a parent")
        .to_path_buf()
}

/// A Prometheus server of its own: killed when dropped (also when the test panics), its data
/// directory removed after it.
struct Prometheus {
    url: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Scrapes each `(service, http://127.0.0.1:port)` every second with the label `service`
    /// (as compose/prometheus/prometheus.yml and the PodMonitor set it), evaluates
    /// `compose/prometheus/alerts.yml` every second; ready once `/-/ready` answers.
    async fn start(targets: &[(String, String)]) -> Prometheus {
        let binary = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .unwrap_or_else(|| {
                panic!(
                    "the Prometheus server is not installed: `sudo apt-get install prometheus` \
                     (Debian's package; `bash scripts/check-alerts.sh` installs it too)"
                )
            });
        let rules = repo_root().join("compose/prometheus/alerts.yml");
        let mut config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {:?}\nscrape_configs:\n  - job_name: gadai\n    \
             metrics_path: /metrics\n    static_configs:\n",
            rules.display().to_string()
        );
        for (service, url) in targets {
            let address = url.trim_start_matches("http://");
            config.push_str(&format!(
                "      - targets: [{address:?}]\n        labels: {{service: {service:?}}}\n"
            ));
        }
        let dir = tempfile::tempdir().unwrap();
        let config_file = dir.path().join("prometheus.yml");
        std::fs::write(&config_file, &config).unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let port = free_port();
        let child = Command::new(&binary)
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let mut prometheus = Prometheus {
            url: format!("http://127.0.0.1:{port}"),
            child,
            dir,
        };
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = prometheus.child.try_wait().unwrap() {
                panic!(
                    "prometheus exited ({status}):\n{}\nconfig:\n{config}",
                    prometheus.log()
                );
            }
            let ready = client
                .get(format!("{}/-/ready", prometheus.url))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return prometheus;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "prometheus was not ready within 30 s:\n{}",
                prometheus.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    async fn get(&self, path: &str) -> Value {
        reqwest::get(format!("{}{path}", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// An instant query: the number of series (1 for a scalar), or the server's error.
    async fn query(&self, expr: &str) -> Result<usize, String> {
        let answer = self
            .get(&format!("/api/v1/query?query={}", encode(expr)))
            .await;
        if answer["status"] != "success" {
            return Err(format!("{}: {}", answer["errorType"], answer["error"]));
        }
        let data = &answer["data"];
        Ok(match data["resultType"].as_str() {
            Some("scalar") | Some("string") => 1,
            _ => data["result"].as_array().map_or(0, Vec::len),
        })
    }
}

/// Percent-encodes a query parameter's value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A binary operator at the top level of a PromQL expression (outside every bracket and
/// string): its byte range, and whether it is a comparison (else `and`, `or`, `unless`).
struct TopOp {
    start: usize,
    end: usize,
    comparison: bool,
}

fn top_level_ops(expr: &str) -> Vec<TopOp> {
    let bytes = expr.as_bytes();
    let mut ops = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'"' | b'\'' | b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != c {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ if c.is_ascii_alphanumeric() || c == b'_' || c == b':' => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b':')
                {
                    i += 1;
                }
                if depth == 0 && matches!(&expr[start..i], "and" | "or" | "unless") {
                    ops.push(TopOp {
                        start,
                        end: i,
                        comparison: false,
                    });
                }
                continue;
            }
            b'=' | b'!' | b'>' | b'<' if depth == 0 => {
                let two = bytes.get(i + 1) == Some(&b'=');
                let end = i + if two { 2 } else { 1 };
                ops.push(TopOp {
                    start: i,
                    end,
                    comparison: true,
                });
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    ops
}

/// `expr` with `bool` after each top-level comparison: 0 or 1 for every series it compares
/// instead of only those that pass.
fn bool_form(expr: &str) -> String {
    let mut out = String::new();
    let mut last = 0;
    for op in top_level_ops(expr).iter().filter(|op| op.comparison) {
        out.push_str(&expr[last..op.end]);
        if !expr[op.end..].trim_start().starts_with("bool") {
            out.push_str(" bool");
        }
        last = op.end;
    }
    out.push_str(&expr[last..]);
    out
}

/// The operands of the top-level operators that are not number literals, without the
/// operators' modifiers (`bool`, `on(...)`, `ignoring(...)`, `group_left(...)`...).
fn operands(expr: &str) -> Vec<String> {
    let mut cuts = vec![0];
    for op in top_level_ops(expr) {
        cuts.push(op.start);
        cuts.push(op.end);
    }
    cuts.push(expr.len());
    let mut out = Vec::new();
    for pair in cuts.chunks(2) {
        let mut part = expr[pair[0]..pair[1]].trim();
        'modifiers: loop {
            for word in ["bool", "on", "ignoring", "group_left", "group_right"] {
                if let Some(rest) = part.strip_prefix(word)
                    && !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                {
                    part = rest.trim_start();
                    if part.starts_with('(') {
                        let close = part.find(')').expect("a closed modifier list");
                        part = part[close + 1..].trim_start();
                    }
                    continue 'modifiers;
                }
            }
            break;
        }
        if !part.is_empty() && part.parse::<f64>().is_err() {
            out.push(part.to_owned());
        }
    }
    out
}

/// One expression to evaluate, and what it is.
struct Check {
    what: String,
    expr: String,
}

/// Every target of every dashboard panel, from compose/grafana/queries.json.
fn dashboard_checks() -> Vec<Check> {
    let text = std::fs::read_to_string(repo_root().join("compose/grafana/queries.json")).unwrap();
    let spec: Value = serde_json::from_str(&text).unwrap();
    let mut checks = Vec::new();
    for panel in spec["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            checks.push(Check {
                what: format!(
                    "panel {:?} {}",
                    panel["title"].as_str().unwrap(),
                    target["legend"].as_str().unwrap_or_default()
                ),
                expr: target["expr"].as_str().expect("an expr").to_owned(),
            });
        }
    }
    assert!(checks.len() >= 10, "queries.json has too few exprs");
    checks
}

/// The alert names alerts.yml declares (`- alert: Name` lines).
fn declared_alerts() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo_root().join("compose/prometheus/alerts.yml")).unwrap();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("- alert:"))
        .map(|name| name.trim().to_owned())
        .collect()
}

/// Every alerting rule the server loaded: (name, expr as the server prints it, health, error).
async fn loaded_alerts(prometheus: &Prometheus) -> Vec<(String, String, String, String)> {
    let rules = prometheus.get("/api/v1/rules?type=alert").await;
    rules["data"]["groups"]
        .as_array()
        .expect("rule groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().iter())
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (
                text("name"),
                text("query"),
                text("health"),
                text("lastError"),
            )
        })
        .collect()
}

/// The checks of every alert: the expression as written must evaluate (any number of series,
/// usually none), its bool form and each operand must return data.
fn alert_checks(alerts: &[(String, String, String, String)]) -> (Vec<Check>, Vec<Check>) {
    let mut as_written = Vec::new();
    let mut with_data = Vec::new();
    for (name, expr, _, _) in alerts {
        as_written.push(Check {
            what: format!("alert {name} (as written)"),
            expr: expr.clone(),
        });
        with_data.push(Check {
            what: format!("alert {name} (bool form)"),
            expr: bool_form(expr),
        });
        for (i, operand) in operands(expr).into_iter().enumerate() {
            with_data.push(Check {
                what: format!("alert {name} (operand {})", i + 1),
                expr: operand,
            });
        }
    }
    (as_written, with_data)
}

/// The outcome of one round: a table line per check, and the failures.
async fn evaluate(
    prometheus: &Prometheus,
    as_written: &[Check],
    with_data: &[Check],
) -> (String, Vec<String>) {
    let mut table = String::new();
    let mut failures = Vec::new();
    for (check, needs_data) in as_written
        .iter()
        .map(|c| (c, false))
        .chain(with_data.iter().map(|c| (c, true)))
    {
        let result = prometheus.query(&check.expr).await;
        let shown = match &result {
            Ok(n) => n.to_string(),
            Err(_) => "ERR".into(),
        };
        table.push_str(&format!(
            "{shown:>4}  {}\n      {}\n",
            check.what, check.expr
        ));
        match result {
            Err(err) => failures.push(format!("{}: {} failed: {err}", check.what, check.expr)),
            Ok(0) if needs_data => {
                failures.push(format!("{}: {} returned nothing", check.what, check.expr))
            }
            Ok(_) => {}
        }
    }
    (table, failures)
}

/// Posts orders (two accepted, one rejected), has the operator send a verification, and checks
/// codes: the mailed one (matched), two wrong ones (not_found, spending the budget of 2), and a
/// third wrong one (throttled).
async fn drive_traffic(intake: &str, dashboard: &str, smtp: &SmtpServer) {
    let client = reqwest::Client::new();
    let order = json!({"nama_customer": "siti rahma", "email": "siti@example.com",
                       "nama_barang": "Samsung Galaxy S23", "jenis_barang": "handphone",
                       "jumlah_barang": 1, "estimasi_nilai_barang": 9000000,
                       "wilayah": "Jawa Barat"});
    let post = |body: Value| {
        client
            .post(format!("{intake}/api/insert-orders"))
            .header("X-API-Key", APPS_KEY)
            .json(&body)
            .send()
    };
    let created = post(json!([order, order])).await.unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let id = created["order_ids"][0].as_str().unwrap().to_owned();
    let rejected = post(json!({"nama_customer": ""})).await.unwrap();
    assert_eq!(rejected.status(), 422, "a body that does not validate");

    let operator = logged_in(dashboard, ADMIN.0, ADMIN.1).await;
    let status = |wanted: &'static str| {
        let (operator, id) = (operator.clone(), id.clone());
        async move {
            eventually(Duration::from_secs(20), || async {
                let r = operator
                    .get(format!("{dashboard}/dashboard/orders/{id}"))
                    .send()
                    .await
                    .ok()?;
                let body: Value = r.json().await.ok()?;
                let order = &body["order"];
                (order["status"] == wanted && order["sending"] == false).then_some(())
            })
            .await
        }
    };
    status("On Process").await;
    let sent = operator
        .post(format!("{dashboard}/dashboard/verification/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    let mail = smtp.wait_for(1, Duration::from_secs(20)).await.remove(0);
    let code = mail
        .text
        .split("Kode verifikasi Anda:")
        .nth(1)
        .and_then(|after| after.lines().map(str::trim).find(|l| !l.is_empty()))
        .expect("a code in the mail")
        .to_owned();
    status("On Verification").await;

    let reference = id.replace('-', "")[..8].to_uppercase();
    let verify = |code: String| {
        client
            .post(format!("{dashboard}/dashboard/verify"))
            .header("X-API-Key", APPS_KEY)
            .json(&json!({"kode_unik": code, "referensi": reference}))
            .send()
    };
    assert_eq!(verify(code.clone()).await.unwrap().status(), 200);
    let wrong = if code == "ZZZZZZ" { "YYYYYY" } else { "ZZZZZZ" };
    let mut refused = Vec::new();
    for _ in 0..3 {
        refused.push(verify(wrong.to_owned()).await.unwrap().status().as_u16());
    }
    assert!(
        refused.iter().all(|s| *s >= 400),
        "wrong codes are refused: {refused:?}"
    );
}

#[tokio::test]
async fn every_dashboard_query_and_alert_expression_returns_data_from_a_real_prometheus() {
    let started = std::time::Instant::now();
    let env = TestEnv::new().await.unwrap();
    let smtp = SmtpServer::start().await;
    let logs = tempfile::tempdir().unwrap();
    let shared = ServiceEnv::new(&env, APPS_KEY)
        .smtp(smtp.port)
        .set("VERIFY_FAILURE_BUDGET", FAILURE_BUDGET);
    let mut running = Vec::new();
    for name in SERVICES {
        running.push(
            ServiceProcess::launch(name, &shared, logs.path())
                .await
                .unwrap(),
        );
    }
    let url_of = |name: &str| running.iter().find(|s| s.name == name).unwrap().url.clone();
    let targets: Vec<(String, String)> = running
        .iter()
        .map(|s| (s.name.clone(), s.url.clone()))
        .collect();
    let prometheus = Prometheus::start(&targets).await;

    // Every target scraped and up, with the label the dashboard and the alerts group by.
    eventually(Duration::from_secs(20), || async {
        let answer = prometheus.get("/api/v1/targets?state=active").await;
        let active = answer["data"]["activeTargets"].as_array()?.clone();
        let up: BTreeSet<&str> = active
            .iter()
            .filter(|t| t["health"] == "up")
            .filter_map(|t| t["labels"]["service"].as_str())
            .collect();
        (up.len() == SERVICES.len()).then_some(())
    })
    .await;

    // Every rule of alerts.yml loaded.
    let alerts = loaded_alerts(&prometheus).await;
    let loaded: BTreeSet<String> = alerts.iter().map(|a| a.0.clone()).collect();
    assert_eq!(loaded, declared_alerts(), "the alerts Prometheus loaded");

    drive_traffic(&url_of("order-intake"), &url_of("dashboard-api"), &smtp).await;

    let (as_written, mut with_data) = alert_checks(&alerts);
    with_data.extend(dashboard_checks());
    // The scrape labels themselves: one `up` and one `service_ready` per service.
    with_data.push(Check {
        what: "four services up".into(),
        expr: "count(count by (service) (up) == 1) == 4".into(),
    });
    with_data.push(Check {
        what: "four services report service_ready".into(),
        expr: "count(count by (service) (service_ready)) == 4".into(),
    });

    let deadline = tokio::time::Instant::now() + SETTLE;
    let (table, failures) = loop {
        let (table, mut failures) = evaluate(&prometheus, &as_written, &with_data).await;
        // The server's own evaluation of every alerting rule.
        for (name, _, health, error) in loaded_alerts(&prometheus).await {
            if health != "ok" {
                failures.push(format!("alert {name}: rule health {health:?} {error}"));
            }
        }
        if failures.is_empty() || tokio::time::Instant::now() > deadline {
            break (table, failures);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    println!("series  expression\n{table}");
    if !failures.is_empty() {
        for service in &running {
            eprintln!(
                "--- last lines of {}:\n{}",
                service.name,
                service.log_tail()
            );
        }
        panic!(
            "{} expression(s) failed or returned nothing after {SETTLE:?}:\n{}\nprometheus log:\n{}",
            failures.len(),
            failures.join("\n"),
            prometheus.log()
        );
    }

    drop(prometheus);
    for service in running.into_iter().rev() {
        service.stop(Duration::from_secs(15)).await.unwrap();
    }
    smtp.stop().await;
    env.cleanup().await;
    println!(
        "monitoring: {} exprs checked in {:.1?}",
        as_written.len() + with_data.len(),
        started.elapsed()
    );
}

#[test]
fn the_bool_form_and_the_operands_follow_the_top_level_operators() {
    let expr = r#"sum(increase(a{x=~"1|2"}[5m])) > 0 or sum by (p) (b unless b offset 15m) >= 3"#;
    assert_eq!(
        bool_form(expr),
        r#"sum(increase(a{x=~"1|2"}[5m])) > bool 0 or sum by (p) (b unless b offset 15m) >= bool 3"#
    );
    assert_eq!(
        operands(expr),
        [
            r#"sum(increase(a{x=~"1|2"}[5m]))"#,
            "sum by (p) (b unless b offset 15m)"
        ]
    );
    assert_eq!(bool_form("up == bool 0"), "up == bool 0");
    assert_eq!(
        operands("a / on (x) group_left b != 1"),
        ["a / on (x) group_left b"]
    );
    assert_eq!(operands("x and on(p) y"), ["x", "y"]);
    assert_eq!(bool_form("rate(x[5m])"), "rate(x[5m])");
}
