//! The closing table: each figure next to its budget from DESIGN.md section 9 and the figure
//! the previous run measured (kept in a results file, `BENCH_RESULTS`, default
//! `var/bench/results.json`: one entry a figure, with the time it was measured).

use std::{collections::BTreeMap, path::Path};

use anyhow::Context;
use serde_json::{Value, json};

/// One line of the summary.
pub struct Row {
    pub what: String,
    pub measured: String,
    pub budget: String,
    /// `None` when the figure could not be judged (not measured, or no budget).
    pub ok: Option<bool>,
}

#[derive(Default)]
pub struct Summary {
    rows: Vec<Row>,
}

impl Summary {
    pub fn add(
        &mut self,
        what: impl Into<String>,
        measured: impl Into<String>,
        budget: impl Into<String>,
        ok: Option<bool>,
    ) {
        self.rows.push(Row {
            what: what.into(),
            measured: measured.into(),
            budget: budget.into(),
            ok,
        });
    }

    /// Prints the table with each figure's previous measurement from `results`, then writes
    /// this run's figures into it (figures not measured this time keep their earlier entry; a
    /// failed scenario's row is not recorded).
    pub fn print_and_record(&self, results: &Path, at: &str) -> anyhow::Result<()> {
        // A damaged results file costs the "previous run" column, never this run's table.
        let mut recorded = read_results(results).unwrap_or_else(|err| {
            println!("note: {err:#}: previous figures not shown, the file is written anew");
            BTreeMap::new()
        });
        let previous = |what: &str| match recorded.get(what) {
            Some(entry) => format!(
                "{} ({})",
                entry["measured"].as_str().unwrap_or("?"),
                entry["at"].as_str().unwrap_or("?")
            ),
            None => "-".to_owned(),
        };
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.what.clone(),
                    r.measured.clone(),
                    r.budget.clone(),
                    match r.ok {
                        Some(true) => "yes".into(),
                        Some(false) => "NO".into(),
                        None => "n/a".into(),
                    },
                    previous(&r.what),
                ]
            })
            .collect();
        print_table(
            &[
                "what",
                "measured",
                "budget",
                "within budget",
                "previous run",
            ],
            &cells,
        );
        for row in self
            .rows
            .iter()
            .filter(|r| !r.measured.starts_with("failed"))
        {
            recorded.insert(
                row.what.clone(),
                json!({ "measured": row.measured, "budget": row.budget, "at": at }),
            );
        }
        if let Some(dir) = results.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(results, serde_json::to_string_pretty(&recorded)? + "\n")
            .with_context(|| format!("writing {}", results.display()))
    }
}

/// The figures of earlier runs, by what was measured (none when the file does not exist yet).
fn read_results(path: &Path) -> anyhow::Result<BTreeMap<String, Value>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{} is not a results file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// A plain text table, columns padded to their widest cell.
fn print_table(head: &[&str], rows: &[Vec<String>]) {
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[&str]| {
        let padded: Vec<String> = cols
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        println!("{}", padded.join(" | ").trim_end());
    };
    line(head);
    let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
    println!("{}", rule.join("-|-"));
    for row in rows {
        line(&row.iter().map(String::as_str).collect::<Vec<_>>());
    }
}
