//! Every command the documents name exists as written: each `mission …` (inline or in a
//! shell block) in README.md, RELIABILITY.md and BENCHMARKS.md parses with the real CLI
//! (subcommand, flags, values), and each `cargo test --test X` / `cargo bench --bench X`
//! names a target this package has.

use std::path::Path;

use clap::Parser;

const DOCS: &[&str] = &["README.md", "RELIABILITY.md", "BENCHMARKS.md"];

/// Words of a command line, quotes honoured, a trailing `# comment` dropped.
fn words(line: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (None, '#') if cur.is_empty() => break,
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (_, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `mission …` and `cargo …` command lines of a markdown text, with their line numbers.
fn commands(text: &str) -> Vec<(usize, String)> {
    let mut out = vec![];
    let mut in_shell = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with("```") {
            in_shell = !in_shell && matches!(t, "```sh" | "```bash" | "```shell" | "```console");
            continue;
        }
        if in_shell {
            let t = t.trim_start_matches("$ ");
            if t.starts_with("mission ") || t.starts_with("cargo ") {
                out.push((i + 1, t.to_string()));
            }
            continue;
        }
        // Inline code spans.
        let mut rest = line;
        while let Some(a) = rest.find('`') {
            let Some(b) = rest[a + 1..].find('`') else {
                break;
            };
            let span = &rest[a + 1..a + 1 + b];
            if span.starts_with("mission ") || span.starts_with("cargo ") {
                out.push((i + 1, span.to_string()));
            }
            rest = &rest[a + 2 + b..];
        }
    }
    out
}

fn check(doc: &str, line: usize, cmd: &str) -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let w = words(cmd);
    // Environment assignments before the command (`MISSION_MATRIX_STRIDE=9 cargo …`).
    let w: Vec<String> = w
        .into_iter()
        .skip_while(|x| x.contains('=') && !x.starts_with('-'))
        .collect();
    let at = format!("{doc}:{line}: `{cmd}`");
    // `mission pause | mission unpause`: each alternative on its own.
    if let Some((a, b)) = cmd.split_once(" | ") {
        return check(doc, line, a).and_then(|_| check(doc, line, b));
    }
    match w.first().map(String::as_str) {
        Some("mission") => match mission::cli::Cli::try_parse_from(&w) {
            Ok(_) => Ok(()),
            // A command named in prose (`mission abort`) needs only to exist.
            Err(e)
                if w.len() == 2 && e.kind() == clap::error::ErrorKind::MissingRequiredArgument =>
            {
                Ok(())
            }
            Err(e) => Err(format!(
                "{at}: {}",
                e.to_string().lines().next().unwrap_or("")
            )),
        },
        Some("cargo") => {
            let sub = w.get(1).map(String::as_str).unwrap_or("");
            if let Some(i) = w.iter().position(|x| x == "--")
                && sub == "run"
            {
                let mut argv = vec!["mission".to_string()];
                argv.extend(w[i + 1..].iter().cloned());
                return mission::cli::Cli::try_parse_from(&argv)
                    .map(drop)
                    .map_err(|e| format!("{at}: {}", e.to_string().lines().next().unwrap_or("")));
            }
            for (flag, dir) in [("--test", "tests"), ("--bench", "benches")] {
                if let Some(i) = w.iter().position(|x| x == flag) {
                    let name = w.get(i + 1).ok_or(format!("{at}: {flag} without a name"))?;
                    let exists = root.join(dir).join(format!("{name}.rs")).exists()
                        || root.join(dir).join(name).join("main.rs").exists();
                    if !exists {
                        return Err(format!(
                            "{at}: there is no {dir}/{name}.rs or {dir}/{name}/main.rs"
                        ));
                    }
                }
            }
            match sub {
                "test" | "bench" | "run" | "build" | "fmt" | "clippy" => Ok(()),
                other => Err(format!(
                    "{at}: `cargo {other}` is not a command this repo uses"
                )),
            }
        }
        _ => Ok(()),
    }
}

#[test]
fn every_command_the_documents_name_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    let mut bad = vec![];
    for doc in DOCS {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        for (line, cmd) in commands(&text) {
            seen += 1;
            if let Err(e) = check(doc, line, &cmd) {
                bad.push(e);
            }
        }
    }
    assert!(seen >= 30, "found only {seen} commands in the documents");
    assert!(
        bad.is_empty(),
        "commands that do not exist as written:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_checker_refuses_what_does_not_exist() {
    assert!(
        check("x", 1, "mission start --detach").is_err(),
        "a goal is required"
    );
    assert!(check("x", 1, "mission frobnicate").is_err());
    assert!(check("x", 1, "cargo test --test reliability").is_err());
    assert!(check("x", 1, "mission start \"a goal\" --detach").is_ok());
    assert!(
        check(
            "x",
            1,
            "MISSION_MATRIX_STRIDE=9 cargo test --test all x -- --ignored"
        )
        .is_ok()
    );
    assert!(check("x", 1, "cargo run --release -- demo").is_ok());
    assert_eq!(
        words("mission say 'skip it' # why"),
        ["mission", "say", "skip it"]
    );
}
