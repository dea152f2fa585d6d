//! Writes the JSON Schema of every event envelope into a folder (default `proto-schemas/events`).

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("proto-schemas/events"));
    std::fs::create_dir_all(&dir)?;
    for (name, schema) in gadai_events::all_schemas() {
        let path = dir.join(format!("{name}.json"));
        let mut text = serde_json::to_string_pretty(&schema).expect("schemas serialize");
        text.push('\n');
        std::fs::write(&path, text)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
