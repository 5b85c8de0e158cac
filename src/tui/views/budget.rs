//! Budget gauges: tokens and cost, total and per role, coloured by how close to a limit.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, LineGauge, Paragraph, Widget};

use super::super::app::App;
use super::super::theme::Theme;
use super::tokens;
use crate::mission::Role;

fn level(theme: &Theme, ratio: f64) -> Style {
    match ratio {
        r if r >= 0.9 => theme.danger,
        r if r >= 0.7 => theme.warn,
        _ => theme.ok,
    }
}

pub fn render(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let block = Block::default()
        .borders(Borders::TOP | Borders::LEFT)
        .border_style(theme.border)
        .title(Span::styled(" Budget ", theme.title));
    let inner = block.inner(area);
    block.render(area, buf);
    let b = &app.state.budget;
    let used = b.total.tokens_in + b.total.tokens_out;
    let mut y = inner.y;
    let mut gauge = |label: String, ratio: Option<f64>, text: String, buf: &mut Buffer| {
        if y >= inner.y + inner.height {
            return;
        }
        let row = Rect {
            x: inner.x,
            y,
            width: inner.width,
            height: 1,
        };
        match ratio {
            Some(r) => LineGauge::default()
                .ratio(r.clamp(0.0, 1.0))
                .label(Line::from(vec![
                    Span::styled(label, theme.text),
                    Span::styled(text, theme.dim),
                ]))
                .filled_style(level(theme, r))
                .unfilled_style(theme.border)
                .render(row, buf),
            None => Paragraph::new(Line::from(vec![
                Span::styled(label, theme.text),
                Span::styled(text, theme.dim),
            ]))
            .render(row, buf),
        }
        y += 1;
    };
    let max_tokens = app.limits.max_tokens;
    gauge(
        "tokens ".into(),
        max_tokens.map(|m| used as f64 / m.max(1) as f64),
        match max_tokens {
            Some(m) => format!("{}/{} ", tokens(used), tokens(m)),
            None => format!(
                "{}  ↓{} ↑{}",
                tokens(used),
                tokens(b.total.tokens_in),
                tokens(b.total.tokens_out)
            ),
        },
        buf,
    );
    let max_cost = app.limits.max_cost_usd;
    gauge(
        "cost   ".into(),
        max_cost.map(|m| b.total.cost_usd / m),
        match max_cost {
            Some(m) => format!("${:.2}/${m:.2} ", b.total.cost_usd),
            None => format!("${:.2} (no limit)", b.total.cost_usd),
        },
        buf,
    );
    for role in Role::ALL {
        let Some(u) = b.per_role.get(&role) else {
            continue;
        };
        let limit = app.limits.per_role_usd.get(&role).copied();
        let name = match role {
            Role::Orchestrator => "orch   ",
            Role::Worker => "worker ",
            Role::Reviewer => "review ",
            Role::UserTester => "tester ",
            Role::Explorer => "explore",
        };
        gauge(
            name.into(),
            limit.map(|l| u.cost_usd / l),
            match limit {
                Some(l) => format!(
                    "{} ${:.2}/${l:.2} ",
                    tokens(u.tokens_in + u.tokens_out),
                    u.cost_usd
                ),
                None => format!("{} ${:.2}", tokens(u.tokens_in + u.tokens_out), u.cost_usd),
            },
            buf,
        );
    }
}
