//! Getting a runner ready: a new mission (`start`, `demo`) or an old one picked up again
//! after a stop or a crash (`resume`).

use std::path::{Path, PathBuf};

use super::{Mode, RunError, Runner, worker};
use crate::config::{Config, ConfigError};
use crate::git::{FEATURE_TRAILER, Git, GitError};
use crate::hub::Hub;
use crate::layout::Layout;
use crate::llm::LlmError;
use crate::mission::state::FeaturePhase;
use crate::mission::{CommandRecord, Event, EventRecord, Handoff, MissionState, Usage};
use crate::store::{self, MissionLock, StoreError};
use crate::worktree::{self, Ensured, WorktreeError};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Model(#[from] LlmError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Worktree(#[from] WorktreeError),
    #[error("{0}")]
    Refused(String),
}

/// A runner with the repo's lock held, plus things worth telling the human.
pub struct Session {
    pub runner: Runner,
    pub lock: MissionLock,
    pub notes: Vec<String>,
}

/// The repository root containing `dir`.
pub fn repo_root(dir: &Path) -> Result<PathBuf, SetupError> {
    let git = Git::discover(dir)?;
    let root = git.workdir().ok_or_else(|| {
        SetupError::Refused(format!(
            "{} is a bare repository; missions need a working tree",
            dir.display()
        ))
    })?;
    root.canonicalize()
        .map_err(|e| SetupError::Refused(format!("{}: {e}", root.display())))
}

struct Opened {
    layout: Layout,
    config: Config,
    clients: crate::llm::factory::Clients,
    lock: MissionLock,
    /// The state folded from the log (through its checkpoint: resume never holds a long
    /// log in memory).
    folded: crate::checkpoint::Folded,
    git: Git,
    notes: Vec<String>,
}

/// Checks everything that can be checked first — the config, the models and their keys —
/// so that a refused start leaves nothing behind; then takes the lock.
fn open(dir: &Path) -> Result<Opened, SetupError> {
    let root = repo_root(dir)?;
    let layout = Layout::new(&root);
    // Before anything is written: a repository too deep for its control socket is a
    // usage error (exit 2, nothing left behind), not a mission that fails after starting.
    let socket = layout.socket();
    if socket.as_os_str().len() > crate::control::MAX_SOCKET_PATH {
        return Err(SetupError::Refused(format!(
            "the control socket {} would be {} bytes, more than a Unix socket path may hold ({}); move or clone the repository to a shorter path",
            socket.display(),
            socket.as_os_str().len(),
            crate::control::MAX_SOCKET_PATH
        )));
    }
    let config = Config::load(&layout.config())?;
    let clients = crate::llm::factory::build(&config, &layout)?;
    let git = Git::open(&root)?;
    git.head()?;
    layout
        .create_dirs()
        .map_err(|e| SetupError::Refused(format!("cannot create {}: {e}", layout.dir.display())))?;
    let lock = store::acquire_lock(&layout.events(), &layout.lock())?;
    let mut notes = vec![];
    if let Some(pid) = &lock.stale_pid {
        notes.push(format!(
            "took over the lock left by runner pid {pid}, which is no longer running"
        ));
    }
    let folded = crate::checkpoint::load(&layout.events(), &layout.checkpoint())?;
    if let Some(torn) = &folded.torn_tail {
        notes.push(format!(
            "ignored a torn last line in events.jsonl (a write cut short by a crash): {}",
            torn.chars().take(60).collect::<String>()
        ));
    }
    git.exclude_mission_dir()?;
    // Before anything is reset: commands a dead runner left running must not write into
    // the resumed run.
    let ended = crate::sandbox::groups::end_leftovers(&layout.process_groups());
    if ended > 0 {
        notes.push(format!(
            "ended {ended} command(s) the previous runner left running"
        ));
    }
    Ok(Opened {
        layout,
        config,
        clients,
        lock,
        folded,
        git,
        notes,
    })
}

pub fn slugify(goal: &str) -> String {
    let mut slug = String::new();
    for word in goal
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if slug.len() + word.len() + 1 > 40 {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word.to_ascii_lowercase());
    }
    if slug.is_empty() {
        "mission".into()
    } else {
        slug
    }
}

pub fn start(dir: &Path, goal: &str, mode: Mode) -> Result<Session, SetupError> {
    if goal.trim().is_empty() {
        return Err(SetupError::Refused(
            "the goal is empty: say what the mission should achieve".into(),
        ));
    }
    let mut o = open(dir)?;
    if o.folded.state.last_seq > 0 {
        let st = o.folded.state.clone();
        if st.completed.is_none() && st.failed.is_none() {
            return Err(SetupError::Refused(format!(
                "a mission is already in progress here (goal: {:?}); `mission resume` continues it, `mission status` shows it",
                st.goal
            )));
        }
        if let Some(note) = retire_worktree(&o.git, &o.config, &o.layout, &st) {
            o.notes.push(note);
        }
        let archived = archive(&o.layout)?;
        o.notes.push(format!(
            "archived the previous mission to {}",
            archived.display()
        ));
        o.folded = crate::checkpoint::Folded::default();
    }
    let clients = std::mem::take(&mut o.clients);
    let base = o.git.head()?;
    let slug = slugify(goal);
    let mut branch = format!("mission/{slug}");
    let mut n = 2;
    while o.git.branch_head(&branch).is_some() {
        branch = format!("mission/{slug}-{n}");
        n += 1;
    }
    let work = worktree::location(&o.config.worktree, &o.layout.repo, &branch)?;
    o.git.create_branch(&branch, &base)?;
    worktree::ensure(&o.git, &work, &branch)?;
    if o.git.is_dirty()? {
        o.notes.push(format!(
            "your checkout has uncommitted changes: they are not part of the mission, which starts from the last commit ({})",
            crate::git::short(&base)
        ));
    }
    o.notes.push(format!(
        "the mission works in {} on branch {branch}; your checkout is not touched",
        work.display()
    ));
    let wgit = worktree::open(&o.git, &work, &branch)?;
    let log = store::EventLog::open_at(
        &o.layout.events(),
        o.folded.valid_len,
        o.folded.state.last_seq,
    )?;
    let hub = Hub::new(log, MissionState::default()).with_checkpoint(o.layout.checkpoint());
    hub.emit(Event::MissionStarted {
        goal: goal.trim().to_string(),
        slug,
        branch,
        base_commit: base,
        worktree: Some(work.display().to_string()),
    })?;
    o.layout.work = work;
    register(&o.layout, &hub.state(), &mut o.notes);
    let runner = Runner::new(hub, o.layout, o.config, wgit, clients, mode);
    Ok(Session {
        runner,
        lock: o.lock,
        notes: o.notes,
    })
}

/// Lists the mission for `mission fleet`; a registry that cannot be written costs the
/// mission nothing but a note.
fn register(layout: &Layout, st: &MissionState, notes: &mut Vec<String>) {
    if let Err(e) = crate::fleet::registry::record_mission(layout, st) {
        notes.push(format!(
            "the mission is not listed for `mission fleet` (its registry could not be written: {e})"
        ));
    }
}

pub fn resume(dir: &Path, mode: Mode) -> Result<Session, SetupError> {
    let mut o = open(dir)?;
    if o.folded.state.last_seq == 0 {
        return Err(SetupError::Refused(
            "no mission to resume here; start one with `mission start \"<goal>\"`".into(),
        ));
    }
    let st = o.folded.state.clone();
    let clients = std::mem::take(&mut o.clients);
    let mut notes = o.notes;
    let finished = st.completed.is_some() || st.failed.is_some();
    let git = if st.worktree.is_some() && !finished {
        // Where the mission was started, as recorded: not recomputed from this shell's
        // XDG_DATA_HOME or config, which may differ from the one that started it.
        let work = match recorded_worktree(&st, &o.git.common_dir()) {
            Some(w) => w,
            None => worktree::location(&o.config.worktree, &o.layout.repo, &st.branch)?,
        };
        if o.git.branch_head(&st.branch).is_none() {
            return Err(SetupError::Refused(format!(
                "the mission branch {} is gone; it holds the mission's commits. Restore it (see `git reflog`), then resume, or start a new mission",
                st.branch
            )));
        }
        if worktree::ensure(&o.git, &work, &st.branch)? != Ensured::Present {
            notes.push(format!(
                "recreated the mission's worktree {} from branch {}",
                work.display(),
                st.branch
            ));
        }
        o.layout.work = work.clone();
        worktree::open(&o.git, &work, &st.branch)?
    } else {
        o.git
    };
    let log = store::EventLog::open_at(&o.layout.events(), o.folded.valid_len, st.last_seq)?;
    let hub = Hub::new(log, st.clone()).with_checkpoint(o.layout.checkpoint());
    let events = interrupted_feature_events(&o.layout, &st)?;
    register(&o.layout, &st, &mut notes);
    let runner = Runner::new(hub, o.layout, o.config, git, clients, mode);
    if st.completed.is_none() && st.failed.is_none() {
        notes.extend(recover(&runner, &st, &events)?);
    }
    Ok(Session {
        runner,
        lock: o.lock,
        notes,
    })
}

/// Puts the tree back where the events say it is. A commit made for the interrupted
/// feature just before the crash is adopted, not made again; anything else uncommitted
/// is saved as a patch and discarded.
fn recover(
    r: &Runner,
    st: &MissionState,
    events: &[EventRecord],
) -> Result<Vec<String>, SetupError> {
    let mut notes = vec![];
    let expected = st.head().to_string();
    if r.git(|g| g.current_branch()).as_deref() != Some(st.branch.as_str()) {
        if r.git(|g| g.is_dirty())? {
            return Err(SetupError::Refused(format!(
                "the repository is not on the mission branch {} and has uncommitted changes; commit or stash them, then resume",
                st.branch
            )));
        }
        r.git(|g| g.checkout_branch(&st.branch, &expected))?;
        notes.push(format!("switched back to the mission branch {}", st.branch));
    }
    let head = r.git(|g| g.head())?;
    // Nothing committed by the harness since the log's last word (the worker's own
    // commits fold in): handed-off work may wait uncommitted.
    let untouched = head == expected
        || (r.git(|g| g.descends_from(&head, &expected))
            && r.git(|g| g.trailer(&head, FEATURE_TRAILER)).is_none());
    let running = st
        .milestones
        .iter()
        .flat_map(|m| &m.features)
        .find(|f| f.phase == FeaturePhase::Running);
    let mut expected = expected;
    if head != expected {
        let trailer = r.git(|g| g.trailer(&head, FEATURE_TRAILER));
        let parent = r.git(|g| g.parent_of(&head));
        let adoptable = running.is_some_and(|f| {
            trailer.as_deref() == Some(f.plan.id.as_str())
                && parent.as_deref() == Some(expected.as_str())
        });
        let handoff = running
            .filter(|_| adoptable)
            .and_then(|f| rebuild_handoff(events, &f.plan.id, f.attempts, &head));
        if let (Some(f), Some(h)) = (running, handoff) {
            worker::record_commit(r, h, &expected).map_err(|e| match e {
                super::StepStop::Fatal(e) => SetupError::Run(e),
                super::StepStop::Pause(m) => SetupError::Refused(m),
            })?;
            notes.push(format!(
                "adopted commit {} of {} made just before the stop",
                crate::git::short(&head),
                f.plan.id
            ));
            expected = head.clone();
        } else if running.is_some() && r.git(|g| g.descends_from(&head, &expected)) {
            // Commits the interrupted worker made itself: part of its unfinished work,
            // saved in the patch below.
        } else if trailer.is_none() {
            return Err(SetupError::Refused(format!(
                "the mission branch {} has commits the mission did not make (HEAD {}, expected {}); move them elsewhere, then resume",
                st.branch,
                crate::git::short(&head),
                crate::git::short(&expected)
            )));
        }
    }
    // Work a worker handed off but the runner could not commit (a crash in between, a git
    // lock): committed now, never redone.
    if let Some(f) = running
        && untouched
        && let Some(report) = handed_off(events, &f.plan.id, f.attempts)
    {
        let message =
            worker::commit_message(&f.plan.id, &f.plan.title, &report.summary, f.attempts);
        let commit = r.git(|g| {
            g.reset_soft(&expected)?;
            g.commit_all(&message)
        })?;
        if let Some(h) = rebuild_handoff(events, &f.plan.id, f.attempts, &commit) {
            worker::record_commit(r, h, &expected).map_err(|e| match e {
                super::StepStop::Fatal(e) => SetupError::Run(e),
                super::StepStop::Pause(m) => SetupError::Refused(m),
            })?;
            notes.push(format!(
                "committed the work {} handed off before the stop ({})",
                f.plan.id,
                crate::git::short(&commit)
            ));
            expected = commit;
        }
    }
    let name = running.map_or_else(
        || format!("resume-{}", st.last_seq),
        |f| format!("{}-attempt{}-interrupted", f.plan.id, f.attempts),
    );
    let patch = worker::discard_work(r, &expected, &name).map_err(|e| match e {
        super::StepStop::Fatal(e) => SetupError::Run(e),
        super::StepStop::Pause(m) => SetupError::Refused(m),
    })?;
    if let Some(p) = &patch {
        notes.push(format!(
            "saved the interrupted work to {p} and reset the tree"
        ));
    }
    r.hub.emit(Event::MissionResumed {
        reset_to: expected,
        discarded_patch: patch,
    })?;
    Ok(notes)
}

/// What recovery reads of the log: the events of the feature that was running when the
/// runner stopped (its agents' starts, turns and commands, its handoffs), streamed from
/// the log without holding the rest.
fn interrupted_feature_events(
    layout: &Layout,
    st: &MissionState,
) -> Result<Vec<EventRecord>, SetupError> {
    let Some(feature) = st
        .milestones
        .iter()
        .flat_map(|m| &m.features)
        .find(|f| f.phase == FeaturePhase::Running)
        .map(|f| f.plan.id.clone())
    else {
        return Ok(vec![]);
    };
    let mut runs: Vec<String> = vec![];
    let mut kept = vec![];
    store::scan(&layout.events(), 0, 0, None, |rec| {
        let keep = match &rec.event {
            Event::AgentStarted {
                run_id,
                feature_id: Some(f),
                ..
            } if *f == feature => {
                runs.push(run_id.clone());
                true
            }
            Event::HandoffSubmitted { feature_id, .. } => *feature_id == feature,
            Event::AgentTurn { run_id, .. } | Event::CommandRan { run_id, .. } => {
                runs.contains(run_id)
            }
            _ => false,
        };
        if keep {
            kept.push(rec);
        }
    })?;
    Ok(kept)
}

/// The report a feature's `attempt` handed off, if it did.
fn handed_off(
    events: &[EventRecord],
    feature: &str,
    attempt: u32,
) -> Option<crate::mission::WorkerReport> {
    events.iter().rev().find_map(|e| match &e.event {
        Event::HandoffSubmitted {
            feature_id,
            attempt: a,
            report,
        } if feature_id == feature && *a == attempt => Some(report.clone()),
        _ => None,
    })
}

/// The handoff of a feature whose commit exists but whose `feature_committed` is missing.
fn rebuild_handoff(
    events: &[EventRecord],
    feature: &str,
    attempt: u32,
    commit: &str,
) -> Option<Handoff> {
    let report = handed_off(events, feature, attempt)?;
    let run_id = events.iter().rev().find_map(|e| match &e.event {
        Event::AgentStarted {
            run_id,
            feature_id: Some(f),
            ..
        } if f == feature => Some(run_id.clone()),
        _ => None,
    })?;
    let mut usage = Usage::default();
    let mut commands = vec![];
    for e in events {
        match &e.event {
            Event::AgentTurn {
                run_id: r,
                usage: u,
                ..
            } if *r == run_id => usage.add(u),
            Event::CommandRan {
                run_id: r,
                command,
                exit_code,
                duration_ms,
                timed_out,
                restored,
            } if *r == run_id => commands.push(CommandRecord {
                command: command.clone(),
                exit_code: *exit_code,
                duration_ms: *duration_ms,
                timed_out: *timed_out,
                restored: restored.clone(),
            }),
            _ => {}
        }
    }
    Some(Handoff {
        feature_id: feature.to_string(),
        attempt,
        run_id,
        report,
        commands,
        // Not in the log: a handoff recovered after a crash lists commands only.
        mcp_calls: vec![],
        files_changed: vec![],
        diff_stat: Default::default(),
        commit: commit.to_string(),
        usage,
        agent: None,
    })
}

/// The worktree recorded at start, when it is still this repository's to use: missing
/// (it is made again there), or a worktree of this repository. A copied or moved
/// repository's record names another repository's worktree: then `None`, and the place is
/// derived anew.
pub fn recorded_worktree(st: &MissionState, common_dir: &std::path::Path) -> Option<PathBuf> {
    let w = PathBuf::from(st.worktree.as_deref().filter(|w| !w.is_empty())?);
    if !w.exists() {
        return Some(w);
    }
    let link = std::fs::read_to_string(w.join(".git")).ok()?;
    let gitdir = PathBuf::from(link.trim().strip_prefix("gitdir:")?.trim());
    let ours = |p: &std::path::Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    ours(&gitdir).starts_with(ours(common_dir)).then_some(w)
}

/// The worktree of the mission `st` (where it was recorded at start, see
/// `recorded_worktree`), or the checkout itself for a mission older than worktrees.
pub fn work_dir(config: &Config, layout: &Layout, st: &MissionState) -> PathBuf {
    let common = crate::git::Git::open(&layout.repo).map(|g| g.common_dir());
    match st.worktree.as_deref() {
        Some(_) => common
            .ok()
            .and_then(|c| recorded_worktree(st, &c))
            .or_else(|| worktree::location(&config.worktree, &layout.repo, &st.branch).ok())
            .unwrap_or_else(|| layout.repo.clone()),
        None => layout.repo.clone(),
    }
}

/// Removes an ended mission's worktree (never its branch); says what it did.
pub fn retire_worktree(
    git: &Git,
    config: &Config,
    layout: &Layout,
    st: &MissionState,
) -> Option<String> {
    st.worktree.as_ref()?;
    let work = work_dir(config, layout, st);
    if !work.exists() {
        return None;
    }
    Some(match worktree::remove(git, &work, &st.branch) {
        Ok(()) => format!(
            "removed the worktree {}; branch {} keeps the work",
            work.display(),
            st.branch
        ),
        Err(e) => format!("could not remove the worktree: {e}"),
    })
}

/// Moves a finished mission's records to `.mission/archive/<time>/`.
fn archive(layout: &Layout) -> Result<PathBuf, SetupError> {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let dest = layout.dir.join("archive").join(stamp);
    std::fs::create_dir_all(&dest)
        .map_err(|e| SetupError::Refused(format!("{}: {e}", dest.display())))?;
    for name in [
        "events.jsonl",
        "checkpoint",
        "contract.json",
        "contract.md",
        "proposal.md",
        "report.md",
        "handoffs",
        "transcripts",
        "patches",
    ] {
        let from = layout.dir.join(name);
        if from.exists() {
            std::fs::rename(&from, dest.join(name))
                .map_err(|e| SetupError::Refused(format!("{}: {e}", from.display())))?;
        }
    }
    layout
        .create_dirs()
        .map_err(|e| SetupError::Refused(format!("{}: {e}", layout.dir.display())))?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_short_and_safe() {
        assert_eq!(slugify("Add a `stats` CLI!"), "add-a-stats-cli");
        assert_eq!(slugify("???"), "mission");
        assert!(slugify(&"word ".repeat(30)).len() <= 40);
    }
}
