//! Finding a search in the detail pane's rows: smart case (a query with a capital letter
//! matches case exactly; otherwise ASCII case is ignored), byte ranges for highlighting.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

/// Byte ranges of `query` in `hay`, left to right, not overlapping.
pub fn find_in<'a>(hay: &'a str, query: &'a str) -> impl Iterator<Item = (usize, usize)> + 'a {
    let exact = query.chars().any(char::is_uppercase);
    let (h, q) = (hay.as_bytes(), query.as_bytes());
    let mut at = 0;
    std::iter::from_fn(move || {
        if q.is_empty() {
            return None;
        }
        while at + q.len() <= h.len() {
            let here = &h[at..at + q.len()];
            let hit = if exact {
                here == q
            } else {
                here.eq_ignore_ascii_case(q)
            };
            // Only whole characters: both ends on a UTF-8 boundary.
            if hit && hay.is_char_boundary(at) && hay.is_char_boundary(at + q.len()) {
                let found = (at, at + q.len());
                at += q.len();
                return Some(found);
            }
            at += 1;
        }
        None
    })
}

/// `line` with every match of `query` shown reversed (readable in every theme, and
/// without colour).
pub fn highlight<'a>(line: Line<'a>, query: &str) -> Line<'a> {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let hits: Vec<(usize, usize)> = find_in(&text, query).collect();
    if hits.is_empty() {
        return line;
    }
    let mark = Style::default().add_modifier(Modifier::REVERSED);
    let mut spans = vec![];
    let mut start = 0;
    for span in line.spans {
        let end = start + span.content.len();
        let mut cut = start;
        for &(a, b) in hits.iter().filter(|(a, b)| *a < end && *b > start) {
            let (a, b) = (a.max(start), b.min(end));
            if a > cut {
                spans.push(Span::styled(
                    span.content[cut - start..a - start].to_string(),
                    span.style,
                ));
            }
            spans.push(Span::styled(
                span.content[a - start..b - start].to_string(),
                span.style.patch(mark),
            ));
            cut = b;
        }
        if cut < end {
            spans.push(Span::styled(
                span.content[cut - start..].to_string(),
                span.style,
            ));
        }
        start = end;
    }
    Line::from(spans).style(line.style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smart_case_and_whole_characters() {
        let f = |h, q| find_in(h, q).collect::<Vec<_>>();
        assert_eq!(f("Cargo test; cargo build", "cargo"), [(0, 5), (12, 17)]);
        assert_eq!(f("Cargo test; cargo build", "Cargo"), [(0, 5)]);
        assert_eq!(f("aaaa", "aa"), [(0, 2), (2, 4)]);
        assert_eq!(f("é·é", "é"), [(0, 2), (4, 6)]);
        assert!(f("abc", "").is_empty());
    }

    #[test]
    fn a_match_across_spans_is_marked_in_each_and_the_text_is_kept() {
        let line = Line::from(vec![Span::raw("exit 0  "), Span::raw("cargo test")]);
        let out = highlight(line, "0  car");
        assert_eq!(out.to_string(), "exit 0  cargo test");
        let marked: Vec<&str> = out
            .spans
            .iter()
            .filter(|s| s.style.add_modifier.contains(Modifier::REVERSED))
            .map(|s| s.content.as_ref())
            .collect();
        assert_eq!(marked, ["0  ", "car"]);
    }
}
