//! The command line as clap reads it: every command, its arguments and their help.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
    pub(super) dir: Option<PathBuf>,
    /// The theme given before the command (`mission --theme light attach`), as it was
    /// once taken; the console commands take `--theme` themselves.
    #[arg(long, value_name = "THEME", hide = true)]
    pub(super) theme: Option<String>,
    #[command(subcommand)]
    pub(super) command: Command,
}

/// Options of the commands that open the console.
#[derive(Debug, clap::Args)]
pub(super) struct Look {
    /// Console theme: dark, light, high-contrast, high-contrast-light, or a path to a
    /// .toml file (default: dark). NO_COLOR turns colours off.
    #[arg(long, value_name = "THEME")]
    pub(super) theme: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(super) enum EvalCommand {
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
        /// Save every provider exchange, and each scenario's result, in this directory,
        /// for `mission eval replay`.
        #[arg(long, value_name = "DIR")]
        record: Option<PathBuf>,
    },
    /// Run the scenarios of a recording again, every model answered from it, offline:
    /// report where the harness now asks something else, or grades differently.
    Replay {
        /// The directory `mission eval run --record DIR` wrote.
        recording: PathBuf,
        /// The corpus (default: the one recorded).
        #[arg(long)]
        corpus: Option<PathBuf>,
        /// Scenarios at once.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Write the JSON report (with each scenario's divergences) here.
        #[arg(long)]
        report: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
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
    /// Work with plans offline.
    ///
    /// `mission plan check FILE.json` says every problem of a plan (the `submit_plan`
    /// arguments), each at its JSON path, as the orchestrator is told.
    Plan {
        #[command(subcommand)]
        action: PlanAction,
    },
    /// Measure the hot paths on this machine and print the numbers.
    ///
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
    /// The MCP server offering a role's ending tool to an external agent (started by
    /// the agent; see src/agent/acp/ending.rs).
    #[command(name = "acp-ending", hide = true)]
    AcpEnding {
        #[arg(long)]
        spec: PathBuf,
        #[arg(long)]
        out: PathBuf,
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
