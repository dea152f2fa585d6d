//! `web`: what an operator's browser transfers for the dashboard. dashboard-api serves the built
//! web app (`WEB_DIST_DIR`, default `web_dashboard/dist`); a first visit fetches the page and
//! every script and style sheet the build wrote (the charts chunk included, as when the stats
//! panel opens) with `Accept-Encoding: gzip, deflate, br` as browsers send it; a repeat visit
//! revalidates the page (`If-Modified-Since`) and takes the hashed assets from its cache.
//! Bytes are bodies as sent plus the response headers as HTTP/1.1 text.

use std::path::{Path, PathBuf};

use anyhow::Context;
use reqwest::{StatusCode, header};

use crate::{
    common::{self, BenchEnv, Knobs, Running},
    summary::Summary,
};

const BUDGET_BYTES: usize = 250 * 1000;
const BROWSER_ENCODINGS: &str = "gzip, deflate, br";

pub async fn run(knobs: &Knobs, summary: &mut Summary) -> anyhow::Result<()> {
    println!("== web: the dashboard's bytes over the wire, first and repeat visit ==");
    let dist = PathBuf::from(
        std::env::var("WEB_DIST_DIR").unwrap_or_else(|_| "web_dashboard/dist".into()),
    );
    let paths = app_files(&dist)?;
    let env = BenchEnv::new(knobs).await?;
    let mut settings = common::dashboard_settings(&env)?;
    settings.web_dist = dist;
    let dashboard = common::start::<dashboard_api::startup::DashboardApi>(settings).await?;
    let client = common::http_client()?;

    let measured = async {
        let mut first = Visit::default();
        let mut plain = Visit::default();
        let mut last_modified = String::new();
        for path in &paths {
            let accepted = [(header::ACCEPT_ENCODING, BROWSER_ENCODINGS)];
            let compressed = fetch(&client, &dashboard, path, &accepted).await?;
            let uncompressed = fetch(&client, &dashboard, path, &[]).await?;
            if path == "/" {
                last_modified = compressed.last_modified.clone();
            }
            println!(
                "  {path:<44} {:>9} B as {:<5} ({:>9} B plain)",
                common::thousands(compressed.body as f64),
                compressed.encoding,
                common::thousands(uncompressed.body as f64),
            );
            first.add(&compressed);
            plain.add(&uncompressed);
        }
        let again = fetch(
            &client,
            &dashboard,
            "/",
            &[
                (header::ACCEPT_ENCODING, BROWSER_ENCODINGS),
                (header::IF_MODIFIED_SINCE, last_modified.as_str()),
            ],
        )
        .await?;
        anyhow::ensure!(
            again.status == StatusCode::NOT_MODIFIED,
            "a repeat visit's revalidation answered {} instead of 304",
            again.status
        );
        anyhow::Ok((first, plain, again))
    }
    .await;
    dashboard.stop().await;
    env.destroy().await;
    let (first, plain, again) = measured?;

    println!(
        "  first visit: {} requests, {} B (bodies {} B + headers {} B); uncompressed it would be {} B",
        first.requests,
        common::thousands(first.total() as f64),
        common::thousands(first.bodies as f64),
        common::thousands(first.headers as f64),
        common::thousands(plain.total() as f64),
    );
    println!(
        "  repeat visit: 1 request (the page, 304 Not Modified), {} B; hashed assets come from the cache (immutable)",
        common::thousands((again.body + again.headers) as f64)
    );
    println!();
    summary.add(
        "web dashboard first visit (br)",
        format!("{} KB", common::thousands(first.total() as f64 / 1000.0)),
        "< 250 KB",
        Some(first.total() < BUDGET_BYTES),
    );
    summary.add(
        "web dashboard repeat visit",
        format!("{} B (page 304)", again.body + again.headers),
        "only index.html or less",
        Some(again.body == 0),
    );
    Ok(())
}

/// The page and every script and style sheet of the build, as URL paths.
fn app_files(dist: &Path) -> anyhow::Result<Vec<String>> {
    anyhow::ensure!(
        dist.join("index.html").is_file(),
        "{} has no index.html: build the web app (cd web_dashboard && npm ci && npm run build)",
        dist.display()
    );
    let mut paths = vec!["/".to_owned()];
    let mut assets: Vec<String> = std::fs::read_dir(dist.join("assets"))
        .with_context(|| format!("reading {}/assets", dist.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".js") || name.ends_with(".css"))
        .map(|name| format!("/assets/{name}"))
        .collect();
    assets.sort();
    paths.extend(assets);
    Ok(paths)
}

/// One response as it went over the wire.
struct Fetched {
    status: StatusCode,
    encoding: String,
    last_modified: String,
    body: usize,
    headers: usize,
}

async fn fetch(
    client: &reqwest::Client,
    dashboard: &Running,
    path: &str,
    headers: &[(header::HeaderName, &str)],
) -> anyhow::Result<Fetched> {
    let mut request = client.get(dashboard.url(path));
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = request.send().await?;
    let status = response.status();
    anyhow::ensure!(
        status == StatusCode::OK || status == StatusCode::NOT_MODIFIED,
        "GET {path} answered {status}"
    );
    let text_of = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let encoding = match text_of(header::CONTENT_ENCODING) {
        e if e.is_empty() => "plain".to_owned(),
        e => e,
    };
    let last_modified = text_of(header::LAST_MODIFIED);
    // "HTTP/1.1 200 OK\r\n", each "name: value\r\n", the closing "\r\n".
    let head = 17
        + response
            .headers()
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 4)
            .sum::<usize>()
        + 2;
    let body = response.bytes().await?.len();
    Ok(Fetched {
        status,
        encoding,
        last_modified,
        body,
        headers: head,
    })
}

#[derive(Default)]
struct Visit {
    requests: usize,
    bodies: usize,
    headers: usize,
}

impl Visit {
    fn add(&mut self, f: &Fetched) {
        self.requests += 1;
        self.bodies += f.body;
        self.headers += f.headers;
    }

    fn total(&self) -> usize {
        self.bodies + self.headers
    }
}
