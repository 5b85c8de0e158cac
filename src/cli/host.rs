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
        .map(|t| Some(t.for_terminal(crate::tui::theme::depth::Depth::detect())))
        .map_err(|e| anyhow!(e))
}

/// What shows a run hosted in this process.
pub(super) enum Front {
    /// The console.
    Console(Box<Theme>),
    /// One plain line per step (`--headless`, no terminal).
    Lines,
}

/// Hosts a run in this process — one lifecycle whatever shows it: serve the control
/// socket, run the mission as a task, let the front follow it through a `MissionLink`
/// until the mission or the human ends it, then clean up and say where things stand.
pub(super) async fn host(session: Session, front: Front) -> Result<i32> {
    let Session {
        runner,
        lock,
        notes,
    } = session;
    let layout = runner.layout.clone();
    let config = runner.config.clone();
    let sandbox_problem = runner.sandbox_problem.is_some();
    let sandbox_note = runner.sandbox_note();
    crate::logging::init(&layout.logs());
    tracing::info!(
        pid = std::process::id(),
        repo = %layout.repo.display(),
        worktree = %layout.work.display(),
        sandbox = %sandbox_note,
        "runner started"
    );
    let hub = runner.hub.clone();
    let control = control::serve(hub.clone(), &layout.socket())?;
    let runner = std::sync::Arc::new(runner);
    // Following the mission before the runner starts: no event of the run is missed.
    let mut link = MissionLink::in_process(hub.clone(), layout.clone());
    let window = match front {
        Front::Console(_) => tui::RECENT_EVENTS,
        Front::Lines => 0,
    };
    let start = link.start(window)?;
    // The front sees how the run ended as text; the full error comes back here so its
    // exit code (3: resumable, 1: failed) is right.
    let (ended_tx, mut ended_rx) = tokio::sync::oneshot::channel();
    let task = {
        let runner = runner.clone();
        tokio::spawn(async move {
            let result = runner.run().await;
            let seen = result.as_ref().map(Clone::clone).map_err(|e| e.to_string());
            let _ = ended_tx.send(result);
            seen
        })
    };
    link.runner(task);
    let front_result = match front {
        Front::Console(theme) => {
            let mut app = App::new(Hosting::InProcess, config.limits());
            app.keys = crate::keys::Keymap::with_overrides(&config.keys).map_err(|e| anyhow!(e))?;
            app.bell = config.notify.bell;
            app.mouse = config.console.mouse;
            app.prices = crate::llm::factory::role_prices(&config);
            // Confinement as configured is the quiet case; only its absence is worth
            // the line.
            let notes: Vec<String> = notes
                .into_iter()
                .chain(sandbox_problem.then_some(sandbox_note))
                .collect();
            if !notes.is_empty() {
                app.status = Some((notes.join("; "), true));
            }
            tui::run(app, *theme, link, start).await.map(drop)
        }
        Front::Lines => {
            for n in &notes {
                println!("note: {n}");
            }
            println!("note: {sandbox_note}");
            print_lines(link, start).await
        }
    };
    control.abort();
    let _ = control.await;
    let _ = std::fs::remove_file(layout.socket());
    runner.mcp.stop_all().await;
    runner.end_commands();
    hub.checkpoint();
    let st = hub.state();
    tracing::info!(phase = st.phase().as_str(), "runner stopped");
    after_run(&layout, &config, &st);
    drop(runner);
    drop(lock);
    front_result?;
    let outcome = match ended_rx.try_recv() {
        Ok(result) => result?,
        // The front ended first (the human quit, or a signal): the state says where it
        // stands.
        Err(_) => match st.phase() {
            crate::mission::Phase::Completed => Outcome::Completed {
                report: st.completed.clone().unwrap_or_default(),
            },
            crate::mission::Phase::Failed => Outcome::Failed {
                reason: st.failed.clone().unwrap_or_default(),
            },
            crate::mission::Phase::AwaitingApproval | crate::mission::Phase::Paused => {
                Outcome::NeedsHuman {
                    reason: st
                        .paused
                        .clone()
                        .or_else(|| st.gate.as_ref().map(|(g, r)| format!("{g}: {r}")))
                        .unwrap_or_default(),
                }
            }
            _ => {
                println!("stopped; `mission resume` continues where it left off");
                return Ok(130);
            }
        },
    };
    print_closing(&layout, &st, &outcome);
    Ok(outcome.exit_code())
}

/// Plain lines: every new event narrated, until the runner ends or a signal stops it.
async fn print_lines(mut link: MissionLink, start: crate::link::Start) -> Result<()> {
    let mut printer = Printer::new(start.state);
    let mut stop = std::pin::pin!(crate::link::termination());
    loop {
        tokio::select! {
            _ = &mut stop => break,
            msg = link.next() => match msg {
                Some(crate::link::Inbound::Event(rec)) => {
                    if let Some(line) = printer.line(&rec) {
                        println!("{line}");
                    }
                }
                Some(crate::link::Inbound::RunnerEnded(_)) | None => break,
                Some(_) => {}
            },
        }
    }
    // Events published just before the end are still queued: print them too.
    while let Some(msg) = link.try_next() {
        if let crate::link::Inbound::Event(rec) = msg
            && let Some(line) = printer.line(&rec)
        {
            println!("{line}");
        }
    }
    link.close().await;
    Ok(())
}

/// The last lines of a hosted run: how it ended and what to do next.
fn print_closing(layout: &Layout, st: &MissionState, outcome: &Outcome) {
    println!();
    match outcome {
        Outcome::Completed { report } => {
            println!("Mission completed.");
            println!("  repository  {}", layout.repo.display());
            println!("  branch      {}", st.branch);
            if layout.work != layout.repo && layout.work.exists() {
                println!("  worktree    {}", layout.work.display());
            }
            println!("  report      {report}");
            println!(
                "  review it with `git log -p {b}` or `git diff HEAD...{b}`; merge it with `git merge {b}`",
                b = st.branch
            );
        }
        Outcome::Failed { reason } => {
            println!("Mission failed: {reason}");
            println!(
                "  branch      {} (kept; its worktree is removed)",
                st.branch
            );
        }
        Outcome::NeedsHuman { reason } => {
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
        .map_err(|e| anyhow!(e))?
        .for_terminal(crate::tui::theme::depth::Depth::detect());
    // No key is needed to watch: a fresh SSH login without them still gets the repo's
    // `[notify]`, `[keys]` and `[console]`. A config that does not load is said.
    let (config, config_error) = match Config::load_for_console(&layout.config()) {
        Ok(c) => (c, None),
        Err(e) => (Config::default(), Some(e)),
    };
    let mut app = App::new(Hosting::Attached, config.limits());

    app.keys = crate::keys::Keymap::with_overrides(&config.keys).map_err(|e| anyhow!(e))?;
    app.bell = config.notify.bell;
    app.mouse = config.console.mouse;
    app.prices = crate::llm::factory::role_prices(&config);
    let alive = runner_alive(&layout).await;
    let st = load_state(&layout)?;
    app.runner_stopped = !alive;
    let quit = app.keys.hint(crate::keys::Action::Quit);
    app.status = Some(if alive {
        (
            format!("attached: {quit} detaches, the mission keeps running"),
            true,
        )
    } else if st.completed.is_some() || st.failed.is_some() {
        (format!("the mission has ended; {quit} quits"), true)
    } else {
        (
            "stopped: nothing runs this mission; `mission resume` continues it (approve/reject are recorded for it)".into(),
            false,
        )
    });
    let on_stop = crate::notify::OnRunnerStopped {
        notify: config.notify.command.clone(),
        hook: config.hooks.runner_stopped.clone(),
        never: config.secret_env_names(),
        repo: layout.repo.display().to_string(),
        worktree: setup::work_dir(&config, &layout, &st).display().to_string(),
    };
    if let Some(e) = config_error {
        app.status = Some((
            format!("the config does not load (defaults apply): {e}"),
            false,
        ));
    }
    let mut link = MissionLink::attached(layout).on_runner_stopped(on_stop);
    let start = link.start(tui::RECENT_EVENTS)?;
    tui::run(app, theme, link, start).await?;
    Ok(0)
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
            host(
                setup::start(
                    &repo,
                    crate::demo::GOAL,
                    Mode {
                        auto_approve: false,
                    },
                )?,
                Front::Console(Box::new(t)),
            )
            .await?
        }
        None => {
            host(
                setup::start(&repo, crate::demo::GOAL, Mode { auto_approve: true })?,
                Front::Lines,
            )
            .await?
        }
    };
    if code == 0 {
        let st = MissionState::from_events(&store::load(&Layout::new(&repo).events())?.events);
        // (Linux names a binary rebuilt while it ran "… (deleted)"; the new one is there.)
        let exe = std::env::current_exe()
            .map(|p| {
                p.display()
                    .to_string()
                    .trim_end_matches(" (deleted)")
                    .to_string()
            })
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

/// `start --detach` (`goal` given) or `resume --detach` (`None`): the same command,
/// headless, in a session of its own, its output in `.mission/runner.log`.
pub(super) fn detach_start(dir: &Path, goal: Option<&str>, auto_approve: bool) -> Result<i32> {
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
    match goal {
        Some(goal) => cmd.arg("start").arg(goal),
        None => cmd.arg("resume"),
    };
    cmd.arg("--headless").arg("--dir").arg(&layout.repo);
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
