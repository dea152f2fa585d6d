//! Where the CPU went during a phase: the whole machine, this process (the services run
//! in-process, and its children such as wrk), Postgres, NATS, and everything else. On a 2-core
//! machine shared by client and servers this is what explains most figures.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

#[derive(Debug, Clone)]
pub struct Snapshot {
    at: Instant,
    busy: u64,
    total: u64,
    bench: u64,
    /// Ticks of waited-for children (wrk).
    children: u64,
    postgres: u64,
    nats: u64,
    /// Ticks of each Postgres process, by pid.
    backends: HashMap<u32, u64>,
}

/// Clock ticks per second of `/proc` times (USER_HZ, 100 on Linux).
const HZ: f64 = 100.0;

pub fn snapshot() -> Snapshot {
    let (busy, total) = machine();
    let mut postgres = 0;
    let mut nats = 0;
    let mut backends = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let Some((comm, ticks)) = process(&format!("/proc/{name}/stat")) {
                match comm.as_str() {
                    // The postmaster's children times hold the backends that have exited.
                    "postgres" => {
                        postgres += ticks;
                        if let Ok(pid) = name.parse() {
                            backends.insert(pid, ticks);
                        }
                    }
                    "nats-server" => nats += ticks,
                    _ => {}
                }
            }
        }
    }
    let (bench, children) = own_ticks();
    Snapshot {
        at: Instant::now(),
        busy,
        total,
        bench,
        children,
        postgres,
        nats,
        backends,
    }
}

/// This process's own ticks and those of its children that have been waited for.
fn own_ticks() -> (u64, u64) {
    let Ok(text) = std::fs::read_to_string("/proc/self/stat") else {
        return (0, 0);
    };
    let Some(close) = text.rfind(')') else {
        return (0, 0);
    };
    let fields: Vec<u64> = text[close + 1..]
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let get = |i: usize| fields.get(i).copied().unwrap_or(0);
    (get(0) + get(1), get(2) + get(3))
}

/// `busy` and `total` jiffies of all CPUs.
fn machine() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return (0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal
    let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
    (busy, busy + get(3) + get(4))
}

/// A process's name and its CPU ticks, its waited-for children's included.
fn process(path: &str) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_owned();
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // fields[0] is the state (field 3): utime, stime, cutime, cstime are fields 14 to 17.
    let ticks = (11..=14)
        .filter_map(|i| fields.get(i)?.parse::<i64>().ok())
        .sum::<i64>();
    Some((comm, ticks.max(0) as u64))
}

/// The machine's cores, the seconds between two snapshots, and how much of the machine (percent
/// of all its cores) a count of ticks used over them.
fn between(from: &Snapshot, to: &Snapshot) -> (f64, f64, impl Fn(u64) -> f64) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let secs = to.at.duration_since(from.at).as_secs_f64().max(0.001);
    (cores, secs, move |ticks: u64| {
        ticks as f64 / HZ / secs / cores * 100.0
    })
}

/// Who used the machine between two snapshots, each as a share of its whole capacity (percent
/// of all its cores).
struct Split {
    cores: f64,
    secs: f64,
    machine: f64,
    bench: f64,
    /// wrk, when the load ran as a child process.
    children: f64,
    postgres: f64,
    nats: f64,
    other: f64,
}

impl Split {
    fn between(from: &Snapshot, to: &Snapshot) -> Self {
        let (cores, secs, share) = between(from, to);
        let total = to.total.saturating_sub(from.total).max(1) as f64;
        let busy = to.busy.saturating_sub(from.busy) as f64;
        let bench = share(to.bench.saturating_sub(from.bench));
        let children = share(to.children.saturating_sub(from.children));
        let postgres = share(to.postgres.saturating_sub(from.postgres));
        let nats = share(to.nats.saturating_sub(from.nats));
        let machine = busy / total * 100.0;
        Split {
            cores,
            secs,
            machine,
            bench,
            children,
            postgres,
            nats,
            other: (machine - bench - children - postgres - nats).max(0.0),
        }
    }
}

/// One line: how busy the machine was between two snapshots and who used it, as shares of the
/// machine's whole capacity (all cores).
pub fn report(from: &Snapshot, to: &Snapshot) -> String {
    let s = Split::between(from, to);
    let children = if s.children >= 0.5 {
        format!(" + wrk {:.0}%", s.children)
    } else {
        String::new()
    };
    format!(
        "CPU over {:.0} s: machine {:.0}% busy ({:.0} cores) = gadai-bench {:.0}%{children} + postgres {:.0}% + nats-server {:.0}% + other processes {:.0}%",
        s.secs, s.machine, s.cores, s.bench, s.postgres, s.nats, s.other
    )
}

/// One line: the CPU time each unit of work (`units` of them between the snapshots) cost the
/// machine, and who spent it, beside what the machine's cores allow per unit at `budget_rate`
/// units per second, every core busy: the arithmetic of a throughput budget.
pub fn per_unit(
    from: &Snapshot,
    to: &Snapshot,
    units: u64,
    unit: &str,
    budget_rate: f64,
) -> String {
    let s = Split::between(from, to);
    // A share of the machine over the phase, in microseconds of CPU per unit.
    let us = |percent: f64| percent / 100.0 * s.cores * s.secs * 1e6 / units.max(1) as f64;
    let children = if s.children >= 0.5 {
        format!(" + wrk {:.0}", us(s.children))
    } else {
        String::new()
    };
    format!(
        "CPU per {unit}: {:.0} us = gadai-bench {:.0}{children} + postgres {:.0} + nats-server {:.0} + other {:.0}; at {} {unit}s/s the {:.0} cores have {:.0} us per {unit}",
        us(s.machine),
        us(s.bench),
        us(s.postgres),
        us(s.nats),
        us(s.other),
        crate::common::thousands(budget_rate),
        s.cores,
        s.cores * 1e6 / budget_rate
    )
}

/// The service each Postgres backend of `database_url` works for: its connection's
/// `application_name`, which every service sets to its schema (`gadai_store::connect`).
pub async fn postgres_clients(database_url: &str) -> HashMap<u32, String> {
    use sqlx::Connection;
    let Ok(mut conn) = sqlx::PgConnection::connect(database_url).await else {
        return HashMap::new();
    };
    let rows: Vec<(i32, String)> = sqlx::query_as(
        "SELECT pid, application_name FROM pg_stat_activity
         WHERE datname = current_database() AND application_name <> ''",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap_or_default();
    let _ = conn.close().await;
    rows.into_iter()
        .map(|(pid, name)| (pid as u32, name))
        .collect()
}

/// One line: Postgres's CPU between two snapshots by the service its backends worked for
/// (`clients`, from [`postgres_clients`]), as shares of the machine like [`report`]'s; what no
/// named backend used (other clients, backends that ended, the server's own processes) is
/// "the rest".
pub fn postgres_by_service(
    from: &Snapshot,
    to: &Snapshot,
    clients: &HashMap<u32, String>,
) -> String {
    let (_, _, share) = between(from, to);
    let mut used: HashMap<&str, u64> = HashMap::new();
    for (pid, ticks) in &to.backends {
        if let Some(name) = clients.get(pid) {
            *used.entry(name).or_default() +=
                ticks.saturating_sub(from.backends.get(pid).copied().unwrap_or(0));
        }
    }
    let mut by_service: Vec<(&str, u64)> = used.into_iter().collect();
    by_service.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let named: u64 = by_service.iter().map(|(_, t)| t).sum();
    let rest = to
        .postgres
        .saturating_sub(from.postgres)
        .saturating_sub(named);
    let parts: Vec<String> = by_service
        .iter()
        .map(|(name, ticks)| format!("{name} {:.0}%", share(*ticks)))
        .chain(std::iter::once(format!("the rest {:.0}%", share(rest))))
        .collect();
    format!("postgres by service: {}", parts.join(" + "))
}

/// How fast one core of this machine is now: SHA-256 over a 1 MiB buffer for about a second, in
/// MB/s. The machines here change speed from hour to hour (other work on the same host), so a
/// figure is comparable with the previous run's only beside this one; the summary keeps both.
pub fn one_core_speed() -> f64 {
    use sha2::{Digest, Sha256};
    let buffer = vec![0x5a_u8; 1 << 20];
    let started = Instant::now();
    let mut hashed = 0_usize;
    while started.elapsed() < Duration::from_secs(1) {
        std::hint::black_box(Sha256::digest(std::hint::black_box(&buffer)));
        hashed += buffer.len();
    }
    hashed as f64 / started.elapsed().as_secs_f64() / 1e6
}

/// Waits (at most `limit`) until the machine is mostly idle before a measurement, so that other
/// people's work on a shared machine does not end up in our figures. Returns what it saw.
///
/// Idle includes the disk: it first writes out the pages the kernel still holds dirty (a build
/// leaves gigabytes), which would otherwise be flushed during the measurement and slow every
/// Postgres commit's fsync. With 2.2 GB dirty, the visible scenario's p50 read 16.4 ms; after
/// `sync`, 12.6 ms (2026-12-04, one run each).
pub async fn wait_for_quiet(limit: Duration) -> String {
    let flushed = flush_dirty_pages().await;
    format!("{flushed}; {}", wait_for_idle_cpu(limit).await)
}

/// Runs `sync` and says how much the kernel had to write and how long it took.
async fn flush_dirty_pages() -> String {
    let dirty = dirty_kib();
    let started = Instant::now();
    let synced = tokio::process::Command::new("sync").status().await;
    let took = started.elapsed().as_secs_f64();
    match (synced, dirty) {
        (Ok(status), Some(kib)) if status.success() => {
            format!(
                "{} MB of dirty pages written out in {took:.1} s",
                kib / 1024
            )
        }
        (Ok(status), None) if status.success() => format!("pages written out in {took:.1} s"),
        (result, _) => {
            format!("note: sync failed ({result:?}); dirty pages may be flushed during the run")
        }
    }
}

/// `Dirty` plus `Writeback` of `/proc/meminfo`, in KiB.
fn dirty_kib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    Some(field("Dirty:")? + field("Writeback:")?)
}

async fn wait_for_idle_cpu(limit: Duration) -> String {
    let started = Instant::now();
    let mut said = false;
    loop {
        let a = snapshot();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let b = snapshot();
        let busy = (b.busy.saturating_sub(a.busy)) as f64
            / (b.total.saturating_sub(a.total)).max(1) as f64
            * 100.0;
        if busy < 35.0 {
            return format!("machine {busy:.0}% busy before the start");
        }
        if started.elapsed() >= limit {
            return format!(
                "machine still {busy:.0}% busy after waiting {:.0} s: figures include other work",
                started.elapsed().as_secs_f64()
            );
        }
        if !said {
            println!(
                "  waiting up to {} s for the machine to quiet down ({busy:.0}% busy)",
                limit.as_secs()
            );
            said = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(from: Instant, secs: u64, ticks: [u64; 4]) -> Snapshot {
        let [bench, children, postgres, nats] = ticks;
        Snapshot {
            at: from + Duration::from_secs(secs),
            busy: bench + children + postgres + nats,
            total: 0,
            bench,
            children,
            postgres,
            nats,
            backends: HashMap::new(),
        }
    }

    #[test]
    fn given_ten_seconds_of_ticks_when_divided_by_the_orders_then_each_part_is_its_microseconds() {
        let start = Instant::now();
        let from = at(start, 0, [0; 4]);
        // 10 s: the bench 4 s of CPU, wrk 1 s, Postgres 2 s, NATS 3 s (100 ticks a second).
        let mut to = at(start, 10, [400, 100, 200, 300]);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
        to.total = 10 * 100 * cores;
        let line = per_unit(&from, &to, 10_000, "order", 5_000.0);
        assert!(
            line.starts_with(
                "CPU per order: 1000 us = gadai-bench 400 + wrk 100 + postgres 200 + nats-server 300 + other 0;"
            ),
            "{line}"
        );
        let allowed = cores as f64 * 1e6 / 5_000.0;
        assert!(
            line.ends_with(&format!(
                "at 5,000 orders/s the {cores} cores have {allowed:.0} us per order"
            )),
            "{line}"
        );
    }
}
