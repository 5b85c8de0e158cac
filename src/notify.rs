//! Telling a human the mission needs them (a gate, an escalation, a budget stop, a pause)
//! or has ended, without anyone watching: the `[notify] command` run by the runner with
//! one JSON argument. Attached consoles ring on their own (`tui::alert`).

use std::time::Duration;

use serde::Serialize;

use crate::mission::{Event, MissionState};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub reason: String,
    pub repo: String,
    pub goal: String,
    pub branch: String,
    pub worktree: String,
}

/// The notice an event calls for, judged on the state after it.
pub fn notice_for(event: &Event, st: &MissionState) -> Option<(&'static str, String)> {
    match event {
        Event::GateOpened { gate, reason } => Some(("needs_human", format!("{gate}: {reason}"))),
        Event::Paused { reason } => Some(("needs_human", format!("paused: {reason}"))),
        // A limit the runner waits out by itself needs nobody.
        Event::RateLimited {
            auto_resume: false, ..
        } => Some(("needs_human", st.paused.clone().unwrap_or_default())),
        Event::MissionCompleted { .. } => Some(("completed", "the mission completed".into())),
        Event::MissionFailed { reason } => Some(("failed", reason.clone())),
        _ => {
            let _ = st;
            None
        }
    }
}

/// Runs the configured command with the notice as its last argument. Its failure is
/// reported, never fatal; a command that hangs is killed after 10 s.
pub async fn run_command(
    command: &[String],
    notice: &Notice,
    never: &[String],
) -> Result<(), String> {
    let Some((program, args)) = command.split_first() else {
        return Ok(());
    };
    let json = serde_json::to_string(notice).map_err(|e| e.to_string())?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .arg(json)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for name in never {
        cmd.env_remove(name);
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("[notify] command `{program}` could not start: {e}"))?;
    match tokio::time::timeout(Duration::from_secs(10), child.wait_with_output()).await {
        Err(_) => Err(format!(
            "[notify] command `{program}` took over 10 s and was killed"
        )),
        Ok(Err(e)) => Err(format!("[notify] command `{program}`: {e}")),
        Ok(Ok(o)) if !o.status.success() => Err(format!(
            "[notify] command `{program}` failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(Ok(_)) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_command_gets_one_json_argument_and_its_failure_is_reported() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("got");
        let notice = Notice {
            kind: "needs_human",
            reason: "plan: approve".into(),
            repo: "/r".into(),
            goal: "g".into(),
            branch: "mission/g".into(),
            worktree: "/w".into(),
        };
        let cmd = vec![
            "sh".to_string(),
            "-c".into(),
            format!("printf '%s' \"$1\" > {}", out.display()),
            "notify".into(),
        ];
        run_command(&cmd, &notice, &[]).await.unwrap();
        let got: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(got["type"], "needs_human");
        assert_eq!(got["branch"], "mission/g");
        let e = run_command(&["false".into()], &notice, &[])
            .await
            .unwrap_err();
        assert!(e.contains("failed"), "{e}");
        let e = run_command(&["/no/such/notifier".into()], &notice, &[])
            .await
            .unwrap_err();
        assert!(e.contains("could not start"), "{e}");
    }
}
