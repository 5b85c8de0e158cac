//! Every key, from the keymap table.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::super::keymap::Keymap;
use super::super::theme::Theme;
use super::centered;

pub fn render(keys: &Keymap, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let help = keys.help();
    let rect = centered(area, 76, help.len() as u16 + 4);
    Clear.render(rect, buf);
    let mut lines: Vec<Line> = help
        .into_iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!("{keys:>15}  "), theme.key),
                Span::styled(what, theme.text),
            ])
        })
        .collect();
    lines.push(Line::styled(
        "               Esc or ? closes this help",
        theme.dim,
    ));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border_focus)
                .title(Span::styled(" Keys ", theme.title)),
        )
        .style(theme.overlay)
        .render(rect, buf);
}
