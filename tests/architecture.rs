//! Dependencies point inward: the domain (`src/mission/`) imports no UI, HTTP, git or
//! runtime crate, so every consumer (runner, console, status, attach) can share it.

#[test]
fn the_domain_imports_no_outer_crate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mission");
    let forbidden = [
        "ratatui",
        "crossterm",
        "reqwest",
        "git2",
        "tokio",
        "portable_pty",
        "notify",
        "crate::tui",
        "crate::pipeline",
        "crate::llm",
        "crate::git",
    ];
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for f in forbidden {
                assert!(
                    !code.contains(&format!("{f}::")) && !code.contains(&format!("use {f}")),
                    "{}:{}: the domain must not use `{f}`: {line}",
                    path.display(),
                    i + 1
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 6, "read the domain's files");
}
