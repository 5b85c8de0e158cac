//! The eval corpus: small repositories with a goal and hidden checks, to measure the
//! harness on real tasks (SWE-bench's FAIL_TO_PASS / PASS_TO_PASS). One stable format,
//! `evals/<name>/scenario.toml`:
//!
//! - `goal`: what the mission is asked;
//! - `setup`: shell run in an empty git repository, whose result is committed;
//! - `fail_to_pass`: commands that must fail before the work and pass after it;
//! - `pass_to_pass`: commands that must pass before and after;
//! - `hidden/`: files copied into the tree only for the checks (never seen by agents);
//! - `budget_usd`; `gold = "gold.patch"`: a known good change (`git apply` format);
//! - `expect_escalation = true`: the right answer is to hand the decision to a human.
//!
//! `mission eval check` proves each scenario sound: with no change the fail-to-pass
//! commands fail and the pass-to-pass ones pass; with the gold patch, all pass.

pub mod check;
pub mod replay;
pub mod run;

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub goal: String,
    #[serde(default)]
    pub setup: String,
    #[serde(default)]
    pub fail_to_pass: Vec<String>,
    #[serde(default)]
    pub pass_to_pass: Vec<String>,
    #[serde(default)]
    pub budget_usd: Option<f64>,
    #[serde(default)]
    pub gold: Option<String>,
    #[serde(default)]
    pub expect_escalation: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}: {1}")]
    Format(PathBuf, String),
}

/// A scenario with its name (its directory's) and directory.
#[derive(Debug, Clone)]
pub struct Named {
    pub name: String,
    pub dir: PathBuf,
    pub scenario: Scenario,
}

/// Every scenario of `corpus`, by name.
pub fn load_corpus(corpus: &Path) -> Result<Vec<Named>, EvalError> {
    // Absolute: the checks run in temporary directories and name the gold patch by path.
    let corpus = &corpus
        .canonicalize()
        .map_err(|e| EvalError::Io(corpus.into(), e))?;
    let read = std::fs::read_dir(corpus).map_err(|e| EvalError::Io(corpus.into(), e))?;
    let mut dirs: Vec<PathBuf> = read
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("scenario.toml").is_file())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let file = dir.join("scenario.toml");
            let text =
                std::fs::read_to_string(&file).map_err(|e| EvalError::Io(file.clone(), e))?;
            let scenario: Scenario = toml::from_str(&text)
                .map_err(|e| EvalError::Format(file.clone(), e.to_string()))?;
            if scenario.fail_to_pass.is_empty() && !scenario.expect_escalation {
                return Err(EvalError::Format(
                    file,
                    "no fail_to_pass command: nothing would show the work was done".into(),
                ));
            }
            Ok(Named {
                name: dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                dir,
                scenario,
            })
        })
        .collect()
}
