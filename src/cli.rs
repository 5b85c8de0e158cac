//! The `mission` command line: parsing, and one function per subcommand.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use clap::{CommandFactory, Parser, Subcommand};

use crate::config::{self, Config, ProviderKind};
use crate::control;
use crate::git::GitError;
use crate::layout::Layout;
use crate::link::MissionLink;
use crate::mission::narrate::Printer;
use crate::mission::state::{FeaturePhase, Verdict};
use crate::mission::{Handoff, MissionState, Op, Role, Status};
use crate::pipeline::setup::{self, Session};
use crate::pipeline::{Mode, Outcome};
use crate::store;
use crate::tui;
use crate::tui::app::{App, Hosting};
use crate::tui::theme::Theme;

/// Exit codes: 0 completed, 1 failed, 2 bad usage or config, 3 paused waiting for a human.
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_NEEDS_HUMAN: i32 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "mission",
    version,
    about = "Run a long, autonomous, multi-agent coding mission on a git repository, and supervise it from a terminal",
    long_about = "Run a long, autonomous, multi-agent coding mission on a git repository.\n\n\
An orchestrator plans milestones and a validation contract; workers build one feature each, \
serially, each ending with a structured handoff and a git commit; validators check every \
milestone and failures come back as corrective features.\n\n\
Everything the mission does is recorded in .mission/events.jsonl in the repository.\n\n\
Exit codes: 0 completed, 1 failed, 2 bad usage or config, 3 paused waiting for a human.",
    after_help = "Try it offline first:  mission demo"
)]
pub struct Cli {
    /// The repository to work on (default: the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Console theme: dark, light, high-contrast, or a path to a .toml file.
    /// NO_COLOR turns colours off.
    #[arg(long, global = true, value_name = "THEME", default_value = "dark")]
    theme: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the bundled offline demo: a real crate, scripted models, real commits.
    Demo {
        /// Print progress lines instead of the console.
        #[arg(long)]
        headless: bool,
        /// No pauses between model calls (for tests and the impatient).
        #[arg(long)]
        fast: bool,
    },
    /// Write a commented .mission/mission.toml.
    Init,
    /// Start a mission towards GOAL on a new branch mission/<slug>.
    Start {
        goal: String,
        /// Print progress lines instead of the console.
        #[arg(long, conflicts_with = "detach")]
        headless: bool,
        /// Run in the background; see it with `mission status`.
        #[arg(long)]
        detach: bool,
        /// Pass every gate without asking; anything else that needs a human exits with 3.
        #[arg(long)]
        auto_approve: bool,
    },
    /// Continue a mission after a stop, a pause or a crash.
    Resume {
        #[arg(long)]
        headless: bool,
        #[arg(long)]
        auto_approve: bool,
    },
    /// Open the console on a mission run by another process.
    Attach,
    /// Show the mission's state.
    Status {
        /// The stable JSON snapshot.
        #[arg(long)]
        json: bool,
    },
    /// Stop starting new agent turns until `mission unpause`.
    Pause,
    /// Let a paused mission go on.
    Unpause,
    /// Approve what the mission waits for (plan, milestone, escalation).
    Approve,
    /// Reject what the mission waits for, saying what to change.
    Reject {
        #[arg(long)]
        note: String,
    },
    /// Send the orchestrator a message it reads before its next decision.
    Say { text: String },
    /// Give up on the mission: it ends as failed after the step in progress.
    Abort {
        /// Why, for the log and the report.
        #[arg(long)]
        note: String,
    },
    /// Print a feature's structured handoff.
    Handoff {
        feature_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Print the event log.
    Log {
        /// Raw events.jsonl lines.
        #[arg(long)]
        json: bool,
    },
    /// Check config, keys and providers.
    Doctor,
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
    /// Measure the hot paths on this machine and print the numbers.
    ///
    /// Appending to the log with fsync (on the filesystem of the repo's .mission/),
    /// loading and folding a long synthetic mission, drawing console frames, and what the
    /// sandbox adds to starting a command.
    Bench {
        /// Spend ~0.15 s per measurement instead of ~1 s.
        #[arg(long)]
        quick: bool,
    },
    /// Run a command that may write only beneath the given directories (Landlock).
    /// The runner starts every agent and contract command this way.
    #[command(name = "sandbox-exec", hide = true)]
    SandboxExec {
        /// A directory the command may write in (repeatable).
        #[arg(long = "write", value_name = "DIR")]
        write: Vec<PathBuf>,
        /// Only loopback: a network namespace of its own.
        #[arg(long)]
        no_network: bool,
        /// The program and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<std::ffi::OsString>,
    },
}

pub fn main() -> i32 {
    let cli = Cli::parse();
    // Before any thread exists: the rules bind the thread that execs.
    if let Command::SandboxExec {
        write,
        no_network,
        command,
    } = &cli.command
    {
        let why = crate::agent::tools::sandbox::exec_confined(
            write,
            !no_network,
            &command[0],
            &command[1..],
        );
        eprintln!("mission sandbox-exec: {why}");
        return 126;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return EXIT_FAILED;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            if is_usage_error(&e) {
                EXIT_USAGE
            } else if is_resumable(&e) {
                eprintln!(
                    "the mission is intact: once that is dealt with, `mission resume` continues"
                );
                EXIT_NEEDS_HUMAN
            } else {
                EXIT_FAILED
            }
        }
    }
}

/// A stop a human can fix and resume from (a held lock, a full disk, a git error): exit
/// 3, not 1 — the mission has not failed.
fn is_resumable(e: &anyhow::Error) -> bool {
    use crate::pipeline::RunError;
    let store = |s: &store::StoreError| s.is_resumable();
    let run = |r: &RunError| match r {
        RunError::Store(s) => store(s),
        RunError::Git(_) | RunError::Write { .. } => true,
        RunError::Other(_) => false,
    };
    e.chain().any(|c| {
        c.downcast_ref::<store::StoreError>().is_some_and(store)
            || c.downcast_ref::<RunError>().is_some_and(run)
            || match c.downcast_ref::<setup::SetupError>() {
                Some(setup::SetupError::Store(s)) => store(s),
                Some(setup::SetupError::Run(r)) => run(r),
                Some(setup::SetupError::Git(_) | setup::SetupError::Worktree(_)) => true,
                _ => false,
            }
    })
}

fn is_usage_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<config::ConfigError>().is_some()
            || matches!(
                c.downcast_ref::<GitError>(),
                Some(GitError::NotARepo { .. } | GitError::NoCommits)
            )
            || matches!(
                c.downcast_ref::<setup::SetupError>(),
                Some(
                    setup::SetupError::Config(_)
                        | setup::SetupError::Refused(_)
                        | setup::SetupError::Model(_)
                        | setup::SetupError::Worktree(
                            crate::worktree::WorktreeError::InsideRepo { .. }
                                | crate::worktree::WorktreeError::NoBase
                        )
                        | setup::SetupError::Git(GitError::NotARepo { .. } | GitError::NoCommits)
                )
            )
    })
}

/// The error and its causes, each said once (our messages often quote their cause).
fn error_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

async fn run(cli: Cli) -> Result<i32> {
    let dir = cli.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let theme = cli.theme.clone();
    match cli.command {
        Command::Demo { headless, fast } => demo(cli.dir.as_deref(), headless, fast, &theme).await,
        Command::Init => init(&dir),
        Command::Start {
            goal,
            headless,
            detach,
            auto_approve,
        } => {
            if detach {
                return detach_start(&dir, &goal, auto_approve);
            }
            let theme = console_theme(headless, &theme)?;
            let session = setup::start(&dir, &goal, Mode { auto_approve })?;
            match theme {
                Some(t) => console(session, t).await,
                None => drive(session).await,
            }
        }
        Command::Resume {
            headless,
            auto_approve,
        } => {
            let theme = console_theme(headless, &theme)?;
            let session = setup::resume(&dir, Mode { auto_approve })?;
            match theme {
                Some(t) => console(session, t).await,
                None => drive(session).await,
            }
        }
        Command::Attach => attach(&dir, &theme).await,
        Command::Status { json } => status(&dir, json),
        Command::Pause => op(&dir, Op::Pause).await,
        Command::Unpause => op(&dir, Op::Unpause).await,
        Command::Approve => op(&dir, Op::Approve).await,
        Command::Reject { note } => op(&dir, Op::Reject { note }).await,
        Command::Say { text } => op(&dir, Op::Say { text }).await,
        Command::Abort { note } => op(&dir, Op::Abort { note }).await,
        Command::Handoff { feature_id, json } => handoff(&dir, &feature_id, json),
        Command::Log { json } => log(&dir, json),
        Command::Doctor => doctor(&dir).await,
        Command::Bench { quick } => {
            // The log's filesystem when there is a mission here, else the temp dir's.
            let mission_dir = setup::repo_root(&dir)
                .map(|r| Layout::new(&r).dir)
                .ok()
                .filter(|d| d.is_dir());
            let scratch = mission_dir.unwrap_or_else(std::env::temp_dir);
            crate::bench::run(&scratch, quick).await?;
            Ok(0)
        }
        Command::SandboxExec { .. } => unreachable!("handled before the runtime starts"),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "mission",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
    }
}

/// `$XDG_CONFIG_HOME/mission/themes`: where the user's own themes are found by name.
fn user_themes() -> Option<PathBuf> {
    config::user_config_path().and_then(|p| p.parent().map(|d| d.join("themes")))
}

/// The console's theme when the console is wanted (a terminal, no `--headless`).
fn console_theme(headless: bool, name: &str) -> Result<Option<Theme>> {
    if headless || !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    Theme::load_from(name, Theme::color_allowed(), user_themes().as_deref())
        .map(Some)
        .map_err(|e| anyhow!(e))
}

/// Runs the mission in this process under the console.
async fn console(session: Session, theme: Theme) -> Result<i32> {
    let Session {
        runner,
        lock,
        notes,
    } = session;
    let layout = runner.layout.clone();
    let config = runner.config.clone();
    let mut app = App::new(Hosting::InProcess, runner.config.limits());
    app.bell = runner.config.notify.bell;
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
fn after_run(layout: &Layout, config: &Config, st: &MissionState) {
    if st.failed.is_none() {
        return;
    }
    if let Ok(git) = crate::git::Git::open(&layout.repo)
        && let Some(note) = setup::retire_worktree(&git, config, layout, st)
    {
        println!("{note}");
    }
}

fn print_where(layout: &Layout, st: &MissionState) {
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
async fn attach(dir: &Path, theme: &str) -> Result<i32> {
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

async fn runner_alive(layout: &Layout) -> bool {
    control::send(layout, &Op::Ping)
        .await
        .map(|r| r.ok)
        .unwrap_or(false)
}

fn layout_of(dir: &Path) -> Result<Layout> {
    Ok(Layout::new(&setup::repo_root(dir)?))
}

/// Runs the mission to its end (or to a point where it needs a human who isn't there),
/// printing one line per step.
async fn drive(session: Session) -> Result<i32> {
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

async fn demo(dir: Option<&Path>, headless: bool, fast: bool, theme: &str) -> Result<i32> {
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

fn init(dir: &Path) -> Result<i32> {
    let layout = layout_of(dir)?;
    let path = layout.config();
    if path.exists() {
        return Err(anyhow!(
            "{} exists already; edit it instead",
            path.display()
        ));
    }
    std::fs::create_dir_all(&layout.dir).with_context(|| layout.dir.display().to_string())?;
    std::fs::write(&path, config::TEMPLATE).with_context(|| path.display().to_string())?;
    crate::git::Git::open(&layout.repo)?.exclude_mission_dir()?;
    println!("wrote {}", path.display());
    Ok(0)
}

fn detach_start(dir: &Path, goal: &str, auto_approve: bool) -> Result<i32> {
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
    std::thread::sleep(std::time::Duration::from_millis(700));
    if let Some(status) = child.try_wait()? {
        let text = std::fs::read(&log_path).unwrap_or_default();
        let ours = text.get(offset as usize..).unwrap_or_default();
        eprint!("{}", String::from_utf8_lossy(ours));
        return Ok(status.code().unwrap_or(EXIT_FAILED));
    }
    println!("mission running in the background (pid {})", child.id());
    println!(
        "  progress: mission status · mission log · {}",
        log_path.display()
    );
    Ok(0)
}

fn load_state(layout: &Layout) -> Result<MissionState> {
    let loaded = store::load(&layout.events())?;
    if loaded.events.is_empty() {
        return Err(anyhow!(
            "no mission in {} yet; start one with `mission start \"<goal>\"` or try `mission demo`",
            layout.repo.display()
        ));
    }
    Ok(MissionState::from_events(&loaded.events))
}

fn status(dir: &Path, json: bool) -> Result<i32> {
    let layout = layout_of(dir)?;
    let st = load_state(&layout)?;
    let limit = Config::load(&layout.config())
        .ok()
        .and_then(|c| c.budget.max_cost_usd);
    let mut status = Status::from_state(&st, limit);
    let config = Config::load(&layout.config()).unwrap_or_default();
    status.worktree = setup::work_dir(&config, &layout, &st).display().to_string();
    let pid = store::live_runner(&layout.lock());
    status.runner = crate::mission::status::RunnerStatus {
        alive: pid.is_some(),
        pid,
    };
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
    println!("Where   {}", status.worktree);
    let finished = st.completed.is_some() || st.failed.is_some();
    match status.runner.pid {
        Some(pid) => println!("Runner  alive (pid {pid})"),
        None if finished => {}
        None => println!(
            "Runner  stopped — nothing runs this mission now; `mission resume` continues it"
        ),
    }
    if let Some(a) = &st.active {
        println!("Agent   {} ({}) — {}", a.role, a.model, a.task);
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
        "Budget   {} tokens in, {} out, ${:.2}{}",
        b.tokens_in,
        b.tokens_out,
        b.cost_usd,
        b.limit_usd
            .map(|l| format!(" of ${l:.2}"))
            .unwrap_or_default()
    );
    Ok(0)
}

async fn op(dir: &Path, op: Op) -> Result<i32> {
    let layout = layout_of(dir)?;
    let abort = matches!(op, Op::Abort { .. });
    let reply = control::send(&layout, &op).await?;
    if reply.ok {
        println!("{}", reply.message);
        // With no runner to end it, the abandoned mission's worktree goes now; a live
        // runner removes it when it stops.
        if abort && !runner_alive(&layout).await {
            let st = load_state(&layout)?;
            let config = Config::load(&layout.config()).unwrap_or_default();
            after_run(&layout, &config, &st);
        }
        Ok(0)
    } else {
        eprintln!("refused: {}", reply.message);
        Ok(EXIT_FAILED)
    }
}

fn handoff(dir: &Path, feature: &str, json: bool) -> Result<i32> {
    let layout = layout_of(dir)?;
    let path = layout.handoff(feature);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) => {
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
        println!("{text}");
        return Ok(0);
    }
    let h: Handoff = serde_json::from_str(&text).with_context(|| path.display().to_string())?;
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
        let verdict = match (c.timed_out, c.exit_code) {
            (true, _) => "timed out".to_string(),
            (false, Some(code)) => format!("exit {code}"),
            (false, None) => "killed".into(),
        };
        println!(
            "  {:>9}  {:>6.1}s  {}",
            verdict,
            c.duration_ms as f64 / 1000.0,
            c.command
        );
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
    println!(
        "Tokens {} in, {} out",
        h.usage.tokens_in, h.usage.tokens_out
    );
    Ok(0)
}

fn log(dir: &Path, json: bool) -> Result<i32> {
    let layout = layout_of(dir)?;
    let loaded = store::load(&layout.events())?;
    let mut printer = Printer::default();
    for rec in &loaded.events {
        if json {
            println!("{}", serde_json::to_string(rec)?);
        } else if let Some(line) = printer.line(rec) {
            println!("{line}");
        }
    }
    if let Some(t) = loaded.torn_tail {
        eprintln!(
            "(a torn last line was skipped: {})",
            t.chars().take(60).collect::<String>()
        );
    }
    Ok(0)
}

async fn doctor(dir: &Path) -> Result<i32> {
    let layout = layout_of(dir)?;
    let mut problems = 0;
    println!("repository  {}", layout.repo.display());
    if let Some(p) = config::user_config_path() {
        println!(
            "user config {}{}",
            p.display(),
            if p.exists() { "" } else { " (none)" }
        );
    }
    println!(
        "repo config {}{}",
        layout.config().display(),
        if layout.config().exists() {
            ""
        } else {
            " (none)"
        }
    );
    let cfg = match Config::load(&layout.config()) {
        Ok(c) => {
            println!("✔ config is valid");
            c
        }
        Err(e) => {
            println!("✘ {e}");
            return Ok(EXIT_USAGE);
        }
    };
    if !cfg.sandbox.enabled {
        println!("· sandbox: off ([sandbox] enabled = false); commands can write anywhere you can");
    } else {
        let work = PathBuf::from("<worktree>");
        let tmp = crate::worktree::temp_dir(&work);
        match crate::agent::tools::sandbox::confinement(
            &work,
            &tmp,
            &cfg.sandbox.writable,
            std::slice::from_ref(&layout.repo),
        ) {
            Ok(c) => {
                let launcher = crate::agent::tools::sandbox::Launcher {
                    confine: Some(c),
                    network: cfg.sandbox.network,
                    ..Default::default()
                };
                println!("✔ sandbox: {}", launcher.describe());
            }
            Err(e) => println!(
                "· sandbox: {e}; commands will run unconfined, and the harness checks .git and .mission/ after each one and restores them"
            ),
        }
    }
    let prices = crate::llm::pricing::Prices::new(cfg.prices.clone());
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Explorer) {
        let needed = matches!(role, Role::Orchestrator | Role::Worker);
        let client = match crate::pipeline::models::build_one(&cfg, &layout, role) {
            Ok(Some(c)) => c,
            Ok(None) => {
                println!(
                    "{} {role}: no model configured{}",
                    if needed { "✘" } else { "·" },
                    if needed {
                        ""
                    } else {
                        " (it borrows the orchestrator's)"
                    }
                );
                problems += usize::from(needed);
                continue;
            }
            Err(e) => {
                println!("✘ {role}: {e}");
                problems += 1;
                continue;
            }
        };
        let label = client.label();
        if !cfg.role_is_configured(role) {
            println!("✔ {role}: {label}, the orchestrator's model (no [roles.{role}])");
            continue;
        }
        if let Some(rc) = cfg.role(role)
            && cfg.provider_kind(&rc.provider) != Some(ProviderKind::Scripted)
            && prices.of(&rc.model).is_none()
        {
            println!(
                "· {role}: no price known for {}; add [prices.\"{}\"] to count its cost",
                rc.model, rc.model
            );
        }
        // A tiny real request: is the model there, does the key work?
        let msgs = [crate::llm::Message::User {
            text: "Reply with the word OK.".into(),
        }];
        let req = crate::llm::Request {
            system: "You are a health check.",
            messages: &msgs,
            tools: &[],
            on_retry: None,
            on_spent: None,
        };
        let started = std::time::Instant::now();
        match tokio::time::timeout(std::time::Duration::from_secs(60), client.complete(req)).await {
            Ok(Ok(r)) => println!(
                "✔ {role}: {label} answered in {:.1}s ({} tokens in, {} out)",
                started.elapsed().as_secs_f64(),
                r.usage.tokens_in,
                r.usage.tokens_out
            ),
            Ok(Err(e))
                if cfg
                    .role(role)
                    .and_then(|rc| cfg.provider_kind(&rc.provider))
                    == Some(ProviderKind::Scripted) =>
            {
                println!("✔ {role}: {label} (scripted; {e})");
            }
            Ok(Err(e)) => {
                println!("✘ {role}: {e}");
                problems += 1;
            }
            Err(_) => {
                println!("✘ {role}: {label} did not answer within 60s");
                problems += 1;
            }
        }
    }
    Ok(if problems == 0 { 0 } else { EXIT_USAGE })
}
