//! The committed knowledge base (`compose/knowledge/*.md`): every file has its front matter,
//! chunks within the cap, and together they state the facts the agent must be able to find.

use std::path::{Path, PathBuf};

use knowledge_seed::chunk::{self, DEFAULT_MAX_CHARS};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../compose/knowledge")
}

#[test]
fn every_file_has_front_matter_and_chunks_within_the_cap() {
    let docs = chunk::load_dir(&dir()).unwrap();
    assert!(docs.len() >= 5, "{} files", docs.len());
    for doc in &docs {
        assert!(!doc.front.title.is_empty(), "{}: title", doc.source);
        assert!(!doc.front.tags.is_empty(), "{}: tags", doc.source);
        let chunks = chunk::chunk_document(doc, DEFAULT_MAX_CHARS);
        assert!(!chunks.is_empty(), "{}: no chunks", doc.source);
        for c in chunks {
            assert!(
                c.text.chars().count() <= DEFAULT_MAX_CHARS,
                "{}#{} too long",
                c.source,
                c.index
            );
            assert!(
                c.text.starts_with(&doc.front.title),
                "{}#{}: {:?}",
                c.source,
                c.index,
                c.text
            );
        }
    }
}

#[test]
fn the_knowledge_base_states_the_rules() {
    let docs = chunk::load_dir(&dir()).unwrap();
    let all: String = docs
        .iter()
        .map(|d| d.body.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let find = |needle: &str| {
        assert!(
            all.contains(needle),
            "the knowledge base never says {needle:?}"
        )
    };

    // Categories and brands.
    for category in ["televisi", "handphone", "kamera", "laptop", "emas"] {
        find(&format!("## {}", capitalise(category)));
    }
    for brand in ["Samsung", "Apple iPhone", "Canon", "Lenovo", "Polytron"] {
        find(brand);
    }
    // Gold.
    find("**emas antam**");
    find("**emas UBS**");
    find("**gram**");
    // Regional percentages.
    for row in [
        "| DKI Jakarta | 80 % |",
        "| Jawa Barat | 70 % |",
        "| Jawa Timur | 60 % |",
        "| Provinsi lain | 50 % |",
    ] {
        find(row);
    }
    find("sebelum pelanggan\n  menyebut provinsinya");
    // Process.
    find("kode verifikasi 6 karakter");
    find("berlaku 24 jam");
    find("**nomor referensi pengajuan**");
    find("Pelanggan mengetik nomor referensi pengajuan dan kode verifikasi");
    find("status \"On Process\"");
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
