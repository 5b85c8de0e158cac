//! `mission eval`: the harness measured on a corpus of real tasks (`evals/`).

use std::path::Path;

use anyhow::{Context, Result};

use crate::eval::run::{RunOptions, ScenarioResult};
use crate::eval::{self, Named};

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

/// How `mission eval run` runs its scenarios.
pub(crate) struct Batch<'a> {
    pub repeat: u32,
    pub jobs: usize,
    pub report: Option<&'a Path>,
    pub record: Option<&'a Path>,
}

/// `mission eval run`: a mission per scenario (× `repeat`), `jobs` at a time; a progress
/// line each, a summary, and the JSON report in `report` when asked.
pub(super) fn run(corpus: &Path, config: &Path, b: Batch<'_>) -> Result<i32> {
    let scenarios = eval::load_corpus(corpus)?;
    if !config.is_file() {
        anyhow::bail!(
            "{} is not a file: --config names a mission.toml with the roles to measure",
            config.display()
        );
    }
    if b.record.is_some() && b.repeat > 1 {
        anyhow::bail!("--record keeps one run per scenario: drop --repeat, or record separately");
    }
    if let Some(dir) = b.record {
        let text = std::fs::read_to_string(config)
            .with_context(|| format!("reading {}", config.display()))?;
        if let Err(e) = eval::replay::replay_config(&text) {
            anyhow::bail!("--record: {e}");
        }
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let manifest = eval::replay::Manifest {
            version: env!("CARGO_PKG_VERSION").into(),
            prompts_hash: eval::run::prompts_hash(),
            corpus: corpus.to_path_buf(),
            config: std::fs::read_to_string(config)
                .with_context(|| format!("reading {}", config.display()))?,
        };
        std::fs::write(
            dir.join(eval::replay::MANIFEST),
            serde_json::to_string_pretty(&manifest)? + "\n",
        )?;
    }
    let options = RunOptions {
        config: config.canonicalize()?,
        exe: std::env::current_exe()?,
        timeout: std::time::Duration::from_secs(3600),
        record: b.record.map(Path::to_path_buf),
        replay: None,
    };
    let work: Vec<&Named> = scenarios
        .iter()
        .flat_map(|s| std::iter::repeat_n(s, b.repeat.max(1) as usize))
        .collect();
    let results = pool(&work, &options, b.jobs, |r| {
        format!(
            "{} {} — fail→pass {}/{}, pass→pass {}/{}, ${:.2}, {:.0}s",
            if r.passed { "PASS" } else { "FAIL" },
            r.name,
            r.fail_to_pass.passed,
            r.fail_to_pass.total,
            r.pass_to_pass.passed,
            r.pass_to_pass.total,
            r.cost_usd,
            r.wall_s,
        )
    });
    let rep = eval::run::summarize(results);
    let s = &rep.summary;
    print!("{}", eval::run::table(&rep));
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
    write_report(b.report, &rep)?;
    if let Some(dir) = b.record {
        println!(
            "recording: {} (replay it with `mission eval replay`)",
            dir.display()
        );
    }
    Ok(if s.passed == s.scenarios {
        0
    } else {
        super::EXIT_FAILED
    })
}

/// `mission eval replay`: the recorded scenarios again, every model answered from the
/// recording; each scenario is SAME or DIVERGED, with the first place it differs.
pub(super) fn replay(
    recording: &Path,
    corpus: Option<&Path>,
    jobs: usize,
    report: Option<&Path>,
) -> Result<i32> {
    let manifest = eval::replay::read_manifest(recording).map_err(anyhow::Error::msg)?;
    let corpus = match corpus {
        Some(c) => c.to_path_buf(),
        // Recorded relative to where it ran, which may not be here: the recording's
        // parent (recordings live in the corpus) is the next guess.
        None if manifest.corpus.is_dir() => manifest.corpus.clone(),
        None => recording
            .ancestors()
            .find(|d| eval::load_corpus(d).is_ok_and(|c| !c.is_empty()))
            .map(Path::to_path_buf)
            .with_context(|| {
                format!(
                    "the recorded corpus {} is not here: name it with --corpus",
                    manifest.corpus.display()
                )
            })?,
    };
    let recorded: Vec<String> = std::fs::read_dir(recording)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join(eval::replay::EXCHANGES).is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let scenarios: Vec<Named> = eval::load_corpus(&corpus)?
        .into_iter()
        .filter(|s| recorded.contains(&s.name))
        .collect();
    if scenarios.is_empty() {
        anyhow::bail!(
            "no scenario of {} has a recording in {}",
            corpus.display(),
            recording.display()
        );
    }
    if manifest.prompts_hash != eval::run::prompts_hash() {
        eprintln!(
            "the prompts changed since the recording (prompts {} then, {} now): expect divergences where they are sent",
            manifest.prompts_hash,
            eval::run::prompts_hash()
        );
    }
    let config = tempfile::NamedTempFile::new()?;
    std::fs::write(
        config.path(),
        eval::replay::replay_config(&manifest.config).map_err(anyhow::Error::msg)?,
    )?;
    let options = RunOptions {
        config: config.path().to_path_buf(),
        exe: std::env::current_exe()?,
        timeout: std::time::Duration::from_secs(3600),
        record: None,
        replay: Some(recording.canonicalize()?),
    };
    let work: Vec<&Named> = scenarios.iter().collect();
    let results = pool(&work, &options, jobs, |r| {
        let Some(c) = &r.replay else {
            return format!("ERROR {}", r.name);
        };
        match eval::replay::first_divergence(c) {
            None => format!("SAME {} — {} exchanges as recorded", r.name, c.asked),
            Some(first) => format!(
                "DIVERGED {} — {} of {} requests differ, {} unused, {} outcome change(s); first: {first}",
                r.name,
                c.diverged.len(),
                c.asked,
                c.unused,
                c.outcome.len()
            ),
        }
    });
    let same = results
        .iter()
        .filter(|r| r.error.is_none() && r.replay.as_ref().is_some_and(|c| c.same()))
        .count();
    let n = results.len();
    write_report(report, &eval::run::summarize(results))?;
    println!("{same} of {n} scenarios replayed as recorded");
    Ok(if same == n { 0 } else { super::EXIT_FAILED })
}

fn write_report(path: Option<&Path>, rep: &eval::run::Report) -> Result<()> {
    if let Some(path) = path {
        std::fs::write(path, serde_json::to_string_pretty(rep)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("report: {}", path.display());
    }
    Ok(())
}

/// Runs `work`, `jobs` at a time, with a progress line per scenario as it ends; results
/// in the order of `work`.
fn pool(
    work: &[&Named],
    options: &RunOptions,
    jobs: usize,
    line: impl Fn(&ScenarioResult) -> String + Sync,
) -> Vec<ScenarioResult> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results = Mutex::new(vec![]);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, 16) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(s) = work.get(i) else { return };
                    let r = eval::run::run_one(s, options);
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    eprintln!(
                        "[{n}/{}] {}{}",
                        work.len(),
                        line(&r),
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
    results.into_iter().map(|(_, r)| r).collect()
}
