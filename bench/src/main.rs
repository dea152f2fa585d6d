//! gadai-bench: the figures of DESIGN.md section 9, measured on this machine.
//!
//! ```text
//! gadai-bench [all | bridge | visible | catchup | memory | web]...   run scenarios (default all)
//! gadai-bench cleanup LEDGER                                   drop what a crashed run left
//! ```
//!
//! Every scenario runs against a database and a stream of its own (`gadai_test_support::TestEnv`)
//! that it drops at the end, so real data is never touched. Knobs: `BENCH_SECONDS`,
//! `BENCH_EVENTS`, `BENCH_QUICK`, `BENCH_RATE`, `BENCH_CONNECTIONS` (see `common::Knobs`);
//! `BENCH_RESULTS` names the file of figures the next run prints as "previous run".

mod bridge;
mod catchup;
mod common;
mod cpu;
mod jetstream;
mod memory;
mod stages;
mod summary;
mod visible;
mod web;

use std::time::Instant;

use anyhow::Context;
use common::{Knobs, thousands};
use summary::Summary;

const SCENARIOS: [&str; 5] = ["bridge", "visible", "catchup", "memory", "web"];

#[global_allocator]
static ALLOCATOR: gadai_runtime::Allocator = gadai_runtime::Allocator;

fn main() -> anyhow::Result<()> {
    // The services read their settings from the environment; the bench overrides the database,
    // stream, host and port, and gives them its own bridge key. SAFETY: no other thread exists
    // yet, so nothing can read the environment concurrently.
    unsafe {
        std::env::set_var("APPS_KEY", common::APPS_KEY);
        // The customers' keys (sealing at the bridge, opening in the dashboard's projection).
        std::env::set_var("PII_MASTER_KEYS", gadai_test_support::PII_MASTER_KEYS);
        std::env::set_var("PII_SUBJECT_KEY", gadai_test_support::PII_SUBJECT_KEY);
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

/// The machine's speed now, the yardstick of the run's figures: the machines here change speed
/// from hour to hour (other work on the same host; raw JetStream went from 93,362/s to 28,291/s
/// in a week, catch-up by 1.7x within one afternoon), so a figure is compared with the previous
/// run's only beside these.
async fn machine_speed(knobs: &Knobs, summary: &mut Summary) {
    let yardstick = "none (the machine now: compare runs beside it)";
    match tokio::task::spawn_blocking(cpu::one_core_speed).await {
        Ok(speed) => {
            println!("  one core           SHA-256 at {} MB/s", thousands(speed));
            let measured = format!("{} MB/s", thousands(speed));
            summary.add("machine: one core, SHA-256", measured, yardstick, None);
        }
        Err(err) => println!("  one core           not measured: {err}"),
    }
    match jetstream::probe(knobs).await {
        Ok(rate) => {
            println!(
                "  JetStream          {} acknowledged publishes/s (16 in flight, 2 s)",
                thousands(rate)
            );
            let measured = format!("{}/s", thousands(rate));
            summary.add(
                "machine: JetStream acked publishes, 2 s",
                measured,
                yardstick,
                None,
            );
        }
        Err(err) => println!("  JetStream          not measured: {err:#}"),
    }
    println!();
}

async fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("cleanup") {
        let ledger = args.get(1).context("usage: gadai-bench cleanup LEDGER")?;
        return cleanup(ledger).await;
    }
    let mut chosen: Vec<&str> = Vec::new();
    for arg in &args {
        match arg.as_str() {
            "all" => chosen.extend(SCENARIOS),
            name if SCENARIOS.contains(&name) => chosen.push(name),
            other => anyhow::bail!(
                "unknown scenario {other:?}: choose from all, {}",
                SCENARIOS.join(", ")
            ),
        }
    }
    if chosen.is_empty() {
        chosen.extend(SCENARIOS);
    }
    // Each scenario once, in the order first named.
    let mut seen = std::collections::HashSet::new();
    chosen.retain(|name| seen.insert(*name));

    let knobs = Knobs::from_env()?;
    println!(
        "gadai-bench: {} | BENCH_SECONDS={} BENCH_EVENTS={}{} BENCH_RATE={} BENCH_CONNECTIONS={} | {} CPU cores | {}",
        chosen.join(" "),
        knobs.seconds,
        thousands(knobs.events as f64),
        if knobs.quick { " (BENCH_QUICK)" } else { "" },
        thousands(knobs.rate as f64),
        knobs.connections,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
    );
    println!();

    let started = Instant::now();
    let mut summary = Summary::default();
    let quiet_limit = std::time::Duration::from_secs(
        std::env::var("BENCH_QUIET_WAIT")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(60),
    );
    println!("[machine] {}", cpu::wait_for_quiet(quiet_limit).await);
    machine_speed(&knobs, &mut summary).await;
    for name in &chosen {
        println!("[{name}] {}", cpu::wait_for_quiet(quiet_limit).await);
        let result = match *name {
            "bridge" => bridge::run(&knobs, &mut summary).await,
            "visible" => visible::run(&knobs, &mut summary).await,
            "catchup" => catchup::run(&knobs, &mut summary).await,
            "memory" => memory::run(&knobs, &mut summary).await,
            "web" => web::run(&knobs, &mut summary).await,
            _ => unreachable!("checked above"),
        };
        if let Err(err) = result {
            println!("  {name} FAILED: {err:#}");
            println!();
            summary.add(name.to_string(), "failed (see above)", "", Some(false));
        }
    }
    println!(
        "== summary (DESIGN.md section 9; client, servers, Postgres and NATS share this machine) =="
    );
    let results =
        std::env::var("BENCH_RESULTS").unwrap_or_else(|_| "var/bench/results.json".into());
    let mut at = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    if knobs.quick {
        at.push_str(", quick");
    }
    summary.print_and_record(std::path::Path::new(&results), &at)?;
    println!("figures recorded in {results}");
    println!();
    println!("total time {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Drops every database and stream the ledger names (each line: database, tab, stream).
async fn cleanup(ledger: &str) -> anyhow::Result<()> {
    let text = match std::fs::read_to_string(ledger) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {ledger}")),
    };
    let nats = gadai_test_support::nats_url();
    let mut failed = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Some((db, stream)) = line.split_once('\t') else {
            continue;
        };
        if let Err(err) = common::drop_resources(&nats, db.trim(), stream.trim()).await {
            eprintln!("gadai-bench cleanup: {db} / {stream}: {err:#}");
            failed += 1;
        }
    }
    anyhow::ensure!(failed == 0, "{failed} entries could not be cleaned up");
    std::fs::remove_file(ledger).with_context(|| format!("removing {ledger}"))?;
    Ok(())
}
