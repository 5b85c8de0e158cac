//! The `mission` command line: parsing and dispatch; hosting a run, printing records and
//! `doctor` live beside it.

mod doctor;
mod eval;
mod fleet;
mod host;
mod plan;
mod show;

use doctor::doctor;
use host::*;
use show::*;

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
use crate::mission::{MissionState, Op, Role, Status};
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
/// The mission's record is damaged (a corrupt line in the event log): nothing ran, a human
/// must repair or move the file, as the message says.
pub const EXIT_DAMAGED: i32 = 4;

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
The agents work in a git worktree of the mission's own; your checkout is never touched.\n\n\
Exit codes: 0 completed, 1 failed (abandoned), 2 bad usage or config, 3 stopped for \
something a human can fix and resume from (a gate, a pause, a budget, a full disk…), \
4 the record is damaged (a corrupt line in events.jsonl).",
    after_help = "Try it offline first:  mission demo"
)]
pub struct Cli {
    /// The repository to work on (default: the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The theme given before the command (`mission --theme light attach`), as it was
    /// once taken; the console commands take `--theme` themselves.
    #[arg(long, value_name = "THEME", hide = true)]
    theme: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// Options of the commands that open the console.
#[derive(Debug, clap::Args)]
struct Look {
    /// Console theme: dark, light, high-contrast, high-contrast-light, or a path to a
    /// .toml file (default: dark). NO_COLOR turns colours off.
    #[arg(long, value_name = "THEME")]
    theme: Option<String>,
}

#[derive(Debug, Subcommand)]
enum EvalCommand {
    /// Prove each scenario sound: its fail-to-pass checks fail on the untouched tree and
    /// pass with its gold patch; its pass-to-pass checks pass both times.
    Check {
        /// The corpus: a directory of scenarios, each with a scenario.toml.
        #[arg(long, default_value = "evals")]
        corpus: PathBuf,
    },
    /// Run a mission per scenario with the roles of --config, headless and sandboxed,
    /// then grade it by the scenario's hidden checks.
    Run {
        #[arg(long, default_value = "evals")]
        corpus: PathBuf,
        /// A mission.toml: the roles (providers, models) to measure.
        #[arg(long)]
        config: PathBuf,
        /// Run each scenario this many times.
        #[arg(long, default_value_t = 1)]
        repeat: u32,
        /// Scenarios at once.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Write the JSON report here.
        #[arg(long)]
        report: Option<PathBuf>,
    },
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
        #[command(flatten)]
        look: Look,
    },
    /// Write a commented .mission/mission.toml.
    Init,
    /// Start a mission towards GOAL on a new branch mission/<slug>.
    Start {
        /// What the mission should achieve, in a sentence or two ("Add a --json flag to
        /// the report command"). The orchestrator plans from it.
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
        #[command(flatten)]
        look: Look,
    },
    /// Continue a mission after a stop, a pause or a crash.
    Resume {
        /// Print progress lines instead of the console.
        #[arg(long, conflicts_with = "detach")]
        headless: bool,
        /// Run in the background; see it with `mission status` or `mission attach`.
        #[arg(long)]
        detach: bool,
        /// Pass every gate without asking; anything else that needs a human exits with 3.
        #[arg(long)]
        auto_approve: bool,
        #[command(flatten)]
        look: Look,
    },
    /// Open the console on a mission run by another process.
    Attach {
        #[command(flatten)]
        look: Look,
    },
    /// Every mission you run, here and on the SSH hosts of `[fleet] hosts` in your own
    /// config, those that need you first.
    Fleet {
        /// The stable JSON listing: `{"missions": [...], "hosts": [...]}`.
        #[arg(long)]
        json: bool,
        /// This machine only (what a fleet on another machine asks over SSH).
        #[arg(long)]
        local: bool,
        #[command(flatten)]
        look: Look,
    },
    /// Measure the harness on a corpus of real tasks (`evals/`).
    Eval {
        #[command(subcommand)]
        what: EvalCommand,
    },
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
    Approve {
        /// Only this gate (its `gate_id` in `status --json`): refused if another is open
        /// by then, so a script never approves what it did not look at.
        #[arg(long)]
        gate: Option<u64>,
    },
    /// Reject what the mission waits for, saying what to change.
    Reject {
        /// What to change: the orchestrator reads it before it plans again.
        #[arg(long)]
        note: String,
        /// Only this gate (its `gate_id` in `status --json`).
        #[arg(long)]
        gate: Option<u64>,
    },
    /// Send the orchestrator a message it reads before its next decision.
    Say {
        /// The message (at most 8 KiB).
        text: String,
    },
    /// Give up on the mission: it ends as failed after the step in progress.
    Abort {
        /// Why, for the log and the report.
        #[arg(long)]
        note: String,
    },
    /// Print a feature's structured handoff.
    Handoff {
        /// The feature's id, as `mission status` lists them (e.g. m1-f2).
        feature_id: String,
        /// The handoff as JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Print the event log.
    Log {
        /// Raw events.jsonl lines.
        #[arg(long)]
        json: bool,
        /// Keep printing new events as they come, like `tail -f` (Ctrl-C stops).
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// Check config, keys and providers.
    Doctor,
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
    /// Measure the hot paths on this machine and print the numbers.
    ///
    /// Work with plans offline: `mission plan check FILE.json` says every problem of a plan
    /// (the `submit_plan` arguments), each at its JSON path, as the orchestrator is told.
    Plan {
        #[command(subcommand)]
        action: PlanAction,
    },
    /// Appending to the log with fsync (on the filesystem of the repo's .mission/),
    /// loading and folding a long synthetic mission, drawing console frames, and what the
    /// sandbox adds to starting a command.
    Bench {
        /// Spend ~0.15 s per measurement instead of ~1 s, and read back a 20k-event
        /// mission instead of 100k.
        #[arg(long)]
        quick: bool,
        /// Events of the synthetic long missions read back (status, attach), e.g.
        /// `--events 100000 --events 1000000`.
        #[arg(long)]
        events: Vec<usize>,
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
        /// Join the namespaces held by this init (a `sandbox-init`'s pid namespace).
        #[arg(long, value_name = "PID")]
        join: Option<i32>,
        /// When joining: the holder shares the host's network.
        #[arg(long)]
        join_keeps_network: bool,
        /// A `cgroup.procs` file to join (repeatable).
        #[arg(long, value_name = "FILE")]
        cgroup: Vec<PathBuf>,
        #[arg(long, value_name = "N")]
        max_processes: Option<u64>,
        #[arg(long, value_name = "BYTES")]
        max_memory_bytes: Option<u64>,
        /// Landlock: no signal leaves the command's domain.
        #[arg(long)]
        scope_signals: bool,
        /// Landlock: no abstract unix socket outside the command's domain.
        #[arg(long)]
        scope_abstract_sockets: bool,
        /// The program and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// Make one loopback HTTP request from inside the sandbox (the tester's `http` tool).
    #[command(name = "sandbox-http", hide = true)]
    SandboxHttp {
        method: String,
        url: String,
        cap: usize,
    },
    /// Hold a mission's sandbox namespaces (started by the runner; see src/sandbox/init.rs).
    #[command(name = "sandbox-init", hide = true)]
    SandboxInit {
        /// Writable inside (repeatable).
        #[arg(long, value_name = "DIR")]
        write: Vec<PathBuf>,
        /// Visible read-only inside (repeatable).
        #[arg(long, value_name = "DIR")]
        read: Vec<PathBuf>,
        /// Hidden inside (repeatable).
        #[arg(long, value_name = "DIR")]
        hide: Vec<PathBuf>,
        /// Loopback only.
        #[arg(long)]
        no_network: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum PlanAction {
    /// Check a plan file: every problem, each at its path (exit 0 sound, 2 not).
    Check {
        /// The plan, as JSON: `{"milestones": [...], "assertions": [...]}`.
        file: PathBuf,
    },
}

pub fn main() -> i32 {
    let cli = Cli::parse();
    // Before any thread exists: the rules bind the thread that execs.
    match &cli.command {
        Command::SandboxExec {
            write,
            no_network,
            join,
            join_keeps_network,
            cgroup,
            max_processes,
            max_memory_bytes,
            scope_signals,
            scope_abstract_sockets,
            command,
        } => {
            let spec = crate::sandbox::ExecSpec {
                writable: write.clone(),
                network: !no_network,
                scopes: Some(crate::sandbox::Scopes {
                    signals: *scope_signals,
                    abstract_sockets: *scope_abstract_sockets,
                }),
                join: *join,
                join_keeps_network: *join_keeps_network,
                cgroup_procs: cgroup.clone(),
                max_processes: *max_processes,
                max_memory_bytes: *max_memory_bytes,
            };
            let why = crate::sandbox::exec_confined(&spec, &command[0], &command[1..]);
            eprintln!("mission sandbox-exec: {why}");
            return 126;
        }
        Command::SandboxInit {
            write,
            read,
            hide,
            no_network,
        } => {
            return crate::sandbox::init::run(&crate::sandbox::init::InitSpec {
                write: write.clone(),
                read: read.clone(),
                hide: hide.clone(),
                network: !no_network,
            });
        }
        _ => {}
    }
    // The runner holds the provider keys in its environment and memory: no process of the
    // same user may read its /proc entries or ptrace it (children are dumpable again
    // after exec).
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0);
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
            } else if is_damaged(&e) {
                EXIT_DAMAGED
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
    is_disk_full(e)
        || e.chain().any(|c| {
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

/// A corrupt event log, however deep in the cause chain.
fn is_damaged(e: &anyhow::Error) -> bool {
    use crate::pipeline::RunError;
    let corrupt = |s: &store::StoreError| matches!(s, store::StoreError::Corrupt { .. });
    e.chain().any(|c| {
        c.downcast_ref::<store::StoreError>().is_some_and(corrupt)
            || matches!(c.downcast_ref::<RunError>(), Some(RunError::Store(s)) if corrupt(s))
            || matches!(c.downcast_ref::<setup::SetupError>(), Some(setup::SetupError::Store(s)) if corrupt(s))
    })
}

/// A full disk, wherever it was met: space comes back, the mission resumes.
fn is_disk_full(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.raw_os_error() == Some(libc::ENOSPC))
            || c.to_string().contains("No space left on device")
    })
}

fn is_usage_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<config::ConfigError>().is_some()
            || matches!(
                c.downcast_ref::<crate::demo::DemoError>(),
                Some(crate::demo::DemoError::NotEmpty(_))
            )
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
    let old_theme = cli.theme.clone();
    let theme_of = |look: Look| look.theme.or(old_theme).unwrap_or_else(|| "dark".into());
    match cli.command {
        Command::Demo {
            headless,
            fast,
            look,
        } => demo(cli.dir.as_deref(), headless, fast, &theme_of(look)).await,
        Command::Init => init(&dir),
        Command::Start {
            goal,
            headless,
            detach,
            auto_approve,
            look,
        } => {
            if detach {
                return detach_start(&dir, Some(&goal), auto_approve);
            }
            let theme = console_theme(headless, &theme_of(look))?;
            let session = setup::start(&dir, &goal, Mode { auto_approve })?;
            match theme {
                Some(t) => host(session, Front::Console(Box::new(t))).await,
                None => host(session, Front::Lines).await,
            }
        }
        Command::Resume {
            headless,
            detach,
            auto_approve,
            look,
        } => {
            if detach {
                return detach_start(&dir, None, auto_approve);
            }
            let theme = console_theme(headless, &theme_of(look))?;
            let session = setup::resume(&dir, Mode { auto_approve })?;
            match theme {
                Some(t) => host(session, Front::Console(Box::new(t))).await,
                None => host(session, Front::Lines).await,
            }
        }
        Command::Attach { look } => attach(&dir, &theme_of(look)).await,
        Command::Status { json } => status(&dir, json),
        Command::Eval {
            what: EvalCommand::Check { corpus },
        } => eval::check(&corpus),
        Command::Eval {
            what:
                EvalCommand::Run {
                    corpus,
                    config,
                    repeat,
                    jobs,
                    report,
                },
        } => eval::run(&corpus, &config, repeat, jobs, report.as_deref()),
        Command::Fleet { json, local, look } => {
            fleet::fleet(json || local, local, &theme_of(look)).await
        }
        Command::Pause => op(&dir, Op::Pause).await,
        Command::Unpause => op(&dir, Op::Unpause).await,
        Command::Approve { gate } => op(&dir, Op::Approve { gate }).await,
        Command::Reject { note, gate } => op(&dir, Op::Reject { note, gate }).await,
        Command::Say { text } => op(&dir, Op::Say { text }).await,
        Command::Abort { note } => op(&dir, Op::Abort { note }).await,
        Command::Handoff { feature_id, json } => handoff(&dir, &feature_id, json),
        Command::Log { json, follow } => log(&dir, json, follow).await,
        Command::Doctor => doctor(&dir).await,
        Command::SandboxHttp { method, url, cap } => {
            Ok(crate::agent::tools::web::serve_one(&method, &url, cap).await)
        }
        Command::Plan {
            action: PlanAction::Check { file },
        } => plan::check(&file),
        Command::Bench { quick, events } => {
            // The log's filesystem when there is a mission here, else the temp dir's.
            let mission_dir = setup::repo_root(&dir)
                .map(|r| Layout::new(&r).dir)
                .ok()
                .filter(|d| d.is_dir());
            let scratch = mission_dir.unwrap_or_else(std::env::temp_dir);
            let long = match (events.is_empty(), quick) {
                (false, _) => events,
                (true, true) => vec![20_000],
                (true, false) => vec![100_000],
            };
            crate::bench::run(&scratch, quick, &long).await?;
            Ok(0)
        }
        Command::SandboxExec { .. } | Command::SandboxInit { .. } => {
            unreachable!("handled before the runtime starts")
        }
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

async fn runner_alive(layout: &Layout) -> bool {
    control::send(layout, &Op::Ping)
        .await
        .map(|r| r.ok)
        .unwrap_or(false)
}

fn layout_of(dir: &Path) -> Result<Layout> {
    Ok(Layout::new(&setup::repo_root(dir)?))
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
    println!("next: choose each role's provider and model in it ([roles.*]), export the API keys,");
    println!("      check with `mission doctor`, then `mission start \"<goal>\"`");
    Ok(0)
}

fn load_state(layout: &Layout) -> Result<MissionState> {
    let folded = crate::checkpoint::load(&layout.events(), &layout.checkpoint())?;
    if folded.state.last_seq == 0 {
        return Err(anyhow!(
            "no mission in {} yet; {}",
            layout.repo.display(),
            if layout.config().exists() {
                "start one with `mission start \"<goal>\"` or try `mission demo`"
            } else {
                "`mission init` writes a config to choose models in, then `mission start \"<goal>\"`; or try `mission demo`"
            }
        ));
    }
    Ok(folded.state)
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
            let config = Config::load_for_console(&layout.config()).unwrap_or_default();
            after_run(&layout, &config, &st);
        }
        Ok(0)
    } else {
        eprintln!("refused: {}", reply.message);
        Ok(EXIT_FAILED)
    }
}
