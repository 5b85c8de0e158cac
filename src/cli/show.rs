//! Printing records: `status`, `handoff`, `log`.

use std::path::Path;

use anyhow::{Result, anyhow};

use super::*;

pub(super) fn status(dir: &Path, json: bool) -> Result<i32> {
    let layout = layout_of(dir)?;
    let st = load_state(&layout)?;
    // A config that does not load is said, not hidden behind the defaults.
    let (config, config_error) = match Config::load_for_console(&layout.config()) {
        Ok(c) => (c, None),
        Err(e) => (Config::default(), Some(e)),
    };
    let mut status = Status::from_state(&st, config.budget.max_cost_usd);
    status.worktree = setup::work_dir(&config, &layout, &st).display().to_string();
    let prices = crate::llm::factory::role_prices(&config);
    status.estimate = crate::mission::estimate::estimate(&st, &|r| prices.get(&r).copied());
    // The lock says whether a runner lives; the pid file only which one.
    let alive = store::runner_holds_lock(&layout.events());
    let pid = if alive {
        store::live_runner(&layout.lock())
    } else {
        None
    };
    status.runner = crate::mission::status::RunnerStatus { alive, pid };
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(0);
    }
    println!("Goal    {}", st.goal);
    println!(
        "State   {} · branch {} · {} events",
        status.state.as_str().replace('_', " "),
        st.branch,
        st.events
    );
    if let Some(e) = &config_error {
        eprintln!("warning: the config does not load, defaults are shown: {e}");
    }
    if std::path::Path::new(&status.worktree).exists() {
        println!("Where   {}", status.worktree);
    } else {
        println!(
            "Where   {} (removed; the work is on branch {})",
            status.worktree, st.branch
        );
    }
    let finished = st.completed.is_some() || st.failed.is_some();
    match (status.runner.alive, status.runner.pid) {
        (true, Some(pid)) => println!("Runner  alive (pid {pid})"),
        (true, None) => println!("Runner  alive"),
        _ if finished => {}
        _ => println!(
            "Runner  stopped — nothing runs this mission now; `mission resume` continues it"
        ),
    }
    if let Some(a) = &st.active {
        println!("Agent   {} ({}) — {}", a.role, a.model, a.task);
    }
    if let Some(e) = &status.estimate {
        println!(
            "Plan    ~{} tokens likely{}",
            e.tokens,
            if e.cost_usd_high > 0.0 {
                format!(", ${:.2}–${:.2}", e.cost_usd_low, e.cost_usd_high)
            } else {
                String::new()
            }
        );
        println!("        assumes {}", e.basis);
        if let Some((est, actual)) = crate::link::last_estimate_outcome(&layout) {
            println!(
                "        the last mission used {actual} tokens of an estimated {est} ({:.1}×)",
                actual as f64 / est.max(1) as f64
            );
        }
    }
    if let Some((gate, reason)) = &st.gate {
        println!("Waiting {gate}: {reason}");
    }
    if let Some(p) = &st.paused {
        println!("Paused  {p}");
    }
    for m in &st.milestones {
        let state = if st.is_repairing(m) {
            format!("fixing (round {})", m.fix_rounds + 1)
        } else {
            m.phase.as_str().to_string()
        };
        println!(
            "\n{} {} — {state}, {} fix round(s)",
            m.id, m.title, m.fix_rounds
        );
        for f in &m.features {
            let glyph = match f.phase {
                FeaturePhase::Pending => "·",
                FeaturePhase::Running => "▶",
                FeaturePhase::Done => "✔",
                FeaturePhase::Failed => "✘",
            };
            println!(
                "  {glyph} {:<12} {}{}{}",
                f.plan.id,
                f.plan.title,
                if f.corrective { " (corrective)" } else { "" },
                f.commit
                    .as_deref()
                    .map(|c| format!("  {}", &c[..8.min(c.len())]))
                    .unwrap_or_default()
            );
        }
    }
    let c = &status.contract;
    println!(
        "\nContract {} assertions: {} passed, {} failed, {} pending",
        c.assertions, c.passed, c.failed, c.pending
    );
    for a in st
        .assertions
        .iter()
        .filter(|a| a.verdict == Verdict::Failed)
    {
        println!("  ✘ {} {}", a.assertion.id, a.assertion.text);
    }
    let b = &status.budget;
    println!(
        "Budget   {} tokens in, {} out, ${:.2}{}{}",
        b.tokens_in,
        b.tokens_out,
        b.cost_usd,
        b.limit_usd
            .map(|l| format!(" of ${l:.2}"))
            .unwrap_or_default(),
        match b.cost_unknown_runs {
            0 => String::new(),
            n => format!(" + cost unknown (external agent, {n} run(s))"),
        }
    );
    Ok(0)
}

pub(super) fn handoff(dir: &Path, feature: &str, json: bool) -> Result<i32> {
    let layout = layout_of(dir)?;
    let h = match store::read_handoff(&layout, feature).map_err(|e| anyhow!(e))? {
        Some(h) => h,
        None => {
            let st = load_state(&layout)?;
            let known: Vec<String> = st
                .milestones
                .iter()
                .flat_map(|m| &m.features)
                .filter(|f| f.commit.is_some())
                .map(|f| f.plan.id.clone())
                .collect();
            return Err(anyhow!(
                "no handoff for `{feature}`; features with handoffs: {}",
                if known.is_empty() {
                    "none yet".into()
                } else {
                    known.join(", ")
                }
            ));
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&h)?);
        return Ok(0);
    }
    println!(
        "{} (attempt {}) — {}",
        h.feature_id,
        h.attempt,
        h.report.status.as_str()
    );
    println!(
        "commit {}  ·  {} file(s), +{} −{}",
        h.commit, h.diff_stat.files_changed, h.diff_stat.insertions, h.diff_stat.deletions
    );
    println!("\n{}\n", h.report.summary);
    println!("Commands");
    for c in &h.commands {
        let verdict = crate::mission::narrate::exit(c.exit_code, c.timed_out);
        println!(
            "  {:>9}  {:>6.1}s  {}",
            verdict,
            c.duration_ms as f64 / 1000.0,
            c.command
        );
    }
    if !h.mcp_calls.is_empty() {
        println!("MCP calls");
        for m in &h.mcp_calls {
            println!(
                "  {}  {:>6.1}s  {}/{} {} → {}",
                if m.ok { "✔" } else { "✘" },
                m.duration_ms as f64 / 1000.0,
                m.server,
                m.tool,
                m.arguments,
                m.result
            );
        }
    }
    println!("Files\n  {}", h.files_changed.join("\n  "));
    for (title, items) in [
        ("Issues", &h.report.issues),
        ("Deviations", &h.report.deviations),
    ] {
        if !items.is_empty() {
            println!("{title}");
            for i in items {
                println!("  - {i}");
            }
        }
    }
    match &h.agent {
        Some(a) => println!("Cost   unknown (external agent `{a}` reports no usage)"),
        None => println!(
            "Tokens {} in, {} out",
            h.usage.tokens_in, h.usage.tokens_out
        ),
    }
    Ok(0)
}

pub(super) async fn log(dir: &Path, json: bool, follow: bool) -> Result<i32> {
    let layout = layout_of(dir)?;
    let mut printer = Printer::default();
    let mut print = |rec: &crate::mission::EventRecord| -> Result<()> {
        if json {
            println!("{}", serde_json::to_string(rec)?);
        } else if let Some(line) = printer.line(rec) {
            println!("{line}");
        }
        Ok(())
    };
    if !follow {
        let loaded = store::load(&layout.events())?;
        for rec in &loaded.events {
            print(rec)?;
        }
        if let Some(t) = loaded.torn_tail {
            eprintln!(
                "(a torn last line was skipped: {})",
                t.chars().take(60).collect::<String>()
            );
        }
        return Ok(0);
    }
    // Follow the log as the console does when attached: the link reads the history and
    // tails the file from exactly where that read ended, so no event falls in between.
    let mut link = MissionLink::attached(layout);
    let history = link.history()?;
    for rec in &history {
        print(rec)?;
    }
    // A mission that has ended writes nothing more: following it ends with it.
    let ends = |rec: &crate::mission::EventRecord| {
        matches!(
            rec.event,
            crate::mission::Event::MissionCompleted { .. }
                | crate::mission::Event::MissionFailed { .. }
        )
    };
    if history.iter().any(ends) {
        return Ok(0);
    }
    let mut seen = history.last().map_or(0, |e| e.seq);
    let mut stop = std::pin::pin!(crate::link::termination());
    loop {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        tokio::select! {
            _ = &mut stop => return Ok(0),
            msg = link.next() => match msg {
                Some(crate::link::Inbound::Event(rec)) if rec.seq > seen => {
                    seen = rec.seq;
                    print(&rec)?;
                    if ends(&rec) {
                        let _ = std::io::Write::flush(&mut std::io::stdout());
                        return Ok(0);
                    }
                }
                Some(_) => {}
                None => return Ok(0),
            },
        }
    }
}
