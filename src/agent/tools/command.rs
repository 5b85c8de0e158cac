//! Runs a shell command for an agent or the harness: in its own process group (so a
//! timeout kills everything it started, and a resumed runner what a dead one left), with
//! an allowlisted environment, confined, its output capped, and the protected places
//! checked afterwards.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::sandbox::Launcher;

#[derive(Debug, Clone, PartialEq)]
pub struct CommandOutput {
    /// `None` when killed by the timeout or by a signal, or when it could not start.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub duration: Duration,
    /// stdout then stderr, each capped (head and tail kept).
    pub output: String,
    /// Protected files the command changed, which the harness put back.
    pub restored: Vec<String>,
    /// The signal that killed it (`SIGINT`…), when one did and not the timeout.
    pub signal: Option<String>,
}

impl CommandOutput {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// What an agent reads back.
    pub fn render(&self, command: &str) -> String {
        let verdict = match (self.timed_out, self.exit_code) {
            (true, _) => format!(
                "timed out after {:.1}s; the whole process group was killed",
                self.duration.as_secs_f64()
            ),
            (false, Some(c)) => format!("exit code {c}"),
            (false, None) => match &self.signal {
                Some(sig) => format!("killed by {sig}"),
                None => "killed by a signal".to_string(),
            },
        };
        let mut text = format!("$ {command}\n{}\n[{verdict}]", self.output.trim_end());
        if !self.restored.is_empty() {
            text.push_str(&format!(
                "\n[harness: this command changed protected files, which were restored: {}. \
                 Never touch .git or .mission; the harness commits your work.]",
                self.restored.join(", ")
            ));
        }
        text
    }

    /// The last lines, for evidence in events and reports.
    pub fn tail(&self, lines: usize) -> String {
        let all: Vec<&str> = self.output.trim_end().lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

pub async fn run_shell(
    command: &str,
    cwd: &Path,
    timeout: Duration,
    launcher: &Launcher,
    output_cap: usize,
) -> CommandOutput {
    let start = Instant::now();
    let not_started = |why: String| CommandOutput {
        exit_code: None,
        timed_out: false,
        duration: start.elapsed(),
        output: why,
        restored: vec![],
        signal: None,
    };
    let mut cmd = tokio::process::Command::new("sh");
    cmd.args(["-c", command])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .env_clear()
        .envs(launcher.child_env());
    if let Err(e) = launcher.set_up_child(&mut cmd, cwd) {
        return not_started(e);
    }
    let snapshot = launcher
        .protect
        .as_ref()
        .filter(|p| p.snapshots())
        .map(|p| p.before());
    let memory_hits = launcher.memory_hits();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return not_started(format!("could not start `sh -c`: {e}")),
    };
    let pgid = child.id();
    if let (Some(groups), Some(pid)) = (&launcher.groups, pgid) {
        groups.add(pid);
    }
    // If this future is dropped (Ctrl-C, a stopped runner), take the whole group down,
    // not just `sh`: nothing may keep writing to a tree that resume will reset.
    let _group = GroupGuard(pgid);
    let out = tokio::spawn(read_capped(child.stdout.take(), output_cap));
    let err = tokio::spawn(read_capped(child.stderr.take(), output_cap));
    let (status, timed_out) = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => (status.ok(), false),
        Err(_) => {
            if let Some(pid) = pgid {
                kill_group(pid);
            }
            (child.wait().await.ok(), true)
        }
    };
    // Children that outlive the shell still hold the pipes; don't wait for them forever.
    if let Some(pid) = pgid {
        kill_group(pid);
        if let Some(groups) = &launcher.groups {
            groups.remove(pid);
        }
    }
    let restored = launcher
        .protect
        .as_ref()
        .map(|p| p.restore(&snapshot.unwrap_or_default()))
        .unwrap_or_default();
    let grace = Duration::from_secs(2);
    let stdout = tokio::time::timeout(grace, out)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let stderr = tokio::time::timeout(grace, err)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let mut output = stdout;
    if !stderr.is_empty() {
        if !output.is_empty() && !output.ends_with('\n') {
            output.push('\n');
        }
        output.push_str(&stderr);
    }
    let failed = timed_out || status.is_none_or(|s| !s.success());
    if failed {
        for note in crate::sandbox::hints::explain(&output, launcher.walls(memory_hits)) {
            if !output.is_empty() && !output.ends_with('\n') {
                output.push('\n');
            }
            output.push_str(&note);
            output.push('\n');
        }
    }
    CommandOutput {
        exit_code: if timed_out {
            None
        } else {
            status.and_then(|s| s.code())
        },
        timed_out,
        duration: start.elapsed(),
        output,
        restored,
        signal: status
            .filter(|_| !timed_out)
            .and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s))
            .and_then(|n| nix::sys::signal::Signal::try_from(n).ok())
            .map(|s| s.as_str().to_string()),
    }
}

struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            kill_group(pid);
        }
    }
}

pub(crate) fn kill_group(pid: u32) {
    crate::sandbox::groups::kill_process_group(pid);
}

/// Reads everything, keeping the first and last `cap / 2` bytes.
async fn read_capped<R: AsyncRead + Unpin>(reader: Option<R>, cap: usize) -> String {
    let Some(mut reader) = reader else {
        return String::new();
    };
    let half = cap / 2;
    let mut head: Vec<u8> = Vec::new();
    let mut tail: std::collections::VecDeque<u8> = std::collections::VecDeque::new();
    let mut dropped = 0usize;
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                for &b in &buf[..n] {
                    if head.len() < half {
                        head.push(b);
                    } else {
                        tail.push_back(b);
                        if tail.len() > half {
                            tail.pop_front();
                            dropped += 1;
                        }
                    }
                }
            }
        }
    }
    let mut s = String::from_utf8_lossy(&head).into_owned();
    if dropped > 0 {
        s.push_str(&format!("\n[… {dropped} bytes of output omitted …]\n"));
    }
    let tail: Vec<u8> = tail.into_iter().collect();
    s.push_str(&String::from_utf8_lossy(&tail));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cwd() -> std::path::PathBuf {
        std::env::temp_dir()
    }

    #[tokio::test]
    async fn exit_codes_and_output_are_captured() {
        let o = run_shell(
            "echo hi; echo oops >&2; exit 3",
            &cwd(),
            Duration::from_secs(10),
            &Launcher::default(),
            4096,
        )
        .await;
        assert_eq!(o.exit_code, Some(3));
        assert!(!o.timed_out);
        assert!(
            o.output.contains("hi") && o.output.contains("oops"),
            "{}",
            o.output
        );
        assert!(o.render("x").ends_with("[exit code 3]"));
        let o = run_shell(
            "kill -INT $$",
            &cwd(),
            Duration::from_secs(10),
            &Launcher::default(),
            4096,
        )
        .await;
        assert!(
            o.render("x").ends_with("[killed by SIGINT]"),
            "{}",
            o.render("x")
        );
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        // The grandchild would write the marker after the timeout if it survived.
        let cmd = "(sleep 4; touch marker) & sleep 30";
        let t = Instant::now();
        let o = run_shell(
            cmd,
            dir.path(),
            Duration::from_millis(300),
            &Launcher::default(),
            4096,
        )
        .await;
        assert!(o.timed_out);
        assert_eq!(o.exit_code, None);
        assert!(t.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(4500)).await;
        assert!(
            !dir.path().join("marker").exists(),
            "grandchild survived the timeout"
        );
    }

    #[tokio::test]
    async fn dropping_the_run_kills_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let launcher = Launcher::default();
        let run = run_shell(
            "(sleep 3; touch marker) & sleep 30",
            dir.path(),
            Duration::from_secs(60),
            &launcher,
            4096,
        );
        let _ = tokio::time::timeout(Duration::from_millis(300), run).await;
        tokio::time::sleep(Duration::from_millis(3500)).await;
        assert!(
            !dir.path().join("marker").exists(),
            "a background child outlived its dropped run"
        );
    }

    #[tokio::test]
    async fn output_is_capped_head_and_tail() {
        let o = run_shell(
            "seq 1 100000",
            &cwd(),
            Duration::from_secs(10),
            &Launcher::default(),
            1000,
        )
        .await;
        assert!(o.output.len() < 1200, "{}", o.output.len());
        assert!(o.output.starts_with("1\n2\n"));
        assert!(o.output.trim_end().ends_with("100000"));
        assert!(o.output.contains("omitted"));
    }

    use std::ffi::OsString;

    #[tokio::test]
    async fn only_allowlisted_variables_reach_the_child() {
        // The environment is given, not set on this process: `set_var` would race with
        // the C code (libgit2) other tests run in parallel threads.
        let ours: Vec<(OsString, OsString)> = [
            ("MISSION_TEST_API_KEY", "sk-secret"),
            ("MISSION_TEST_INNOCENT", "canary-1"),
            ("MISSION_TEST_PASSED", "visible"),
            ("MISSION_TEST_KEY_ENV", "key-secret"),
            ("PATH", "/usr/bin:/bin"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
        let launcher = Launcher {
            env_pass: vec!["MISSION_TEST_PASSED".into(), "MISSION_TEST_KEY_ENV".into()],
            never: vec!["MISSION_TEST_KEY_ENV".into()],
            ..Launcher::default()
        };
        let env = launcher.child_env_from(ours);
        let names: Vec<&str> = env.iter().filter_map(|(k, _)| k.to_str()).collect();
        assert_eq!(
            names,
            ["MISSION_TEST_PASSED", "PATH", "PYTHONDONTWRITEBYTECODE"],
            "an innocent name or a provider key is no pass (the harness adds only its own setting)"
        );
        // And the child really gets only that environment.
        let o = run_shell("env", &cwd(), Duration::from_secs(10), &launcher, 1 << 20).await;
        assert!(o.output.contains("PATH="), "{}", o.output);
        assert!(!o.output.contains("MISSION_TEST_"), "{}", o.output);
    }

    #[tokio::test]
    async fn without_network_only_loopback_is_there() {
        let launcher = Launcher {
            network: false,
            ..Launcher::default()
        };
        // /proc/net/dev lists the interfaces of the reader's network namespace.
        let o = run_shell(
            "cat /proc/net/dev",
            &cwd(),
            Duration::from_secs(10),
            &launcher,
            1 << 20,
        )
        .await;
        assert!(o.success(), "{}", o.output);
        let ifaces: Vec<&str> = o
            .output
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(str::trim)
            .collect();
        assert_eq!(ifaces, ["lo"], "{}", o.output);
    }
}
