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
        InputKind::Search => (
            " Search the detail pane ",
            "Enter finds · n/N next/previous · empty clears · Esc cancels",
        ),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focus)
        .title(Span::styled(title, theme.title));
    let inner = block.inner(rect);
    let width = inner.width.saturating_sub(2);
    let scroll = input.visual_scroll(width.saturating_sub(1) as usize);
    // When the start of the text is scrolled away, the prompt says so.
    let prompt = if scroll > 0 { "…" } else { "› " };
    Paragraph::new(vec![
        Line::styled(prompt, theme.key),
        Line::raw(""),
        crate::tui::text::fit_line(vec![Span::styled(hint, theme.dim)], inner.width),
    ])
    .block(block)
    .style(theme.overlay)
    .render(rect, buf);
    // Only the text scrolls as it grows; the prompt and the hint stay put.
    let text_area = Rect {
        x: inner.x + 2,
        y: inner.y,
        width,
        height: 1,
    };
    Paragraph::new(Span::styled(input.value().to_string(), theme.text))
        .scroll((0, scroll as u16))
        .style(theme.overlay)
        .render(text_area, buf);
    let x = input.visual_cursor().saturating_sub(scroll) as u16;
    Position::new(
        text_area.x + x.min(text_area.width.saturating_sub(1)),
        text_area.y,
    )
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
