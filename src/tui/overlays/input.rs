//! One-line text inputs (rejection note, message to the orchestrator) and the quit
//! confirmation.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};
use tui_input::Input;

use super::super::app::InputKind;
use super::super::theme::Theme;
use super::centered;

pub fn render(
    kind: InputKind,
    input: &Input,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) -> Position {
    let rect = centered(area, area.width.saturating_sub(6).min(90), 5);
    Clear.render(rect, buf);
    let (title, hint) = match kind {
        InputKind::Reject => (
            " Reject: what should change? ",
            "Enter sends it to the orchestrator · Esc cancels",
        ),
        InputKind::Message => (
            " Message to the orchestrator ",
            "read before its next decision · Enter sends · Esc cancels",
        ),
    };
    let width = rect.width.saturating_sub(4) as usize;
    let scroll = input.visual_scroll(width);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focus)
        .title(Span::styled(title, theme.title));
    let inner = block.inner(rect);
    Paragraph::new(vec![
        Line::from(vec![
            Span::styled("› ", theme.key),
            Span::styled(input.value().to_string(), theme.text),
        ]),
        Line::raw(""),
        Line::styled(hint, theme.dim),
    ])
    .scroll((0, scroll as u16))
    .block(block)
    .style(theme.overlay)
    .render(rect, buf);
    let x = (input.visual_cursor().saturating_sub(scroll) + 2) as u16;
    Position::new(inner.x + x.min(inner.width.saturating_sub(1)), inner.y)
}

pub fn confirm_quit(theme: &Theme, area: Rect, buf: &mut Buffer) {
    let rect = centered(area, 60, 5);
    Clear.render(rect, buf);
    Paragraph::new(vec![
        Line::styled(
            "The mission runs in this console and stops with it.",
            theme.text,
        ),
        Line::styled("`mission resume` continues it later.", theme.dim),
        Line::from(vec![
            Span::styled(" y ", theme.key),
            Span::raw("stop and quit   "),
            Span::styled(" n ", theme.key),
            Span::raw("keep going"),
        ]),
    ])
    .block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border_focus)
            .title(Span::styled(" Quit? ", theme.title)),
    )
    .style(theme.overlay)
    .render(rect, buf);
}
