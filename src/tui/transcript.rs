//! Turns a transcript (`.mission/transcripts/<run>.jsonl`) into lines to read.

use crate::mission::transcript::TranscriptEntry as Message;

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        format!("{}…", s.chars().take(max).collect::<String>())
    } else {
        s.to_string()
    }
}

pub fn lines(jsonl: &str) -> Vec<String> {
    let mut out = vec![];
    for raw in jsonl.lines() {
        if let Ok(m) = serde_json::from_str::<Message>(raw) {
            match m {
                Message::User { text } => {
                    let mut it = text.lines();
                    out.push(format!("▸ task: {}", it.next().unwrap_or("")));
                    out.extend(it.take(40).map(|l| format!("  {l}")));
                }
                Message::Assistant {
                    text, tool_calls, ..
                } => {
                    if let Some(t) = text {
                        out.push(format!("◂ {t}"));
                    }
                    for c in tool_calls {
                        out.push(format!(
                            "  ⚙ {}({})",
                            c.name,
                            clip(&c.arguments.to_string(), 160)
                        ));
                    }
                }
                Message::Tool {
                    name,
                    content,
                    is_error,
                    ..
                } => {
                    let mark = if is_error { "✘" } else { "↳" };
                    let mut it = content.lines();
                    out.push(format!(
                        "{mark}   {name}: {}",
                        clip(it.next().unwrap_or(""), 160)
                    ));
                    let rest: Vec<&str> = it.collect();
                    for l in rest.iter().take(8) {
                        out.push(format!("      {}", clip(l, 160)));
                    }
                    if rest.len() > 8 {
                        out.push(format!("      … {} more lines", rest.len() - 8));
                    }
                }
            }
        } else if let Ok(v) = serde_json::from_str::<serde_json::Value>(raw)
            && let Some(c) = v.get("context_compacted")
        {
            let n = |k: &str| c.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
            out.push(format!(
                "· context compacted to fit the model: {} → {} tokens, {} old output(s) elided",
                n("tokens_before"),
                n("tokens_after"),
                n("elided")
            ));
        } else if let Ok(v) = serde_json::from_str::<serde_json::Value>(raw)
            && let Some(tools) = v.get("tools").and_then(|t| t.as_array())
        {
            let names: Vec<&str> = tools.iter().filter_map(|t| t.as_str()).collect();
            out.push(format!("· tools: {}", names.join(", ")));
        }
    }
    // A terminal cell shows no tab: `read_file`'s numbered lines would run into the text.
    for l in &mut out {
        if l.contains('\t') {
            *l = l.replace('\t', "  ");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_become_readable_lines() {
        let t = concat!(
            r#"{"system":"s","tools":["read_file","submit_handoff"]}"#,
            "\n",
            r#"{"role":"user","text":"Feature m1-f1: Parse\nmore"}"#,
            "\n",
            r#"{"role":"assistant","text":"Looking.","tool_calls":[{"id":"c","name":"read_file","arguments":{"path":"a"}}]}"#,
            "\n",
            r#"{"role":"tool","call_id":"c","name":"read_file","content":"refused","is_error":true}"#,
            "\n",
            r#"{"role":"tool","call_id":"d","name":"read_file","content":"src/a.rs\n1\tfn a() {}","is_error":false}"#,
            "\n",
        );
        let l = super::lines(t);
        assert_eq!(
            l,
            vec![
                "· tools: read_file, submit_handoff",
                "▸ task: Feature m1-f1: Parse",
                "  more",
                "◂ Looking.",
                "  ⚙ read_file({\"path\":\"a\"})",
                "✘   read_file: refused",
                "↳   read_file: src/a.rs",
                "      1  fn a() {}",
            ]
        );
    }
}
