//! Ollama's embedding API: `POST {OLLAMA_URL}/api/embed` with `{"model", "input": [...]}`,
//! answered by `{"model", "embeddings": [[...], ...]}` (one vector per input, in order), or by
//! `{"error": "..."}` with a 4xx/5xx status (for example a model that was not pulled).

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::seed::Http;

/// The request body for a batch of texts.
pub fn embed_request(model: &str, inputs: &[String]) -> Value {
    json!({ "model": model, "input": inputs })
}

#[derive(Deserialize)]
struct EmbedResponse {
    embeddings: Vec<Vec<f32>>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
}

/// Parses a successful answer: exactly `expected` vectors, all of one non-zero length.
pub fn parse_embed_response(body: &[u8], expected: usize) -> Result<Vec<Vec<f32>>> {
    let parsed: EmbedResponse = serde_json::from_slice(body)
        .context("Ollama's /api/embed answer has no `embeddings` list")?;
    let vectors = parsed.embeddings;
    ensure!(
        vectors.len() == expected,
        "Ollama returned {} embeddings for {expected} inputs",
        vectors.len()
    );
    if let Some(first) = vectors.first() {
        ensure!(!first.is_empty(), "Ollama returned an empty embedding");
        ensure!(
            vectors.iter().all(|v| v.len() == first.len()),
            "Ollama returned embeddings of different lengths"
        );
    }
    Ok(vectors)
}

/// The message of an error answer (`{"error": "..."}`), or the raw body.
pub fn parse_error(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(e) => e.error,
        Err(_) => String::from_utf8_lossy(body).trim().to_owned(),
    }
}

/// An Ollama server and the embedding model to use.
pub struct Ollama<'a> {
    pub http: &'a Http,
    pub base_url: String,
    pub model: String,
}

impl Ollama<'_> {
    /// One vector per input, in order.
    pub async fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>> {
        let url = format!("{}/api/embed", self.base_url.trim_end_matches('/'));
        let body = embed_request(&self.model, inputs);
        let (status, bytes) = self
            .http
            .send(reqwest::Method::POST, &url, Some(&body), None)
            .await?;
        if !status.is_success() {
            let message = parse_error(&bytes);
            if status == reqwest::StatusCode::NOT_FOUND {
                bail!(
                    "Ollama at {url}: {message} (status 404); pull the model first: ollama pull {}",
                    self.model
                );
            }
            bail!("Ollama at {url} answered {status}: {message}");
        }
        parse_embed_response(&bytes, inputs.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_body_is_exactly_model_and_input_list() {
        let body = embed_request("nomic-embed-text", &["satu".into(), "dua".into()]);
        let expected: Value =
            serde_json::from_str(r#"{"model":"nomic-embed-text","input":["satu","dua"]}"#).unwrap();
        assert_eq!(body, expected);
    }

    #[test]
    fn parses_the_documented_answer() {
        let body = br#"{"model":"all-minilm","embeddings":[[0.010071029,-0.0017594862,0.05007221],[-0.0098027075,0.06042469,0.025257962]],"total_duration":14143917,"load_duration":1019500,"prompt_eval_count":8}"#;
        let v = parse_embed_response(body, 2).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0], [0.010071029, -0.0017594862, 0.05007221]);
    }

    #[test]
    fn rejects_wrong_counts_ragged_and_empty_vectors() {
        assert!(parse_embed_response(br#"{"embeddings":[[1.0]]}"#, 2).is_err());
        assert!(parse_embed_response(br#"{"embeddings":[[1.0],[1.0,2.0]]}"#, 2).is_err());
        assert!(parse_embed_response(br#"{"embeddings":[[]]}"#, 1).is_err());
        assert!(
            parse_embed_response(br#"{"embedding":[1.0]}"#, 1).is_err(),
            "old /api/embeddings shape"
        );
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            parse_error(
                br#"{"error":"model \"nomic-embed-text\" not found, try pulling it first"}"#
            ),
            "model \"nomic-embed-text\" not found, try pulling it first"
        );
        assert_eq!(parse_error(b"Bad Gateway\n"), "Bad Gateway");
    }
}
