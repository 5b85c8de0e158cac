//! The milestone → feature tree with state glyphs. Two levels, always expanded, so a
//! plain `List` with a selection computed per frame does it (tui-tree-widget would make
//! rendering mutate its state).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, StatefulWidget};

use super::super::app::{App, Focus, Row};
use super::super::theme::Theme;
use crate::mission::state::{FeaturePhase, FeatureState, MilestonePhase, MilestoneState};

pub fn milestone_glyph(p: MilestonePhase, theme: &Theme) -> (&'static str, Style) {
    match p {
        MilestonePhase::Pending => ("○", theme.pending),
        MilestonePhase::Running => ("▶", theme.running),
        MilestonePhase::Validating => ("◆", theme.validating),
        MilestonePhase::Passed => ("✔", theme.done),
        MilestonePhase::Failed => ("✘", theme.failed),
    }
}

pub fn feature_glyph(p: FeaturePhase, theme: &Theme) -> (&'static str, Style) {
    match p {
        FeaturePhase::Pending => ("·", theme.pending),
        FeaturePhase::Running => ("▶", theme.running),
        FeaturePhase::Done => ("✔", theme.done),
        FeaturePhase::Failed => ("✘", theme.failed),
    }
}

/// How a milestone shows, as it is and not only as the log last said: at its gate it
/// awaits a human; with its runner dead it is stopped, not running.
pub fn milestone_look(
    app: &App,
    m: &MilestoneState,
    theme: &Theme,
) -> (&'static str, String, Style) {
    use crate::mission::Gate;
    match &app.state.gate {
        Some((Gate::Milestone { milestone } | Gate::Amendment { milestone }, _))
            if *milestone == m.id =>
        {
            return ("⚑", "awaiting approval".into(), theme.warn);
        }
        Some((Gate::Escalation { milestone, .. }, _)) if *milestone == m.id => {
            return ("⚑", "escalated: awaiting a human".into(), theme.warn);
        }
        _ => {}
    }
    if app.runner_stopped
        && matches!(
            m.phase,
            MilestonePhase::Running | MilestonePhase::Validating
        )
    {
        return ("■", "stopped".into(), theme.warn);
    }
    let (g, style) = milestone_glyph(m.phase, theme);
    (g, m.phase.as_str().to_string(), style)
}

/// How a feature shows: a running one whose runner died is stopped.
pub fn feature_look(app: &App, f: &FeatureState, theme: &Theme) -> (&'static str, String, Style) {
    if app.runner_stopped && f.phase == FeaturePhase::Running {
        return ("■", "stopped".into(), theme.warn);
    }
    let (g, style) = feature_glyph(f.phase, theme);
    (g, format!("{:?}", f.phase).to_lowercase(), style)
}

pub fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let border = if app.focus == Focus::Tree {
        theme.border_focus
    } else {
        theme.border
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(" Plan ", theme.title));
    let rows = app.rows();
    if rows.is_empty() {
        let waiting = List::new(vec![ListItem::new(Span::styled(
            "the orchestrator is planning…",
            theme.dim,
        ))])
        .block(block);
        StatefulWidget::render(waiting, area, buf, &mut ListState::default());
        return;
    }
    // A row cut by the pane's edge ends with `…`.
    let fit = |spans| crate::tui::text::fit_line(spans, area.width.saturating_sub(2));
    let items: Vec<ListItem> = rows
        .iter()
        .map(|row| match row {
            Row::Milestone { index } => {
                let m = &app.state.milestones[*index];
                let repairing = app.state.is_repairing(m);
                let (g, label, style) = milestone_look(app, m, theme);
                let shown = g != milestone_glyph(m.phase, theme).0;
                let (g, style) = if repairing && !shown {
                    ("↻", theme.validating)
                } else {
                    (g, style)
                };
                let mut spans = vec![
                    Span::styled(format!("{g} "), style),
                    Span::styled(format!("{} ", m.id), theme.title),
                    Span::styled(m.title.clone(), theme.text),
                ];
                if shown {
                    spans.push(Span::styled(format!(" {label}"), style));
                } else if repairing {
                    spans.push(Span::styled(
                        format!(" fixing (round {})", m.fix_rounds + 1),
                        theme.validating,
                    ));
                }
                if m.fix_rounds > 0 {
                    spans.push(Span::styled(
                        format!(" ↻{}", m.fix_rounds),
                        theme.corrective,
                    ));
                }
                ListItem::new(fit(spans))
            }
            Row::Feature { milestone, index } => {
                let f = &app.state.milestones[*milestone].features[*index];
                let (g, label, style) = feature_look(app, f, theme);
                let mut spans = vec![Span::raw("  "), Span::styled(format!("{g} "), style)];
                if f.corrective {
                    spans.push(Span::styled("↻ ", theme.corrective));
                }
                spans.push(Span::styled(
                    format!("{} ", f.plan.id),
                    if f.corrective {
                        theme.corrective
                    } else {
                        theme.dim
                    },
                ));
                spans.push(Span::styled(f.plan.title.clone(), theme.text));
                if f.attempts > 1 {
                    spans.push(Span::styled(format!(" ×{}", f.attempts), theme.warn));
                }
                if label == "stopped" {
                    spans.push(Span::styled(" stopped", style));
                }
                ListItem::new(fit(spans))
            }
        })
        .collect();
    let list = List::new(items)
        .block(block)
        .highlight_style(theme.selected);
    let mut state = ListState::default().with_selected(Some(app.selected_index()));
    StatefulWidget::render(list, area, buf, &mut state);
}

/// The first row the plan shows in `area`: as `List` scrolls, just enough to keep the
/// selection in view.
pub fn offset(app: &App, area: Rect) -> usize {
    let height = area.height.saturating_sub(2) as usize;
    (app.selected_index() + 1).saturating_sub(height)
}
