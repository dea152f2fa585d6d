//! Qdrant's REST API, the parts the seeder uses:
//!
//! | call | body | answer (`result`) |
//! |---|---|---|
//! | `GET /collections/{name}/exists` | | `{"exists": bool}` |
//! | `GET /collections/{name}` | | `{"config": {"params": {"vectors": {"size", "distance"}}}, ...}` |
//! | `PUT /collections/{name}` | `{"vectors": {"size", "distance": "Cosine"}}` | `true` |
//! | `DELETE /collections/{name}` | | `true` |
//! | `PUT /collections/{name}/points?wait=true` | `{"points": [{"id", "vector", "payload"}]}` | `{"operation_id", "status": "completed"}` |
//! | `POST /collections/{name}/points/delete?wait=true` | `{"filter": ...}` | `{"operation_id", "status"}` |
//!
//! Every answer is `{"result": ..., "status": "ok", "time": seconds}`; an error is
//! `{"status": {"error": "..."}, "time": ...}` with a 4xx/5xx status.
//!
//! The collection has one unnamed vector (LangChain's `QdrantVectorStore`, which n8n's Qdrant
//! node uses, queries the default vector), and each point's payload holds [`CONTENT_KEY`] and
//! [`METADATA_KEY`], the node's default `contentPayloadKey` and `metadataPayloadKey`.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::chunk::Chunk;
use crate::seed::Http;

/// The payload key n8n's Qdrant vector store reads the document text from.
pub const CONTENT_KEY: &str = "content";
/// The payload key n8n's Qdrant vector store reads the document metadata from.
pub const METADATA_KEY: &str = "metadata";
/// `metadata.seeded_by` of every point this tool writes; stale points are found by it.
pub const SEEDED_BY: &str = "knowledge-seed";

/// The namespace of the point ids (a fixed UUID, so ids never change between runs).
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x3c8f_5a1e_6d2b_4f70_9a41_7e0c_d5b2_9f18);

/// The point id of a chunk: UUID v5 of `source#index`.
pub fn point_id(source: &str, index: usize) -> Uuid {
    Uuid::new_v5(&ID_NAMESPACE, format!("{source}#{index}").as_bytes())
}

/// The payload stored with a chunk.
pub fn payload(chunk: &Chunk) -> Value {
    json!({
        CONTENT_KEY: chunk.text,
        METADATA_KEY: {
            "source": chunk.source,
            "title": chunk.title,
            "tags": chunk.tags,
            "section": chunk.section,
            "chunk_index": chunk.index,
            "seeded_by": SEEDED_BY,
        },
    })
}

/// `PUT /collections/{name}` body.
pub fn create_collection_body(size: usize) -> Value {
    json!({ "vectors": { "size": size, "distance": "Cosine" } })
}

/// `PUT /collections/{name}/points` body.
pub fn upsert_body(points: &[(&Chunk, &[f32])]) -> Value {
    let points: Vec<Value> = points
        .iter()
        .map(|(chunk, vector)| {
            json!({
                "id": point_id(&chunk.source, chunk.index),
                "vector": vector,
                "payload": payload(chunk),
            })
        })
        .collect();
    json!({ "points": points })
}

/// `POST /collections/{name}/points/delete` body: every point this tool wrote whose id is not
/// among `keep` (chunks of files that shrank or were removed).
pub fn delete_stale_body(keep: &[Uuid]) -> Value {
    json!({
        "filter": {
            "must": [{ "key": format!("{METADATA_KEY}.seeded_by"), "match": { "value": SEEDED_BY } }],
            "must_not": [{ "has_id": keep }],
        }
    })
}

fn result(body: &[u8]) -> Result<Value> {
    let value: Value = serde_json::from_slice(body).context("Qdrant's answer is not JSON")?;
    value
        .get("result")
        .cloned()
        .context("Qdrant's answer has no `result`")
}

/// `GET /collections/{name}/exists` answer.
pub fn parse_exists(body: &[u8]) -> Result<bool> {
    result(body)?
        .get("exists")
        .and_then(Value::as_bool)
        .context("Qdrant's answer has no `result.exists`")
}

/// The single unnamed vector of a collection: its size and distance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorParams {
    pub size: usize,
    pub distance: String,
}

/// `GET /collections/{name}` answer: the collection's vector parameters. A collection with named
/// vectors is refused, since n8n's node searches the unnamed one.
pub fn parse_vector_params(body: &[u8]) -> Result<VectorParams> {
    let vectors = result(body)?
        .pointer("/config/params/vectors")
        .cloned()
        .context("Qdrant's answer has no `result.config.params.vectors`")?;
    match (
        vectors.get("size").and_then(Value::as_u64),
        vectors.get("distance").and_then(Value::as_str),
    ) {
        (Some(size), Some(distance)) => Ok(VectorParams {
            size: usize::try_from(size).context("vector size")?,
            distance: distance.to_owned(),
        }),
        _ => bail!(
            "the collection has named vectors ({}); n8n's Qdrant node needs one unnamed vector",
            vectors
                .as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        ),
    }
}

/// An answer whose `result` is `true` (collection created or deleted).
pub fn parse_true(body: &[u8]) -> Result<()> {
    match result(body)? {
        Value::Bool(true) => Ok(()),
        other => bail!("Qdrant answered result {other}"),
    }
}

/// An update answer (`{"operation_id", "status"}`): with `wait=true` the status is `completed`.
pub fn parse_update(body: &[u8]) -> Result<()> {
    let r = result(body)?;
    match r.get("status").and_then(Value::as_str) {
        Some("completed") => Ok(()),
        other => bail!("Qdrant's update status is {other:?}, expected \"completed\""),
    }
}

/// The message of an error answer (`{"status": {"error": "..."}}`), or the raw body.
pub fn parse_error(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/status/error")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned())
}

/// A Qdrant server and the collection to fill.
pub struct Qdrant<'a> {
    pub http: &'a Http,
    pub base_url: String,
    pub api_key: Option<String>,
    pub collection: String,
}

impl Qdrant<'_> {
    fn url(&self, path: &str) -> String {
        format!(
            "{}/collections/{}{path}",
            self.base_url.trim_end_matches('/'),
            self.collection
        )
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Vec<u8>> {
        let url = self.url(path);
        let (status, bytes) = self
            .http
            .send(method.clone(), &url, body, self.api_key.as_deref())
            .await?;
        if !status.is_success() {
            bail!(
                "Qdrant {method} {url} answered {status}: {}",
                parse_error(&bytes)
            );
        }
        Ok(bytes)
    }

    pub async fn exists(&self) -> Result<bool> {
        parse_exists(&self.call(reqwest::Method::GET, "/exists", None).await?)
    }

    pub async fn vector_params(&self) -> Result<VectorParams> {
        parse_vector_params(&self.call(reqwest::Method::GET, "", None).await?)
    }

    pub async fn create(&self, size: usize) -> Result<()> {
        parse_true(
            &self
                .call(
                    reqwest::Method::PUT,
                    "",
                    Some(&create_collection_body(size)),
                )
                .await?,
        )
    }

    pub async fn delete_collection(&self) -> Result<()> {
        parse_true(&self.call(reqwest::Method::DELETE, "", None).await?)
    }

    pub async fn upsert(&self, points: &[(&Chunk, &[f32])]) -> Result<()> {
        let body = upsert_body(points);
        parse_update(
            &self
                .call(reqwest::Method::PUT, "/points?wait=true", Some(&body))
                .await?,
        )
    }

    pub async fn delete_stale(&self, keep: &[Uuid]) -> Result<()> {
        let body = delete_stale_body(keep);
        parse_update(
            &self
                .call(
                    reqwest::Method::POST,
                    "/points/delete?wait=true",
                    Some(&body),
                )
                .await?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(index: usize) -> Chunk {
        Chunk {
            source: "02-aturan-emas.md".into(),
            index,
            title: "Aturan gadai emas".into(),
            tags: vec!["emas".into(), "gram".into()],
            section: "Satuan: gram".into(),
            text: "Aturan gadai emas › Satuan: gram\n\nJumlah emas dalam gram.".into(),
        }
    }

    #[test]
    fn ids_are_deterministic_v5_and_distinct() {
        let a = point_id("02-aturan-emas.md", 0);
        assert_eq!(a, point_id("02-aturan-emas.md", 0));
        assert_eq!(a.get_version_num(), 5);
        assert_ne!(a, point_id("02-aturan-emas.md", 1));
        assert_ne!(a, point_id("03-nilai-pinjaman-wilayah.md", 0));
        // Pinned: changing the namespace or the name format would orphan every stored point.
        assert_eq!(a, Uuid::new_v5(&ID_NAMESPACE, b"02-aturan-emas.md#0"));
        assert_eq!(
            ID_NAMESPACE.to_string(),
            "3c8f5a1e-6d2b-4f70-9a41-7e0cd5b29f18"
        );
    }

    #[test]
    fn create_body_is_exact() {
        let expected: Value =
            serde_json::from_str(r#"{"vectors":{"size":768,"distance":"Cosine"}}"#).unwrap();
        assert_eq!(create_collection_body(768), expected);
    }

    #[test]
    fn upsert_body_is_exact() {
        let c = chunk(3);
        let v = [0.5_f32, -0.25];
        let body = upsert_body(&[(&c, &v)]);
        let expected = json!({
            "points": [{
                "id": point_id("02-aturan-emas.md", 3).to_string(),
                "vector": [0.5, -0.25],
                "payload": {
                    "content": "Aturan gadai emas › Satuan: gram\n\nJumlah emas dalam gram.",
                    "metadata": {
                        "source": "02-aturan-emas.md",
                        "title": "Aturan gadai emas",
                        "tags": ["emas", "gram"],
                        "section": "Satuan: gram",
                        "chunk_index": 3,
                        "seeded_by": "knowledge-seed",
                    },
                },
            }]
        });
        assert_eq!(body, expected);
    }

    #[test]
    fn delete_stale_body_is_exact() {
        let id = point_id("a.md", 0);
        assert_eq!(
            delete_stale_body(&[id]),
            json!({
                "filter": {
                    "must": [{"key": "metadata.seeded_by", "match": {"value": "knowledge-seed"}}],
                    "must_not": [{"has_id": [id.to_string()]}],
                }
            })
        );
    }

    #[test]
    fn parses_answers() {
        assert!(
            parse_exists(br#"{"result":{"exists":true},"status":"ok","time":0.00001}"#).unwrap()
        );
        assert!(
            !parse_exists(br#"{"result":{"exists":false},"status":"ok","time":0.00001}"#).unwrap()
        );
        assert!(parse_exists(br#"{"status":"ok"}"#).is_err());

        let info = br#"{"result":{"status":"green","optimizer_status":"ok","points_count":23,"segments_count":2,
            "config":{"params":{"vectors":{"size":768,"distance":"Cosine"},"shard_number":1,"replication_factor":1,
            "write_consistency_factor":1,"on_disk_payload":true},"hnsw_config":{"m":16},"optimizer_config":{},"wal_config":{}},
            "payload_schema":{}},"status":"ok","time":0.0002}"#;
        assert_eq!(
            parse_vector_params(info).unwrap(),
            VectorParams {
                size: 768,
                distance: "Cosine".into()
            }
        );
        let named = br#"{"result":{"config":{"params":{"vectors":{"text":{"size":768,"distance":"Cosine"}}}}},"status":"ok"}"#;
        let err = parse_vector_params(named).unwrap_err().to_string();
        assert!(err.contains("named vectors (text)"), "{err}");

        parse_true(br#"{"result":true,"status":"ok","time":0.1}"#).unwrap();
        assert!(parse_true(br#"{"result":false,"status":"ok","time":0.1}"#).is_err());
        parse_update(
            br#"{"result":{"operation_id":7,"status":"completed"},"status":"ok","time":0.01}"#,
        )
        .unwrap();
        assert!(
            parse_update(br#"{"result":{"operation_id":7,"status":"acknowledged"},"status":"ok"}"#)
                .is_err()
        );
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            parse_error(
                br#"{"status":{"error":"Not found: Collection `x` doesn't exist!"},"time":0.0}"#
            ),
            "Not found: Collection `x` doesn't exist!"
        );
        assert_eq!(parse_error(b"upstream down"), "upstream down");
    }
}
