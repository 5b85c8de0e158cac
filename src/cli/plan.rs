//! `mission plan check FILE.json`: a plan checked offline, as the orchestrator is told.

use std::path::Path;

use anyhow::{Result, anyhow};

use super::EXIT_USAGE;

pub(super) fn check(file: &Path) -> Result<i32> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow!("cannot read {}: {e}", file.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| anyhow!("{}: not JSON: {e}", file.display()))?;
    match crate::agent::tools::submit::parse_plan(&v) {
        Ok(plan) => {
            println!(
                "{}: a sound plan: {} milestones, {} features, {} assertions",
                file.display(),
                plan.milestones.len(),
                plan.feature_count(),
                plan.assertions.len()
            );
            Ok(0)
        }
        Err(e) => {
            println!("{}: {e}", file.display());
            Ok(EXIT_USAGE)
        }
    }
}
