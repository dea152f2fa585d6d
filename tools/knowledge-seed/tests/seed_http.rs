//! The seeder against a small in-test HTTP server that answers like Ollama's `/api/embed` and
//! Qdrant's collection and point endpoints (the request and answer shapes of their API
//! documentation), keeps the points it is given, and records every request.
//!
//! No Ollama or Qdrant server runs on this machine (none installs from the package registries),
//! so this is the closest check: the real HTTP client, real JSON on the wire, and a server that
//! refuses what Qdrant would refuse (wrong vector length, existing collection, missing `wait`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use knowledge_seed::chunk;
use knowledge_seed::qdrant::point_id;
use knowledge_seed::seed::{self, Config, Report};
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Default)]
struct Collection {
    size: usize,
    points: BTreeMap<String, (Vec<f32>, Value)>,
}

#[derive(Default)]
struct Mock {
    dim: usize,
    /// 503 answers `/api/embed` gives before it works (a model still loading).
    embed_unavailable: u32,
    model: String,
    embed_requests: Vec<Value>,
    collections: HashMap<String, Collection>,
    creates: Vec<(String, Value)>,
    collection_deletes: usize,
    upserts: Vec<(String, Value)>,
    point_deletes: Vec<Value>,
}

type Shared = Arc<Mutex<Mock>>;

fn qdrant_ok(result: Value) -> (StatusCode, Json<Value>) {
    (
        StatusCode::OK,
        Json(json!({ "result": result, "status": "ok", "time": 0.0001 })),
    )
}

fn qdrant_err(status: StatusCode, message: String) -> (StatusCode, Json<Value>) {
    (
        status,
        Json(json!({ "status": { "error": message }, "time": 0.0 })),
    )
}

/// A deterministic vector of `dim` numbers for a text.
fn fake_embedding(text: &str, dim: usize) -> Vec<f32> {
    let sum: u64 = text.bytes().map(u64::from).sum();
    (0..dim)
        .map(|i| ((sum * (i as u64 + 1)) % 97) as f32 / 97.0)
        .collect()
}

async fn embed(State(s): State<Shared>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let mut m = s.lock().unwrap();
    m.embed_requests.push(body.clone());
    if m.embed_unavailable > 0 {
        m.embed_unavailable -= 1;
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "server busy" })),
        );
    }
    let model = body["model"].as_str().unwrap_or_default();
    if model != m.model {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("model \"{model}\" not found, try pulling it first") })),
        );
    }
    let Some(inputs) = body["input"].as_array() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "input must be a list" })),
        );
    };
    let embeddings: Vec<Vec<f32>> = inputs
        .iter()
        .map(|t| fake_embedding(t.as_str().unwrap_or_default(), m.dim))
        .collect();
    (
        StatusCode::OK,
        Json(json!({ "model": model, "embeddings": embeddings, "total_duration": 1 })),
    )
}

async fn exists(
    State(s): State<Shared>,
    UrlPath(name): UrlPath<String>,
) -> (StatusCode, Json<Value>) {
    let m = s.lock().unwrap();
    qdrant_ok(json!({ "exists": m.collections.contains_key(&name) }))
}

async fn info(
    State(s): State<Shared>,
    UrlPath(name): UrlPath<String>,
) -> (StatusCode, Json<Value>) {
    let m = s.lock().unwrap();
    match m.collections.get(&name) {
        Some(c) => qdrant_ok(json!({
            "status": "green",
            "points_count": c.points.len(),
            "config": { "params": { "vectors": { "size": c.size, "distance": "Cosine" }, "shard_number": 1 } },
            "payload_schema": {},
        })),
        None => qdrant_err(
            StatusCode::NOT_FOUND,
            format!("Not found: Collection `{name}` doesn't exist!"),
        ),
    }
}

async fn create(
    State(s): State<Shared>,
    UrlPath(name): UrlPath<String>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut m = s.lock().unwrap();
    m.creates.push((name.clone(), body.clone()));
    if m.collections.contains_key(&name) {
        return qdrant_err(
            StatusCode::CONFLICT,
            format!("Wrong input: Collection `{name}` already exists!"),
        );
    }
    let size = body.pointer("/vectors/size").and_then(Value::as_u64);
    let distance = body.pointer("/vectors/distance").and_then(Value::as_str);
    match (size, distance) {
        (Some(size), Some("Cosine" | "Dot" | "Euclid" | "Manhattan")) => {
            m.collections.insert(
                name,
                Collection {
                    size: size as usize,
                    points: BTreeMap::new(),
                },
            );
            qdrant_ok(json!(true))
        }
        _ => qdrant_err(
            StatusCode::BAD_REQUEST,
            format!("Format error in JSON body: {body}"),
        ),
    }
}

async fn drop_collection(
    State(s): State<Shared>,
    UrlPath(name): UrlPath<String>,
) -> (StatusCode, Json<Value>) {
    let mut m = s.lock().unwrap();
    m.collection_deletes += 1;
    qdrant_ok(json!(m.collections.remove(&name).is_some()))
}

async fn upsert(
    State(s): State<Shared>,
    UrlPath(name): UrlPath<String>,
    Query(query): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut m = s.lock().unwrap();
    m.upserts.push((name.clone(), body.clone()));
    let Some(collection) = m.collections.get_mut(&name) else {
        return qdrant_err(
            StatusCode::NOT_FOUND,
            format!("Not found: Collection `{name}` doesn't exist!"),
        );
    };
    let Some(points) = body["points"].as_array() else {
        return qdrant_err(
            StatusCode::BAD_REQUEST,
            "Format error in JSON body: points".into(),
        );
    };
    for p in points {
        let id = p["id"].as_str().unwrap_or_default();
        if Uuid::parse_str(id).is_err() {
            return qdrant_err(
                StatusCode::BAD_REQUEST,
                format!("Format error: bad point id {}", p["id"]),
            );
        }
        let vector: Vec<f32> = serde_json::from_value(p["vector"].clone()).unwrap_or_default();
        if vector.len() != collection.size {
            return qdrant_err(
                StatusCode::BAD_REQUEST,
                format!(
                    "Wrong input: Vector dimension error: expected dim: {}, got {}",
                    collection.size,
                    vector.len()
                ),
            );
        }
        if !p["payload"].is_object() {
            return qdrant_err(StatusCode::BAD_REQUEST, "Format error: payload".into());
        }
        collection
            .points
            .insert(id.to_owned(), (vector, p["payload"].clone()));
    }
    let status = if query.get("wait").map(String::as_str) == Some("true") {
        "completed"
    } else {
        "acknowledged"
    };
    qdrant_ok(json!({ "operation_id": m.upserts.len(), "status": status }))
}

/// Applies the one filter shape the seeder sends: `must` key/match-value conditions and a
/// `must_not` `has_id` list.
async fn delete_points(
    State(s): State<Shared>,
    UrlPath(name): UrlPath<String>,
    Query(query): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut m = s.lock().unwrap();
    m.point_deletes.push(body.clone());
    let Some(collection) = m.collections.get_mut(&name) else {
        return qdrant_err(
            StatusCode::NOT_FOUND,
            format!("Not found: Collection `{name}` doesn't exist!"),
        );
    };
    let filter = &body["filter"];
    let must: Vec<(String, Value)> = filter["must"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["key"].as_str().unwrap_or_default().to_owned(),
                c["match"]["value"].clone(),
            )
        })
        .collect();
    let keep: Vec<String> = filter["must_not"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["has_id"].as_array())
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    collection.points.retain(|id, (_, payload)| {
        let matches = must.iter().all(|(key, value)| {
            let pointer = format!("/{}", key.replace('.', "/"));
            payload.pointer(&pointer) == Some(value)
        });
        !matches || keep.contains(id)
    });
    let status = if query.get("wait").map(String::as_str) == Some("true") {
        "completed"
    } else {
        "acknowledged"
    };
    qdrant_ok(json!({ "operation_id": 0, "status": status }))
}

async fn start(mock: Mock) -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(mock));
    let app = Router::new()
        .route("/api/embed", post(embed))
        .route("/collections/{name}/exists", get(exists))
        .route(
            "/collections/{name}",
            get(info).put(create).delete(drop_collection),
        )
        .route("/collections/{name}/points", put(upsert))
        .route("/collections/{name}/points/delete", post(delete_points))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), shared)
}

fn mock(dim: usize) -> Mock {
    Mock {
        dim,
        model: "nomic-embed-text".into(),
        ..Mock::default()
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("knowledge-seed-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.0.join(name), text).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(base: &str, dir: &Path) -> Config {
    let dir = dir.to_str().unwrap().to_owned();
    let base = base.to_owned();
    let mut c = Config::from_lookup(move |k| match k {
        "OLLAMA_URL" | "QDRANT_URL" => Some(base.clone()),
        "KNOWLEDGE_DIR" => Some(dir.clone()),
        "KNOWLEDGE_CHUNK_CHARS" => Some("300".into()),
        _ => None,
    })
    .unwrap();
    c.embed_batch = 3;
    c.upsert_batch = 4;
    c.attempts = 3;
    c.retry_delay = Duration::from_millis(10);
    c.timeout = Duration::from_secs(10);
    c
}

async fn run(c: &Config) -> anyhow::Result<(Report, Vec<String>)> {
    let mut lines = Vec::new();
    let report = seed::run(c, &mut |l: &str| lines.push(l.to_owned())).await?;
    Ok((report, lines))
}

const EMAS: &str = "---\ntitle: Aturan gadai emas\ntags: [emas, gram]\n---\n\n# Aturan gadai emas\n\n## Jenis\n\nHanya emas antam dan emas UBS.\n\n## Satuan\n\nJumlah dalam gram; harga per gram.\n";

fn wilayah(extra_sections: usize) -> String {
    let mut s = String::from(
        "---\ntitle: Persentase pinjaman\ntags:\n  - wilayah\n  - pinjaman\n---\n\n# Persentase pinjaman\n\nDKI Jakarta 80 %, Jawa Barat 70 %, Jawa Timur 60 %, lainnya 50 %.\n",
    );
    for i in 0..extra_sections {
        s.push_str(&format!(
            "\n## Catatan {i}\n\n{}\n",
            "isi catatan panjang ".repeat(12)
        ));
    }
    s
}

fn stored_ids(m: &Mock, name: &str) -> Vec<String> {
    m.collections[name].points.keys().cloned().collect()
}

fn upserted_ids(bodies: &[(String, Value)]) -> Vec<String> {
    let mut ids: Vec<String> = bodies
        .iter()
        .flat_map(|(_, b)| b["points"].as_array().unwrap().iter())
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn seeds_then_reseeds_the_same_points() {
    let dir = TempDir::new();
    dir.write("emas.md", EMAS);
    dir.write("wilayah.md", &wilayah(2));
    dir.write("catatan.txt", "not markdown, ignored");
    let (base, state) = start(mock(8)).await;
    let c = config(&base, &dir.0);

    let (first, lines) = run(&c).await.unwrap();
    assert!(first.created);
    assert_eq!(first.files, 2);
    assert_eq!(first.dimension, 8);
    assert!(first.chunks >= 5, "{first:?}");
    assert_eq!(first.upserted, first.chunks);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("collection pegadaian_knowledge created (8 dimensions, Cosine)")),
        "{lines:#?}"
    );

    let first_upserts = {
        let m = state.lock().unwrap();
        // The collection was created once, with the embedding's length and cosine distance.
        assert_eq!(
            m.creates,
            [(
                "pegadaian_knowledge".to_owned(),
                json!({"vectors": {"size": 8, "distance": "Cosine"}})
            )]
        );
        // Every embed request names the model and sends a list of at most embed_batch texts.
        let mut sent = 0;
        for body in &m.embed_requests {
            assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
            assert_eq!(body["model"], "nomic-embed-text");
            let n = body["input"].as_array().unwrap().len();
            assert!((1..=3).contains(&n));
            sent += n;
        }
        assert_eq!(sent, first.chunks);
        // Points carry n8n's payload keys, and ids are the chunks' UUID v5.
        for (name, body) in &m.upserts {
            assert_eq!(name, "pegadaian_knowledge");
            for p in body["points"].as_array().unwrap() {
                let payload = p["payload"].as_object().unwrap();
                assert_eq!(payload.keys().collect::<Vec<_>>(), ["content", "metadata"]);
                let content = payload["content"].as_str().unwrap();
                assert!(
                    !content.is_empty() && content.chars().count() <= 300,
                    "{content}"
                );
                let meta = &payload["metadata"];
                let source = meta["source"].as_str().unwrap();
                let index = meta["chunk_index"].as_u64().unwrap() as usize;
                assert_eq!(p["id"], point_id(source, index).to_string());
                assert!(
                    meta["title"].is_string()
                        && meta["tags"].is_array()
                        && meta["section"].is_string()
                );
                assert_eq!(meta["seeded_by"], "knowledge-seed");
                if source == "emas.md" {
                    assert_eq!(meta["title"], "Aturan gadai emas");
                    assert_eq!(meta["tags"], json!(["emas", "gram"]));
                } else {
                    assert_eq!(meta["tags"], json!(["wilayah", "pinjaman"]));
                }
            }
        }
        let ids = upserted_ids(&m.upserts);
        assert_eq!(stored_ids(&m, "pegadaian_knowledge"), ids);
        let mut expected: Vec<String> = first.ids.iter().map(Uuid::to_string).collect();
        expected.sort();
        assert_eq!(ids, expected);
        m.upserts.clone()
    };

    // A second run creates nothing and writes the same ids again (same vectors, same payloads).
    let (second, lines) = run(&c).await.unwrap();
    assert!(!second.created);
    assert_eq!(second.ids, first.ids);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("collection pegadaian_knowledge exists (8 dimensions, Cosine)")),
        "{lines:#?}"
    );
    let m = state.lock().unwrap();
    assert_eq!(m.creates.len(), 1, "the collection is created once");
    let second_upserts = &m.upserts[first_upserts.len()..];
    assert_eq!(upserted_ids(second_upserts), upserted_ids(&first_upserts));
    assert_eq!(
        second_upserts,
        first_upserts.as_slice(),
        "identical bodies on a re-run"
    );
    assert_eq!(
        m.collections["pegadaian_knowledge"].points.len(),
        first.chunks
    );
    // Each run ends by removing this tool's points that are not among the current chunks.
    assert_eq!(m.point_deletes.len(), 2);
    let keep = &m.point_deletes[1]["filter"]["must_not"][0]["has_id"];
    assert_eq!(keep.as_array().unwrap().len(), first.chunks);
}

#[tokio::test]
async fn removes_points_of_chunks_that_are_gone_and_keeps_foreign_points() {
    let dir = TempDir::new();
    dir.write("emas.md", EMAS);
    dir.write("wilayah.md", &wilayah(3));
    let (base, state) = start(mock(8)).await;
    let c = config(&base, &dir.0);
    let (first, _) = run(&c).await.unwrap();

    // A point someone else put into the collection (not written by the seeder).
    let foreign = Uuid::new_v4().to_string();
    state
        .lock()
        .unwrap()
        .collections
        .get_mut("pegadaian_knowledge")
        .unwrap()
        .points
        .insert(
            foreign.clone(),
            (
                vec![0.0; 8],
                json!({"content": "lain", "metadata": {"source": "n8n"}}),
            ),
        );

    // wilayah.md shrinks and emas.md goes away.
    std::fs::remove_file(dir.0.join("emas.md")).unwrap();
    dir.write("wilayah.md", &wilayah(0));
    let (second, _) = run(&c).await.unwrap();
    assert!(second.chunks < first.chunks);

    let m = state.lock().unwrap();
    let mut expected: Vec<String> = second.ids.iter().map(Uuid::to_string).collect();
    expected.push(foreign);
    expected.sort();
    assert_eq!(stored_ids(&m, "pegadaian_knowledge"), expected);
}

#[tokio::test]
async fn a_new_embedding_length_needs_recreate() {
    let dir = TempDir::new();
    dir.write("emas.md", EMAS);
    let (base, state) = start(mock(8)).await;
    let mut c = config(&base, &dir.0);
    run(&c).await.unwrap();

    state.lock().unwrap().dim = 4; // another embedding model
    let err = run(&c).await.unwrap_err().to_string();
    assert!(
        err.contains("holds vectors of length 8") && err.contains("--recreate"),
        "{err}"
    );

    c.recreate = true;
    let (report, lines) = run(&c).await.unwrap();
    assert!(report.created);
    assert_eq!(report.dimension, 4);
    assert!(lines.iter().any(|l| l.contains("deleted (--recreate)")));
    let m = state.lock().unwrap();
    assert_eq!(m.collection_deletes, 1);
    assert_eq!(m.collections["pegadaian_knowledge"].size, 4);
    assert_eq!(
        m.collections["pegadaian_knowledge"].points.len(),
        report.chunks
    );
}

#[tokio::test]
async fn waits_for_ollama_and_explains_a_missing_model() {
    let dir = TempDir::new();
    dir.write("emas.md", EMAS);
    let mut m = mock(8);
    m.embed_unavailable = 2; // fewer than the 3 attempts
    let (base, state) = start(m).await;
    let mut c = config(&base, &dir.0);
    run(&c).await.unwrap();
    assert!(state.lock().unwrap().embed_requests.len() >= 3);

    c.embed_model = "belum-ditarik".into();
    let err = run(&c).await.unwrap_err().to_string();
    assert!(
        err.contains("not found") && err.contains("ollama pull belum-ditarik"),
        "{err}"
    );

    c.embed_model = "nomic-embed-text".into();
    state.lock().unwrap().embed_unavailable = 5; // more than the attempts
    let err = format!("{:#}", run(&c).await.unwrap_err());
    assert!(err.contains("503"), "{err}");
}

#[tokio::test]
async fn unreachable_servers_fail_with_the_url() {
    let dir = TempDir::new();
    dir.write("emas.md", EMAS);
    // A port nothing listens on: bind, note the address, close.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut c = config(&format!("http://{addr}"), &dir.0);
    c.attempts = 2;
    let err = format!("{:#}", run(&c).await.unwrap_err());
    assert!(
        err.contains(&format!("POST http://{addr}/api/embed")),
        "{err}"
    );
}

#[tokio::test]
async fn seeds_the_committed_knowledge_base() {
    let kb = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../compose/knowledge");
    let (base, state) = start(mock(16)).await;
    let mut c = config(&base, &kb);
    c.max_chunk_chars = chunk::DEFAULT_MAX_CHARS;
    let (report, _) = run(&c).await.unwrap();
    let (files, chunks) = seed::load_chunks(&c).unwrap();
    assert_eq!(report.files, files);
    assert_eq!(report.chunks, chunks.len());
    let m = state.lock().unwrap();
    let stored = &m.collections["pegadaian_knowledge"].points;
    assert_eq!(stored.len(), chunks.len());
    for c in &chunks {
        let (_, payload) = &stored[&point_id(&c.source, c.index).to_string()];
        assert_eq!(payload["content"], c.text);
        assert_eq!(payload["metadata"]["source"], c.source);
    }
}
