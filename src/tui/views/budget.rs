//! Budget gauges: tokens and cost, total and per role, coloured by how close to a limit.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, LineGauge, Paragraph, Widget};

use super::super::app::App;
use super::super::theme::Theme;
use super::tokens;
use crate::mission::{Role, Usage};

fn level(theme: &Theme, ratio: f64) -> Style {
    match ratio {
        r if r >= 0.9 => theme.danger,
        r if r >= 0.7 => theme.warn,
        _ => theme.ok,
    }
}

fn short_name(role: Role) -> &'static str {
    match role {
        Role::Orchestrator => "orch",
        Role::Worker => "worker",
        Role::Reviewer => "review",
        Role::UserTester => "tester",
        Role::Explorer => "explore",
    }
}

/// One line: a gauge when there is a limit, plain numbers when there is none.
fn row(theme: &Theme, area: Rect, buf: &mut Buffer, label: &str, ratio: Option<f64>, text: String) {
    let line = Line::from(vec![
        Span::styled(format!("{label:<7} "), theme.text),
        Span::styled(text, theme.dim),
    ]);
    match ratio {
        Some(r) => LineGauge::default()
            .ratio(r.clamp(0.0, 1.0))
            .label(line)
            .filled_style(level(theme, r))
            .unfilled_style(theme.border)
            .render(area, buf),
        None => Paragraph::new(line).render(area, buf),
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
    let max_tokens = app.limits.max_tokens;
    let max_cost = app.limits.max_cost_usd;
    let mut lines: Vec<(&str, Option<f64>, String)> = vec![
        (
            "tokens",
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
        ),
        (
            "cost",
            max_cost.map(|m| b.total.cost_usd / m),
            match (max_cost, b.unpriced_runs) {
                (Some(m), 0) => format!("${:.2}/${m:.2} ", b.total.cost_usd),
                (None, 0) => format!("${:.2} (no limit)", b.total.cost_usd),
                // External agents report no usage: say so rather than show their 0.
                (Some(m), _) => format!(
                    "${:.2}/${m:.2} + unknown (external agent)",
                    b.total.cost_usd
                ),
                (None, _) => format!("${:.2} + unknown (external agent)", b.total.cost_usd),
            },
        ),
    ];
    let roles: Vec<(Role, &Usage)> = Role::ALL
        .into_iter()
        .filter_map(|r| b.per_role.get(&r).map(|u| (r, u)))
        .collect();
    let fits = lines.len() + roles.len() <= inner.height as usize;
    if fits {
        for (role, u) in &roles {
            let limit = app.limits.per_role_usd.get(role).copied();
            lines.push((
                short_name(*role),
                limit.map(|l| u.cost_usd / l),
                match limit {
                    Some(l) => format!(
                        "{} ${:.2}/${l:.2} ",
                        tokens(u.tokens_in + u.tokens_out),
                        u.cost_usd
                    ),
                    None => format!("{} ${:.2}", tokens(u.tokens_in + u.tokens_out), u.cost_usd),
                },
            ));
        }
    }
    let mut y = inner.y;
    for (label, ratio, text) in lines {
        if y >= inner.y + inner.height {
            return;
        }
        row(
            theme,
            Rect {
                x: inner.x,
                y,
                width: inner.width,
                height: 1,
            },
            buf,
            label,
            ratio,
            text,
        );
        y += 1;
    }
    if !fits {
        // Too many roles for a line each (80×24): whole entries packed into the lines
        // left, the cost when there is one (else the tokens), never an entry cut in two.
        let priced = b.total.cost_usd > 0.0;
        let entries: Vec<(String, String)> = roles
            .iter()
            .map(|(r, u)| {
                let value = if priced {
                    format!("${:.2}", u.cost_usd)
                } else {
                    tokens(u.tokens_in + u.tokens_out)
                };
                (short_name(*r).to_string(), value)
            })
            .collect();
        let width = inner.width as usize;
        let mut rows: Vec<Vec<Span>> = vec![];
        let mut used = 0;
        for (name, value) in entries {
            let len = name.chars().count() + 1 + value.chars().count();
            if rows.is_empty() || used + 3 + len > width {
                rows.push(vec![]);
                used = 0;
            }
            if let Some(row) = rows.last_mut() {
                if used > 0 {
                    row.push(Span::styled(" · ", theme.border));
                    used += 3;
                }
                row.push(Span::styled(format!("{name} "), theme.text));
                row.push(Span::styled(value, theme.dim));
                used += len;
            }
        }
        let room = (inner.y + inner.height).saturating_sub(y) as usize;
        for (i, spans) in rows.into_iter().take(room).enumerate() {
            Paragraph::new(Line::from(spans)).render(
                Rect {
                    x: inner.x,
                    y: y + i as u16,
                    width: inner.width,
                    height: 1,
                },
                buf,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mission::Limits;
    use crate::tui::app::Hosting;

    #[test]
    fn crowded_roles_pack_whole_entries_with_their_cost() {
        let mut app = App::new(Hosting::Attached, Limits::default());
        for (i, role) in Role::ALL.into_iter().enumerate() {
            let u = Usage {
                tokens_in: 1000 * (i as u64 + 1),
                cost_usd: 0.25 * (i as f64 + 1.0),
                ..Usage::default()
            };
            app.state.budget.total.add(&u);
            app.state.budget.per_role.insert(role, u);
        }
        let theme = Theme::load("dark", false).unwrap();
        let area = Rect::new(0, 0, 30, 6);
        let mut buf = Buffer::empty(area);
        render(&app, &theme, area, &mut buf);
        let text: Vec<String> = (0..area.height)
            .map(|y| {
                (0..area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect();
        let roles = text[3..].join("\n");
        for entry in [
            "orch $0.25",
            "worker $0.50",
            "review $0.75",
            "tester $1.00",
            "explore $1.25",
        ] {
            assert!(
                roles.contains(entry),
                "{entry} is whole:\n{}",
                text.join("\n")
            );
        }
    }
}
