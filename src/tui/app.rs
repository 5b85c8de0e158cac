//! The console's state: the same event fold as everyone else, plus what the human is
//! looking at. Keys turn into `Command`s (ops for the runner, loads, quit); rendering
//! reads this and nothing else.

use std::collections::{HashMap, VecDeque};

use tui_input::Input;

use super::keymap::Action;
use crate::mission::narrate::describe_event;
use crate::mission::{CommandRecord, Event, EventRecord, Handoff, Limits, MissionState, Op, Role};

const ACTIVITY_CAP: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
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

    fn shift(self, by: isize) -> Tab {
        let i = Tab::ALL.iter().position(|t| *t == self).unwrap_or(0) as isize;
        Tab::ALL[(i + by).rem_euclid(Tab::ALL.len() as isize) as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Tree,
    Detail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Reject,
    Message,
}

#[derive(Debug, Clone)]
pub enum Overlay {
    Help,
    Gate,
    Input { kind: InputKind, input: Input },
    ConfirmQuit,
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
    /// Read a feature's diff (git) and its latest transcript from disk into the caches.
    Load {
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
    pub state: MissionState,
    pub hosting: Hosting,
    pub limits: Limits,
    pub now: jiff::Timestamp,
    pub selected: Option<String>,
    /// Follow the running feature until the human moves the selection.
    pub follow: bool,
    pub focus: Focus,
    pub tab: Tab,
    pub scroll: u16,
    pub overlays: Vec<Overlay>,
    pub activity: VecDeque<ActivityLine>,
    pub status: Option<(String, bool)>,
    /// The orchestrator's latest words, shown as its answer to steering.
    pub orchestrator_said: Option<String>,
    pub handoffs: HashMap<String, Handoff>,
    pub diffs: HashMap<String, String>,
    pub transcripts: HashMap<String, Vec<String>>,
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
    /// USD per input and output token of each role's model, for the plan's estimate.
    pub prices: std::collections::BTreeMap<Role, (f64, f64)>,
    runs: HashMap<String, (Role, Option<String>)>,
    /// The latest agent run of each feature, for its transcript.
    pub feature_runs: HashMap<String, String>,
    gate_seen: u64,
}

impl App {
    /// What the plan will likely cost (once there is a plan).
    pub fn estimate(&self) -> Option<crate::mission::estimate::Estimate> {
        crate::mission::estimate::estimate(&self.state, &|r| self.prices.get(&r).copied())
    }

    /// What the mission waits for a human about, if anything.
    pub fn needs_human(&self) -> Option<String> {
        if let Some((gate, reason)) = &self.state.gate {
            return Some(format!("{gate}: {reason}"));
        }
        self.state.paused.as_ref().map(|p| format!("paused: {p}"))
    }

    pub fn new(hosting: Hosting, limits: Limits) -> Self {
        App {
            state: MissionState::default(),
            hosting,
            limits,
            now: jiff::Timestamp::now(),
            selected: None,
            follow: true,
            focus: Focus::Tree,
            tab: Tab::Summary,
            scroll: 0,
            overlays: vec![],
            activity: VecDeque::new(),
            status: None,
            orchestrator_said: None,
            handoffs: HashMap::new(),
            diffs: HashMap::new(),
            transcripts: HashMap::new(),
            commands: HashMap::new(),
            agent_said: HashMap::new(),
            checks: HashMap::new(),
            user_tests: HashMap::new(),
            runner_error: None,
            runner_stopped: false,
            bell: true,
            prices: Default::default(),
            runs: HashMap::new(),
            feature_runs: HashMap::new(),
            gate_seen: 0,
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

    /// Folds one event; returns loads the host should do (a new handoff to show).
    pub fn on_event(&mut self, rec: &EventRecord) -> Vec<Command> {
        let mut cmds = vec![];
        self.state.apply(rec);
        if let Some((label, text)) = describe_event(rec, &self.state) {
            let kind = match &rec.event {
                Event::AgentTurn { .. } | Event::MessageSaid { .. } => ActivityKind::Said,
                Event::FeatureCommitted { .. }
                | Event::MilestonePassed { .. }
                | Event::MissionCompleted { .. } => ActivityKind::Good,
                Event::FeatureFailed { .. } | Event::MissionFailed { .. } => ActivityKind::Bad,
                Event::ValidationFinished { passed: false, .. } => ActivityKind::Bad,
                Event::CommandRan { exit_code, .. } if *exit_code != Some(0) => ActivityKind::Bad,
                Event::CheckRan { exit_code, .. } if *exit_code != Some(0) => ActivityKind::Bad,
                Event::ReviewSubmitted { pass: false, .. } => ActivityKind::Bad,
                Event::FilesChanged { .. } => ActivityKind::Files,
                _ => ActivityKind::Step,
            };
            self.push_activity(rec.ts, &label, &text, kind);
        }
        self.now = self.now.max(rec.ts);
        match &rec.event {
            Event::AgentStarted {
                run_id,
                role,
                feature_id,
                ..
            } => {
                self.runs
                    .insert(run_id.clone(), (*role, feature_id.clone()));
                if let Some(f) = feature_id {
                    self.feature_runs.insert(f.clone(), run_id.clone());
                    self.commands.insert(f.clone(), vec![]);
                    self.transcripts.remove(f);
                    if self.follow {
                        self.selected = Some(f.clone());
                    }
                }
            }
            Event::AgentTurn {
                run_id,
                text: Some(text),
                ..
            } => match self.runs.get(run_id) {
                Some((Role::Orchestrator, _)) => self.orchestrator_said = Some(text.clone()),
                Some((_, Some(f))) => {
                    self.agent_said.insert(f.clone(), text.clone());
                }
                _ => {}
            },
            Event::CommandRan {
                run_id,
                command,
                exit_code,
                duration_ms,
                timed_out,
                restored,
            } => {
                if let Some((_, Some(f))) = self.runs.get(run_id) {
                    self.commands
                        .entry(f.clone())
                        .or_default()
                        .push(CommandRecord {
                            command: command.clone(),
                            exit_code: *exit_code,
                            duration_ms: *duration_ms,
                            timed_out: *timed_out,
                            restored: restored.clone(),
                        });
                }
            }
            Event::FeatureCommitted { feature_id, .. } => {
                cmds.push(Command::Load {
                    feature: feature_id.clone(),
                });
            }
            Event::ValidationStarted { milestone, round } => {
                // A round redone after a crash replaces its earlier, partial checks.
                self.checks
                    .entry(milestone.clone())
                    .or_default()
                    .retain(|c| c.round != *round);
                if self.follow {
                    self.selected = Some(milestone.clone());
                }
            }
            Event::CheckRan {
                milestone,
                round,
                assertion_id,
                command,
                exit_code,
                duration_ms,
                timed_out,
                output_tail,
            } => {
                self.checks
                    .entry(milestone.clone())
                    .or_default()
                    .push(CheckLine {
                        round: *round,
                        assertion_id: assertion_id.clone(),
                        command: command.clone(),
                        exit_code: *exit_code,
                        duration_ms: *duration_ms,
                        timed_out: *timed_out,
                        output_tail: output_tail.clone(),
                    });
            }
            Event::UserTestReported {
                milestone, results, ..
            } => {
                self.user_tests.insert(milestone.clone(), results.clone());
            }
            Event::GateOpened { .. } => {
                // A gate opens the approval overlay once, on top of whatever is shown.
                if rec.seq > self.gate_seen
                    && !self.overlays.iter().any(|o| matches!(o, Overlay::Gate))
                {
                    self.overlays.push(Overlay::Gate);
                }
                self.gate_seen = rec.seq;
            }
            Event::GateApproved { .. } | Event::GateRejected { .. } => {
                // The gate's scroll was the plan's, not the detail pane's.
                self.scroll = 0;
                self.overlays.retain(|o| {
                    !matches!(
                        o,
                        Overlay::Gate
                            | Overlay::Input {
                                kind: InputKind::Reject,
                                ..
                            }
                    )
                });
            }
            _ => {}
        }
        if self.selected.is_none() && !self.state.milestones.is_empty() {
            self.selected = Some(self.state.milestones[0].id.clone());
        }
        cmds
    }

    pub fn push_activity(
        &mut self,
        ts: jiff::Timestamp,
        label: &str,
        text: &str,
        kind: ActivityKind,
    ) {
        self.activity.push_back(ActivityLine {
            ts,
            label: label.to_string(),
            text: text.to_string(),
            kind,
        });
        while self.activity.len() > ACTIVITY_CAP {
            self.activity.pop_front();
        }
    }

    fn mission_running(&self) -> bool {
        self.state.completed.is_none() && self.state.failed.is_none() && !self.state.goal.is_empty()
    }

    /// Handles a key; the top overlay gets it first, and some keys fall through.
    pub fn on_key(&mut self, key: ratatui::crossterm::event::KeyEvent) -> Vec<Command> {
        use ratatui::crossterm::event::KeyCode;
        let action = super::keymap::action(key);
        match self.overlays.last_mut() {
            Some(Overlay::Input { kind, input }) => {
                match key.code {
                    KeyCode::Esc => {
                        self.overlays.pop();
                    }
                    KeyCode::Enter => {
                        let text = input.value().trim().to_string();
                        if text.is_empty() {
                            self.status =
                                Some(("write something first (Esc cancels)".into(), false));
                            return vec![];
                        }
                        let op = match kind {
                            InputKind::Reject => Op::Reject { note: text },
                            InputKind::Message => Op::Say { text },
                        };
                        self.overlays.pop();
                        return vec![Command::Send(op)];
                    }
                    _ => {
                        use tui_input::backend::crossterm::EventHandler;
                        input.handle_event(&ratatui::crossterm::event::Event::Key(key));
                    }
                }
                return vec![];
            }
            Some(Overlay::ConfirmQuit) => {
                self.overlays.pop();
                return match key.code {
                    KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => vec![Command::Quit],
                    _ => vec![],
                };
            }
            Some(Overlay::Help) => {
                if matches!(action, Some(Action::Back | Action::Help | Action::Quit)) {
                    self.overlays.pop();
                }
                return vec![];
            }
            Some(Overlay::Gate) => match action {
                Some(Action::Back) => {
                    self.overlays.pop();
                    return vec![];
                }
                Some(Action::Up) => {
                    self.scroll_by(-1);
                    return vec![];
                }
                Some(Action::Down) => {
                    self.scroll_by(1);
                    return vec![];
                }
                Some(Action::PageUp) => {
                    self.scroll_by(-10);
                    return vec![];
                }
                Some(Action::PageDown) => {
                    self.scroll_by(10);
                    return vec![];
                }
                // Approve, reject, message, pause, help and quit fall through.
                _ => {}
            },
            None => {}
        }
        match action {
            Some(a) => self.on_action(a),
            None => vec![],
        }
    }

    fn on_action(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Up | Action::Down | Action::PageUp | Action::PageDown => {
                let step: isize = match action {
                    Action::Up => -1,
                    Action::Down => 1,
                    Action::PageUp => -10,
                    _ => 10,
                };
                if self.focus == Focus::Detail
                    || matches!(action, Action::PageUp | Action::PageDown)
                {
                    self.scroll_by(step);
                    return vec![];
                }
                self.move_selection(step)
            }
            Action::Open => {
                self.focus = if self.focus == Focus::Tree {
                    Focus::Detail
                } else {
                    Focus::Tree
                };
                self.load_selected()
            }
            Action::NextTab | Action::PrevTab => {
                self.tab = self
                    .tab
                    .shift(if action == Action::NextTab { 1 } else { -1 });
                self.scroll = 0;
                self.load_selected()
            }
            Action::TogglePause => {
                if !self.mission_running() {
                    return vec![];
                }
                vec![Command::Send(if self.state.paused.is_some() {
                    Op::Unpause
                } else {
                    Op::Pause
                })]
            }
            Action::Approve => {
                if self.state.gate.is_some() {
                    self.overlays.retain(|o| !matches!(o, Overlay::Gate));
                    vec![Command::Send(Op::Approve)]
                } else {
                    self.status = Some(("nothing is waiting for approval".into(), false));
                    vec![]
                }
            }
            Action::Reject => {
                if self.state.gate.is_some() {
                    self.overlays.push(Overlay::Input {
                        kind: InputKind::Reject,
                        input: Input::default(),
                    });
                } else {
                    self.status = Some(("nothing is waiting for approval".into(), false));
                }
                vec![]
            }
            Action::Message => {
                if self.mission_running() {
                    self.overlays.push(Overlay::Input {
                        kind: InputKind::Message,
                        input: Input::default(),
                    });
                }
                vec![]
            }
            Action::Help => {
                self.overlays.push(Overlay::Help);
                vec![]
            }
            Action::Back => {
                self.focus = Focus::Tree;
                vec![]
            }
            Action::Quit => {
                if self.hosting == Hosting::InProcess
                    && self.mission_running()
                    && self.runner_error.is_none()
                {
                    self.overlays.push(Overlay::ConfirmQuit);
                    vec![]
                } else {
                    vec![Command::Quit]
                }
            }
        }
    }

    fn scroll_by(&mut self, by: isize) {
        self.scroll = (self.scroll as isize + by).clamp(0, u16::MAX as isize) as u16;
    }

    fn move_selection(&mut self, by: isize) -> Vec<Command> {
        let rows = self.rows();
        if rows.is_empty() {
            return vec![];
        }
        let i = (self.selected_index() as isize + by).clamp(0, rows.len() as isize - 1) as usize;
        self.selected = Some(self.row_id(&rows[i]));
        self.follow = false;
        self.scroll = 0;
        self.load_selected()
    }

    fn load_selected(&self) -> Vec<Command> {
        match self.selected_row() {
            Some(Row::Feature { milestone, index })
                if matches!(self.tab, Tab::Diff | Tab::Transcript) =>
            {
                vec![Command::Load {
                    feature: self.state.milestones[milestone].features[index]
                        .plan
                        .id
                        .clone(),
                }]
            }
            _ => vec![],
        }
    }

    /// The runner's answer to an op, shown in the status line.
    pub fn op_reply(&mut self, ok: bool, message: String) {
        self.status = Some((message, ok));
    }
}
