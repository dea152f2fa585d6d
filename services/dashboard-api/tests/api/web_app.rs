//! The built web app as browsers get it: the encoding they accept from the copies the build
//! wrote, and cache headers that keep hashed assets for a year and revalidate the page.

use std::path::Path;

use gadai_test_support::TestEnv;
use reqwest::{StatusCode, header};

use crate::helpers::*;

const SCRIPT: &str = "/assets/index-3f9a0c12.js";

/// A dist directory as `npm run build` leaves it: the page, one hashed script, and the script's
/// `.br` and `.gz` copies (their bytes marked so the test sees which file was sent).
fn write_dist(dir: &Path) {
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        format!("<!doctype html><script src=\"{SCRIPT}\"></script>"),
    )
    .unwrap();
    let script = dir.join(SCRIPT.trim_start_matches('/'));
    std::fs::write(&script, "console.log('plain');".repeat(100)).unwrap();
    std::fs::write(script.with_extension("js.br"), "brotli-bytes").unwrap();
    std::fs::write(script.with_extension("js.gz"), "gzip-bytes").unwrap();
}

async fn get(
    address: &str,
    path: &str,
    headers: &[(header::HeaderName, &str)],
) -> reqwest::Response {
    // No decompression in this client: the body is what went over the wire.
    let mut request = reqwest::Client::new().get(format!("{address}{path}"));
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.send().await.unwrap()
}

fn header_of(response: &reqwest::Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(&name)
        .map_or("", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn assets_are_sent_precompressed_and_cached_by_their_hash() {
    let env = TestEnv::new().await.unwrap();
    let dist = tempfile::tempdir().unwrap();
    write_dist(dist.path());
    let mut s = settings(&env);
    s.web_dist = dist.path().to_owned();
    let (address, stop) = replica(s).await;

    // Brotli preferred when accepted, gzip otherwise, the plain file for anybody else.
    let br = get(
        &address,
        SCRIPT,
        &[(header::ACCEPT_ENCODING, "gzip, deflate, br")],
    )
    .await;
    assert_eq!(br.status(), StatusCode::OK);
    assert_eq!(header_of(&br, header::CONTENT_ENCODING), "br");
    assert_eq!(
        header_of(&br, header::VARY).to_ascii_lowercase(),
        "accept-encoding"
    );
    assert_eq!(
        header_of(&br, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header_of(&br, header::CONTENT_TYPE), "text/javascript");
    assert_eq!(br.text().await.unwrap(), "brotli-bytes");

    let gz = get(&address, SCRIPT, &[(header::ACCEPT_ENCODING, "gzip")]).await;
    assert_eq!(header_of(&gz, header::CONTENT_ENCODING), "gzip");
    assert_eq!(gz.text().await.unwrap(), "gzip-bytes");

    let plain = get(&address, SCRIPT, &[]).await;
    assert_eq!(header_of(&plain, header::CONTENT_ENCODING), "");
    assert_eq!(
        header_of(&plain, header::VARY).to_ascii_lowercase(),
        "accept-encoding"
    );
    assert!(
        plain
            .text()
            .await
            .unwrap()
            .starts_with("console.log('plain');")
    );

    // A hash that does not exist (an older or newer release) is a 404 nobody caches.
    let missing = get(&address, "/assets/index-00000000.js", &[]).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(header_of(&missing, header::CACHE_CONTROL), "no-store");

    // The page (and any deep link, which gets the page) is revalidated on every visit.
    for path in ["/", "/orders/3f9a0c12"] {
        let page = get(&address, path, &[(header::ACCEPT_ENCODING, "br")]).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header_of(&page, header::CACHE_CONTROL),
            "no-cache",
            "{path}"
        );
        let modified = header_of(&page, header::LAST_MODIFIED).to_owned();
        assert!(
            !modified.is_empty(),
            "{path}: no Last-Modified to revalidate with"
        );
        assert!(page.text().await.unwrap().contains(SCRIPT));
        let again = get(&address, path, &[(header::IF_MODIFIED_SINCE, &modified)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(
            header_of(&again, header::CACHE_CONTROL),
            "no-cache",
            "{path}"
        );
    }

    // The API keeps its own answers: JSON 404s, not the page.
    let api = get(&address, "/dashboard/nothing-here", &[]).await;
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert!(header_of(&api, header::CONTENT_TYPE).starts_with("application/json"));

    stop.cancel();
}
