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

/// `mission eval run`: a mission per scenario (× `repeat`), `jobs` at a time; a progress
/// line each, a table, and the JSON report in `report` when asked.
pub(super) fn run(
    corpus: &Path,
    config: &Path,
    repeat: u32,
    jobs: usize,
    report: Option<&Path>,
) -> Result<i32> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let scenarios = eval::load_corpus(corpus)?;
    if !config.is_file() {
        anyhow::bail!(
            "{} is not a file: --config names a mission.toml with the roles to measure",
            config.display()
        );
    }
    let options = eval::run::RunOptions {
        config: config.canonicalize()?,
        exe: std::env::current_exe()?,
        timeout: std::time::Duration::from_secs(3600),
    };
    let work: Vec<&eval::Named> = scenarios
        .iter()
        .flat_map(|s| std::iter::repeat_n(s, repeat.max(1) as usize))
        .collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results = Mutex::new(vec![]);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, 16) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(s) = work.get(i) else { return };
                    let r = eval::run::run_one(s, &options);
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    eprintln!(
                        "[{n}/{}] {} {} — fail→pass {}/{}, pass→pass {}/{}, ${:.2}, {:.0}s{}",
                        work.len(),
                        if r.passed { "PASS" } else { "FAIL" },
                        r.name,
                        r.fail_to_pass.passed,
                        r.fail_to_pass.total,
                        r.pass_to_pass.passed,
                        r.pass_to_pass.total,
                        r.cost_usd,
                        r.wall_s,
                        r.error
                            .as_deref()
                            .map(|e| format!(" ({e})"))
                            .unwrap_or_default()
                    );
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((i, r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(i, _)| *i);
    let rep = eval::run::summarize(results.into_iter().map(|(_, r)| r).collect());
    let s = &rep.summary;
    println!(
        "{} of {} passed ({:.0} %) · plans valid at first {} · well-formed calls {:.0} % · edit failures {} · stuck {} · fix rounds {} · escalations {} · test edits {} · ${:.2} · {:.0}s · prompts {}",
        s.passed,
        s.scenarios,
        s.pass_rate * 100.0,
        s.plan_valid_first_try,
        s.well_formed_share * 100.0,
        s.edit_failures,
        s.stuck_attempts,
        s.fix_rounds,
        s.escalations,
        s.test_file_edits,
        s.cost_usd,
        s.wall_s,
        s.prompts_hash
    );
    if let Some(path) = report {
        std::fs::write(path, serde_json::to_string_pretty(&rep)?)?;
        println!("report: {}", path.display());
    }
    Ok(if s.passed == s.scenarios {
        0
    } else {
        super::EXIT_FAILED
    })
}
