//! Files written for humans: the frozen contract and the final report.

use super::{RunError, Runner};
use crate::mission::state::{FeaturePhase, Verdict};

fn write(path: &std::path::Path, text: &str) -> Result<(), RunError> {
    crate::store::write_private(path, text.as_bytes()).map_err(|source| RunError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `proposal.md`: the plan and contract a human is asked to approve.
pub(super) fn write_proposal(r: &Runner) -> Result<(), RunError> {
    let (plan, passing) = r.hub.read(|s| {
        let passing: Vec<String> = s.already_passing().into_iter().map(String::from).collect();
        (s.plan.clone(), passing)
    });
    if let Some(plan) = plan {
        let md = markdown(
            &plan,
            "Proposed validation contract (awaiting approval)",
            &passing,
        );
        write(&r.layout.proposal(), &md)?;
    }
    Ok(())
}

/// Writes the frozen `contract.json` and `contract.md`; the proposal has served.
pub(super) fn write_contract(r: &Runner) -> Result<usize, RunError> {
    let (plan, passing) = r.hub.read(|s| {
        let passing: Vec<String> = s.already_passing().into_iter().map(String::from).collect();
        (s.plan.clone(), passing)
    });
    let Some(plan) = plan else {
        return Ok(0);
    };
    let json = serde_json::to_string_pretty(&plan.assertions)
        .map_err(|e| RunError::Other(e.to_string()))?;
    write(&r.layout.contract_json(), &json)?;
    let md = markdown(&plan, "Validation contract (frozen on approval)", &passing);
    write(&r.layout.contract_md(), &md)?;
    let _ = std::fs::remove_file(r.layout.proposal());
    Ok(plan.assertions.len())
}

fn markdown(plan: &crate::mission::Plan, title: &str, passing: &[String]) -> String {
    let mut md = format!("# {title}\n\n");
    for a in &plan.assertions {
        md.push_str(&format!("- **{}** [{}] {}", a.id, a.kind.as_str(), a.text));
        if let Some(c) = &a.command {
            md.push_str(&format!(" — `{c}`"));
        }
        let by: Vec<&str> = plan
            .milestones
            .iter()
            .flat_map(|m| &m.features)
            .filter(|f| f.fulfills.contains(&a.id))
            .map(|f| f.id.as_str())
            .collect();
        md.push_str(&format!(" (fulfilled by {})", by.join(", ")));
        if passing.contains(&a.id) {
            md.push_str(" — passed already on the untouched tree, before any work");
        }
        md.push('\n');
    }
    md.push_str("\n# Plan\n\n");
    for m in &plan.milestones {
        md.push_str(&format!("## {} — {}\n", m.id, m.title));
        for f in &m.features {
            md.push_str(&format!("- {} {}: {}\n", f.id, f.title, f.description));
        }
        md.push('\n');
    }
    md
}

/// Writes `.mission/report.md` and returns its path.
pub(super) fn write_report(r: &Runner) -> Result<String, RunError> {
    let st = r.hub.state();
    let head = st.head().to_string();
    let commits = r
        .git(|g| g.commit_count(&st.base_commit, &head))
        .unwrap_or(0);
    let mut md = format!("# Mission report\n\n**Goal:** {}\n\n", st.goal);
    md.push_str(&format!(
        "- branch `{}`: {commits} commit(s) from `{}` to `{}`\n",
        st.branch,
        short(&st.base_commit),
        short(&head)
    ));
    let b = &st.budget.total;
    md.push_str(&format!(
        "- tokens: {} in, {} out; cost ${:.4}\n- events: {}\n\n",
        b.tokens_in,
        b.tokens_out,
        b.cost_usd,
        st.events + 1
    ));
    md.push_str(&estimate_and_actual(r, &st));
    md.push_str("## Milestones\n\n");
    for m in &st.milestones {
        md.push_str(&format!(
            "### {} — {} ({}, {} fix round(s))\n\n",
            m.id,
            m.title,
            m.phase.as_str(),
            m.fix_rounds
        ));
        for f in &m.features {
            let mark = match f.phase {
                FeaturePhase::Done => "✔",
                FeaturePhase::Failed => "✘",
                _ => "·",
            };
            md.push_str(&format!(
                "- {mark} {} {}{} — commit `{}`, {} attempt(s)\n",
                f.plan.id,
                f.plan.title,
                if f.corrective { " *(corrective)*" } else { "" },
                f.commit.as_deref().map_or("-", short),
                f.attempts
            ));
        }
        md.push('\n');
    }
    md.push_str("## Contract\n\n");
    for a in &st.assertions {
        let mark = match a.verdict {
            Verdict::Passed => "✔ pass",
            Verdict::Failed => "✘ fail",
            Verdict::Pending => "· not checked",
        };
        md.push_str(&format!(
            "- {mark} — **{}** {}\n",
            a.assertion.id, a.assertion.text
        ));
    }
    let path = r.layout.report();
    write(&path, &md)?;
    Ok(path.display().to_string())
}

use crate::mission::narrate::short;

/// The plan's estimate (as approved) beside what each role really used.
fn estimate_and_actual(r: &Runner, st: &crate::mission::MissionState) -> String {
    let prices = crate::llm::factory::role_prices(&r.config);
    let Some(est) = crate::mission::estimate::estimate(st, &|role| prices.get(&role).copied())
    else {
        return String::new();
    };
    let mut md = String::from(
        "## Estimate and actual\n\n| role | estimated tokens | actual tokens | actual cost |\n|---|---|---|---|\n",
    );
    let mut roles: Vec<String> = est.per_role.keys().cloned().collect();
    for role in st.budget.per_role.keys() {
        if !roles.iter().any(|r| r == role.as_str()) {
            roles.push(role.as_str().to_string());
        }
    }
    for role in roles {
        let actual = st
            .budget
            .per_role
            .iter()
            .find(|(r, _)| r.as_str() == role)
            .map(|(_, u)| u);
        md.push_str(&format!(
            "| {role} | {} | {} | {} |\n",
            est.per_role
                .get(&role)
                .map_or("—".to_string(), |t| t.to_string()),
            actual.map_or(0, |u| u.tokens_in + u.tokens_out),
            actual.map_or("$0.0000".to_string(), |u| format!("${:.4}", u.cost_usd)),
        ));
    }
    let b = &st.budget.total;
    md.push_str(&format!(
        "| **all** | {} (excluding planning) | {} | ${:.4} (estimated ${:.2}–${:.2}) |\n\n",
        est.tokens,
        b.tokens_in + b.tokens_out,
        b.cost_usd,
        est.cost_usd_low,
        est.cost_usd_high
    ));
    md
}
