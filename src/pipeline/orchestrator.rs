//! The orchestrator's two decisions: the plan (with its contract), and corrective
//! features when a milestone fails validation.

use super::{Runner, StepStop, agents_md};
use crate::agent::tools::{Access, fs, submit};
use crate::agent::{AgentError, StepTool};
use crate::llm::ToolSpec;
use crate::mission::{Event, Gate, Role, plan::check_fulfills, plan::valid_id};

pub(super) async fn plan(r: &Runner) -> Result<(), StepStop> {
    let (goal, rejections, messages) = r.hub.read(|s| {
        (
            s.goal.clone(),
            s.plan_rejections.clone(),
            s.unread_messages(),
        )
    });
    let mut notes = String::new();
    for n in &rejections {
        notes.push_str(&format!("The human rejected an earlier plan: {n}\n"));
    }
    for m in &messages {
        notes.push_str(&format!("Message from the human: {m}\n"));
    }
    if !notes.is_empty() {
        notes.push('\n');
    }
    let files = fs::list_files(
        &r.layout.work,
        fs::ListArgs {
            path: None,
            glob: None,
        },
    )
    .unwrap_or_else(|e| e);
    let agents = agents_md(&r.layout);
    let task = r.prompts.render(
        "plan_task",
        &[
            ("goal", &goal),
            ("notes", &notes),
            ("files", &files),
            ("agents", &agents),
        ],
    );
    let run_id = r.run_id(Role::Orchestrator, "plan");
    let toolbox = r.toolbox(Role::Orchestrator, Access::ReadAndRun).await;
    let baseline = super::baseline::Baseline::new(r);
    let explore = Explore {
        r,
        goal: &goal,
        files: &files,
    };
    let result = {
        let mut run = r.agent(
            Role::Orchestrator,
            &run_id,
            "orchestrator",
            task,
            &toolbox,
            submit::submit_plan(),
        )?;
        run.step_tool = Some(&explore);
        run
    }
    .run_vetted(submit::parse_plan, &baseline)
    .await?;
    r.hub.emit(Event::PlanSubmitted { plan: result.value })?;
    Ok(())
}

pub(super) async fn fix(r: &Runner, milestone: &str, round: u32) -> Result<(), StepStop> {
    let st = r.hub.state();
    let Some(m) = st.milestone(milestone) else {
        return Err(StepStop::Pause(format!(
            "milestone {milestone} vanished from the plan"
        )));
    };
    let failures = m
        .last_validation
        .as_ref()
        .map(|v| {
            v.failures
                .iter()
                .map(|f| {
                    let which = match &f.assertion_id {
                        Some(id) => {
                            let text = st
                                .plan
                                .as_ref()
                                .and_then(|p| p.assertion(id))
                                .map_or("", |a| a.text.as_str());
                            format!("assertion {id} ({text})")
                        }
                        None => "validation command".to_string(),
                    };
                    format!(
                        "- {which}: `{}`\n  evidence:\n{}\n",
                        f.check,
                        indent(&f.evidence, "    ")
                    )
                })
                .collect::<String>()
        })
        .unwrap_or_default();
    let handoffs = handoff_digest(r, m.features.iter().map(|f| f.plan.id.as_str()));
    let mut notes = String::new();
    for n in &m.human_notes {
        notes.push_str(&format!("Note from the human: {n}\n"));
    }
    for msg in st.unread_messages() {
        notes.push_str(&format!("Message from the human: {msg}\n"));
    }
    if !notes.is_empty() {
        notes.push('\n');
    }
    let round_s = round.to_string();
    let task = r.prompts.render(
        "fix_task",
        &[
            ("round", &round_s),
            ("milestone_id", &m.id),
            ("milestone_title", &m.title),
            ("goal", &st.goal),
            ("failures", &failures),
            ("handoffs", &handoffs),
            ("notes", &notes),
        ],
    );
    let existing: Vec<String> = st
        .milestones
        .iter()
        .flat_map(|m| {
            std::iter::once(m.id.clone()).chain(m.features.iter().map(|f| f.plan.id.clone()))
        })
        .chain(st.assertions.iter().map(|a| a.assertion.id.clone()))
        .collect();
    let assertions: Vec<_> = st.assertions.iter().map(|a| a.assertion.clone()).collect();
    let parse = |v: &serde_json::Value| {
        let fixes = submit::parse_fixes(v)?;
        let mut assertions = assertions.clone();
        for a in &fixes.amendments {
            if !valid_id(&a.id) {
                return Err(format!(
                    "invalid amendment: id `{}` may only hold letters, digits, '-' and '_'",
                    a.id
                ));
            }
            if a.kind == crate::mission::AssertionKind::Command
                && a.command.as_deref().is_none_or(|c| c.trim().is_empty())
            {
                return Err(format!(
                    "invalid amendment: `{}` is a command assertion without a command",
                    a.id
                ));
            }
            assertions.retain(|x| x.id != a.id);
            assertions.push(a.clone());
        }
        let mut seen = existing.clone();
        for f in &fixes.features {
            if !valid_id(&f.id) {
                return Err(format!(
                    "invalid fixes: id `{}` may only hold letters, digits, '-' and '_'",
                    f.id
                ));
            }
            if seen.contains(&f.id) {
                return Err(format!("invalid fixes: id `{}` is already used", f.id));
            }
            seen.push(f.id.clone());
            check_fulfills(f, &assertions).map_err(|e| format!("invalid fixes: {e}"))?;
        }
        Ok(fixes)
    };
    let run_id = r.run_id(Role::Orchestrator, &format!("fix-{milestone}-r{round}"));
    let toolbox = r.toolbox(Role::Orchestrator, Access::ReadAndRun).await;
    let result = r
        .agent(
            Role::Orchestrator,
            &run_id,
            "orchestrator",
            task,
            &toolbox,
            submit::submit_fixes(),
        )?
        .run(parse)
        .await?;
    let fixes = result.value;
    if !fixes.amendments.is_empty() {
        r.hub.emit(Event::ContractAmendmentProposed {
            milestone: milestone.to_string(),
            assertions: fixes.amendments.clone(),
            reason: fixes.note.clone(),
        })?;
    }
    if fixes.features.is_empty() && fixes.amendments.is_empty() {
        r.hub.emit(Event::GateOpened {
            gate: Gate::Escalation {
                milestone: milestone.to_string(),
                feature: None,
            },
            reason: format!(
                "the orchestrator cannot fix {milestone} by itself: {}",
                if fixes.note.is_empty() {
                    "no reason given"
                } else {
                    &fixes.note
                }
            ),
        })?;
        return Ok(());
    }
    // An amendment's gate is opened by the loop (`Step::AskAmendment`), crash or not.
    r.hub.emit(Event::FixesSubmitted {
        milestone: milestone.to_string(),
        round,
        features: fixes.features,
        note: fixes.note,
    })?;
    Ok(())
}

/// Short summaries of the handoffs recorded for these features.
pub(super) fn handoff_digest<'a>(r: &Runner, ids: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for id in ids {
        let Ok(Some(h)) = crate::store::read_handoff(&r.layout, id) else {
            continue;
        };
        let cmds: Vec<String> = h
            .commands
            .iter()
            .map(|c| {
                format!(
                    "`{}` → {}",
                    c.command,
                    crate::mission::narrate::exit(c.exit_code, c.timed_out)
                )
            })
            .collect();
        out.push_str(&format!(
            "- {id} ({}, commit {}): {}\n  files: {}\n  commands: {}\n",
            h.report.status.as_str(),
            h.commit.chars().take(8).collect::<String>(),
            h.report.summary,
            h.files_changed.join(", "),
            if cmds.is_empty() {
                "none".into()
            } else {
                cmds.join("; ")
            }
        ));
        for i in &h.report.issues {
            out.push_str(&format!("  issue: {i}\n"));
        }
        for d in &h.report.deviations {
            out.push_str(&format!("  deviation: {d}\n"));
        }
    }
    if out.is_empty() {
        out.push_str("(none yet)\n");
    }
    out
}

pub(super) fn indent(text: &str, pad: &str) -> String {
    text.lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `explore {questions}`: read-only explorer agents, one per question, in parallel; their
/// findings come back to the orchestrator as the tool's result.
struct Explore<'a> {
    r: &'a Runner,
    goal: &'a str,
    files: &'a str,
}

const MAX_QUESTIONS: usize = 4;

#[async_trait::async_trait]
impl StepTool for Explore<'_> {
    fn spec(&self) -> ToolSpec {
        crate::agent::tools::spec(
            "explore",
            "Before planning, send read-only explorer agents to research questions about the repository, in parallel (at most 4). Returns their findings.",
            serde_json::json!({
                "type": "object",
                "properties": {"questions": {"type": "array", "items": {"type": "string"}}},
                "required": ["questions"]
            }),
        )
    }

    async fn call(&self, args: &serde_json::Value) -> (String, bool) {
        let questions: Vec<String> = args
            .get("questions")
            .and_then(|q| q.as_array())
            .map(|q| {
                q.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if questions.is_empty() {
            return (
                "invalid arguments for explore: give `questions`, a list of strings".into(),
                true,
            );
        }
        type Job<'b> = std::pin::Pin<
            Box<
                dyn std::future::Future<Output = (usize, String, Result<String, AgentError>)>
                    + Send
                    + 'b,
            >,
        >;
        let jobs: Vec<Job<'_>> = questions
            .iter()
            .take(MAX_QUESTIONS)
            .enumerate()
            .map(|(i, q)| {
                Box::pin(async move { (i, q.clone(), explore_one(self, i, q).await) }) as Job<'_>
            })
            .collect();
        let mut answers: Vec<(usize, String, Result<String, AgentError>)> =
            futures_util::StreamExt::collect(futures_util::StreamExt::buffer_unordered(
                futures_util::stream::iter(jobs),
                MAX_QUESTIONS,
            ))
            .await;
        answers.sort_by_key(|(i, ..)| *i);
        let text = answers
            .into_iter()
            .map(|(_, q, a)| match a {
                Ok(f) => format!("## {q}\n{f}\n"),
                Err(e) => format!("## {q}\n(the explorer could not answer: {e})\n"),
            })
            .collect::<String>();
        (text, false)
    }
}

async fn explore_one(e: &Explore<'_>, i: usize, question: &str) -> Result<String, AgentError> {
    let r = e.r;
    let task = format!(
        "Question: {question}\n\nMission goal: {}\n\nRepository files:\n{}\n\n{}Answer by reading the repository, then call `submit_findings`.",
        e.goal,
        e.files,
        agents_md(&r.layout)
    );
    let run_id = r.run_id(Role::Explorer, &format!("q{}", i + 1));
    let toolbox = r.toolbox(Role::Explorer, Access::ReadAndRun).await;
    let ending = crate::agent::tools::spec(
        "submit_findings",
        "End with what you found: concrete files, functions, commands and risks.",
        serde_json::json!({"type": "object", "properties": {"findings": {"type": "string"}}, "required": ["findings"]}),
    );
    let result = r
        .agent(Role::Explorer, &run_id, "explorer", task, &toolbox, ending)
        .map_err(|e| AgentError::Llm(crate::llm::LlmError::Unavailable(e.to_string())))?
        .run(|v| {
            v.get("findings")
                .and_then(|f| f.as_str())
                .map(str::to_owned)
                .ok_or_else(|| "invalid findings: give `findings` as a string".to_string())
        })
        .await?;
    Ok(result.value)
}
