//! Hosting a run: the console or plain progress lines in this process, the demo, and
//! `--detach`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};

use super::*;

/// `$XDG_CONFIG_HOME/mission/themes`: where the user's own themes are found by name.
pub(super) fn user_themes() -> Option<PathBuf> {
    config::user_config_path().and_then(|p| p.parent().map(|d| d.join("themes")))
}

/// The console's theme when the console is wanted (a terminal, no `--headless`).
pub(super) fn console_theme(headless: bool, name: &str) -> Result<Option<Theme>> {
    if headless || !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    Theme::load_from(name, Theme::color_allowed(), user_themes().as_deref())
        .map(Some)
        .map_err(|e| anyhow!(e))
}

/// Runs the mission in this process under the console.
pub(super) async fn console(session: Session, theme: Theme) -> Result<i32> {
    let Session {
        runner,
        lock,
        notes,
    } = session;
    let layout = runner.layout.clone();
    let config = runner.config.clone();
    let mut app = App::new(Hosting::InProcess, runner.config.limits());
    app.bell = runner.config.notify.bell;
    app.prices = crate::llm::factory::role_prices(&runner.config);
    // Confinement as configured is the quiet case; only its absence is worth the line.
    let notes: Vec<String> = notes
        .into_iter()
        .chain(
            runner
                .sandbox_problem
                .is_some()
                .then(|| runner.sandbox_note()),
        )
        .collect();
    if !notes.is_empty() {
        app.status = Some((notes.join("; "), true));
    }
    let hub = runner.hub.clone();
    let control = control::serve(hub.clone(), &layout.socket())?;
    let runner = std::sync::Arc::new(runner);
    let task = {
        let runner = runner.clone();
        tokio::spawn(async move { runner.run().await })
    };
    let link = MissionLink::in_process(hub.clone(), task, layout.clone());
    let result = tui::run(app, theme, link).await;
    control.abort();
    let _ = control.await;
    let _ = std::fs::remove_file(layout.socket());
    runner.end_commands();
    let st = hub.state();
    after_run(&layout, &config, &st);
    drop(lock);
    result?;
    print_where(&layout, &st);
    Ok(match st.phase() {
        crate::mission::Phase::Completed => 0,
        crate::mission::Phase::Failed => EXIT_FAILED,
        crate::mission::Phase::AwaitingApproval | crate::mission::Phase::Paused => EXIT_NEEDS_HUMAN,
        _ => {
            println!("stopped; `mission resume` continues where it left off");
            130
        }
    })
}

/// An abandoned mission's worktree goes (its branch stays); anything else keeps it.
pub(super) fn after_run(layout: &Layout, config: &Config, st: &MissionState) {
    if st.failed.is_none() {
        return;
    }
    if let Ok(git) = crate::git::Git::open(&layout.repo)
        && let Some(note) = setup::retire_worktree(&git, config, layout, st)
    {
        println!("{note}");
    }
}

pub(super) fn print_where(layout: &Layout, st: &MissionState) {
    println!("mission: {}", st.phase().as_str().replace('_', " "));
    println!("  repository  {}", layout.repo.display());
    println!("  branch      {}", st.branch);
    if layout.work != layout.repo && layout.work.exists() {
        println!("  worktree    {}", layout.work.display());
    }
    if let Some(r) = &st.completed {
        println!("  report      {r}");
    }
}

/// The console on a mission run by another process.
pub(super) async fn attach(dir: &Path, theme: &str) -> Result<i32> {
    let layout = layout_of(dir)?;
    load_state(&layout)?;
    if !std::io::stdout().is_terminal() {
        return Err(anyhow!(
            "`mission attach` needs a terminal; use `mission status` or `mission log` in scripts"
        ));
    }
    let theme = Theme::load_from(theme, Theme::color_allowed(), user_themes().as_deref())
        .map_err(|e| anyhow!(e))?;
    let config = Config::load(&layout.config()).unwrap_or_default();
    let mut app = App::new(Hosting::Attached, config.limits());
    app.bell = config.notify.bell;
    app.prices = crate::llm::factory::role_prices(&config);
    let alive = runner_alive(&layout).await;
    let st = load_state(&layout)?;
    app.runner_stopped = !alive;
    app.status = Some(if alive {
        (
            "attached: q detaches, the mission keeps running".into(),
            true,
        )
    } else if st.completed.is_some() || st.failed.is_some() {
        ("the mission has ended; q quits".into(), true)
    } else {
        (
            "stopped: nothing runs this mission; `mission resume` continues it (approve/reject are recorded for it)".into(),
            false,
        )
    });
    tui::run(app, theme, MissionLink::attached(layout)).await?;
    Ok(0)
}

/// Runs the mission to its end (or to a point where it needs a human who isn't there),
/// printing one line per step.
pub(super) async fn drive(session: Session) -> Result<i32> {
    let Session {
        runner,
        lock,
        notes,
    } = session;
    for n in &notes {
        println!("note: {n}");
    }
    println!("note: {}", runner.sandbox_note());
    let hub = runner.hub.clone();
    let control = control::serve(hub.clone(), &runner.layout.socket())?;
    let mut rx = hub.subscribe();
    let mut printer = Printer::new(hub.state());
    drop(hub);
    let print = tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(rec) => {
                    if let Some(line) = printer.line(&rec) {
                        println!("{line}");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
    });
    let result = tokio::select! {
        r = runner.run() => Some(r),
        _ = control::termination() => None,
    };
    control.abort();
    let _ = control.await;
    let _ = std::fs::remove_file(runner.layout.socket());
    runner.end_commands();
    let (layout, st) = (runner.layout.clone(), runner.hub.state());
    after_run(&layout, &runner.config, &st);
    drop(runner);
    let _ = print.await;
    drop(lock);
    let Some(result) = result else {
        println!("stopped; `mission resume` continues where it left off");
        return Ok(130);
    };
    let outcome = result?;
    match &outcome {
        Outcome::Completed { report } => {
            println!();
            println!("Mission completed.");
            println!("  repository  {}", layout.repo.display());
            println!("  branch      {}", st.branch);
            if layout.work != layout.repo {
                println!("  worktree    {}", layout.work.display());
            }
            println!("  report      {report}");
            println!(
                "  review it with `git log -p {b}` or `git diff HEAD...{b}`; merge it with `git merge {b}`",
                b = st.branch
            );
        }
        Outcome::Failed { reason } => println!("Mission failed: {reason}"),
        Outcome::NeedsHuman { reason } => {
            println!();
            println!("The mission needs a human: {reason}");
            if st.gate.is_some() {
                println!(
                    "  act with `mission approve` or `mission reject --note \"…\"`, then `mission resume`"
                );
            } else {
                println!("  deal with the cause above, then `mission resume` continues");
            }
        }
    }
    Ok(outcome.exit_code())
}

pub(super) async fn demo(
    dir: Option<&Path>,
    headless: bool,
    fast: bool,
    theme: &str,
) -> Result<i32> {
    let pace = if fast { 0 } else { 700 };
    let repo = crate::demo::prepare(dir, pace)?;
    println!("Demo repository: {}", repo.display());
    println!("Goal: {}", crate::demo::GOAL);
    println!("Models are scripted; files, commands, cargo runs and git commits are real.");
    println!();
    let code = match console_theme(headless, theme)? {
        // In the console, the plan gate waits for you to press `a`.
        Some(t) => {
            console(
                setup::start(
                    &repo,
                    crate::demo::GOAL,
                    Mode {
                        auto_approve: false,
                    },
                )?,
                t,
            )
            .await?
        }
        None => {
            drive(setup::start(
                &repo,
                crate::demo::GOAL,
                Mode { auto_approve: true },
            )?)
            .await?
        }
    };
    if code == 0 {
        let st = MissionState::from_events(&store::load(&Layout::new(&repo).events())?.events);
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "mission".into());
        println!();
        println!("Look around:");
        println!("  git -C {} log --oneline {}", repo.display(), st.branch);
        for what in ["status", "handoff m2-fix1-1", "log", "attach"] {
            println!("  {exe} {what} --dir {}", repo.display());
        }
    }
    Ok(code)
}

pub(super) fn detach_start(dir: &Path, goal: &str, auto_approve: bool) -> Result<i32> {
    let layout = layout_of(dir)?;
    std::fs::create_dir_all(&layout.dir)?;
    let log_path = layout.dir.join("runner.log");
    // Appended to, never truncated: a second `start --detach` that is refused must not
    // wipe the live runner's output.
    let log = std::os::unix::fs::OpenOptionsExt::mode(
        std::fs::OpenOptions::new().create(true).append(true),
        0o600,
    )
    .open(&log_path)
    .with_context(|| log_path.display().to_string())?;
    let offset = log.metadata().map(|m| m.len()).unwrap_or(0);
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.arg("start")
        .arg(goal)
        .arg("--headless")
        .arg("--dir")
        .arg(&layout.repo);
    if auto_approve {
        cmd.arg("--auto-approve");
    }
    use std::os::unix::process::CommandExt;
    cmd.stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // A session of its own: no controlling terminal, so closing the SSH session that
    // started it sends it no hangup.
    // SAFETY: setsid is async-signal-safe and touches nothing of the parent's.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()
                .map(drop)
                .map_err(std::io::Error::from)
        });
    }
    let mut child = cmd.spawn()?;
    // Ready when the runner holds the mission and serves its socket; or it ended (a
    // refused start) and its own words say why.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait()? {
            let text = std::fs::read(&log_path).unwrap_or_default();
            let ours = text.get(offset as usize..).unwrap_or_default();
            eprint!("{}", String::from_utf8_lossy(ours));
            return Ok(status.code().unwrap_or(EXIT_FAILED));
        }
        let ready =
            store::live_runner(&layout.lock()) == Some(child.id()) && layout.socket().exists();
        if ready || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    println!("mission running in the background (pid {})", child.id());
    println!(
        "  progress: mission status · mission log · {}",
        log_path.display()
    );
    Ok(0)
}
