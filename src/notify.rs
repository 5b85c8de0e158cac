//! Telling a human the mission needs them (a gate, an escalation, a budget stop, a pause)
//! or has ended, without anyone watching: the `[notify] command` run by the runner with
//! one JSON argument. Attached consoles ring on their own (`tui::alert`).

use std::time::Duration;

use serde::Serialize;

use crate::mission::event::Gate;
use crate::mission::{Event, EventRecord, MissionState};

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

/// What an attached console runs when it finds the runner dead.
#[derive(Debug, Clone, Default)]
pub struct OnRunnerStopped {
    pub notify: Vec<String>,
    pub hook: Vec<String>,
    /// Secret variables the commands never see.
    pub never: Vec<String>,
    pub repo: String,
    pub worktree: String,
}

impl OnRunnerStopped {
    /// Runs both commands (in the background: the console goes on drawing).
    pub fn run(&self, goal: &str, branch: &str, reason: &str) {
        let me = self.clone();
        let (goal, branch, reason) = (goal.to_string(), branch.to_string(), reason.to_string());
        tokio::spawn(async move {
            let notice = Notice {
                kind: "runner_stopped",
                reason,
                repo: me.repo.clone(),
                goal: goal.clone(),
                branch: branch.clone(),
                worktree: me.worktree.clone(),
            };
            if let Err(e) = run_command(&me.notify, &notice, &me.never).await {
                tracing::warn!("{e}");
            }
            let call = HookCall {
                kind: "runner_stopped",
                event: None,
                repo: &me.repo,
                goal: &goal,
                branch: &branch,
                worktree: &me.worktree,
            };
            if let Err(e) = run_hook(&me.hook, &call, &me.never).await {
                tracing::warn!("{e}");
            }
        });
    }
}

/// The `[hooks]` kind an event calls for (`runner_stopped` is the console's own).
pub fn hook_kind(event: &Event) -> Option<&'static str> {
    match event {
        Event::GateOpened {
            gate: Gate::Escalation { .. },
            ..
        } => Some("escalation"),
        Event::GateOpened { .. } => Some("gate"),
        Event::Paused { reason } if reason.starts_with("budget reached") => Some("budget"),
        Event::MissionCompleted { .. } => Some("completed"),
        Event::MissionFailed { .. } => Some("failed"),
        _ => None,
    }
}

/// What a hook gets: the kind, the event (as the log has it, `seq` and `ts` included;
/// `null` for `runner_stopped`, which no event records) and where the mission is.
#[derive(Debug, Clone, Serialize)]
pub struct HookCall<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub event: Option<&'a EventRecord>,
    pub repo: &'a str,
    pub goal: &'a str,
    pub branch: &'a str,
    pub worktree: &'a str,
}

/// Runs the configured command with the notice as its last argument. Its failure is
/// reported, never fatal; a command that hangs is killed after 10 s.
pub async fn run_command(
    command: &[String],
    notice: &Notice,
    never: &[String],
) -> Result<(), String> {
    let json = serde_json::to_string(notice).map_err(|e| e.to_string())?;
    run_json(command, json, never, "[notify] command").await
}

/// Runs a `[hooks]` command with the call as its last argument, as `run_command` does.
pub async fn run_hook(
    command: &[String],
    call: &HookCall<'_>,
    never: &[String],
) -> Result<(), String> {
    let json = serde_json::to_string(call).map_err(|e| e.to_string())?;
    run_json(command, json, never, &format!("[hooks] {}", call.kind)).await
}

async fn run_json(
    command: &[String],
    json: String,
    never: &[String],
    what: &str,
) -> Result<(), String> {
    let Some((program, args)) = command.split_first() else {
        return Ok(());
    };
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
        .map_err(|e| format!("{what} `{program}` could not start: {e}"))?;
    match tokio::time::timeout(Duration::from_secs(10), child.wait_with_output()).await {
        Err(_) => Err(format!("{what} `{program}` took over 10 s and was killed")),
        Ok(Err(e)) => Err(format!("{what} `{program}`: {e}")),
        Ok(Ok(o)) if !o.status.success() => Err(format!(
            "{what} `{program}` failed ({}): {}",
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
