//! One review agent per newly committed feature, all at once, after the harness's own
//! handoff check.

use super::*;

pub(super) fn read_handoff(r: &Runner, feature: &str) -> Option<Handoff> {
    crate::store::read_handoff(&r.layout, feature)
        .ok()
        .flatten()
}

/// Has this feature's review been answered? A failed review counts as answered once a
/// fix round followed it: the corrective features carry the fix and get reviews of their own.
pub(super) fn review_settled(f: &FeatureState, m: &MilestoneState) -> bool {
    f.reviews.iter().all(|r| r.pass || r.round < m.fix_rounds)
}

pub(super) async fn reviews(
    r: &Runner,
    milestone: &str,
    round: u32,
    failures: &mut Vec<Failure>,
    checked: &mut Vec<String>,
) -> Result<(), StepStop> {
    let st = r.hub.state();
    let Some(m) = st.milestone(milestone) else {
        return Ok(());
    };
    let done: Vec<&FeatureState> = m
        .features
        .iter()
        .filter(|f| f.phase == FeaturePhase::Done && !f.skipped)
        .collect();
    // The harness's own check first, once per feature: cheap, and evidence for reviewers.
    let verdict_commands = verdict_commands(r, &st);
    for f in done
        .iter()
        .filter(|f| !f.reviews.iter().any(|rv| rv.reviewer.is_harness()))
    {
        let Some(h) = read_handoff(r, &f.plan.id) else {
            continue;
        };
        let findings = handoff_findings(&h, &verdict_commands);
        r.hub.emit(Event::ReviewSubmitted {
            milestone: milestone.to_string(),
            round,
            feature_id: f.plan.id.clone(),
            reviewer: crate::mission::Reviewer::Harness,
            pass: !findings.iter().any(|x| x.severity == Severity::High),
            findings,
        })?;
    }
    // Features no review agent has read yet (a resumed validation picks up the rest).
    let fresh: Vec<&FeatureState> = done
        .iter()
        .copied()
        .filter(|f| !f.reviews.iter().any(|rv| !rv.reviewer.is_harness()))
        .collect();
    if r.clients.contains_key(&Role::Reviewer) {
        let limit = r.config.validation.review_concurrency.max(1);
        // Boxed up front: a closure inside the stream would trip the `Send` check of the
        // spawned runner (rust-lang/rust#102211).
        type ReviewFuture<'a> =
            std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StepStop>> + Send + 'a>>;
        let jobs: Vec<ReviewFuture<'_>> = fresh
            .iter()
            .map(|f| Box::pin(review_one(r, m, f, round)) as ReviewFuture<'_>)
            .collect();
        let results: Vec<Result<(), StepStop>> = futures_util::stream::iter(jobs)
            .buffer_unordered(limit)
            .collect()
            .await;
        for res in results {
            res?;
        }
    }
    // Verdicts from the state as it is now, reviews included.
    let st = r.hub.state();
    let Some(m) = st.milestone(milestone) else {
        return Ok(());
    };
    for f in m.features.iter().filter(|f| !f.skipped) {
        let failing: Vec<_> = f
            .reviews
            .iter()
            .filter(|rv| !rv.pass && rv.round >= m.fix_rounds)
            .collect();
        // The high findings, or everything a failing review said when none is high.
        let mut open: Vec<&Finding> = failing
            .iter()
            .flat_map(|rv| rv.findings.iter().filter(|x| x.severity == Severity::High))
            .collect();
        if open.is_empty() {
            open = failing.iter().flat_map(|rv| rv.findings.iter()).collect();
        }
        if open.is_empty() && review_settled(f, m) {
            continue;
        }
        let review_assertion = f.plan.fulfills.iter().find(|id| {
            st.plan
                .as_ref()
                .and_then(|p| p.assertion(id))
                .is_some_and(|a| a.kind == AssertionKind::Review)
        });
        failures.push(Failure {
            assertion_id: review_assertion.cloned(),
            check: format!("review of {}", f.plan.id),
            evidence: open
                .iter()
                .map(|x| match &x.path {
                    Some(p) => format!("[{}] {p}: {}", x.severity, x.message),
                    None => format!("[{}] {}", x.severity, x.message),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    for a in st
        .milestone_assertions(milestone)
        .into_iter()
        .filter(|a| a.kind == AssertionKind::Review)
    {
        let by: Vec<&FeatureState> = m
            .features
            .iter()
            .filter(|f| f.plan.fulfills.contains(&a.id) && !f.skipped)
            .collect();
        let reviewed = by
            .iter()
            .all(|f| f.reviews.iter().any(|rv| !rv.reviewer.is_harness()));
        if !by.is_empty()
            && reviewed
            && by.iter().all(|f| review_settled(f, m))
            && !failures
                .iter()
                .any(|x| x.assertion_id.as_deref() == Some(&a.id))
        {
            checked.push(a.id.clone());
        }
    }
    Ok(())
}

pub(super) async fn review_one(
    r: &Runner,
    m: &MilestoneState,
    f: &FeatureState,
    round: u32,
) -> Result<(), StepStop> {
    let st = r.hub.state();
    let h = read_handoff(r, &f.plan.id);
    let (diff, stat) = match (&h, f.commit.as_deref()) {
        (Some(h), Some(commit)) => {
            let parent = r.git(|g| g.parent_of(commit)).unwrap_or_default();
            let diff = r.git(|g| g.diff_text(&parent, commit)).unwrap_or_default();
            let cap = 60_000;
            let diff = if diff.len() > cap {
                format!(
                    "{}\n[… diff truncated; read the files for the rest]",
                    &diff[..diff.floor_char_boundary(cap)]
                )
            } else {
                diff
            };
            (
                diff,
                format!(
                    "{} file(s), +{} −{}",
                    h.diff_stat.files_changed, h.diff_stat.insertions, h.diff_stat.deletions
                ),
            )
        }
        _ => (String::new(), "no diff".into()),
    };
    let handoff = match &h {
        Some(h) => {
            let mut t = format!(
                "status: {}\nsummary: {}\n",
                h.report.status.as_str(),
                h.report.summary
            );
            for c in &h.commands {
                t.push_str(&format!(
                    "command: `{}` → {}\n",
                    c.command,
                    crate::mission::narrate::exit(c.exit_code, c.timed_out)
                ));
            }
            for i in &h.report.issues {
                t.push_str(&format!("issue: {i}\n"));
            }
            for d in &h.report.deviations {
                t.push_str(&format!("deviation: {d}\n"));
            }
            t
        }
        None => "(no handoff found)\n".into(),
    };
    let assertions: String = f
        .plan
        .fulfills
        .iter()
        .filter_map(|id| st.plan.as_ref()?.assertion(id))
        .map(|a| format!("- {} [{:?}] {}\n", a.id, a.kind, a.text))
        .collect();
    let task = r.prompts.render(
        "review_task",
        &[
            ("feature_id", &f.plan.id),
            ("title", &f.plan.title),
            ("goal", &st.goal),
            ("milestone_id", &m.id),
            ("milestone_title", &m.title),
            ("description", &f.plan.description),
            (
                "assertions",
                if assertions.is_empty() {
                    "(none)\n"
                } else {
                    &assertions
                },
            ),
            ("handoff", &handoff),
            ("stat", &stat),
            ("diff", &diff),
            ("agents", &agents_md(&r.layout)),
        ],
    );
    let run_id = r.run_id(Role::Reviewer, &f.plan.id);
    let toolbox = r.toolbox(Role::Reviewer, Access::ReadAndRun).await;
    let result = r
        .agent(
            Role::Reviewer,
            &run_id,
            "reviewer",
            task,
            &toolbox,
            submit::submit_review(),
        )?
        .run(submit::parse_review)
        .await?;
    let review = result.value;
    let pass = review.verdict == submit::Verdict::Pass
        && !review.findings.iter().any(|x| x.severity == Severity::High);
    r.hub.emit(Event::ReviewSubmitted {
        milestone: m.id.clone(),
        round,
        feature_id: f.plan.id.clone(),
        reviewer: crate::mission::Reviewer::Agent(run_id),
        pass,
        findings: review.findings,
    })?;
    Ok(())
}
