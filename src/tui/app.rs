//! The console's state: the same event fold as everyone else, plus what the human is
//! looking at. Keys turn into `Command`s (ops for the runner, loads, quit); rendering
//! reads this and nothing else.

use std::collections::HashMap;

use crate::keys::Action;
use crate::mission::narrate::describe_event;
use crate::mission::{CommandRecord, Event, EventRecord, Handoff, Limits, MissionState, Op, Role};

mod activity;
mod detail;
mod events;
mod gate;
mod input;
mod mouse;
mod textbox;
pub use activity::ActivityFeed;
pub use detail::{DetailView, Found};

pub use gate::{GATE_GRACE, GateKey, GateView};
pub use textbox::{BoxKey, InputKind, TextBox};

/// Transcript lines kept per feature (a long run shows its latest).
const TRANSCRIPT_CAP: usize = 5000;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    #[default]
    Summary,
    Commands,
    Issues,
    Diff,
    Transcript,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::Summary,
        Tab::Commands,
        Tab::Issues,
        Tab::Diff,
        Tab::Transcript,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Summary => "Summary",
            Tab::Commands => "Commands",
            Tab::Issues => "Issues",
            Tab::Diff => "Diff",
            Tab::Transcript => "Transcript",
        }
    }

    /// For a narrow pane, where the full titles would hide the active tab.
    pub fn short(self) -> &'static str {
        match self {
            Tab::Summary => "Sum",
            Tab::Commands => "Cmds",
            Tab::Issues => "Issues",
            Tab::Diff => "Diff",
            Tab::Transcript => "Log",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    fn shift(self, by: isize) -> Tab {
        let i = Tab::ALL.iter().position(|t| *t == self).unwrap_or(0) as isize;
        Tab::ALL[(i + by).rem_euclid(Tab::ALL.len() as isize) as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Tree,
    Detail,
    /// The activity feed: up and down read back through it.
    Activity,
}

impl Focus {
    /// The pane `by` steps away, left to right: plan, detail, activity; it stops at the
    /// ends (a focus that wraps around lands somewhere unexpected).
    pub fn shift(self, by: isize) -> Focus {
        const ORDER: [Focus; 3] = [Focus::Tree, Focus::Detail, Focus::Activity];
        let i = ORDER.iter().position(|f| *f == self).unwrap_or(0) as isize;
        ORDER[(i + by).clamp(0, ORDER.len() as isize - 1) as usize]
    }
}

#[derive(Debug, Clone)]
pub enum Overlay {
    Help,
    Gate,
    Input(TextBox),
    ConfirmQuit,
}

/// The panes as the last frame laid them out.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Panes {
    pub tree: ratatui::layout::Rect,
    /// The tree's first row shown (it scrolls to keep the selection in view).
    pub tree_offset: usize,
    pub detail: ratatui::layout::Rect,
    pub activity: ratatui::layout::Rect,
}

/// One row of the milestone → feature tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Milestone { index: usize },
    Feature { milestone: usize, index: usize },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityLine {
    pub ts: jiff::Timestamp,
    pub label: String,
    pub text: String,
    pub kind: ActivityKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    Step,
    Said,
    Good,
    Bad,
    Files,
}

/// A check the harness ran at a milestone boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckLine {
    pub round: u32,
    pub assertion_id: Option<String>,
    pub command: String,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    pub timed_out: bool,
    pub output_tail: String,
}

/// What the console asks its host to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Send(Op),
    /// Read a feature's handoff, diff (git) and latest transcript from disk into the
    /// caches.
    Load {
        feature: String,
    },
    /// Read what the feature's agent added to its transcript since the last read.
    Tail {
        feature: String,
    },
    Quit,
}

/// Who runs the mission the console shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hosting {
    /// The runner lives in this process: quitting stops it.
    InProcess,
    /// Another process runs it: quitting only detaches.
    Attached,
}

pub struct App {
    /// Which keys do what (`[keys]` applied).
    pub keys: crate::keys::Keymap,
    pub state: MissionState,
    pub hosting: Hosting,
    pub limits: Limits,
    pub now: jiff::Timestamp,
    pub selected: Option<String>,
    /// Follow the running feature until the human moves the selection.
    pub follow: bool,
    pub focus: Focus,
    /// How far the help is scrolled (it can be taller than a small terminal).
    pub help_scroll: u16,
    pub overlays: Vec<Overlay>,
    pub activity: ActivityFeed,
    /// The detail pane: tab, scroll, search.
    pub detail: DetailView,
    pub status: Option<(String, bool)>,
    /// The orchestrator's latest words, shown as its answer to steering.
    pub orchestrator_said: Option<String>,
    pub handoffs: HashMap<String, Handoff>,
    pub diffs: HashMap<String, String>,
    pub transcripts: HashMap<String, Vec<String>>,
    /// How far each feature's transcript was read: the run, the byte offset.
    transcript_read: HashMap<String, (String, u64)>,
    /// Commands of each feature's latest attempt, live.
    pub commands: HashMap<String, Vec<CommandRecord>>,
    pub agent_said: HashMap<String, String>,
    pub checks: HashMap<String, Vec<CheckLine>>,
    /// The user tester's latest results per milestone.
    pub user_tests: HashMap<String, Vec<crate::mission::TestResult>>,
    pub runner_error: Option<String>,
    /// Attached, and no live process runs the mission (killed, crashed, never resumed):
    /// the log's last word ("running") is not the truth.
    pub runner_stopped: bool,
    /// Ring and notify (BEL, OSC 9/777) when the mission comes to need a human.
    pub bell: bool,
    /// Take the mouse: wheel and clicks (`[console] mouse`).
    pub mouse: bool,
    /// Where the last frame put the panes, for the mouse.
    pub panes: std::cell::Cell<Panes>,
    /// USD per input and output token of each role's model, for the plan's estimate.
    pub prices: std::collections::BTreeMap<Role, (f64, f64)>,
    runs: HashMap<String, (Role, Option<String>)>,
    /// The latest agent run of each feature, for its transcript.
    pub feature_runs: HashMap<String, String>,
    /// The gate as the human meets it: when its keys act, how far it is scrolled.
    pub gate_view: GateView,
    /// The last archived mission's estimated and actual tokens: the estimate's record.
    pub last_estimate: Option<(u64, u64)>,
}

/// What the console says when it finds that nothing runs the mission any more.
pub const RUNNER_STOPPED: &str =
    "the runner stopped: nothing runs this mission now; `mission resume` continues it";

impl App {
    /// What the plan will likely cost (once there is a plan).
    pub fn estimate(&self) -> Option<crate::mission::estimate::Estimate> {
        crate::mission::estimate::estimate(&self.state, &|r| self.prices.get(&r).copied())
    }

    /// What the console rings for: the mission needs a human (a gate, a pause nobody
    /// will end by itself, a runner that died) or has ended. A wait for a provider's
    /// limit, which ends by itself, needs nobody.
    pub fn alert_reason(&self) -> Option<String> {
        if let Some((gate, reason)) = &self.state.gate {
            return Some(format!("{gate}: {reason}"));
        }
        if let Some(p) = &self.state.paused
            && self.state.paused_until.is_none()
        {
            return Some(format!("paused: {p}"));
        }
        if let Some(report) = &self.state.completed {
            return Some(format!("the mission completed; its report: {report}"));
        }
        if let Some(f) = &self.state.failed {
            return Some(format!("failed: {f}"));
        }
        if self.runner_stopped {
            return Some(RUNNER_STOPPED.into());
        }
        None
    }

    pub fn new(hosting: Hosting, limits: Limits) -> Self {
        App {
            keys: Default::default(),
            state: MissionState::default(),
            hosting,
            limits,
            now: jiff::Timestamp::now(),
            selected: None,
            follow: true,
            focus: Focus::Tree,
            help_scroll: 0,
            overlays: vec![],
            activity: ActivityFeed::default(),
            detail: DetailView::default(),
            status: None,
            orchestrator_said: None,
            handoffs: HashMap::new(),
            diffs: HashMap::new(),
            transcripts: HashMap::new(),
            transcript_read: HashMap::new(),
            commands: HashMap::new(),
            agent_said: HashMap::new(),
            checks: HashMap::new(),
            user_tests: HashMap::new(),
            runner_error: None,
            runner_stopped: false,
            bell: true,
            mouse: false,
            panes: Default::default(),
            prices: Default::default(),
            runs: HashMap::new(),
            feature_runs: HashMap::new(),
            gate_view: GateView::default(),
            last_estimate: None,
        }
    }

    pub fn rows(&self) -> Vec<Row> {
        let mut rows = vec![];
        for (mi, m) in self.state.milestones.iter().enumerate() {
            rows.push(Row::Milestone { index: mi });
            for fi in 0..m.features.len() {
                rows.push(Row::Feature {
                    milestone: mi,
                    index: fi,
                });
            }
        }
        rows
    }

    pub fn row_id(&self, row: &Row) -> String {
        match row {
            Row::Milestone { index } => self.state.milestones[*index].id.clone(),
            Row::Feature { milestone, index } => self.state.milestones[*milestone].features[*index]
                .plan
                .id
                .clone(),
        }
    }

    pub fn selected_index(&self) -> usize {
        let rows = self.rows();
        self.selected
            .as_ref()
            .and_then(|id| rows.iter().position(|r| &self.row_id(r) == id))
            .unwrap_or(0)
    }

    pub fn selected_row(&self) -> Option<Row> {
        self.rows().get(self.selected_index()).cloned()
    }

    pub fn push_activity(
        &mut self,
        ts: jiff::Timestamp,
        label: &str,
        text: &str,
        kind: ActivityKind,
    ) {
        self.activity.push(ActivityLine {
            ts,
            label: label.to_string(),
            text: text.to_string(),
            kind,
        });
    }

    /// The feature selected, if it is running now: the detail pane follows its agent.
    pub fn selected_running(&self) -> Option<&str> {
        let Some(Row::Feature { milestone, index }) = self.selected_row() else {
            return None;
        };
        let f = &self.state.milestones[milestone].features[index];
        (f.phase == crate::mission::state::FeaturePhase::Running).then_some(f.plan.id.as_str())
    }

    pub fn mission_running(&self) -> bool {
        self.state.completed.is_none() && self.state.failed.is_none() && !self.state.goal.is_empty()
    }

    /// Where to read `run`'s transcript for `feature` from: after what was read of the
    /// same run, else (a new attempt) from the start, its old lines dropped.
    pub fn transcript_offset(&mut self, feature: &str, run: &str) -> u64 {
        match self.transcript_read.get(feature) {
            Some((r, at)) if r == run => *at,
            _ => {
                self.transcripts.remove(feature);
                0
            }
        }
    }

    /// Adds the lines read of `run`'s transcript, up to byte `end`; a long run keeps its
    /// latest `TRANSCRIPT_CAP` lines.
    pub fn add_transcript(&mut self, feature: &str, run: &str, lines: Vec<String>, end: u64) {
        let t = self.transcripts.entry(feature.to_string()).or_default();
        t.extend(lines);
        if t.len() > TRANSCRIPT_CAP {
            t.drain(..t.len() - TRANSCRIPT_CAP);
        }
        self.transcript_read
            .insert(feature.to_string(), (run.to_string(), end));
    }

    /// Whether a text box (message, note, search) has the keys.
    pub fn typing(&self) -> bool {
        matches!(self.overlays.last(), Some(Overlay::Input(_)))
    }

    /// The runner's answer to an op, shown in the status line.
    pub fn op_reply(&mut self, ok: bool, message: String) {
        self.status = Some((message, ok));
    }
}
