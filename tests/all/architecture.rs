//! Dependencies point inward: the domain (`src/mission/`) imports no UI, HTTP, git or
//! runtime crate, so every consumer (runner, console, status, attach) can share it.

#[test]
fn the_domain_imports_no_outer_crate() {
    assert_uses_none(
        "mission",
        &[
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
            "crate::link",
            "crate::store",
            "crate::agent",
        ],
        "the domain",
    );
    assert!(files("mission").len() >= 10, "read the domain's files");
}

/// Every `.rs` file under `src/<dir>`, recursively.
fn files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    let mut stack = vec![
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src")
            .join(dir),
    ];
    while let Some(d) = stack.pop() {
        if d.is_file() {
            out.push(d);
            continue;
        }
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out
}

/// Which paths of the crate a file names (`crate::x` and `use x` of outer crates).
fn assert_uses_none(dir: &str, forbidden: &[&str], why: &str) {
    let files = files(dir);
    assert!(!files.is_empty(), "no files under src/{dir}");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for f in forbidden {
                assert!(
                    !code.contains(&format!("{f}::")) && !code.contains(&format!("use {f}")),
                    "{}:{}: {why} must not use `{f}`: {line}",
                    path.display(),
                    i + 1
                );
            }
        }
    }
}

#[test]
fn the_console_talks_only_to_the_domain_and_its_link() {
    assert_uses_none(
        "tui",
        &[
            "crate::pipeline",
            "crate::agent",
            "crate::llm",
            "crate::git",
            "crate::store",
            "crate::hub",
            "crate::control",
            "crate::config",
            "crate::notify",
            "git2",
            "reqwest",
        ],
        "the console",
    );
}

#[test]
fn providers_know_no_pipeline_and_the_runner_no_console() {
    assert_uses_none(
        "llm",
        &[
            "crate::pipeline",
            "crate::agent",
            "crate::tui",
            "crate::link",
        ],
        "a model provider",
    );
    assert_uses_none(
        "pipeline",
        &["crate::tui", "ratatui", "crossterm"],
        "the runner",
    );
    assert_uses_none(
        "agent",
        &["crate::tui", "crate::pipeline", "ratatui"],
        "the agent loop",
    );
}
