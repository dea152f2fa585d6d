//! The seeding run: read, chunk, embed, ensure the collection, upsert, remove stale points.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use uuid::Uuid;

use crate::chunk::{self, Chunk, DEFAULT_MAX_CHARS};
use crate::ollama::Ollama;
use crate::qdrant::{self, Qdrant};

pub const DEFAULT_OLLAMA_URL: &str = "http://ollama:11434";
pub const DEFAULT_EMBED_MODEL: &str = "nomic-embed-text";
pub const DEFAULT_QDRANT_URL: &str = "http://qdrant:6333";
pub const DEFAULT_COLLECTION: &str = "pegadaian_knowledge";
pub const DEFAULT_KNOWLEDGE_DIR: &str = "compose/knowledge";

/// Everything a run needs; [`Config::from_lookup`] reads it from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub ollama_url: String,
    pub embed_model: String,
    pub qdrant_url: String,
    /// Sent as Qdrant's `api-key` header when set (`QDRANT_API_KEY`).
    pub qdrant_api_key: Option<String>,
    pub collection: String,
    pub knowledge_dir: PathBuf,
    /// Size cap of a chunk's text, in characters (`KNOWLEDGE_CHUNK_CHARS`).
    pub max_chunk_chars: usize,
    /// Texts per `/api/embed` request.
    pub embed_batch: usize,
    /// Points per upsert request.
    pub upsert_batch: usize,
    /// Tries per HTTP request when the connection fails or the server answers 5xx/429
    /// (Ollama may still be loading the model when compose starts the seeder).
    pub attempts: u32,
    pub retry_delay: Duration,
    /// Per-request timeout; embedding on a CPU can be slow the first time.
    pub timeout: Duration,
    /// Delete and recreate the collection (needed when the embedding model changes its length).
    pub recreate: bool,
}

impl Config {
    /// Reads `OLLAMA_URL`, `OLLAMA_EMBED_MODEL`, `QDRANT_URL`, `QDRANT_API_KEY`,
    /// `QDRANT_COLLECTION`, `KNOWLEDGE_DIR` and `KNOWLEDGE_CHUNK_CHARS` through `lookup`; empty
    /// values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |key: &str, default: &str| {
            lookup(key)
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let max_chunk_chars = get("KNOWLEDGE_CHUNK_CHARS", &DEFAULT_MAX_CHARS.to_string())
            .parse::<usize>()
            .context("KNOWLEDGE_CHUNK_CHARS must be a whole number")?;
        ensure!(
            max_chunk_chars >= 200,
            "KNOWLEDGE_CHUNK_CHARS must be at least 200"
        );
        let collection = get("QDRANT_COLLECTION", DEFAULT_COLLECTION);
        ensure!(
            !collection.is_empty()
                && collection
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "QDRANT_COLLECTION may hold only letters, digits, '_' and '-': {collection:?}"
        );
        Ok(Self {
            ollama_url: get("OLLAMA_URL", DEFAULT_OLLAMA_URL),
            embed_model: get("OLLAMA_EMBED_MODEL", DEFAULT_EMBED_MODEL),
            qdrant_url: get("QDRANT_URL", DEFAULT_QDRANT_URL),
            qdrant_api_key: lookup("QDRANT_API_KEY").filter(|v| !v.is_empty()),
            collection,
            knowledge_dir: PathBuf::from(get("KNOWLEDGE_DIR", DEFAULT_KNOWLEDGE_DIR)),
            max_chunk_chars,
            embed_batch: 16,
            upsert_batch: 64,
            attempts: 10,
            retry_delay: Duration::from_secs(3),
            timeout: Duration::from_secs(300),
            recreate: false,
        })
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub files: usize,
    pub chunks: usize,
    pub dimension: usize,
    pub created: bool,
    pub upserted: usize,
    pub ids: Vec<Uuid>,
}

/// A JSON-over-HTTP client that retries what is worth retrying.
pub struct Http {
    client: reqwest::Client,
    attempts: u32,
    retry_delay: Duration,
}

impl Http {
    pub fn new(timeout: Duration, attempts: u32, retry_delay: Duration) -> Result<Self> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Self {
            client,
            attempts: attempts.max(1),
            retry_delay,
        })
    }

    /// Sends `body` as JSON; answers the status and body. Connection errors, timeouts, 5xx and
    /// 429 are retried up to `attempts` times; other answers are returned as they are.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
        api_key: Option<&str>,
    ) -> Result<(reqwest::StatusCode, Vec<u8>)> {
        let mut attempt = 1;
        loop {
            let mut request = self.client.request(method.clone(), url);
            if let Some(body) = body {
                request = request.json(body);
            }
            if let Some(key) = api_key {
                request = request.header("api-key", key);
            }
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    match response.bytes().await {
                        Ok(bytes) => Ok((status, bytes.to_vec())),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            let retry = match &outcome {
                Ok((status, _)) => {
                    status.is_server_error() || *status == reqwest::StatusCode::TOO_MANY_REQUESTS
                }
                Err(e) => e.is_connect() || e.is_timeout() || e.is_request(),
            };
            if !retry || attempt >= self.attempts {
                return outcome.with_context(|| format!("{method} {url}"));
            }
            attempt += 1;
            tokio::time::sleep(self.retry_delay).await;
        }
    }
}

/// Reads and chunks every knowledge file.
pub fn load_chunks(config: &Config) -> Result<(usize, Vec<Chunk>)> {
    let docs = chunk::load_dir(&config.knowledge_dir)?;
    ensure!(
        !docs.is_empty(),
        "no *.md files in {}",
        config.knowledge_dir.display()
    );
    let chunks: Vec<Chunk> = docs
        .iter()
        .flat_map(|d| chunk::chunk_document(d, config.max_chunk_chars))
        .collect();
    Ok((docs.len(), chunks))
}

/// One full run. `progress` receives one line per step.
pub async fn run(config: &Config, progress: &mut dyn FnMut(&str)) -> Result<Report> {
    let (files, chunks) = load_chunks(config)?;
    progress(&format!(
        "read {files} files from {}: {} chunks (at most {} characters each)",
        config.knowledge_dir.display(),
        chunks.len(),
        config.max_chunk_chars
    ));

    let http = Http::new(config.timeout, config.attempts, config.retry_delay)?;
    let ollama = Ollama {
        http: &http,
        base_url: config.ollama_url.clone(),
        model: config.embed_model.clone(),
    };
    let mut vectors: Vec<Vec<f32>> = Vec::with_capacity(chunks.len());
    for batch in chunks.chunks(config.embed_batch.max(1)) {
        let texts: Vec<String> = batch.iter().map(|c| c.text.clone()).collect();
        vectors.extend(ollama.embed(&texts).await?);
        progress(&format!(
            "embedded {}/{} chunks with {} at {}",
            vectors.len(),
            chunks.len(),
            config.embed_model,
            config.ollama_url
        ));
    }
    let dimension = vectors.first().map_or(0, Vec::len);
    if vectors.iter().any(|v| v.len() != dimension) {
        bail!("the embedding model returned vectors of different lengths across batches");
    }

    let qdrant = Qdrant {
        http: &http,
        base_url: config.qdrant_url.clone(),
        api_key: config.qdrant_api_key.clone(),
        collection: config.collection.clone(),
    };
    let mut exists = qdrant.exists().await?;
    if exists && config.recreate {
        qdrant.delete_collection().await?;
        progress(&format!(
            "collection {} deleted (--recreate)",
            config.collection
        ));
        exists = false;
    }
    if exists {
        let params = qdrant.vector_params().await?;
        if params.size != dimension {
            bail!(
                "collection {} holds vectors of length {}, but {} gives {dimension}: run again with --recreate",
                config.collection,
                params.size,
                config.embed_model
            );
        }
        progress(&format!(
            "collection {} exists ({} dimensions, {})",
            config.collection, params.size, params.distance
        ));
    } else {
        qdrant.create(dimension).await?;
        progress(&format!(
            "collection {} created ({dimension} dimensions, Cosine)",
            config.collection
        ));
    }

    let pairs: Vec<(&Chunk, &[f32])> = chunks
        .iter()
        .zip(vectors.iter())
        .map(|(c, v)| (c, v.as_slice()))
        .collect();
    let mut upserted = 0;
    for batch in pairs.chunks(config.upsert_batch.max(1)) {
        qdrant.upsert(batch).await?;
        upserted += batch.len();
        progress(&format!(
            "upserted {upserted}/{} points into {}",
            pairs.len(),
            config.collection
        ));
    }

    let ids: Vec<Uuid> = chunks
        .iter()
        .map(|c| qdrant::point_id(&c.source, c.index))
        .collect();
    qdrant.delete_stale(&ids).await?;
    progress("removed points of chunks that no longer exist");

    Ok(Report {
        files,
        chunks: chunks.len(),
        dimension,
        created: !exists,
        upserted,
        ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults() {
        let c = Config::from_lookup(lookup(&[])).unwrap();
        assert_eq!(c.ollama_url, "http://ollama:11434");
        assert_eq!(c.embed_model, "nomic-embed-text");
        assert_eq!(c.qdrant_url, "http://qdrant:6333");
        assert_eq!(c.qdrant_api_key, None);
        assert_eq!(c.collection, "pegadaian_knowledge");
        assert_eq!(c.knowledge_dir, PathBuf::from("compose/knowledge"));
        assert_eq!(c.max_chunk_chars, DEFAULT_MAX_CHARS);
    }

    #[test]
    fn environment_overrides_and_empty_values() {
        let c = Config::from_lookup(lookup(&[
            ("OLLAMA_URL", "http://127.0.0.1:11435"),
            ("OLLAMA_EMBED_MODEL", "mxbai-embed-large"),
            ("QDRANT_URL", "http://127.0.0.1:6335"),
            ("QDRANT_API_KEY", "k"),
            ("QDRANT_COLLECTION", ""),
            ("KNOWLEDGE_DIR", "/kb"),
            ("KNOWLEDGE_CHUNK_CHARS", "800"),
        ]))
        .unwrap();
        assert_eq!(c.ollama_url, "http://127.0.0.1:11435");
        assert_eq!(c.embed_model, "mxbai-embed-large");
        assert_eq!(c.qdrant_url, "http://127.0.0.1:6335");
        assert_eq!(c.qdrant_api_key.as_deref(), Some("k"));
        assert_eq!(c.collection, "pegadaian_knowledge");
        assert_eq!(c.knowledge_dir, PathBuf::from("/kb"));
        assert_eq!(c.max_chunk_chars, 800);
    }

    #[test]
    fn refuses_bad_values() {
        assert!(Config::from_lookup(lookup(&[("QDRANT_COLLECTION", "a/b")])).is_err());
        assert!(Config::from_lookup(lookup(&[("KNOWLEDGE_CHUNK_CHARS", "x")])).is_err());
        assert!(Config::from_lookup(lookup(&[("KNOWLEDGE_CHUNK_CHARS", "50")])).is_err());
    }
}
