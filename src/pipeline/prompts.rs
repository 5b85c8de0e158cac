//! Prompts are markdown in `prompts/`, embedded in the binary; a repo overrides any of
//! them by putting a file of the same name in `.mission/prompts/`.

use std::path::Path;

const EMBEDDED: &[(&str, &str)] = &[
    (
        "orchestrator",
        include_str!("../../prompts/orchestrator.md"),
    ),
    ("worker", include_str!("../../prompts/worker.md")),
    ("reviewer", include_str!("../../prompts/reviewer.md")),
    ("user_tester", include_str!("../../prompts/user_tester.md")),
    ("plan_task", include_str!("../../prompts/plan_task.md")),
    (
        "feature_task",
        include_str!("../../prompts/feature_task.md"),
    ),
    ("fix_task", include_str!("../../prompts/fix_task.md")),
    ("review_task", include_str!("../../prompts/review_task.md")),
    (
        "user_test_task",
        include_str!("../../prompts/user_test_task.md"),
    ),
    ("explorer", include_str!("../../prompts/explorer.md")),
];

#[derive(Debug, Clone)]
pub struct Prompts {
    entries: Vec<(String, String)>,
}

impl Prompts {
    /// Every prompt this program embeds, one after another: what an eval report hashes
    /// to say which prompts it measured.
    pub fn embedded_text() -> String {
        EMBEDDED
            .iter()
            .map(|(_, t)| *t)
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn load(override_dir: &Path) -> Self {
        let entries = EMBEDDED
            .iter()
            .map(|(name, text)| {
                let custom = std::fs::read_to_string(override_dir.join(format!("{name}.md"))).ok();
                (name.to_string(), custom.unwrap_or_else(|| text.to_string()))
            })
            .collect();
        Prompts { entries }
    }

    pub fn get(&self, name: &str) -> &str {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, t)| t.as_str())
    }

    /// Fills `{{key}}` placeholders.
    pub fn render(&self, name: &str, vars: &[(&str, &str)]) -> String {
        let mut out = self.get(name).to_string();
        for (k, v) in vars {
            out = out.replace(&format!("{{{{{k}}}}}"), v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win_and_placeholders_fill() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("worker.md"), "custom {{x}}").unwrap();
        let p = Prompts::load(d.path());
        assert_eq!(p.render("worker", &[("x", "y")]), "custom y");
        assert!(p.get("orchestrator").contains("orchestrator"));
        assert!(
            p.render("fix_task", &[("round", "2"), ("milestone_id", "m1")])
                .starts_with("Fix round 2 for milestone m1")
        );
    }
}
