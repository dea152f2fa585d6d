//! `.env.example` must list every variable the code reads, and nothing it does not.

use std::{collections::BTreeSet, path::Path};

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() && !path.ends_with("tests") {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Names passed as string literals to the config readers and `std::env::var`.
fn read_by_code(root: &Path) -> BTreeSet<String> {
    let mut files = Vec::new();
    for dir in ["services", "shared"] {
        rust_files(&root.join(dir), &mut files);
    }
    let readers = [
        "config::string(",
        "config::parse(",
        "config::duration(",
        "config::list(",
        "config::optional(",
        "std::env::var(",
        "optional(",
        // gadai_store::DbSettings::from_lookup's `var("DATABASE_URL")`
        "var(",
    ];
    let mut names = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        if file.to_string_lossy().contains("test-support") {
            continue; // test-only variables (TEST_LOG)
        }
        // config::first_of(&["NEW_NAME", "SEED_NAME"])
        for chunk in text.split("first_of(&[").skip(1) {
            let list = chunk.split(']').next().unwrap_or_default();
            names.extend(list.split('"').skip(1).step_by(2).map(str::to_owned));
        }
        for reader in readers {
            for chunk in text.split(reader).skip(1) {
                let Some(literal) = chunk.trim_start().strip_prefix('"') else {
                    continue;
                };
                let name: String = literal.chars().take_while(|c| *c != '"').collect();
                if !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                {
                    names.insert(name);
                }
            }
        }
    }
    names
}

#[test]
fn env_example_lists_exactly_the_variables_the_code_reads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let example = std::fs::read_to_string(root.join(".env.example")).unwrap();
    let documented: BTreeSet<String> = example
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned()))
        .collect();
    let read = read_by_code(&root);
    let undocumented: Vec<_> = read.difference(&documented).collect();
    let unused: Vec<_> = documented
        .difference(&read)
        .filter(|n| *n != "RUST_LOG")
        .collect();
    assert!(
        undocumented.is_empty(),
        "read by the code but missing from .env.example: {undocumented:?}"
    );
    assert!(
        unused.is_empty(),
        "in .env.example but read by nothing: {unused:?}"
    );
}
