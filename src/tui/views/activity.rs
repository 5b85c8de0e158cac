//! The live activity feed: agent steps, commands, verdicts and file changes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::super::app::{ActivityKind, App, Focus};
use super::super::theme::Theme;

pub fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let focused = app.focus == Focus::Activity;
    // Read back no further than the oldest line at the top (a smaller pane than when
    // the reading started included).
    let rows = area.height.saturating_sub(1) as usize;
    app.activity.set_rows(rows);
    let back = app.activity.back();
    let title = if back > 0 {
        format!(" Activity (back {back} of {}) ", app.activity.len())
    } else {
        " Activity ".to_string()
    };
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(if focused {
            theme.border_focus
        } else {
            theme.border
        })
        .title(Span::styled(title, theme.title));
    let inner = block.inner(area);
    block.render(area, buf);
    let start = app.state.started_at;
    let lines: Vec<Line> = app
        .activity
        .lines()
        .rev()
        .skip(back)
        .take(inner.height as usize)
        .rev()
        .map(|a| {
            let at = start.map_or(0, |s| a.ts.as_second() - s.as_second());
            let style = match a.kind {
                ActivityKind::Step => theme.text,
                ActivityKind::Said => theme.dim,
                ActivityKind::Good => theme.ok,
                ActivityKind::Bad => theme.danger,
                ActivityKind::Files => theme.corrective,
            };
            super::fit_line(
                vec![
                    Span::styled(format!("{:>6} ", super::duration(at)), theme.dim),
                    Span::styled(format!("{:<12} ", a.label), theme.key),
                    Span::styled(a.text.clone(), style),
                ],
                inner.width,
            )
        })
        .collect();
    Paragraph::new(lines).render(inner, buf);
}
