//! The closing table: each figure next to its budget from DESIGN.md section 9.

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

    pub fn print(&self) {
        let head = ["what", "measured", "budget", "within budget"];
        let cells: Vec<[String; 4]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.what.clone(),
                    r.measured.clone(),
                    r.budget.clone(),
                    match r.ok {
                        Some(true) => "yes".into(),
                        Some(false) => "NO".into(),
                        None => "n/a".into(),
                    },
                ]
            })
            .collect();
        let mut width = head.map(|h| h.chars().count());
        for row in &cells {
            for (w, c) in width.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cols: [&str; 4]| {
            let mut out = String::new();
            for (i, (c, w)) in cols.iter().zip(width).enumerate() {
                if i > 0 {
                    out.push_str(" | ");
                }
                out.push_str(c);
                if i < 3 {
                    out.push_str(&" ".repeat(w - c.chars().count()));
                }
            }
            println!("{}", out.trim_end());
        };
        line(head);
        let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
        println!("{}", rule.join("-|-"));
        for row in &cells {
            line([&row[0], &row[1], &row[2], &row[3]]);
        }
    }
}
