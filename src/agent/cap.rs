//! One cap on every tool result the model reads, whatever the tool.

/// No tool result, of any tool (MCP and commands included), is longer than this.
pub(super) const RESULT_CAP: usize = 48 * 1024;

/// `content` cut to `RESULT_CAP` bytes: its head and tail, and a line saying what is gone.
pub(super) fn cap_result(content: String) -> String {
    if content.len() <= RESULT_CAP {
        return content;
    }
    let half = RESULT_CAP / 2;
    let mut head = half;
    while !content.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = content.len() - half;
    while !content.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n[… {} bytes cut by the harness: ask for less, e.g. read_file with offset/limit, or filter a command's output …]\n{}",
        &content[..head],
        tail - head,
        &content[tail..]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_result_passes_one_cap_that_keeps_head_and_tail() {
        let small = "ok".to_string();
        assert_eq!(super::cap_result(small.clone()), small);
        let big = format!("HEAD{}TAIL", "é".repeat(40_000));
        let out = super::cap_result(big);
        assert!(out.len() < super::RESULT_CAP + 200, "{}", out.len());
        assert!(out.starts_with("HEAD") && out.ends_with("TAIL"));
        assert!(out.contains("bytes cut by the harness"));
    }
}
