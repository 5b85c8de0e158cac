//! The detail of a milestone: its state, its contract with each assertion's verdict, the
//! user tester's results and every validation round, newest first.

use ratatui::text::{Line, Span};

use super::super::super::app::App;
use super::super::super::theme::Theme;
use super::{exit_span, kv};
use crate::mission::AssertionKind;
use crate::mission::state::{MilestoneState, Verdict};

pub(super) fn milestone<'a>(app: &'a App, theme: &Theme, m: &'a MilestoneState) -> Vec<Line<'a>> {
    let (g, label, style) = super::super::tree::milestone_look(app, m, theme);
    let corrective = m.features.iter().filter(|f| f.corrective).count();
    let mut lines = vec![
        kv(theme, "State", Span::styled(format!("{g} {label}"), style)),
        kv(
            theme,
            "Features",
            Span::styled(
                format!("{} ({corrective} corrective)", m.features.len()),
                theme.text,
            ),
        ),
        kv(
            theme,
            "Fix rounds",
            Span::styled(
                m.fix_rounds.to_string(),
                if m.fix_rounds > 0 {
                    theme.corrective
                } else {
                    theme.text
                },
            ),
        ),
        Line::raw(""),
        Line::styled("Contract", theme.title),
    ];
    let ids = app.state.milestone_assertions(&m.id);
    for a in &app.state.assertions {
        if !ids.iter().any(|x| x.id == a.assertion.id) {
            continue;
        }
        let (glyph, style) = match a.verdict {
            Verdict::Passed => ("✔", theme.ok),
            Verdict::Failed => ("✘", theme.danger),
            Verdict::Pending => ("·", theme.pending),
        };
        let kind = match a.assertion.kind {
            AssertionKind::Command => "command",
            AssertionKind::Review => "review",
            AssertionKind::UserTest => "user test",
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {glyph} "), style),
            Span::styled(format!("{} ", a.assertion.id), theme.key),
            Span::styled(a.assertion.text.clone(), theme.text),
            Span::styled(format!("  [{kind}]"), theme.dim),
        ]));
        if let (Verdict::Failed, Some(e)) = (a.verdict, &a.evidence) {
            for l in e.lines().take(4) {
                lines.push(Line::styled(format!("     {l}"), theme.danger));
            }
        }
    }
    if let Some(results) = app.user_tests.get(&m.id) {
        lines.push(Line::raw(""));
        lines.push(Line::styled("User test", theme.title));
        for r in results {
            lines.push(Line::from(vec![
                Span::styled(
                    if r.pass { " ✔ " } else { " ✘ " },
                    if r.pass { theme.ok } else { theme.danger },
                ),
                Span::styled(format!("{} ", r.assertion_id), theme.key),
                Span::styled(r.evidence.clone(), theme.text),
            ]));
        }
    }
    // Every round, newest first: how the milestone healed stays readable.
    let checks = app.checks.get(&m.id).map(Vec::as_slice).unwrap_or_default();
    let mut rounds: Vec<u32> = checks.iter().map(|c| c.round).collect();
    rounds.dedup();
    for round in rounds.into_iter().rev() {
        let these: Vec<_> = checks.iter().filter(|c| c.round == round).collect();
        let failed = these.iter().filter(|c| c.exit_code != Some(0)).count();
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            Span::styled(
                if round == 0 {
                    "Validation  ".to_string()
                } else {
                    format!("Validation after fix round {round}  ")
                },
                theme.title,
            ),
            if failed == 0 {
                Span::styled("all passed", theme.ok)
            } else {
                Span::styled(format!("{failed} failed"), theme.danger)
            },
        ]));
        for c in these {
            let name = c
                .assertion_id
                .as_ref()
                .map(|a| format!("{a}: "))
                .unwrap_or_default();
            lines.push(Line::from(vec![
                Span::raw(" "),
                exit_span(theme, c.exit_code, c.timed_out),
                Span::styled(
                    format!(" {:>5.1}s  ", c.duration_ms as f64 / 1000.0),
                    theme.dim,
                ),
                Span::styled(format!("{name}{}", c.command), theme.text),
            ]));
            if c.exit_code != Some(0) {
                for l in c
                    .output_tail
                    .lines()
                    .rev()
                    .take(6)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                {
                    lines.push(Line::styled(format!("        {l}"), theme.dim));
                }
            }
        }
    }
    if let Some(v) = &m.last_validation
        && !v.passed
        && app.checks.get(&m.id).is_none_or(|c| c.is_empty())
    {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            if v.round == 0 {
                "Validation failed".to_string()
            } else {
                format!("Validation after fix round {} failed", v.round)
            },
            theme.danger,
        ));
    }
    lines
}
