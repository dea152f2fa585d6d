//! Knowledge files: YAML front matter and heading-based chunks.
//!
//! A knowledge file starts with a short front matter block:
//!
//! ```text
//! ---
//! title: Aturan gadai emas
//! tags: [emas, antam, ubs]
//! ---
//! ```
//!
//! Only the two keys the seeder uses are read, `title` (a string, quoted or not) and `tags` (a
//! flow list `[a, b]` or a block list of `- a` lines); other keys are ignored. The body is cut at
//! every markdown heading (`#` to `######`, outside fenced code). Each chunk's text starts with
//! its heading path (`Title › Section`) so it reads on its own when the agent retrieves it, and
//! a section longer than the cap is split at blank lines, then lines, then words.

use std::path::Path;

use anyhow::{Context, Result, bail};

/// The default size cap of one chunk's text, in characters (heading path included).
pub const DEFAULT_MAX_CHARS: usize = 1200;

/// What a file's front matter says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontMatter {
    pub title: String,
    pub tags: Vec<String>,
}

/// One knowledge file: its name (the `source` in the payload), front matter and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub source: String,
    pub front: FrontMatter,
    pub body: String,
}

/// One piece of a document, as embedded and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The file name, e.g. `02-aturan-emas.md`.
    pub source: String,
    /// Position of the chunk within its file, from 0.
    pub index: usize,
    pub title: String,
    pub tags: Vec<String>,
    /// The heading path of the section the chunk comes from (without the title when the first
    /// heading repeats it); empty for text before any heading.
    pub section: String,
    /// The text that is embedded and stored as `content`.
    pub text: String,
}

/// Reads every `*.md` file of `dir` (not recursive), sorted by name.
pub fn load_dir(dir: &Path) -> Result<Vec<Document>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the knowledge directory {}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "md") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut docs = Vec::with_capacity(paths.len());
    for path in paths {
        let source = path
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{} has no UTF-8 file name", path.display()))?
            .to_owned();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        docs.push(parse_document(&source, &text)?);
    }
    Ok(docs)
}

/// Splits a file into its front matter and body.
pub fn parse_document(source: &str, text: &str) -> Result<Document> {
    let (front, body) =
        parse_front_matter(text).with_context(|| format!("{source}: front matter"))?;
    Ok(Document {
        source: source.to_owned(),
        front,
        body: body.to_owned(),
    })
}

/// Parses the `---` block at the top of `text`; returns it and the rest of the text.
pub fn parse_front_matter(text: &str) -> Result<(FrontMatter, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    match lines.next() {
        Some(first) if first.trim_end() == "---" => {}
        _ => bail!("the file must start with a `---` line"),
    }
    let mut consumed = text.split_inclusive('\n').next().map_or(0, str::len);
    let mut block = Vec::new();
    let mut closed = false;
    for line in lines {
        consumed += line.len();
        if line.trim_end() == "---" {
            closed = true;
            break;
        }
        block.push(line.trim_end_matches(['\n', '\r']));
    }
    if !closed {
        bail!("no closing `---` line");
    }

    let mut title = None;
    let mut tags: Option<Vec<String>> = None;
    let mut in_tags_block = false;
    for line in block {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if in_tags_block {
            if let Some(item) = line.trim_start().strip_prefix("- ") {
                tags.get_or_insert_with(Vec::new)
                    .push(unquote(item.trim()).to_owned());
                continue;
            }
            in_tags_block = false;
        }
        if line.starts_with([' ', '\t']) {
            continue; // a nested value of a key we do not read
        }
        let Some((key, value)) = line.split_once(':') else {
            bail!("not a `key: value` line: {line:?}");
        };
        let value = value.trim();
        match key.trim() {
            "title" => title = Some(unquote(value).to_owned()),
            "tags" if value.is_empty() => {
                in_tags_block = true;
                tags = Some(Vec::new());
            }
            "tags" => {
                let inner = value
                    .strip_prefix('[')
                    .and_then(|v| v.strip_suffix(']'))
                    .with_context(|| format!("tags must be a list, got {value:?}"))?;
                tags = Some(
                    inner
                        .split(',')
                        .map(|t| unquote(t.trim()).to_owned())
                        .filter(|t| !t.is_empty())
                        .collect(),
                );
            }
            _ => {}
        }
    }
    let title = title.filter(|t| !t.is_empty()).context("no `title`")?;
    let tags = tags.context("no `tags`")?;
    Ok((FrontMatter { title, tags }, &text[consumed..]))
}

fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    value
}

/// A heading line outside fenced code: its level (1 to 6) and text.
fn heading(line: &str) -> Option<(usize, &str)> {
    let hashes = line.bytes().take_while(|b| *b == b'#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &line[hashes..];
    if rest.is_empty() {
        return Some((hashes, ""));
    }
    rest.starts_with([' ', '\t'])
        .then(|| (hashes, rest.trim().trim_end_matches('#').trim()))
}

/// A section of the body: the heading path above it and its text.
struct Section {
    path: Vec<String>,
    body: String,
}

fn sections(body: &str) -> Vec<Section> {
    let mut out = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut current = String::new();
    let mut fence: Option<&str> = None;
    let flush = |stack: &[(usize, String)], current: &mut String, out: &mut Vec<Section>| {
        let text = current.trim().to_owned();
        current.clear();
        if !text.is_empty() {
            out.push(Section {
                path: stack.iter().map(|(_, h)| h.clone()).collect(),
                body: text,
            });
        }
    };
    for line in body.lines() {
        let trimmed = line.trim_start();
        if let Some(marker) = fence {
            if trimmed.starts_with(marker) {
                fence = None;
            }
            current.push_str(line);
            current.push('\n');
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
            current.push_str(line);
            current.push('\n');
            continue;
        }
        if let Some((level, text)) = heading(line) {
            flush(&stack, &mut current, &mut out);
            while stack.last().is_some_and(|(l, _)| *l >= level) {
                stack.pop();
            }
            stack.push((level, text.to_owned()));
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    flush(&stack, &mut current, &mut out);
    out
}

/// Cuts a document into chunks of at most `max_chars` characters each.
pub fn chunk_document(doc: &Document, max_chars: usize) -> Vec<Chunk> {
    let title = &doc.front.title;
    let mut chunks = Vec::new();
    for section in sections(&doc.body) {
        // The first heading usually repeats the title; the path then starts below it.
        let mut path = section.path.as_slice();
        if path.first().is_some_and(|h| h.eq_ignore_ascii_case(title)) {
            path = &path[1..];
        }
        let section_name = path.join(" › ");
        let prefix = if section_name.is_empty() {
            format!("{title}\n\n")
        } else {
            format!("{title} › {section_name}\n\n")
        };
        let budget = max_chars.saturating_sub(prefix.chars().count()).max(1);
        for piece in split_to_fit(&section.body, budget) {
            chunks.push(Chunk {
                source: doc.source.clone(),
                index: chunks.len(),
                title: title.clone(),
                tags: doc.front.tags.clone(),
                section: section_name.clone(),
                text: format!("{prefix}{piece}"),
            });
        }
    }
    chunks
}

/// Splits `text` into pieces of at most `budget` characters, preferring paragraph, then line,
/// then word boundaries; only a single word longer than the budget is cut inside.
fn split_to_fit(text: &str, budget: usize) -> Vec<String> {
    if text.chars().count() <= budget {
        return vec![text.to_owned()];
    }
    let units = [
        ("\n\n", split_paragraphs as fn(&str) -> Vec<String>),
        ("\n", split_lines),
        (" ", split_words),
    ];
    for (joiner, split) in units {
        let parts = split(text);
        if parts.len() > 1 {
            return pack(parts, joiner, budget);
        }
    }
    // One long word: cut at character boundaries.
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(budget).map(|c| c.iter().collect()).collect()
}

fn split_paragraphs(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.trim().is_empty() {
                parts.push(current.trim_end().to_owned());
            }
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    if !current.trim().is_empty() {
        parts.push(current.trim_end().to_owned());
    }
    parts
}

fn split_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn split_words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// Greedily joins `parts` with `joiner` into pieces within `budget`; a part that is itself too
/// long is split further.
fn pack(parts: Vec<String>, joiner: &str, budget: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for part in parts {
        let pieces = if part.chars().count() > budget {
            split_to_fit(&part, budget)
        } else {
            vec![part]
        };
        for piece in pieces {
            let joined = current.chars().count() + joiner.chars().count() + piece.chars().count();
            if current.is_empty() {
                current = piece;
            } else if joined <= budget {
                current.push_str(joiner);
                current.push_str(&piece);
            } else {
                out.push(std::mem::replace(&mut current, piece));
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(body: &str) -> Document {
        Document {
            source: "x.md".into(),
            front: FrontMatter {
                title: "Judul".into(),
                tags: vec!["a".into()],
            },
            body: body.into(),
        }
    }

    #[test]
    fn front_matter_flow_list() {
        let (front, body) = parse_front_matter(
            "---\ntitle: Aturan emas\ntags: [emas, \"antam\", 'ubs']\n---\n\n# H\n",
        )
        .unwrap();
        assert_eq!(front.title, "Aturan emas");
        assert_eq!(front.tags, ["emas", "antam", "ubs"]);
        assert_eq!(body, "\n# H\n");
    }

    #[test]
    fn front_matter_block_list_quoted_title_and_unknown_keys() {
        let text = "---\ntitle: \"Proses: gadai\"\nlang: id\ntags:\n  - proses\n  - kode\nextra:\n  nested: 1\n---\nisi\n";
        let (front, body) = parse_front_matter(text).unwrap();
        assert_eq!(front.title, "Proses: gadai");
        assert_eq!(front.tags, ["proses", "kode"]);
        assert_eq!(body, "isi\n");
    }

    #[test]
    fn front_matter_errors() {
        assert!(parse_front_matter("# no front matter\n").is_err());
        assert!(
            parse_front_matter("---\ntitle: x\ntags: [a]\n").is_err(),
            "unclosed"
        );
        assert!(
            parse_front_matter("---\ntags: [a]\n---\n").is_err(),
            "no title"
        );
        assert!(
            parse_front_matter("---\ntitle: x\n---\n").is_err(),
            "no tags"
        );
        assert!(
            parse_front_matter("---\ntitle: x\ntags: a, b\n---\n").is_err(),
            "tags not a list"
        );
    }

    #[test]
    fn chunks_follow_headings_with_the_heading_path() {
        let d = doc(
            "# Judul\n\nPengantar.\n\n## Satu\n\nIsi satu.\n\n### Rinci\n\nIsi rinci.\n\n## Dua\n\nIsi dua.\n",
        );
        let chunks = chunk_document(&d, 1000);
        let got: Vec<(usize, &str, &str)> = chunks
            .iter()
            .map(|c| (c.index, c.section.as_str(), c.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (0, "", "Judul\n\nPengantar."),
                (1, "Satu", "Judul › Satu\n\nIsi satu."),
                (2, "Satu › Rinci", "Judul › Satu › Rinci\n\nIsi rinci."),
                (3, "Dua", "Judul › Dua\n\nIsi dua."),
            ]
        );
        assert!(
            chunks
                .iter()
                .all(|c| c.source == "x.md" && c.title == "Judul" && c.tags == ["a"])
        );
    }

    #[test]
    fn headings_inside_fenced_code_do_not_split() {
        let d = doc("## A\n\n```\n# not a heading\n```\nafter\n");
        let chunks = chunk_document(&d, 1000);
        assert_eq!(chunks.len(), 1);
        assert!(chunks[0].text.contains("# not a heading"));
        assert!(chunks[0].text.ends_with("after"));
    }

    #[test]
    fn empty_sections_are_skipped_and_hashtags_are_not_headings() {
        let d = doc("# Judul\n\n## Kosong\n\n## Isi\n\n#tag bukan judul\n");
        let chunks = chunk_document(&d, 1000);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].text, "Judul › Isi\n\n#tag bukan judul");
    }

    #[test]
    fn long_sections_are_split_under_the_cap_without_losing_text() {
        let para = "kata ".repeat(30).trim_end().to_owned(); // 149 chars
        let body = format!(
            "## Panjang\n\n{para}\n\n{para}\n\n{para}\n\n{}\n",
            "x".repeat(500)
        );
        let d = doc(&body);
        let max = 200;
        let chunks = chunk_document(&d, max);
        assert!(chunks.len() > 3);
        for c in &chunks {
            assert!(
                c.text.chars().count() <= max,
                "{} chars: {:?}",
                c.text.chars().count(),
                c.text
            );
            assert!(c.text.starts_with("Judul › Panjang\n\n"));
        }
        let words = |s: &str| s.split_whitespace().collect::<String>();
        let rebuilt: String = chunks
            .iter()
            .map(|c| words(c.text.trim_start_matches("Judul › Panjang\n\n")))
            .collect();
        assert_eq!(
            rebuilt,
            words(&format!("{para}{para}{para}{}", "x".repeat(500)))
        );
        let indices: Vec<usize> = chunks.iter().map(|c| c.index).collect();
        assert_eq!(indices, (0..chunks.len()).collect::<Vec<_>>());
    }

    #[test]
    fn chunking_is_deterministic() {
        let d = doc("## A\n\nsatu\n\n## B\n\ndua\n");
        assert_eq!(chunk_document(&d, 50), chunk_document(&d, 50));
    }
}
