//! The `mission` command line: parsing and dispatch; hosting a run, printing records and
//! `doctor` live beside it.

mod args;
mod doctor;
mod eval;
mod fleet;
mod host;
mod plan;
mod show;

pub use args::{Cli, PlanAction};
use args::{Command, EvalCommand, Look};
use doctor::doctor;
use host::*;
use show::*;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use clap::{CommandFactory, Parser};

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
                    record,
                },
        } => eval::run(
            &corpus,
            &config,
            eval::Batch {
                repeat,
                jobs,
                report: report.as_deref(),
                record: record.as_deref(),
            },
        ),
        Command::Eval {
            what:
                EvalCommand::Replay {
                    recording,
                    corpus,
                    jobs,
                    report,
                },
        } => eval::replay(&recording, corpus.as_deref(), jobs, report.as_deref()),
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
        Command::AcpEnding { spec, out } => {
            crate::agent::acp::ending::serve(&spec, &out)?;
            Ok(0)
        }
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
