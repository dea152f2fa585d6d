//! Where the time goes: a service's own histograms read from its `/metrics` before and after the
//! measured load. The bridge's (order-intake's `bridge_stage_seconds{stage}`,
//! `event_publish_seconds{phase}`, `http_request_duration_seconds`) as the mean time per request
//! of each stage; a projection's (`projection_stage_seconds{projection, stage}`) as the mean
//! time per batch of each stage.

use std::collections::BTreeMap;

use crate::common::Running;

/// `(sum, count)` of each series of the histograms in one `/metrics` page, and `(value, 0)` of
/// each counter (`_total`), keyed by the series' name and labels as written.
pub struct Totals(BTreeMap<String, (f64, f64)>);

impl Totals {
    pub async fn scrape(client: &reqwest::Client, service: &Running) -> anyhow::Result<Totals> {
        let page = client
            .get(service.url("/metrics"))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        Ok(Totals::parse(&page))
    }

    /// This process's recorder as it stands (the services run in-process and share it: a
    /// scenario's figures are what changed since it started, not since the process did).
    pub fn in_process() -> Totals {
        Totals::parse(&gadai_http::ops::metrics_handle().render())
    }

    fn parse(page: &str) -> Totals {
        let mut totals = BTreeMap::new();
        for line in page.lines().filter(|l| !l.starts_with('#')) {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let (name, labels) = series.split_once('{').unwrap_or((series, ""));
            let key = |base: &str| format!("{base}{{{labels}");
            if let Some(base) = name.strip_suffix("_sum") {
                totals.entry(key(base)).or_insert((0.0, 0.0)).0 = value;
            } else if let Some(base) = name.strip_suffix("_count") {
                totals.entry(key(base)).or_insert((0.0, 0.0)).1 = value;
            } else if name.ends_with("_total") {
                // A counter, as a sum.
                totals.entry(key(name)).or_insert((0.0, 0.0)).0 = value;
            }
        }
        Totals(totals)
    }

    /// Seconds spent and observations in the series whose key contains every one of `parts`,
    /// since `before`.
    fn since(&self, before: &Totals, parts: &[&str]) -> (f64, f64) {
        self.0
            .iter()
            .filter(|(key, _)| parts.iter().all(|p| key.contains(p)))
            .map(|(key, (sum, count))| {
                let (sum0, count0) = before.0.get(key).copied().unwrap_or_default();
                (sum - sum0, count - count0)
            })
            .fold((0.0, 0.0), |(s, c), (ds, dc)| (s + ds, c + dc))
    }
}

/// Prints the mean time per accepted request of each stage, and its share of the server's
/// answer time (the rest: HTTP, reading and decoding the JSON body, routing, the answer).
pub fn print(before: &Totals, after: &Totals) {
    let stage = |s: &str| {
        after.since(
            before,
            &["bridge_stage_seconds{", &format!("stage=\"{s}\"")],
        )
    };
    let (publish, requests) = stage("publish");
    let (total, _) = after.since(
        before,
        &[
            "http_request_duration_seconds{",
            "route=\"/api/insert-orders\"",
        ],
    );
    if requests == 0.0 || total == 0.0 {
        println!("  per-stage breakdown: order-intake's /metrics recorded no accepted request");
        return;
    }
    // One order a request: one publish, its send then its wait for the PubAck.
    let send = after
        .since(before, &["event_publish_seconds{", "phase=\"send\""])
        .0
        .min(publish);
    let rows = [
        ("validate (fields, rules)", stage("validate").0),
        ("fingerprint (SHA-256 of the body)", stage("fingerprint").0),
        (
            "index and keys (Postgres, at once: earlier attempts, customers' keys)",
            stage("index").0,
        ),
        ("seal (AES-GCM of the personal fields)", stage("seal").0),
        ("publish: send to NATS", send),
        ("publish: wait for the PubAck", publish - send),
    ];
    let staged: f64 = rows.iter().map(|(_, s)| s).sum();
    println!(
        "  per-stage breakdown (order-intake's /metrics, mean per accepted request, {} requests):",
        crate::common::thousands(requests)
    );
    for (name, spent) in rows.iter().copied().chain([(
        "rest: HTTP, JSON decode, routing, answer",
        (total - staged).max(0.0),
    )]) {
        println!(
            "    {name:<42} {:>8.3} ms  {:>4.1} %",
            spent / requests * 1000.0,
            spent / total * 100.0
        );
    }
    println!(
        "    {:<42} {:>8.3} ms",
        "server time per request",
        total / requests * 1000.0
    );
}

/// Prints the mean time per batch of each stage of `projection`'s batches, in the order they
/// run: waiting to be applied, then `begin` and `record` beside `prepare`, `apply`, `commit`,
/// `committed`.
pub fn print_projection(before: &Totals, after: &Totals, projection: &str) {
    let label = format!("projection=\"{projection}\"");
    let stage = |s: &str| {
        after.since(
            before,
            &[
                "projection_stage_seconds{",
                &label,
                &format!("stage=\"{s}\""),
            ],
        )
    };
    let (_, batches) = stage("apply");
    let (events, _) = after.since(before, &["projection_events_applied_total{", &label]);
    if batches == 0.0 {
        println!("  per-stage breakdown: {projection}'s /metrics recorded no batch");
        return;
    }
    println!(
        "  {projection}'s batches ({}, {:.1} events each), mean ms per batch:",
        crate::common::thousands(batches),
        events / batches
    );
    let rows = [
        ("wait (first message in hand -> apply)", "wait"),
        ("begin (transaction, locks), then", "begin"),
        ("record (erasures, history), beside", "record"),
        ("prepare (customers' keys)", "prepare"),
        ("apply (statements)", "apply"),
        ("commit (checkpoint, COMMIT)", "commit"),
        ("committed (announce)", "committed"),
    ];
    for (name, s) in rows {
        println!("    {name:<42} {:>8.3} ms", stage(s).0 / batches * 1000.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_of_a_stage_is_its_sum_since_the_first_scrape() {
        let before = Totals::parse(
            "# TYPE bridge_stage_seconds summary\n\
             bridge_stage_seconds_sum{stage=\"index\"} 1.5\n\
             bridge_stage_seconds_count{stage=\"index\"} 10\n",
        );
        let after = Totals::parse(
            "bridge_stage_seconds_sum{stage=\"index\"} 2\n\
             bridge_stage_seconds_count{stage=\"index\"} 30\n\
             bridge_stage_seconds_sum{stage=\"publish\"} 4\n\
             bridge_stage_seconds_count{stage=\"publish\"} 20\n",
        );
        let index = ["bridge_stage_seconds{", "stage=\"index\""];
        assert_eq!(after.since(&before, &index), (0.5, 20.0));
        let publish = ["bridge_stage_seconds{", "stage=\"publish\""];
        assert_eq!(after.since(&before, &publish), (4.0, 20.0));
    }

    #[test]
    fn counters_are_read_and_a_summary_s_quantiles_are_not_summed() {
        let before = Totals::parse(
            "projection_events_applied_total{projection=\"d\"} 100\n\
             projection_stage_seconds{projection=\"d\",stage=\"apply\",quantile=\"0.5\"} 9\n\
             projection_stage_seconds_sum{projection=\"d\",stage=\"apply\"} 1\n\
             projection_stage_seconds_count{projection=\"d\",stage=\"apply\"} 10\n",
        );
        let after = Totals::parse(
            "projection_events_applied_total{projection=\"d\"} 160\n\
             projection_stage_seconds{projection=\"d\",stage=\"apply\",quantile=\"0.5\"} 7\n\
             projection_stage_seconds_sum{projection=\"d\",stage=\"apply\"} 1.5\n\
             projection_stage_seconds_count{projection=\"d\",stage=\"apply\"} 14\n",
        );
        let applied = ["projection_events_applied_total{", "projection=\"d\""];
        assert_eq!(after.since(&before, &applied), (60.0, 0.0));
        let apply = ["projection_stage_seconds{", "stage=\"apply\""];
        assert_eq!(after.since(&before, &apply), (0.5, 4.0));
    }
}
