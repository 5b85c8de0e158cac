//! `mission eval check`: each scenario set up twice in a temporary repository — as it
//! is, where every fail-to-pass command must fail, and with its gold patch, where every
//! command must pass. A scenario whose checks pass without the work measures nothing.
//! (The corpus is the project's own: its commands run unconfined, with a timeout.)

use std::path::Path;
use std::time::Duration;

use super::Named;
use crate::git::Git;

/// The outcome of one scenario: what is wrong with it (empty when it is sound).
#[derive(Debug, Clone)]
pub struct Checked {
    pub name: String,
    pub problems: Vec<String>,
    pub commands: usize,
}

const TIMEOUT: Duration = Duration::from_secs(300);

/// Sets `s` up in `dir`: its setup script, committed; then the gold patch when `gold`,
/// and the hidden files when `hidden`.
pub(super) fn prepare(s: &Named, dir: &Path, gold: bool, hidden: bool) -> Result<(), String> {
    let git = Git::init(dir).map_err(|e| e.to_string())?;
    let out = run(&s.scenario.setup, dir);
    if out.0 != Some(0) {
        return Err(format!("setup failed ({}): {}", code(out.0), out.1));
    }
    git.commit_all("scenario setup")
        .map_err(|e| e.to_string())?;
    if gold {
        let Some(patch) = &s.scenario.gold else {
            return Ok(());
        };
        let path = s.dir.join(patch);
        let out = std::process::Command::new("git")
            .args(["apply", "--whitespace=nowarn"])
            .arg(&path)
            .current_dir(dir)
            .output()
            .map_err(|e| format!("git apply: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{} does not apply: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    let files = s.dir.join("hidden");
    if hidden && files.is_dir() {
        copy_dir(&files, dir).map_err(|e| format!("copying hidden/: {e}"))?;
    }
    Ok(())
}

pub(super) fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), target)?;
        }
    }
    Ok(())
}

/// Runs `command` with `sh -c` in `dir`: its exit code (`None` when killed) and the last
/// lines it printed. Output goes to a file (a chatty command never blocks on a full
/// pipe), and a command over time is killed with everything it started.
pub(super) fn run(command: &str, dir: &Path) -> (Option<i32>, String) {
    use std::io::{Read, Seek};
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let Ok(mut out) = tempfile::tempfile() else {
        return (None, "no temporary file for the output".into());
    };
    let (Ok(o1), Ok(o2)) = (out.try_clone(), out.try_clone()) else {
        return (None, "no temporary file for the output".into());
    };
    let child = Command::new("sh")
        .args(["-c", command])
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null())
        .stdout(o1)
        .stderr(o2)
        .process_group(0)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return (None, e.to_string()),
    };
    let start = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > TIMEOUT => {
                // SAFETY: kill(2) on the process group this command leads.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                let _ = child.wait();
                return (None, format!("timed out after {} s", TIMEOUT.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return (None, e.to_string()),
        }
    };
    let mut text = String::new();
    let _ = out.rewind().and_then(|()| out.read_to_string(&mut text));
    let tail: Vec<&str> = text.trim_end().lines().rev().take(3).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    (status.code(), tail.join(" | "))
}

fn code(c: Option<i32>) -> String {
    c.map_or("killed".into(), |c| format!("exit {c}"))
}

/// Checks one scenario both ways.
pub fn check(s: &Named) -> Checked {
    let mut problems = vec![];
    let sc = &s.scenario;
    let mut commands = 0;
    for gold in [false, true] {
        if gold && sc.gold.is_none() {
            if !sc.expect_escalation {
                problems.push("no gold patch: nothing shows the scenario can be done".into());
            }
            continue;
        }
        let tmp = match tempfile::tempdir() {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("no temporary directory: {e}"));
                return Checked {
                    name: s.name.clone(),
                    problems,
                    commands,
                };
            }
        };
        let how = if gold {
            "with the gold patch"
        } else {
            "before any work"
        };
        if let Err(e) = prepare(s, tmp.path(), gold, true) {
            problems.push(format!("{how}: {e}"));
            continue;
        }
        for c in &sc.fail_to_pass {
            commands += 1;
            let (exit, said) = run(c, tmp.path());
            match (gold, exit == Some(0)) {
                (false, true) => problems.push(format!(
                    "fail_to_pass `{c}` passes {how}: it measures nothing"
                )),
                (true, false) => problems.push(format!(
                    "fail_to_pass `{c}` fails {how} ({}): {said}",
                    code(exit)
                )),
                _ => {}
            }
        }
        for c in &sc.pass_to_pass {
            commands += 1;
            let (exit, said) = run(c, tmp.path());
            if exit != Some(0) {
                problems.push(format!(
                    "pass_to_pass `{c}` fails {how} ({}): {said}",
                    code(exit)
                ));
            }
        }
    }
    Checked {
        name: s.name.clone(),
        problems,
        commands,
    }
}
