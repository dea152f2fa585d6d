//! `knowledge-seed [--recreate | --dry-run]`: see the crate documentation and `--help`.

use std::process::ExitCode;

use knowledge_seed::seed::{self, Config};

const HELP: &str = "\
knowledge-seed: embed the knowledge base with Ollama and upsert it into Qdrant.

Usage: knowledge-seed [--recreate | --dry-run]

  --recreate   delete and recreate the collection first (after changing the embedding model)
  --dry-run    only read and chunk the files and print the chunks; no network

Environment (defaults in brackets):
  OLLAMA_URL            [http://ollama:11434]
  OLLAMA_EMBED_MODEL    [nomic-embed-text]
  QDRANT_URL            [http://qdrant:6333]
  QDRANT_API_KEY        [none]
  QDRANT_COLLECTION     [pegadaian_knowledge]
  KNOWLEDGE_DIR         [compose/knowledge]
  KNOWLEDGE_CHUNK_CHARS [1200]

Re-running is idempotent: point ids are UUID v5 of file#chunk, and points of chunks that no
longer exist are removed.";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut recreate = false;
    let mut dry_run = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--recreate" => recreate = true,
            "--dry-run" => dry_run = true,
            "-h" | "--help" => {
                println!("{HELP}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("knowledge-seed: unknown argument {other:?}\n\n{HELP}");
                return ExitCode::from(2);
            }
        }
    }
    let mut config = match Config::from_lookup(|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("knowledge-seed: {e:#}");
            return ExitCode::from(2);
        }
    };
    config.recreate = recreate;

    if dry_run {
        return match seed::load_chunks(&config) {
            Ok((files, chunks)) => {
                for c in &chunks {
                    println!(
                        "--- {}#{} ({} chars) id {}\n{}\n",
                        c.source,
                        c.index,
                        c.text.chars().count(),
                        knowledge_seed::qdrant::point_id(&c.source, c.index),
                        c.text
                    );
                }
                println!(
                    "knowledge-seed: {files} files, {} chunks (dry run)",
                    chunks.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("knowledge-seed: {e:#}");
                ExitCode::FAILURE
            }
        };
    }

    let mut progress = |line: &str| println!("knowledge-seed: {line}");
    match seed::run(&config, &mut progress).await {
        Ok(report) => {
            println!(
                "knowledge-seed: done: {} files, {} chunks, {} points in {} ({} dimensions{})",
                report.files,
                report.chunks,
                report.upserted,
                config.collection,
                report.dimension,
                if report.created {
                    ", collection created"
                } else {
                    ""
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("knowledge-seed: {e:#}");
            ExitCode::FAILURE
        }
    }
}
