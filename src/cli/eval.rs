//! `mission eval`: the harness measured on a corpus of real tasks (`evals/`).

use std::path::Path;

use anyhow::Result;

use crate::eval;

/// `mission eval check`: every scenario sound, or which is not and why.
pub(super) fn check(corpus: &Path) -> Result<i32> {
    let scenarios = eval::load_corpus(corpus)?;
    if scenarios.is_empty() {
        eprintln!(
            "no scenarios in {}: each is a directory with a scenario.toml",
            corpus.display()
        );
        return Ok(super::EXIT_USAGE);
    }
    let mut bad = 0;
    for (i, s) in scenarios.iter().enumerate() {
        eprint!("[{}/{}] {} … ", i + 1, scenarios.len(), s.name);
        let started = std::time::Instant::now();
        let c = eval::check::check(s);
        let secs = started.elapsed().as_secs_f64();
        if c.problems.is_empty() {
            eprintln!("sound ({} checks, {secs:.1}s)", c.commands);
        } else {
            bad += 1;
            eprintln!("NOT SOUND ({secs:.1}s)");
            for p in &c.problems {
                eprintln!("    {p}");
            }
        }
    }
    println!(
        "{} of {} scenarios sound",
        scenarios.len() - bad,
        scenarios.len()
    );
    Ok(if bad == 0 { 0 } else { super::EXIT_FAILED })
}
