//! The console's half of the fold: each event updates the mission state and what the
//! human sees of it (activity, handoffs, checks, the selection that follows the work).

use super::*;

impl App {
    /// Folds one event; returns loads the host should do (a new handoff to show).
    pub fn on_event(&mut self, rec: &EventRecord) -> Vec<Command> {
        self.state.apply(rec);
        self.observe(rec)
    }

    /// Starts from a mission's `state` and its `recent` events (already folded into it):
    /// the console shows what they say without reading the whole log.
    pub fn restore(&mut self, state: MissionState, recent: &[EventRecord]) -> Vec<Command> {
        self.state = state;
        let mut cmds = vec![];
        for rec in recent {
            cmds.extend(self.observe(rec));
        }
        // A gate opened before the recent events still waits.
        if self.state.gate.is_some() && !self.overlays.iter().any(|o| matches!(o, Overlay::Gate)) {
            self.overlays.push(Overlay::Gate);
            self.gate_view.arm();
        }
        self.gate_view.restored(self.state.last_seq);
        if self.selected.is_none() && !self.state.milestones.is_empty() {
            self.selected = Some(self.state.milestones[0].id.clone());
        }
        cmds
    }

    /// Whether the selection follows the work now: not while the human reads — a search
    /// open, the detail pane scrolled, a box being typed in — only when they look on.
    fn following(&self) -> bool {
        self.follow
            && self.detail.search.is_none()
            && !self.typing()
            && !(self.focus == Focus::Detail && self.detail.scroll > 0)
    }

    /// What the console keeps of an event besides the state: the activity line, the
    /// commands and checks it shows, the selection that follows the work.
    fn observe(&mut self, rec: &EventRecord) -> Vec<Command> {
        let mut cmds = vec![];
        if let Event::AgentStarted {
            run_id,
            role,
            feature_id,
            ..
        } = &rec.event
        {
            self.runs
                .insert(run_id.clone(), (*role, feature_id.clone()));
        }
        if let Some((mut label, text)) = describe_event(rec, &self.state) {
            // Whose line it is, from the run itself: the state's active agent is the
            // latest one, not this event's when the console restores older events.
            if let Some((role, feature)) = agent_run(&rec.event).and_then(|r| self.runs.get(r)) {
                label = feature.clone().unwrap_or_else(|| role.as_str().to_string());
            }
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
                feature_id: Some(f),
                ..
            } => {
                self.feature_runs.insert(f.clone(), run_id.clone());
                self.commands.insert(f.clone(), vec![]);
                self.transcripts.remove(f);
                if self.following() {
                    self.selected = Some(f.clone());
                    self.detail.fresh(0);
                }
                // A log on screen follows the agent that starts writing it.
                if self.selected.as_ref() == Some(f) && self.detail.tab == Tab::Transcript {
                    self.detail.scroll = u16::MAX;
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
                if self.following() {
                    self.selected = Some(milestone.clone());
                    self.detail.fresh(0);
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
            // A gate opens the approval overlay once, on top of whatever is shown — but
            // under a text box being typed in, whose keys stay the box's.
            Event::GateOpened { gate, .. }
                if self.gate_view.opened(rec.seq)
                    && !self.overlays.iter().any(|o| matches!(o, Overlay::Gate)) =>
            {
                if self.typing() {
                    let at = self.overlays.len() - 1;
                    self.overlays.insert(at, Overlay::Gate);
                    self.status = Some((
                        format!("{gate} waits for you: finish or Esc the box to see it"),
                        false,
                    ));
                } else {
                    self.overlays.push(Overlay::Gate);
                }
            }
            Event::GateApproved { .. } | Event::GateRejected { .. } => {
                self.gate_view.decided();
                self.overlays.retain(|o| {
                    !matches!(
                        o,
                        Overlay::Gate
                            | Overlay::Input(TextBox {
                                kind: InputKind::Reject,
                                ..
                            })
                    )
                });
            }
            _ => {}
        }
        if self.selected.is_none() && !self.state.milestones.is_empty() {
            self.selected = Some(self.state.milestones[0].id.clone());
        }
        // The selected feature's agent did something: its live view reads on.
        if let Some(run) = agent_run(&rec.event)
            && let Some((_, Some(f))) = self.runs.get(run)
            && self.selected.as_ref() == Some(f)
            && matches!(self.detail.tab, Tab::Summary | Tab::Transcript)
        {
            cmds.push(Command::Tail { feature: f.clone() });
        }
        cmds
    }
}

/// The agent run an event is about, for the events that grow its transcript.
fn agent_run(event: &Event) -> Option<&str> {
    match event {
        Event::AgentStarted { run_id, .. }
        | Event::AgentTurn { run_id, .. }
        | Event::ToolUsed { run_id, .. }
        | Event::CommandRan { run_id, .. }
        | Event::ContextCompacted { run_id, .. }
        | Event::AgentStuck { run_id, .. }
        | Event::AgentFinished { run_id, .. } => Some(run_id),
        _ => None,
    }
}
