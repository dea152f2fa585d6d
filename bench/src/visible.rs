//! `visible`: at a steady rate (1,000 orders/s) for `BENCH_SECONDS`, the time from sending each
//! `POST /api/insert-orders` to the moment dashboard-api announces the order as applied on
//! `{prefix}dashboard.changes` (published after the batch's commit, so the order is then in
//! `GET /dashboard/orders`). Requests are sent on schedule whether or not earlier ones answered
//! (open loop), so a slow server cannot slow the load down and hide its own latency.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::StreamExt;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    common::{self, APPS_KEY, BenchEnv, Knobs, Sample, ms, thousands},
    stages::{self, Totals},
    summary::Summary,
};

type Seen = Arc<Mutex<HashMap<Uuid, Instant>>>;

pub async fn run(knobs: &Knobs, summary: &mut Summary) -> anyhow::Result<()> {
    println!(
        "== visible: POST accepted -> announced by dashboard-api, steady {} orders/s ==",
        thousands(knobs.rate as f64)
    );
    let env = BenchEnv::new(knobs).await?;
    let result = measure(knobs, &env, summary).await;
    env.destroy().await;
    result
}

async fn measure(knobs: &Knobs, env: &BenchEnv, summary: &mut Summary) -> anyhow::Result<()> {
    let intake = common::start_intake(env).await?;
    let dashboard = common::start_dashboard(env).await?;
    let client = common::http_client()?;
    for s in [&intake, &dashboard] {
        anyhow::ensure!(
            common::wait_ready(&client, &s.url("/readyz"), Duration::from_secs(20)).await,
            "a service did not become ready"
        );
    }

    // Listen before the first order goes out.
    let nats = async_nats::connect(&env.env.bus.url).await?;
    let subject = format!(
        "{}{}",
        env.env.bus.prefix,
        dashboard_api::projection::CHANGES_SUBJECT
    );
    let mut changes = nats.subscribe(subject).await?;
    nats.flush().await?;
    let seen: Seen = Arc::default();
    let listener = {
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Some(message) = changes.next().await {
                let at = Instant::now();
                let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&message.payload)
                else {
                    continue;
                };
                let mut seen = seen.lock().expect("not poisoned");
                for item in items {
                    if let Some(id) = item["order_id"].as_str().and_then(|s| s.parse().ok()) {
                        seen.entry(id).or_insert(at);
                    }
                }
            }
        })
    };

    let url = intake.url("/api/insert-orders");
    // Warm-up: one second at the same rate, not counted.
    let warm = send_at_rate(&client, &url, knobs.rate, Duration::from_secs(1), "warm").await;
    wait_for(&seen, &warm, Duration::from_secs(10)).await;

    let duration = Duration::from_secs(knobs.seconds);
    let stages_from = Totals::scrape(&client, &dashboard).await?;
    let cpu_from = crate::cpu::snapshot();
    let sent = send_at_rate(&client, &url, knobs.rate, duration, "steady").await;
    let cpu_to = crate::cpu::snapshot();
    let pg_clients = crate::cpu::postgres_clients(&env.env.database_url).await;
    let missing = wait_for(&seen, &sent, Duration::from_secs(15)).await;
    let stages_to = Totals::scrape(&client, &dashboard).await?;
    listener.abort();
    intake.stop().await;
    dashboard.stop().await;

    let seen = seen.lock().expect("not poisoned").clone();
    let mut visible = Vec::new();
    let mut answered = Vec::new();
    let mut failed = 0;
    for s in &sent.orders {
        match s.id {
            Some(id) => {
                answered.push(s.answered);
                if let Some(at) = seen.get(&id) {
                    visible.push(at.saturating_duration_since(s.sent));
                }
            }
            None => failed += 1,
        }
    }
    let v = Sample::new(visible);
    let a = Sample::new(answered);
    println!(
        "  sent               {} orders in {:.1} s ({} orders/s achieved; sender at most {} ms behind schedule)",
        thousands(sent.orders.len() as f64),
        sent.elapsed.as_secs_f64(),
        thousands(sent.orders.len() as f64 / sent.elapsed.as_secs_f64()),
        ms(sent.max_lag)
    );
    println!(
        "  answered 201       {}  (failed {failed}, never announced within 15 s: {missing})",
        thousands(a.len() as f64)
    );
    println!(
        "  POST answered ms   p50 {}  p99 {}  max {}",
        ms(a.pct(50.0)),
        ms(a.pct(99.0)),
        ms(a.max())
    );
    println!(
        "  visible ms         p50 {}  p90 {}  p99 {}  max {}",
        ms(v.pct(50.0)),
        ms(v.pct(90.0)),
        ms(v.pct(99.0)),
        ms(v.max())
    );
    stages::print_projection(&stages_from, &stages_to, dashboard_api::projection::NAME);
    println!("  {}", crate::cpu::report(&cpu_from, &cpu_to));
    println!(
        "    {}",
        crate::cpu::postgres_by_service(&cpu_from, &cpu_to, &pg_clients)
    );
    let ok = v.len() > 0
        && failed == 0
        && missing == 0
        && v.pct(50.0) < Duration::from_millis(10)
        && v.pct(99.0) < Duration::from_millis(50);
    summary.add(
        format!("POST -> visible, {} orders/s", thousands(knobs.rate as f64)),
        format!("p50 {} ms, p99 {} ms", ms(v.pct(50.0)), ms(v.pct(99.0))),
        "p50 < 10 ms, p99 < 50 ms",
        Some(ok),
    );
    println!();
    Ok(())
}

struct Sent {
    sent: Instant,
    answered: Duration,
    id: Option<Uuid>,
}

struct Run {
    orders: Vec<Sent>,
    elapsed: Duration,
    max_lag: Duration,
}

/// Sends `rate` orders per second for `duration`, each at its scheduled instant in its own task.
async fn send_at_rate(
    client: &reqwest::Client,
    url: &str,
    rate: u64,
    duration: Duration,
    tag: &str,
) -> Run {
    let total = rate * duration.as_secs().max(1);
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    let mut max_lag = Duration::ZERO;
    let mut rng = common::Rng::new(0x5eed ^ total);
    for i in 0..total {
        let due = start + period.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        max_lag = max_lag.max(Instant::now().saturating_duration_since(due));
        let o = common::order(&mut rng, i);
        let body = json!({
            "nama_customer": o.nama_customer, "email": o.email,
            "nama_barang": o.nama_barang, "jenis_barang": o.jenis_barang,
            "jumlah_barang": o.jumlah_barang, "estimasi_nilai_barang": o.estimasi_nilai_barang,
            "wilayah": o.wilayah, "id_percakapan": o.id_percakapan,
        });
        let request = client
            .post(url)
            .header("X-API-Key", APPS_KEY)
            .header("Idempotency-Key", format!("{tag}-{i}"))
            .json(&body);
        let sent = Instant::now();
        tasks.push(tokio::spawn(async move {
            let id = match request.send().await {
                Ok(r) if r.status() == 201 => r
                    .json::<Value>()
                    .await
                    .ok()
                    .and_then(|b| b["order_ids"][0].as_str().and_then(|s| s.parse().ok())),
                _ => None,
            };
            Sent {
                sent,
                answered: sent.elapsed(),
                id,
            }
        }));
    }
    let mut orders = Vec::with_capacity(tasks.len());
    for t in tasks {
        if let Ok(s) = t.await {
            orders.push(s);
        }
    }
    Run {
        orders,
        elapsed: start.elapsed(),
        max_lag,
    }
}

/// Waits until every accepted order was announced (at most `limit`); returns how many were not.
async fn wait_for(seen: &Seen, run: &Run, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        let missing = {
            let seen = seen.lock().expect("not poisoned");
            run.orders
                .iter()
                .filter_map(|s| s.id)
                .filter(|id| !seen.contains_key(id))
                .count()
        };
        if missing == 0 || Instant::now() > deadline {
            return missing;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
