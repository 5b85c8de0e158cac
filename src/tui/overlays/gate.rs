//! The approval overlay: the whole plan and contract for the plan gate, the reason for a
//! milestone gate or an escalation.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::super::app::App;
use super::super::theme::Theme;
use super::centered;
use crate::keys::Action;
use crate::mission::Gate;

pub fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let Some((gate, reason)) = &app.state.gate else {
        return;
    };
    // Below the header: what the mission is and that it waits stay in view.
    let area = Rect {
        y: area.y + 2.min(area.height),
        height: area.height.saturating_sub(2),
        ..area
    };
    let rect = centered(
        area,
        area.width.saturating_sub(4).min(110),
        area.height.saturating_sub(2),
    );
    let mut lines = vec![Line::styled(reason.clone(), theme.warn), Line::raw("")];
    let title = match gate {
        Gate::Plan => {
            if let Some(e) = app.estimate() {
                lines.insert(
                    1,
                    Line::styled(
                        format!(
                            "Estimate: ~{} tokens, {}",
                            crate::tui::text::tokens(e.tokens),
                            if e.cost_usd_high > 0.0 {
                                format!("${:.2}–${:.2}", e.cost_usd_low, e.cost_usd_high)
                            } else if !app.prices.is_empty() {
                                "no cost (these models are free)".to_string()
                            } else {
                                "no price known for these models".to_string()
                            }
                        ),
                        theme.title,
                    ),
                );
                let mut basis = format!("  assumes {}", e.basis);
                if let Some((est, actual)) = app.last_estimate {
                    basis.push_str(&format!(
                        "; the last mission used {} of an estimated {} ({:.1}×)",
                        crate::tui::text::tokens(actual),
                        crate::tui::text::tokens(est),
                        actual as f64 / est.max(1) as f64
                    ));
                }
                lines.insert(2, Line::styled(basis, theme.dim));
            }
            // A plan sent back comes again: say that this one is a revision, and of what.
            if let Some(note) = app.state.plan_rejections.last() {
                lines.insert(
                    1,
                    Line::from(vec![
                        Span::styled(
                            format!(
                                "Revised plan, version {}, answering your note: ",
                                app.state.plan_rejections.len() + 1
                            ),
                            theme.corrective,
                        ),
                        Span::styled(format!("“{note}”"), theme.text),
                    ]),
                );
                if let (Some(old), Some(new)) = (&app.state.rejected_plan, &app.state.plan) {
                    let changes = new.changes_from(old);
                    let what = if changes.is_empty() {
                        "the same plan as the one sent back".to_string()
                    } else {
                        format!("changed: {}", changes.join("; "))
                    };
                    lines.insert(2, Line::styled(what, theme.dim));
                }
            }
            if let Some(plan) = &app.state.plan {
                for m in &plan.milestones {
                    lines.push(Line::from(vec![
                        Span::styled(format!("{} ", m.id), theme.title),
                        Span::styled(m.title.clone(), theme.title),
                    ]));
                    for f in &m.features {
                        lines.push(Line::from(vec![
                            Span::styled(format!("  {} ", f.id), theme.key),
                            Span::styled(f.title.clone(), theme.text),
                            Span::styled(format!("  → {}", f.fulfills.join(", ")), theme.dim),
                        ]));
                        lines.push(Line::styled(format!("      {}", f.description), theme.dim));
                    }
                }
                lines.push(Line::raw(""));
                lines.push(Line::styled(
                    format!(
                        "Contract: {} assertions, written before any code",
                        plan.assertions.len()
                    ),
                    theme.title,
                ));
                let passing = app.state.already_passing();
                for a in &plan.assertions {
                    lines.push(Line::from(vec![
                        Span::styled(format!("  {} ", a.id), theme.key),
                        Span::styled(a.text.clone(), theme.text),
                        Span::styled(
                            format!("  [{}]", a.kind.as_str().replace('_', " ")),
                            theme.dim,
                        ),
                    ]));
                    if let Some(c) = &a.command {
                        lines.push(Line::styled(format!("      $ {c}"), theme.dim));
                    }
                    if passing.contains(&a.id.as_str()) {
                        lines.push(Line::styled(
                            "      already passes before any work (kept as a guard)",
                            theme.warn,
                        ));
                    }
                }
            }
            if app.state.plan_rejections.is_empty() {
                " Approve the plan? "
            } else {
                " Approve the revised plan? "
            }
        }
        Gate::Amendment { .. } => {
            lines.push(Line::styled("The contract would change to:", theme.text));
            for a in app.state.pending_amendment.iter().flat_map(|(_, a)| a) {
                let now = app.state.plan.as_ref().and_then(|p| p.assertion(&a.id));
                lines.push(Line::from(vec![
                    Span::styled(format!("  {} ", a.id), theme.key),
                    Span::styled(a.text.clone(), theme.text),
                    Span::styled(
                        if now.is_some() {
                            "  (replaces)"
                        } else {
                            "  (new)"
                        },
                        theme.dim,
                    ),
                ]));
                if let Some(c) = &a.command {
                    lines.push(Line::styled(format!("      $ {c}"), theme.dim));
                }
                if let Some(old) = now {
                    lines.push(Line::styled(format!("      was: {}", old.text), theme.dim));
                }
            }
            " Amend the contract? "
        }
        Gate::Milestone { milestone } => {
            let last = app
                .state
                .milestones
                .last()
                .is_some_and(|m| &m.id == milestone);
            let next = if last {
                "finish the mission (it is the last milestone)"
            } else {
                "go on to the next milestone"
            };
            lines.push(Line::styled(
                format!(
                    "{milestone} passed validation. {}",
                    decisions(app, next, "send it back with a note")
                ),
                theme.text,
            ));
            " Approve the milestone? "
        }
        Gate::Escalation { milestone, feature } => {
            escalation(app, theme, milestone, feature.as_deref(), &mut lines);
            " The mission needs you "
        }
    };
    // Small gates get a small box.
    let inner_width = rect.width.saturating_sub(2).max(1) as usize;
    // Descriptions wrap under themselves, not at the margin.
    let lines: Vec<Line> = lines
        .into_iter()
        .flat_map(|l| crate::tui::wrap::keep_indent(l, inner_width))
        .collect();
    let wrapped: usize = lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(inner_width))
        .sum();
    let height = (wrapped as u16 + 2).clamp(7, rect.height);
    let rect = centered(area, rect.width, height);
    Clear.render(rect, buf);
    let key = |a: Action| format!(" {} ", app.keys.hint(a));
    let keys = crate::tui::text::fit_line(
        vec![
            Span::styled(key(Action::Approve), theme.key),
            Span::styled("approve  ", theme.text),
            Span::styled(key(Action::Reject), theme.key),
            Span::styled("reject with a note  ", theme.text),
            Span::styled(" ↑↓ ", theme.key),
            Span::styled("scroll  ", theme.text),
            Span::styled(key(Action::Back), theme.key),
            Span::styled("decide later ", theme.text),
        ],
        rect.width.saturating_sub(2),
    );
    // Never scrolled past the end (a blank box says nothing); remembered so that
    // scrolling back from an overshoot moves at once.
    let last = (wrapped as u16).saturating_sub(height.saturating_sub(2));
    app.gate_view.end.set(last);
    // More below: the title says so, as the help's does.
    let title = if app.gate_view.scroll.min(last) < last {
        format!("{title}(↓ for more) ")
    } else {
        title.to_string()
    };
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((app.gate_view.scroll.min(last), 0))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border_focus)
                .title(Span::styled(title, theme.title))
                .title_bottom(keys),
        )
        .style(theme.overlay)
        .render(rect, buf);
}

fn escalation<'a>(
    app: &'a App,
    theme: &Theme,
    milestone: &str,
    feature: Option<&str>,
    lines: &mut Vec<Line<'a>>,
) {
    match feature {
        Some(f) => {
            if let Some((_, fs)) = app.state.feature(f) {
                lines.push(Line::styled(
                    format!("{f} {} failed {} attempt(s).", fs.plan.title, fs.attempts),
                    theme.text,
                ));
                if let Some(why) = &fs.last_failure {
                    lines.push(Line::styled(format!("  {why}"), theme.danger));
                }
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                decisions(
                    app,
                    "accept it as failed and go on without it",
                    "another attempt, with your note in its task",
                ),
                theme.dim,
            ));
        }
        None => {
            if let Some(v) = app
                .state
                .milestone(milestone)
                .and_then(|m| m.last_validation.as_ref())
            {
                lines.push(Line::styled(
                    format!("Failing checks of {milestone} (round {}):", v.round),
                    theme.text,
                ));
                for f in &v.failures {
                    let id = f
                        .assertion_id
                        .clone()
                        .unwrap_or_else(|| "validation".into());
                    lines.push(Line::from(vec![
                        Span::styled(format!("  ✘ {id} "), theme.danger),
                        Span::styled(f.check.clone(), theme.text),
                    ]));
                    for l in f.evidence.lines().take(4) {
                        lines.push(Line::styled(format!("      {l}"), theme.dim));
                    }
                }
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                decisions(
                    app,
                    "accept the milestone as it is",
                    "a note for the orchestrator, and one more fix round",
                ),
                theme.dim,
            ));
        }
    }
}

/// "a: what approving does · r: what rejecting does", with the keys `[keys]` chose.
fn decisions(app: &App, approve: &str, reject: &str) -> String {
    format!(
        "{}: {approve} · {}: {reject}",
        app.keys.hint(Action::Approve),
        app.keys.hint(Action::Reject)
    )
}
