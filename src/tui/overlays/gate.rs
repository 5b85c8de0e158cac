//! The approval overlay: the whole plan and contract for the plan gate, the reason for a
//! milestone gate or an escalation.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::super::app::App;
use super::super::theme::Theme;
use super::super::views::centered;
use crate::mission::Gate;

pub fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let Some((gate, reason)) = &app.state.gate else {
        return;
    };
    let rect = centered(
        area,
        area.width.saturating_sub(4).min(110),
        area.height.saturating_sub(2),
    );
    Clear.render(rect, buf);
    let mut lines = vec![Line::styled(reason.clone(), theme.warn), Line::raw("")];
    let title = match gate {
        Gate::Plan => {
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
                for a in &plan.assertions {
                    lines.push(Line::from(vec![
                        Span::styled(format!("  {} ", a.id), theme.key),
                        Span::styled(a.text.clone(), theme.text),
                        Span::styled(format!("  [{:?}]", a.kind).to_lowercase(), theme.dim),
                    ]));
                    if let Some(c) = &a.command {
                        lines.push(Line::styled(format!("      $ {c}"), theme.dim));
                    }
                }
            }
            " Approve the plan? "
        }
        Gate::Milestone { .. } => " Approve the milestone? ",
        Gate::Escalation { .. } => " The mission needs you ",
    };
    let keys = Line::from(vec![
        Span::styled(" a ", theme.key),
        Span::styled("approve  ", theme.text),
        Span::styled(" r ", theme.key),
        Span::styled("reject with a note  ", theme.text),
        Span::styled(" ↑↓ ", theme.key),
        Span::styled("scroll  ", theme.text),
        Span::styled(" Esc ", theme.key),
        Span::styled("decide later ", theme.text),
    ]);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((app.scroll, 0))
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
