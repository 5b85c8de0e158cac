//! The fold: every event changes the state one way, the same way for the runner, the
//! console, `status` and a resumed runner.

use super::*;

impl MissionState {
    pub fn apply(&mut self, rec: &EventRecord) {
        self.events += 1;
        self.last_seq = rec.seq;
        self.last_event_at = Some(rec.ts);
        match &rec.event {
            Event::MissionStarted {
                goal,
                slug,
                branch,
                base_commit,
                worktree,
            } => {
                self.goal = goal.clone();
                self.slug = slug.clone();
                self.branch = branch.clone();
                self.base_commit = base_commit.clone();
                self.worktree = worktree.clone();
                self.started_at = Some(rec.ts);
            }
            Event::MissionResumed { .. } => {
                self.active = None;
                self.running_agents.clear();
                // Running `mission resume` is the human's answer to whatever paused it.
                self.paused = None;
                // A step in flight when the runner died is redone from scratch.
                for m in &mut self.milestones {
                    for f in &mut m.features {
                        if f.phase == FeaturePhase::Running {
                            f.phase = FeaturePhase::Pending;
                        }
                    }
                    if m.phase == MilestonePhase::Validating {
                        m.phase = MilestonePhase::Running;
                        m.validating_round = None;
                    }
                }
            }
            Event::AgentStarted {
                run_id,
                role,
                model,
                task,
                feature_id,
                external,
            } => {
                if *role == Role::Orchestrator {
                    self.messages_offered_upto = rec.seq;
                }
                if *external {
                    self.budget.unpriced_runs += 1;
                }
                self.running_agents.push(ActiveAgent {
                    run_id: run_id.clone(),
                    role: *role,
                    model: model.clone(),
                    task: task.clone(),
                    feature_id: feature_id.clone(),
                });
                self.active = self.running_agents.last().cloned();
            }
            Event::AgentTurn { role, usage, .. } => {
                self.budget.total.add(usage);
                self.budget.per_role.entry(*role).or_default().add(usage);
            }
            Event::ReviewSubmitted {
                feature_id,
                reviewer,
                pass,
                findings,
                round,
                ..
            } => {
                if let Some(f) = self.feature_mut(feature_id) {
                    f.reviews.push(Review {
                        round: *round,
                        reviewer: reviewer.clone(),
                        pass: *pass,
                        findings: findings.clone(),
                    });
                }
            }
            Event::UserTestReported { .. } => {}
            Event::BaselineRan {
                assertion_id,
                command,
                exit_code,
                ..
            } => {
                self.baseline.retain(|(id, _, _)| id != assertion_id);
                self.baseline
                    .push((assertion_id.clone(), command.clone(), *exit_code));
            }
            Event::ToolUsed { .. }
            | Event::CommandRan { .. }
            | Event::CheckRan { .. }
            | Event::ContextCompacted { .. }
            | Event::NotifyFailed { .. }
            | Event::McpServerFailed { .. }
            | Event::AgentStuck { .. }
            | Event::ModelRetried { .. } => {}
            Event::AgentFinished {
                run_id, role, ok, ..
            } => {
                // Messages count as read once an orchestrator run that saw them decided.
                if *role == Role::Orchestrator && *ok {
                    self.messages_read_upto = self.messages_offered_upto;
                }
                self.running_agents.retain(|a| &a.run_id != run_id);
                self.active = self.running_agents.last().cloned();
            }
            Event::PlanSubmitted { plan } => {
                self.plan = Some(plan.clone());
                self.plan_approved = false;
                self.milestones = plan
                    .milestones
                    .iter()
                    .map(|m| MilestoneState {
                        id: m.id.clone(),
                        title: m.title.clone(),
                        phase: MilestonePhase::Pending,
                        features: m
                            .features
                            .iter()
                            .map(|f| FeatureState::new(f.clone(), false))
                            .collect(),
                        fix_rounds: 0,
                        extra_rounds: 0,
                        validating_round: None,
                        last_validation: None,
                        human_notes: vec![],
                    })
                    .collect();
                self.assertions = plan
                    .assertions
                    .iter()
                    .map(|a| AssertionState {
                        assertion: a.clone(),
                        verdict: Verdict::Pending,
                        evidence: None,
                    })
                    .collect();
            }
            Event::GateOpened { gate, reason } => {
                self.gate = Some((gate.clone(), reason.clone()));
                self.gate_id = rec.seq;
            }
            // A decision about a gate that is not the open one (two humans racing, a
            // stale client) changes nothing.
            // (`auto` approvals are the runner's own, given without opening the gate.)
            Event::GateApproved {
                gate, auto: false, ..
            }
            | Event::GateRejected { gate, .. }
                if self.gate.as_ref().is_none_or(|(open, _)| open != gate) => {}
            Event::GateApproved { gate, .. } => {
                self.gate = None;
                match gate {
                    Gate::Plan => {
                        self.plan_approved = true;
                        // What planning spent when the plan was approved: the estimate's
                        // calibration, fixed from here on.
                        self.planning_tokens = Some(self.planning_spent());
                    }
                    Gate::Amendment { .. } => {
                        if let Some((_, changes)) = self.pending_amendment.take() {
                            self.amend(changes);
                        }
                    }
                    // Approving a milestone, or an escalation on one, accepts it as it is.
                    Gate::Milestone { milestone }
                    | Gate::Escalation {
                        milestone,
                        feature: None,
                    } => {
                        if let Some(m) = self.milestone_mut(milestone) {
                            m.phase = MilestonePhase::Passed;
                        }
                    }
                    // Approving a feature escalation accepts it as it is: failed, skipped.
                    Gate::Escalation {
                        feature: Some(feat),
                        ..
                    } => {
                        if let Some(f) = self.feature_mut(feat) {
                            f.skipped = true;
                        }
                    }
                }
            }
            Event::GateRejected { gate, note } => {
                self.gate = None;
                match gate {
                    Gate::Plan => {
                        self.plan_rejections.push(note.clone());
                        self.rejected_plan = self.plan.take();
                        self.plan_approved = false;
                        self.contract_frozen = false;
                        self.milestones.clear();
                        self.assertions.clear();
                    }
                    Gate::Amendment { milestone } => {
                        self.pending_amendment = None;
                        if let Some(m) = self.milestone_mut(milestone) {
                            m.human_notes
                                .push(format!("your contract amendment was rejected: {note}"));
                        }
                    }
                    Gate::Milestone { milestone } => {
                        if let Some(m) = self.milestone_mut(milestone) {
                            m.human_notes.push(note.clone());
                            m.last_validation = Some(ValidationResult {
                                round: m.fix_rounds,
                                passed: false,
                                failures: vec![Failure {
                                    assertion_id: None,
                                    check: "human review".into(),
                                    evidence: note.clone(),
                                }],
                            });
                            m.extra_rounds += 1;
                        }
                    }
                    Gate::Escalation { milestone, feature } => {
                        if let Some(feat) = feature {
                            if let Some(f) = self.feature_mut(feat) {
                                f.extra_attempts += 1;
                                f.last_failure = Some(format!("human note: {note}"));
                            }
                        } else if let Some(m) = self.milestone_mut(milestone) {
                            m.human_notes.push(note.clone());
                            m.extra_rounds += 1;
                        }
                    }
                }
            }
            Event::ContractFrozen { .. } => self.contract_frozen = true,
            Event::FeatureStarted {
                feature_id,
                attempt,
                ..
            } => {
                let fid = feature_id.clone();
                if let Some(f) = self.feature_mut(&fid) {
                    f.phase = FeaturePhase::Running;
                    f.attempts = *attempt;
                }
                if let Some(m) = self
                    .milestones
                    .iter_mut()
                    .find(|m| m.features.iter().any(|f| f.plan.id == fid))
                {
                    m.phase = MilestonePhase::Running;
                }
            }
            Event::HandoffSubmitted { .. } => {}
            Event::FeatureCommitted {
                feature_id, commit, ..
            } => {
                if let Some(f) = self.feature_mut(feature_id) {
                    f.phase = FeaturePhase::Done;
                    f.commit = Some(commit.clone());
                }
            }
            Event::FeatureFailed {
                feature_id, reason, ..
            } => {
                if let Some(f) = self.feature_mut(feature_id) {
                    f.phase = FeaturePhase::Failed;
                    f.failures += 1;
                    f.last_failure = Some(reason.clone());
                }
            }
            Event::ValidationStarted { milestone, round } => {
                if let Some(m) = self.milestone_mut(milestone) {
                    m.phase = MilestonePhase::Validating;
                    m.validating_round = Some(*round);
                }
            }
            Event::ValidationFinished {
                milestone,
                round,
                passed,
                failures,
                checked,
            } => {
                let ids: Vec<String> = self
                    .milestone_assertions(milestone)
                    .iter()
                    .map(|a| a.id.clone())
                    .collect();
                for a in &mut self.assertions {
                    if !ids.contains(&a.assertion.id) {
                        continue;
                    }
                    if let Some(fail) = failures
                        .iter()
                        .find(|f| f.assertion_id.as_deref() == Some(&a.assertion.id))
                    {
                        a.verdict = Verdict::Failed;
                        a.evidence = Some(fail.evidence.clone());
                    } else if checked.contains(&a.assertion.id)
                        // Logs written before `checked` existed: commands passed.
                        || (checked.is_empty() && a.assertion.kind == crate::mission::AssertionKind::Command)
                    {
                        a.verdict = Verdict::Passed;
                        a.evidence = Some(format!("passed in round {round}"));
                    }
                }
                if let Some(m) = self.milestone_mut(milestone) {
                    m.validating_round = None;
                    m.phase = if *passed {
                        MilestonePhase::Running
                    } else {
                        MilestonePhase::Failed
                    };
                    m.last_validation = Some(ValidationResult {
                        round: *round,
                        passed: *passed,
                        failures: failures.clone(),
                    });
                }
            }
            Event::FixesSubmitted {
                milestone,
                features,
                ..
            } => {
                if let Some(m) = self.milestone_mut(milestone) {
                    m.fix_rounds += 1;
                    m.human_notes.clear();
                    m.phase = MilestonePhase::Running;
                    for f in features {
                        m.features.push(FeatureState::new(f.clone(), true));
                    }
                }
            }
            Event::ContractAmendmentProposed {
                milestone,
                assertions,
                ..
            } => {
                self.pending_amendment = Some((milestone.clone(), assertions.clone()));
            }
            Event::MilestonePassed { milestone, .. } => {
                if let Some(m) = self.milestone_mut(milestone) {
                    m.phase = MilestonePhase::Passed;
                }
            }
            Event::Paused { reason } => {
                self.paused = Some(reason.clone());
                self.paused_until = None;
            }
            Event::Unpaused => {
                self.paused = None;
                self.paused_until = None;
            }
            Event::RateLimited {
                model,
                message,
                until,
                auto_resume,
            } => {
                self.paused = Some(super::rate_limit_reason(
                    model,
                    message,
                    *until,
                    *auto_resume,
                ));
                self.paused_until = auto_resume.then_some(*until);
            }
            Event::MessageSaid { text } => self.messages.push((rec.seq, text.clone())),
            // An ended mission waits for nothing: a pause or a gate left open says no more.
            Event::MissionCompleted { report } => {
                self.completed = Some(report.clone());
                self.end();
            }
            Event::MissionFailed { reason } => {
                self.failed = Some(reason.clone());
                self.end();
            }
            // For the activity feed and the log; the mission's state does not change.
            Event::FilesChanged { .. } => {}
        }
    }

    fn end(&mut self) {
        self.active = None;
        self.running_agents.clear();
        self.paused = None;
        self.paused_until = None;
        self.gate = None;
    }
}
