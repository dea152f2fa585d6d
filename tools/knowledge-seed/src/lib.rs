//! `knowledge-seed`: turns the knowledge base (`compose/knowledge/*.md`) into points of the Qdrant
//! collection that the n8n agent's vector-store tool searches.
//!
//! - [`chunk`] reads a markdown file's front matter (`title`, `tags`) and cuts its body into
//!   chunks at headings, each under a size cap and prefixed with its heading path.
//! - [`ollama`] asks Ollama's `POST /api/embed` for one vector per chunk.
//! - [`qdrant`] creates the collection when it is missing (`PUT /collections/{name}`, cosine
//!   distance, the embedding's length), upserts the points (`PUT .../points?wait=true`) and
//!   removes points of chunks that no longer exist.
//! - [`seed`] ties them together; `src/main.rs` reads the environment and prints progress.
//!
//! Point ids are UUID v5 of `file#chunk-index`, so a second run overwrites the same points, and
//! each payload has the two keys n8n's Qdrant node (LangChain's `QdrantVectorStore`) reads by
//! default: `content` (the text) and `metadata` (an object).
//!
//! The crate also holds the checks of the n8n workflow (`tests/workflow.rs`), the script that
//! derives `compose/n8n/known-node-types.txt` from n8n's npm packages
//! (`scripts/known-node-types.sh`), and `scripts/n8n-live-check.sh`, which runs the workflow in a
//! real n8n against the real services.

pub mod chunk;
pub mod ollama;
pub mod qdrant;
pub mod seed;
